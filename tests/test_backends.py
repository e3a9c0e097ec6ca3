"""Keras 3 sobre TensorFlow, JAX y PyTorch: elegir el backend, pesos portables y un
``fit`` corto de cada constructor.

Las pruebas marcadas ``neutral`` corren también con ``KERAS_BACKEND=jax`` y ``torch``
(``make test``); las demás lanzan procesos con otros backends y corren una vez.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import modelos
from nucleo import entorno
from nucleo.errores import EnvironmentSetupError
from cli.principal import main
from tests.helpers import DEEP_BATCHNORM, TINY_BUILDS
from tests.helpers import tiny_batch

REPO = Path(__file__).resolve().parents[1]
INSTALLED = entorno.installed_backends()
OTHERS = [b for b in INSTALLED if b != keras.backend.backend()]
#: Diferencia máxima admitida entre backends en float32 (absoluta; relativa a la escala
#: de la salida cuando esta pasa de 1, ver tests/portabilidad.py).
TOLERANCE = 1e-4


# === Elegir el backend ===

def test_backend_name_follows_keras_backend_then_keras_json(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert entorno.backend_name() == "jax"
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.delitem(sys.modules, "keras")  # como antes de importar Keras
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert entorno.backend_name() == "tensorflow"          # sin keras.json
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "torch"}))
    assert entorno.backend_name() == "torch"
    (tmp_path / "keras.json").write_text("{roto")
    assert entorno.backend_name() == "tensorflow"


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(EnvironmentSetupError, match="«theano» desconocido.*tensorflow, jax, torch"):
        entorno.select_backend("theano")


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_missing_backend_names_the_extra_to_install(monkeypatch, backend):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == backend else real(name, *a))
    with pytest.raises(EnvironmentSetupError) as error:
        entorno.select_backend(backend)
    assert f"«{backend}» no está instalado" in str(error.value)
    assert f'pip install ".[{backend}]"' in str(error.value)


def test_cli_refuses_to_switch_backend_after_keras_was_imported(tmp_path, capsys):
    other = next(b for b in INSTALLED + ["jax", "torch"] if b != keras.backend.backend())
    if other not in INSTALLED:
        pytest.skip(f"{other} no está instalado")
    assert main(["--backend", other, "xor", "entrenar", "--salida", str(tmp_path / "xor")]) == 2
    err = capsys.readouterr().err
    assert f"Keras ya se importó con el backend «{keras.backend.backend()}»" in err
    assert not (tmp_path / "xor").exists()  # no entrena nada con el backend equivocado


def test_cli_backend_option_only_takes_known_backends(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--backend", "theano", "xor", "entrenar"])
    assert exit_info.value.code == 2
    assert "--backend" in capsys.readouterr().err


# === Otros backends, en sus propios procesos ===

def _start(backend: str, log: Path, *args: str) -> subprocess.Popen:
    """``python -m tests.portabilidad ARGS`` con ``backend``, sin esperar a que termine.

    La salida va a ``log`` (``.out`` y ``.err``), no a tuberías: mientras se espera a un
    proceso, el otro podría llenar la suya y quedarse parado antes de dejar su ``listo``.
    """
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(REPO)}
    if backend == "jax":  # modelos diminutos: XLA sin optimizar compila ~2 veces antes
        env.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
    with open(log.with_suffix(".out"), "w") as out, open(log.with_suffix(".err"), "w") as err:
        return subprocess.Popen([sys.executable, "-m", "tests.portabilidad", *args],
                                cwd=REPO, env=env, stdout=out, stderr=err)


def _reports(running: dict[Path, subprocess.Popen]) -> list[dict]:
    """El JSON que escribe cada ``tests.portabilidad`` al terminar bien; si uno falla, los
    demás (que quizá esperan lo que él iba a guardar) se detienen."""
    reports = []
    try:
        for log, process in running.items():
            code = process.wait(timeout=600)
            assert code == 0, log.with_suffix(".err").read_text()[-3000:]
            out = log.with_suffix(".out").read_text()
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return reports


@pytest.mark.skipif(not OTHERS, reason="solo hay un backend instalado")
def test_weights_saved_under_each_backend_load_under_every_other(tmp_path):
    """Cada constructor registrado: guardado con A, cargado con B, predicciones iguales.

    Este proceso guarda lo suyo; los otros backends, a la vez y cada uno en su proceso,
    guardan lo suyo y comprueban lo de todos los demás (esperan a que esté guardado), y
    al final este comprueba lo de los otros: cada par una vez y un solo arranque por
    backend."""
    current = keras.backend.backend()
    folders = {b: tmp_path / b for b in INSTALLED}
    from tests import portabilidad

    portabilidad.save_all(folders[current])
    running = {tmp_path / backend: _start(
        backend, tmp_path / backend, "--guardar", str(folders[backend]), "--esperar", "400",
        "--comprobar", *(str(folders[b]) for b in INSTALLED if b != backend))
        for backend in OTHERS}
    reports = _reports(running)
    reports.append({"backend": current, "tensorflow_importado": current == "tensorflow",
                    "diferencias": {str(folders[b]): portabilidad.check_all(folders[b])
                                    for b in OTHERS}})
    checked = set()
    for report in reports:
        assert report["tensorflow_importado"] == (report["backend"] == "tensorflow"), report
        for folder, differences in report["diferencias"].items():
            source = Path(folder).name
            assert source != report["backend"]
            assert set(differences) == set(TINY_BUILDS)
            worst = max(differences, key=differences.get)
            assert differences[worst] <= TOLERANCE, (source, report["backend"], differences)
            checked.add((source, report["backend"]))
    expected = {(a, b) for a in INSTALLED for b in INSTALLED if a != b}
    assert checked == expected


@pytest.mark.skipif(not OTHERS, reason="solo hay un backend instalado")
def test_cli_runs_on_the_backend_it_is_given(tmp_path):
    backend = OTHERS[0]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("KERAS_BACKEND", None)
    out = tmp_path / "xor.json"
    done = subprocess.run(
        [sys.executable, "-m", "cli.principal", "--backend", backend, "xor", "entrenar",
         "--salida", str(tmp_path / "xor"), "--epocas", "50", "--json", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "xor" / "modelo.h5").is_file()
    assert "epocas" in json.loads(out.read_text())["metricas"]


# === Cada constructor, en el backend activo ===

@pytest.mark.neutral
@pytest.mark.parametrize("name", sorted(TINY_BUILDS))
def test_each_builder_fits_saves_and_loads(name, tmp_path):
    entorno.set_random_seed(0)
    rng = np.random.default_rng(0)
    model = modelos.get_builder(name)(**TINY_BUILDS[name])
    x, y = tiny_batch(model, rng)
    before = [np.array(w) for w in model.trainable_weights]
    initial = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    history = model.fit(x, y, epochs=10, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    final = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    if name in DEEP_BATCHNORM:
        initial, final = history.history["loss"][0], history.history["loss"][-1]
    assert final < initial, (initial, final)  # aprende el lote (sin dropout al medir)
    assert any(not np.allclose(a, np.array(b))
               for a, b in zip(before, model.trainable_weights, strict=True))
    expected = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    modelos.save(model, tmp_path / f"{name}.h5")
    restored = modelos.load(tmp_path / f"{name}.h5")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored.predict(x, verbose=0)),
                               expected, atol=1e-6, rtol=0)
