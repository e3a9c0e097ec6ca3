"""Pruebas de entrenamiento.entrenar: archivos, aprendizaje, reanudación, estrategia, precisión."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nucleo.entorno import import_tensorflow

import_tensorflow()

import keras  # noqa: E402

import modelos  # noqa: E402
from nucleo.errores import ArgumentError, DataError  # noqa: E402
from entrenamiento.entrenar import BestModelCheckpoint  # noqa: E402
from entrenamiento.entrenar import TrainResult  # noqa: E402
from entrenamiento.callbacks import truncate_log  # noqa: E402
from entrenamiento.entrenar import monitor_mode  # noqa: E402
from entrenamiento.entrenar import train  # noqa: E402
from tests.helpers import PNG_MAGIC  # noqa: E402

# Keras 3.15 + numpy 2 avisan desde model.save_weights (BackupAndRestore); no es nuestro.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

REPO = Path(__file__).resolve().parents[1]
# Configuración mínima: MLP 8 → 8 → 2 sin dropout, lr alto para aprender en pocas épocas.
TINY = {"input_dim": 8, "hidden": (8,), "num_classes": 2, "learning_rate": 0.05}


def make_data(n: int = 256, seed: int = 0):
    """Dos clases separables por el signo de x0 + x1, etiquetas one-hot."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    labels = (x[:, 0] + x[:, 1] > 0).astype(int)
    return x, np.eye(2, dtype="float32")[labels]


def split(n_train: int = 192, n: int = 256):
    x, y = make_data(n)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def read_epochs(log_path: Path) -> list[int]:
    with open(log_path, newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


@pytest.fixture(autouse=True)
def float32_policy():
    """Ninguna prueba debe dejar otra política global que la que encontró."""
    before = keras.mixed_precision.global_policy().name
    yield
    assert keras.mixed_precision.global_policy().name == before


def test_train_writes_files_and_learns(tmp_path):
    train_data, val_data = split()
    result = train(
        "mlp", TINY, train_data, val_data, run_dir=tmp_path / "run", epochs=5,
        verbose=0, metadata={"clases": ["negativo", "positivo"]},
    )
    assert isinstance(result, TrainResult)
    assert result.initial_epoch == 0
    assert result.weights_path == tmp_path / "run" / "modelo.h5"
    assert read_epochs(result.log_path) == [0, 1, 2, 3, 4]
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 5 for values in result.history.values())
    png = result.plot_path.read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 5000
    assert not (tmp_path / "run" / "respaldo").exists()  # se borra al terminar

    _, accuracy = result.model.evaluate(*val_data, verbose=0)
    assert accuracy > 0.85  # el azar sería 0.5

    stored = modelos.load_metadata(result.weights_path)["metadata"]
    assert stored["clases"] == ["negativo", "positivo"]
    best_epoch = int(np.argmin(result.history["val_loss"]))
    assert stored["mejor"]["monitor"] == "val_loss"
    assert stored["mejor"]["epoca"] == best_epoch
    assert stored["mejor"]["valor"] == pytest.approx(result.history["val_loss"][best_epoch])

    loaded = modelos.load(result.weights_path)
    x = val_data[0]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), result.model.predict(x, verbose=0))


def test_best_weights_not_last_are_loaded(tmp_path):
    # val_accuracy se maximiza; el modelo devuelto es el de la mejor época, no el último.
    train_data, val_data = split()
    result = train("mlp", TINY, train_data, val_data, run_dir=tmp_path, epochs=4,
                   monitor="val_accuracy", verbose=0)
    best = modelos.load_metadata(result.weights_path)["metadata"]["mejor"]
    assert best["epoca"] == int(np.argmax(result.history["val_accuracy"]))
    _, accuracy = result.model.evaluate(*val_data, verbose=0)
    assert accuracy == pytest.approx(best["valor"])


def test_same_seed_gives_same_history_and_fresh_run_truncates_log(tmp_path):
    train_data, val_data = split()
    kwargs = dict(epochs=3, seed=7, verbose=0)
    first = train("mlp", TINY, train_data, val_data, run_dir=tmp_path / "a", **kwargs)
    second = train(modelos.build_mlp, TINY, train_data, val_data, run_dir=tmp_path / "b", **kwargs)
    assert first.history == second.history
    for w1, w2 in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(w1, w2)

    other = train("mlp", TINY, train_data, val_data, run_dir=tmp_path / "a", epochs=2, seed=8,
                  verbose=0)
    assert other.history["loss"] != first.history["loss"][:2]
    assert read_epochs(other.log_path) == [0, 1]  # el registro anterior no se mezcla


def test_without_validation_saves_every_epoch(tmp_path):
    train_data, _ = split()
    result = train("mlp", TINY, train_data, run_dir=tmp_path, epochs=2, verbose=0)
    assert set(result.history) == {"loss", "accuracy"}  # sin columnas val_* vacías
    best = modelos.load_metadata(result.weights_path)["metadata"]["mejor"]
    assert best == {"monitor": "val_loss", "valor": None, "epoca": 1}


def test_early_stopping_on_plateau(tmp_path):
    train_data, val_data = split()
    result = train(
        "mlp", {**TINY, "optimizer": keras.optimizers.SGD(0.0)}, train_data, val_data,
        run_dir=tmp_path, epochs=8, patience=1, verbose=0,
    )
    # Época 0 fija el mejor valor; la 1 no mejora (lr 0) y con paciencia 1 se para.
    assert len(result.history["loss"]) == 2
    assert read_epochs(result.log_path) == [0, 1]
    assert result.history["val_loss"][0] == result.history["val_loss"][1]


class _Batches(keras.utils.PyDataset):
    """4 lotes de 32 de :func:`make_data` como ``PyDataset``."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return 4

    def __getitem__(self, index):
        part = slice(32 * index, 32 * (index + 1))
        return self.x[part], self.y[part]


def test_pydataset_input(tmp_path):
    x, y = make_data(128)
    result = train("mlp", TINY, _Batches(x, y), _Batches(x, y), run_dir=tmp_path, epochs=2,
                   verbose=0)
    assert len(result.history["val_loss"]) == 2


@pytest.mark.parametrize("kind", ["arreglos", "pydataset"])
def test_the_first_step_is_traced_once_with_its_metrics(monkeypatch, kind):
    """El MLP compila con ``accuracy``: sin crear antes sus variables, TensorFlow trazaría el
    primer paso dos veces (lo que hace ``fit`` solo, abajo)."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    traces = []
    original = TensorFlowTrainer.train_step

    def counted(self, batch):
        traces.append(1)
        return original(self, batch)

    monkeypatch.setattr(TensorFlowTrainer, "train_step", counted)
    x, y = make_data(128)
    data = (x, y) if kind == "arreglos" else _Batches(x, y)
    result = train("mlp", TINY, data, run_dir=None, epochs=2, verbose=0, seed=0)
    assert len(traces) == 1
    assert result.history["accuracy"][-1] > 0.5
    traces.clear()
    model = modelos.build_mlp(**TINY)
    model.fit(x, y, epochs=1, verbose=0)
    assert len(traces) == 2


def test_mixed_bfloat16_trains_and_restores_policy(tmp_path):
    train_data, val_data = split()
    result = train("mlp", TINY, train_data, val_data, run_dir=tmp_path, epochs=4,
                   precision="mixed_bfloat16", verbose=0)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert result.model.get_layer("dense_1").compute_dtype == "bfloat16"
    assert result.history["loss"][-1] < result.history["loss"][0]
    stored = modelos.load_metadata(result.weights_path)["metadata"]
    assert stored["entrenamiento"]["precision"] == "mixed_bfloat16"

    loaded = modelos.load(result.weights_path)
    assert loaded.get_layer("dense_1").compute_dtype == "float32"
    x = val_data[0]
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), result.model.predict(x, verbose=0), atol=3e-2
    )


def test_policy_restored_when_builder_fails(tmp_path):
    train_data, _ = split()
    with pytest.raises(ArgumentError, match="hidden"):
        train("mlp", {**TINY, "hidden": (0,)}, train_data, run_dir=tmp_path, epochs=1,
              precision="mixed_bfloat16", verbose=0)
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"precision": "float16"}, r"«precision».*'float32', 'mixed_bfloat16'"),
        ({"devices": 0}, r"«devices» debe ser un entero ≥ 1 o 'todos'"),
        ({"epochs": 0}, "«epochs»"),
        ({"batch_size": -1}, "«batch_size»"),
        ({"patience": -1}, "«patience»"),
        ({"verbose": 5}, "«verbose»"),
    ],
    ids=["precision", "devices", "epochs", "batch_size", "patience", "verbose"],
)
def test_invalid_arguments(tmp_path, kwargs, pattern):
    train_data, _ = split()
    args = {"run_dir": tmp_path / "run", "epochs": 1, **kwargs}
    with pytest.raises(ArgumentError, match=pattern):
        train("mlp", TINY, train_data, **args)
    assert not (tmp_path / "run").exists()  # se valida antes de crear nada


def test_invalid_builder_and_data(tmp_path):
    train_data, _ = split()
    with pytest.raises(ArgumentError, match="constructor registrado"):
        train(lambda: keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)]),
              train_data=train_data, run_dir=tmp_path, epochs=1)
    with pytest.raises(ArgumentError, match="«builder_kwargs»"):
        train("mlp", [1, 2], train_data, run_dir=tmp_path, epochs=1)
    with pytest.raises(DataError, match="«train_data».*192.*10"):
        train("mlp", TINY, (train_data[0], train_data[1][:10]), run_dir=tmp_path, epochs=1)
    with pytest.raises(ArgumentError, match="«train_data»"):
        train("mlp", TINY, None, run_dir=tmp_path, epochs=1)


def test_monitor_mode():
    assert monitor_mode("val_loss") == "min"
    assert monitor_mode("mean_absolute_percentage_error") == "min"
    assert monitor_mode("val_accuracy") == "max"
    assert monitor_mode("binary_accuracy") == "max"
    assert monitor_mode("val_auc") == "max"
    assert monitor_mode("val_map_50") == "max"
    assert monitor_mode("val_mape") == "min"


def test_truncate_log_drops_repeated_and_cut_rows(tmp_path):
    # Muerte tras escribir la fila de la época 2 pero antes de respaldarla, y una
    # línea cortada: al reanudar en la época 2 solo quedan las filas 0 y 1.
    log = tmp_path / "registro.csv"
    log.write_text("epoch,loss\n0,0.9\n1,0.8\n2,0.7\n3,0.")
    log.chmod(0o644)
    truncate_log(log, 2)
    assert log.read_text().splitlines() == ["epoch,loss", "0,0.9", "1,0.8"]
    assert log.stat().st_mode & 0o777 == 0o644


def test_checkpoint_remembers_best_when_resuming(tmp_path):
    path = tmp_path / "modelo.h5"
    model = modelos.build_mlp(**TINY)
    modelos.save(model, path, metadata={"mejor": {"monitor": "val_loss", "valor": 0.2, "epoca": 1}})
    checkpoint = BestModelCheckpoint(path, "val_loss")
    checkpoint.set_model(model)
    checkpoint.restore_best()
    assert (checkpoint.best, checkpoint.best_epoch) == (0.2, 1)
    checkpoint.on_epoch_end(2, {"val_loss": 0.3})  # peor: no se guarda
    assert modelos.load_metadata(path)["metadata"]["mejor"]["epoca"] == 1
    checkpoint.on_epoch_end(3, {"val_loss": 0.1})
    assert modelos.load_metadata(path)["metadata"]["mejor"] == {
        "monitor": "val_loss", "valor": 0.1, "epoca": 3,
    }


# === Pruebas en subprocesos: SIGKILL ===

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    import numpy as np
    sys.path.insert(0, {repo!r})
    from nucleo.keras_listo import keras
    from entrenamiento.entrenar import train

    config = json.loads(sys.argv[1])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = np.eye(2, dtype="float32")[(x[:, 0] + x[:, 1] > 0).astype(int)]

    class Killer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == config["kill_at"]:
                os.kill(os.getpid(), signal.SIGKILL)

    result = train(
        "mlp", {tiny!r}, (x[:192], y[:192]), (x[192:], y[192:]),
        run_dir=config["run_dir"], epochs=config["epochs"], seed=3, shuffle=False,
        verbose=0,
        callbacks=[Killer()] if config["kill_at"] is not None else [],
    )
    np.savez(config["out"] + ".npz", *result.model.get_weights())
    with open(config["out"], "w") as handle:
        json.dump({{
            "initial_epoch": result.initial_epoch,
            "history": result.history,
        }}, handle)
    """
)


def run_script(tmp_path, name: str, **config):
    script = tmp_path / "entrenar_script.py"
    script.write_text(SCRIPT.format(repo=str(REPO), tiny=TINY))
    out = tmp_path / f"{name}.json"
    config = {"kill_at": None, "out": str(out), **config}
    env = dict(os.environ)
    process = subprocess.run(
        [sys.executable, str(script), json.dumps(config)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    return process, out


def load_output(out: Path):
    with np.load(str(out) + ".npz") as weights:
        arrays = [weights[f"arr_{i}"] for i in range(len(weights.files))]
    return json.loads(out.read_text()), arrays


def test_resume_after_sigkill(tmp_path):
    run_dir = tmp_path / "run"
    killed, _ = run_script(tmp_path, "killed", run_dir=str(run_dir), epochs=5, kill_at=2)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert read_epochs(run_dir / "registro.csv") == [0, 1]
    assert (run_dir / "respaldo").is_dir()
    assert modelos.load_metadata(run_dir / "modelo.h5")["metadata"]["mejor"]["epoca"] == 1

    resumed, out = run_script(tmp_path, "resumed", run_dir=str(run_dir), epochs=5)
    assert resumed.returncode == 0, resumed.stderr
    info, weights = load_output(out)
    assert info["initial_epoch"] == 2
    assert read_epochs(run_dir / "registro.csv") == [0, 1, 2, 3, 4]
    assert len(info["history"]["loss"]) == 5
    assert not (run_dir / "respaldo").exists()

    # Pesos, estado del optimizador y contador de pasos se restauran: sin barajar ni
    # dropout, el resultado es el de un entrenamiento sin cortes.
    x, y = make_data(256)
    straight = train("mlp", TINY, (x[:192], y[:192]), (x[192:], y[192:]), run_dir=tmp_path / "b",
                     epochs=5, seed=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(info["history"]["loss"], straight.history["loss"], rtol=1e-5)
    for resumed_w, straight_w in zip(weights, straight.model.get_weights()):
        np.testing.assert_allclose(resumed_w, straight_w, rtol=1e-4, atol=1e-6)


def test_auto_precision_follows_the_cpu(monkeypatch):
    """«auto» elige bfloat16 solo donde la CPU lo calcula de forma nativa."""
    from nucleo import entorno

    with_bf16 = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n"
    without = "processor\t: 0\nflags\t\t: fpu sse avx avx2 fma\n"
    assert entorno.native_bfloat16(with_bf16)
    assert not entorno.native_bfloat16(without)
    assert entorno.resolve_training_precision("float32") == "float32"
    assert entorno.resolve_training_precision("mixed_bfloat16") == "mixed_bfloat16"
    monkeypatch.setattr(entorno, "native_bfloat16", lambda cpuinfo=None: True)
    assert entorno.resolve_training_precision("auto") == "mixed_bfloat16"
    with pytest.raises(ArgumentError, match="«precision»"):
        entorno.resolve_training_precision("float16")


def test_onednn_is_switched_on_where_tensorflow_leaves_it_off():
    """AVX2 sin AVX-512: oneDNN encendido salvo que el usuario diga otra cosa."""
    from nucleo.entorno import onednn_default

    zen3 = "processor\t: 0\nflags\t\t: fpu sse avx avx2 fma\n"
    zen4 = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n"
    assert onednn_default(zen3) == "1"
    assert onednn_default(zen4) is None
    assert onednn_default("processor\t: 0\nflags\t\t: fpu sse sse2\n") is None
    assert onednn_default("") is None
    code = ("import os; from nucleo.entorno import import_tensorflow, onednn_default; "
            "import_tensorflow(); print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'), "
            "onednn_default())")
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    chosen, expected = out.stdout.split()
    assert chosen == expected  # "None" en una CPU con AVX-512: TensorFlow decide


def test_auto_precision_trains_and_records_the_resolved_policy(tmp_path):
    from nucleo.entorno import resolve_training_precision

    x, y = make_data(64)
    result = train("mlp", TINY, (x, y), None, run_dir=tmp_path, epochs=1, monitor="loss",
                   precision="auto", verbose=0)
    stored = modelos.load_metadata(result.weights_path)["metadata"]["entrenamiento"]
    assert stored["precision"] == resolve_training_precision("auto")
    assert keras.mixed_precision.global_policy().name == "float32"
