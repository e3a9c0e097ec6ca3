"""Entrenamiento en varios procesos: reparto de lotes, lanzador, errores y procesos reales.

Las pruebas de reparto y de errores de la línea de órdenes no lanzan procesos y son
``neutral``. Las que lanzan procesos de verdad (``redes ... --procesos 2``, siempre con
JAX) corren una sola vez, en la pasada de JAX de ``make test``; el coordinador escucha
solo en 127.0.0.1.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

import modelos
from nucleo import entorno
from nucleo.errores import ArgumentError, DataError
from datos.generadores import ImageBatches
from datos.lotes_numeros import NumberBatches
from datos.numeros import encode_pairs, make_tokenizers
from datos.reparto import ArrayBatches, fitted_batch
from datos.sinteticos import make_image_folder, make_shapes_dataset
from cli.principal import main
from cli.lanzador import free_port, without_options, worker_command

REPO = Path(__file__).resolve().parents[1]
SHAPES = ["circulo", "cuadrado"]
#: Las pruebas con procesos reales: una vez, en la pasada de JAX de make test.
processes = pytest.mark.skipif(
    keras.backend.backend() != "jax" or "jax" not in entorno.installed_backends(),
    reason="lanza procesos con JAX: corre en la pasada de JAX de make test")


def _glue(parts):
    """Une las partes de cada proceso de un lote (x, y) en el lote global."""
    xs, ys = zip(*parts)
    if isinstance(xs[0], tuple):
        xs = tuple(np.concatenate(group) for group in zip(*xs))
    else:
        xs = np.concatenate(xs)
    return xs, np.concatenate(ys)


def _same(a, b):
    if isinstance(a, tuple):
        return all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    return np.array_equal(a, b)


# === Reparto de lotes (datos.reparto) ===

@pytest.mark.neutral
def test_array_batches_parts_form_the_same_global_batch_every_epoch():
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.arange(20)
    whole = ArrayBatches(x, y, 8, seed=3)
    parts = [ArrayBatches(x, y, 8, seed=3).shard(i, 2) for i in range(2)]
    assert len(whole) == 3 and [len(p) for p in parts] == [2, 2]  # sin el lote incompleto
    assert parts[0].local_batch_size == 4
    for _ in range(3):
        for b in range(2):
            glued = _glue([p[b] for p in parts])
            assert _same(glued[0], whole[b][0]) and np.array_equal(glued[1], whole[b][1])
        first = whole[0][1].copy()
        for d in (whole, *parts):
            d.on_epoch_end()
        assert not np.array_equal(first, whole[0][1])  # otra época, otro orden


@pytest.mark.neutral
def test_array_batches_with_several_inputs():
    x = [np.arange(12).reshape(6, 2), np.arange(6)]
    parts = [ArrayBatches(x, np.arange(6), 2, shuffle=False).shard(i, 2) for i in range(2)]
    (a, b), y = parts[1][2]
    assert a.tolist() == [[10, 11]] and b.tolist() == [5] and y.tolist() == [5]
    with pytest.raises(DataError, match="longitudes distintas"):
        ArrayBatches([np.zeros(3), np.zeros(4)], np.zeros(3), 2)


@pytest.mark.neutral
def test_shard_errors_name_the_problem():
    x, y = np.zeros((20, 2)), np.zeros(20)
    with pytest.raises(ArgumentError, match=r"lote \(9\) debe ser múltiplo .* procesos \(2\)"):
        ArrayBatches(x, y, 9).shard(0, 2)
    with pytest.raises(DataError, match="ninguno completo de 32"):
        ArrayBatches(x, y, 32).shard(1, 2)
    with pytest.raises(ArgumentError, match="index"):
        ArrayBatches(x, y, 8).shard(2, 2)
    # La validación ajusta su lote: 10 ejemplos con lote 32 → un lote de 10 (5 y 5).
    validation = ArrayBatches(x[:10], y[:10], 32, shuffle=False).shard(0, 2, fit_batch=True)
    assert (validation.batch_size, len(validation)) == (10, 1)


@pytest.mark.neutral
@pytest.mark.parametrize(("count", "batch", "processes", "expected"),
                         [(10, 16, 2, 10), (12, 8, 2, 6), (7, 16, 2, 6), (50, 500, 4, 48),
                          (3, 8, 4, 4)])
def test_fitted_batch_leaves_out_the_fewest(count, batch, processes, expected):
    assert fitted_batch(count, batch, processes) == expected


@pytest.mark.neutral
def test_image_and_number_batches_shard_the_same_global_batch():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (24, 6, 6, 3), dtype=np.uint8)
    labels = np.arange(24)
    whole = ImageBatches(images, labels, batch_size=8, seed=1)
    parts = [ImageBatches(images, labels, batch_size=8, seed=1).shard(i, 2) for i in range(2)]
    for b in range(len(whole)):
        glued = _glue([p[b] for p in parts])
        assert np.array_equal(glued[0], whole[b][0]) and np.array_equal(glued[1], whole[b][1])

    source, target = make_tokenizers(999)
    pairs = encode_pairs(np.arange(40), source, target)
    whole = NumberBatches(pairs, 8, seed=2)
    parts = [NumberBatches(pairs, 8, seed=2).shard(i, 2) for i in range(2)]
    assert len(parts[0]) == len(whole) == 5
    glued = _glue([p[3] for p in parts])
    assert _same(glued[0], whole[3][0]) and np.array_equal(glued[1], whole[3][1])


@pytest.mark.neutral
def test_yolo_dataset_each_process_reads_only_its_images(shapes_records, monkeypatch):
    from modelos.yolo import lotes
    from modelos.yolo.lotes import YoloDataset

    records = shapes_records[:12]  # las figuras de tests/conftest.py: 3 lotes de 4
    common = dict(image_size=64, batch_size=4, seed=5)
    whole = YoloDataset(records, SHAPES, **common)
    parts = [YoloDataset(records, SHAPES, **common).shard(i, 2) for i in range(2)]
    read = []
    original = lotes.read_record
    monkeypatch.setattr(lotes, "read_record", lambda r, size: read.append(r.path) or
                        original(r, size))
    for b in range(len(whole)):
        expected = whole[b]
        read.clear()
        glued = _glue([p[b] for p in parts])
        assert len(read) == 4 and len(set(read)) <= 4  # cada proceso, solo sus 2 imágenes
        assert np.array_equal(glued[0], expected[0]) and np.array_equal(glued[1], expected[1])


# === El lanzador y los errores de la línea de órdenes ===

@pytest.mark.neutral
def test_worker_command_replaces_the_distribution_options():
    argv = ["--backend", "jax", "clasificacion", "entrenar", "--procesos", "2", "--lote", "8",
            "--proceso=1", "--coordinador", "1.2.3.4:5"]
    assert without_options(argv) == ["--backend", "jax", "clasificacion", "entrenar", "--lote",
                                     "8"]
    command = worker_command(argv, "127.0.0.1:7000", 2, 1)
    assert command[:3] == [sys.executable, "-m", "cli.principal"]
    assert command[-6:] == ["--coordinador", "127.0.0.1:7000", "--num-procesos", "2",
                            "--proceso", "1"]
    assert "--procesos" not in command


@pytest.mark.neutral
@pytest.mark.parametrize(("options", "message"), [
    (["--procesos", "2", "--coordinador", "127.0.0.1:7000"], "no van juntos"),
    (["--coordinador", "127.0.0.1:7000"], "necesita también --num-procesos"),
    (["--num-procesos", "2", "--proceso", "0"], "van con --coordinador"),
    (["--coordinador", "sin-puerto", "--num-procesos", "2", "--proceso", "0"], "HOST:PUERTO"),
    (["--coordinador", "127.0.0.1:7000", "--num-procesos", "2", "--proceso", "2"],
     "--proceso debe estar entre 0 y 1"),
])
def test_distribution_options_errors(tmp_path, capsys, options, message):
    if "jax" not in entorno.installed_backends():
        pytest.skip("sin JAX el error es el del extra que falta")
    code = main(["clasificacion", "entrenar", "--dir", str(tmp_path), *options])
    assert code == 2
    assert message in capsys.readouterr().err


@pytest.mark.neutral
def test_too_many_processes_are_refused_before_launching_any(tmp_path, capsys, monkeypatch):
    import subprocess

    from cli import lanzador

    if "jax" not in entorno.installed_backends():
        pytest.skip("sin JAX el error es el del extra que falta")
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("lanzó un proceso"))
    code = main(["clasificacion", "entrenar", "--dir", str(tmp_path), "--procesos", "100000"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"admite como mucho {lanzador.max_local_processes()} procesos" in err
    assert "no se ha lanzado ninguno" in err and "Lanzando" not in err
    assert 1 <= lanzador.max_local_processes() <= 4 * (os.cpu_count() or 1) + 2


@pytest.mark.neutral
def test_zero_processes_and_other_backends_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["clasificacion", "entrenar", "--dir", str(tmp_path), "--procesos", "0"])
    assert stop.value.code == 2
    assert "--procesos: debe ser un entero ≥ 1; recibido 0" in capsys.readouterr().err
    installed = entorno.installed_backends()
    other = "torch" if "torch" in installed else "tensorflow"
    code = main(["--backend", other, "clasificacion", "entrenar", "--dir", str(tmp_path),
                 "--procesos", "2"])
    assert code == 2
    assert "solo funciona con el backend jax" in capsys.readouterr().err


# === Procesos reales (JAX, 127.0.0.1) ===

def _redes(*args, env=None, **kwargs):
    """``redes ...`` en un proceso nuevo; devuelve el ``CompletedProcess``."""
    env = {**(os.environ if env is None else env), "KERAS_BACKEND": "jax"}
    return subprocess.run([sys.executable, "-m", "cli.principal", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def colours(tmp_path_factory):
    """75 imágenes de 3 colores: 48 de entrenamiento (3 lotes de 16), 12 de validación."""
    return make_image_folder(tmp_path_factory.mktemp("colores") / "img", n_per_class=25,
                             seed=1)


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@processes
@pytest.mark.neutral
def test_two_processes_end_with_the_weights_of_one(colours, tmp_path):
    common = ["clasificacion", "entrenar", "--dir", str(colours), "--modelo", "cifar",
              "--optimizador", "adam", "--epocas", "3", "--lote", "16"]
    # La referencia, en este mismo proceso (ya es de JAX): un arranque de JAX menos.
    assert main(["--backend", "jax", *common, "--salida", str(tmp_path / "uno")]) == 0
    two = _redes(*common, "--salida", str(tmp_path / "dos"), "--procesos", "2")
    assert two.returncode == 0, two.stderr[-2000:]
    assert "«train_data»: 3 lotes de 16 por época (8 por proceso)" in two.stderr
    assert "Entrenando «cifar» 3 épocas" in two.stderr and "2 procesos" in two.stderr
    first = modelos.load(tmp_path / "uno" / "modelo.h5").get_weights()
    second = modelos.load(tmp_path / "dos" / "modelo.h5").get_weights()
    assert max(float(np.abs(a - b).max()) for a, b in zip(first, second, strict=True)) < 1e-4
    log_one, log_two = _rows(tmp_path / "uno" / "registro.csv"), _rows(
        tmp_path / "dos" / "registro.csv")
    assert len(log_one) == len(log_two) == 3
    for a, b in zip(log_one, log_two, strict=True):
        assert abs(float(a["loss"]) - float(b["loss"])) < 1e-4
    # Solo el proceso 0 escribe: una sola carpeta, sin copias de los demás.
    assert sorted(p.name for p in (tmp_path / "dos").iterdir()) == [
        "configuracion.json", "curvas.png", "matriz_confusion.png", "modelo.h5", "registro.csv"]


@processes
@pytest.mark.neutral
def test_a_killed_worker_stops_the_others_and_the_run_resumes(colours, tmp_path):
    command = [sys.executable, "-m", "cli.principal", "clasificacion", "entrenar",
               "--dir", str(colours), "--modelo", "cifar", "--optimizador", "adam",
               "--epocas", "12", "--lote", "8", "--salida", str(tmp_path / "run"),
               "--procesos", "2"]
    log = tmp_path / "lanzador.txt"
    registro = tmp_path / "run" / "registro.csv"
    with open(log, "w", encoding="utf-8") as out:
        launcher = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 180
            while not (registro.is_file() and len(_rows(registro)) >= 2):
                assert launcher.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, "no terminó ni dos épocas en 3 minutos"
                time.sleep(0.2)
            worker = int(re.search(r"Proceso 1 de 2: pid (\d+)", log.read_text()).group(1))
            os.kill(worker, signal.SIGKILL)
            killed = time.monotonic()
            code = launcher.wait(timeout=60)
            stopped = time.monotonic() - killed
        finally:
            if launcher.poll() is None:
                launcher.kill()
    text = log.read_text()
    assert code != 0 and stopped < 30
    assert "el proceso 1 de 2 del entrenamiento distribuido murió con la señal SIGKILL" in text
    assert "se detuvieron los demás" in text
    done = len(_rows(registro))
    assert done < 12

    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert re.search(r"Reanudando el entrenamiento en la época (\d+)/12", again.stderr)
    epochs = [int(row["epoch"]) for row in _rows(registro)]
    assert epochs == list(range(12))  # cada época una vez: nada se repite ni se pierde


@pytest.fixture
def silent_port():
    """Un puerto de 127.0.0.1 que acepta conexiones y nunca responde (se cierra solo)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for connection in held:
            connection.close()
        server.close()


@pytest.mark.neutral
def test_a_coordinator_that_accepts_and_never_answers_honours_the_wait(silent_port):
    import time

    from entrenamiento.distribuido import DistributedError, _wait_for_coordinator

    start = time.monotonic()
    with pytest.raises(DistributedError, match="acepta la conexión pero no responde como el "
                                               "coordinador de JAX"):
        _wait_for_coordinator("127.0.0.1", silent_port, 1, 2, 2.0)
    assert 1.5 <= time.monotonic() - start < 4.0


@processes
@pytest.mark.neutral
def test_silent_coordinator_is_one_spanish_line_without_native_trace(colours, tmp_path,
                                                                      silent_port):
    import time

    start = time.monotonic()
    run = _redes("clasificacion", "entrenar", "--dir", str(colours), "--epocas", "1",
                 "--salida", str(tmp_path / "a"), "--coordinador", f"127.0.0.1:{silent_port}",
                 "--num-procesos", "2", "--proceso", "1", "--espera-coordinador", "3")
    assert run.returncode == 2, run.stderr[-2000:]
    assert "no responde como el coordinador de JAX" in run.stderr
    assert "Check failure" not in run.stderr and "Traceback" not in run.stderr
    assert time.monotonic() - start < 3 + 30   # la espera, más arrancar Python y JAX


@processes
@pytest.mark.neutral
def test_unreachable_coordinator_and_wrong_process_count(colours, tmp_path):
    port = free_port()
    alone = _redes("clasificacion", "entrenar", "--dir", str(colours), "--epocas", "1",
                   "--salida", str(tmp_path / "a"), "--coordinador", f"127.0.0.1:{port}",
                   "--num-procesos", "2", "--proceso", "1", "--espera-coordinador", "2")
    assert alone.returncode == 2
    assert f"el coordinador 127.0.0.1:{port} no responde tras 2 s" in alone.stderr
    assert not (tmp_path / "a").exists()

    # El proceso 0 espera 2 procesos; el 1 cree que son 3.
    port = free_port()
    common = ["clasificacion", "entrenar", "--dir", str(colours), "--epocas", "1",
              "--salida", str(tmp_path / "b"), "--coordinador", f"127.0.0.1:{port}",
              "--espera-coordinador", "30"]
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    chief = subprocess.Popen([sys.executable, "-m", "cli.principal", *common,
                              "--num-procesos", "2", "--proceso", "0"], cwd=REPO, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wrong = _redes(*common, "--num-procesos", "3", "--proceso", "1")
    finally:
        chief.kill()
        chief.wait()
    assert wrong.returncode == 2
    assert "se esperaban 3 procesos y el coordinador" in wrong.stderr
    assert "tiene 2; use el mismo --num-procesos en todos" in wrong.stderr


def _check_two_processes(done, per_process: int) -> None:
    """La orden terminó bien y cada proceso leyó ``per_process`` ejemplos por lote."""
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"({per_process} por proceso)" in done.stderr


@processes
@pytest.mark.neutral
def test_yolo_and_transformer_train_with_two_processes(tmp_path):
    shapes = make_shapes_dataset(tmp_path / "voc", n_images=32, image_size=(64, 64),
                                 classes=SHAPES, max_objects=2, seed=0)
    yolo = _redes("deteccion", "entrenar", "--anotaciones", str(shapes / "annotations"),
                  "--imagenes", str(shapes / "images"), "--etiquetas", *SHAPES,
                  "--tamanio", "64", "--backbone", "tiny", "--ancho", "0.25",
                  "--epocas", "3", "--repeticiones", "1", "--lote", "8", "--tasa", "2e-3",
                  "--coseno", "--epocas-calentamiento", "0", "--paciencia", "0",
                  "--sin-aumento", "--salida", str(tmp_path / "yolo"), "--procesos", "2")
    _check_two_processes(yolo, 4)
    losses = [float(row["loss"]) for row in _rows(tmp_path / "yolo" / "registro.csv")]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert modelos.load(tmp_path / "yolo" / "modelo.h5").output_shape[-1] == 5 + len(SHAPES)

    translator = _redes("traduccion", "entrenar", "--maximo", "99",
                        "--frases-entrenamiento", "0", "--frases-validacion", "10",
                        "--frases-prueba", "10", "--capas", "1",
                        "--dmodelo", "16", "--cabezas", "2", "--dff", "32", "--epocas", "2",
                        "--lotes-por-epoca", "0", "--lote", "16", "--minutos", "5",
                        "--salida", str(tmp_path / "tr"), "--procesos", "2")
    _check_two_processes(translator, 8)
    assert len(_rows(tmp_path / "tr" / "registro.csv")) == 2


@processes
@pytest.mark.neutral
def test_xor_learns_the_same_on_one_device_two_devices_and_two_processes(tmp_path, capsys):
    # El mismo lote global de 4 filas, partido entre 2 dispositivos de un proceso
    # (--dispositivos, con la CPU dividida en 2) o entre 2 procesos (--procesos): mismas
    # cuentas que en un solo dispositivo (aquí, en este proceso).
    from tareas.xor import train_xor

    one = train_xor(epochs=5, seed=1, run_dir=tmp_path / "uno").metrics["loss"]
    common = ["xor", "entrenar", "--epocas", "5", "--semilla", "1"]
    env = {**os.environ, "REDES_CPUS_LOGICOS": "2"}
    for name, extra, shown in (("dispositivos", ["--dispositivos", "2"], "2 dispositivos)"),
                               ("procesos", ["--procesos", "2"], "2 procesos)")):
        out = tmp_path / f"{name}.json"
        run = _redes(*common, "--salida", str(tmp_path / name), "--json", str(out), *extra,
                     env=env)
        assert run.returncode == 0, run.stderr
        assert "Entrenando «xor» 5 épocas" in run.stderr and shown in run.stderr
        assert json.loads(out.read_text())["metricas"]["loss"] == pytest.approx(one, rel=1e-5)
    # Más dispositivos de los que hay, o junto con varios procesos: un error claro (en
    # este proceso, que ve 1 dispositivo: sin arrancar JAX otras dos veces).
    assert main([*common, "--salida", str(tmp_path / "m"), "--dispositivos", "2"]) == 2
    assert "se pidieron 2 dispositivos y este proceso ve 1" in capsys.readouterr().err
    assert main([*common, "--dispositivos", "2", "--procesos", "2"]) == 2
    assert "no va con --procesos" in capsys.readouterr().err
