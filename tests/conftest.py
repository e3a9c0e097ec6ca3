"""Fixtures compartidas por todas las pruebas."""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest

from cli.servir import is_loopback
from nucleo.entorno import apply_onednn_default

# Antes de que ningún módulo de prueba importe Keras (y con él TensorFlow): las pruebas
# corren con la misma configuración de oneDNN que el programa.
apply_onednn_default()


def _one_compute_thread_per_worker() -> None:
    """Con ``pytest -n N`` (N > 1), un hilo de cálculo por proceso de pruebas.

    ``make test`` corre 2 procesos en 2 núcleos; si cada uno abre un hilo por núcleo en
    TensorFlow, XLA (JAX) o PyTorch, son 4 hilos que se quitan la CPU (y oneDNN y OpenMP
    esperan girando). Con uno por proceso, la pasada de TensorFlow gasta ~11 % menos de
    CPU. Lo que el usuario ya haya fijado se respeta. Los procesos que lanzan las
    pruebas heredan el ajuste.
    """
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) < 2:
        return
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(name, "1")
    flags = os.environ.get("XLA_FLAGS", "")
    if "intra_op_parallelism_threads" not in flags:
        os.environ["XLA_FLAGS"] = (f"{flags} --xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1").strip()


_one_compute_thread_per_worker()


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):  # sockets de UNIX
        return True
    return is_loopback(host)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Ninguna prueba puede abrir una conexión fuera de esta máquina (ni descargar nada).

    Las conexiones a 127.0.0.0/8 y ::1 siguen permitidas (servidores de prueba locales).
    """

    original_urlopen = urllib.request.urlopen

    def refuse_urlopen(url, *args, **kwargs):
        import urllib.parse

        address = url.full_url if isinstance(url, urllib.request.Request) else str(url)
        host = urllib.parse.urlsplit(address).hostname or ""
        if host and _is_loopback(host):  # un servidor de prueba en 127.0.0.1
            return original_urlopen(url, *args, **kwargs)
        raise AssertionError("las pruebas no deben usar la red")

    original_connect = socket.socket.connect

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise AssertionError(f"las pruebas no deben conectarse a {address!r}")
        return original_connect(self, address)

    monkeypatch.setattr(urllib.request, "urlopen", refuse_urlopen)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


#: Módulos que van primero: con ``pytest -n 2 --dist loadscope`` (make test) empiezan a la
#: vez que el resto en el otro proceso, en lugar de quedarse solos al final.
FIRST_MODULES = ("test_demo.py",)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.path.name not in FIRST_MODULES)  # orden estable



@pytest.fixture(scope="session")
def service_models(tmp_path_factory):
    """Un modelo pequeño de cada tarea de ``redes servir``, guardado y cargado una vez:
    ``(rutas, modelos)``, cada uno un diccionario por tarea (:mod:`tests.servicio_modelos`)."""
    pytest.importorskip("fastapi")
    from servicio.modelos_servidos import load_served_model
    from tests.servicio_modelos import save_service_models

    def build(folder):
        return {task: str(path) for task, path in save_service_models(folder).items()}

    paths = {task: Path(path) for task, path in
             _once_per_run(tmp_path_factory, "servicio", build).items()}
    return paths, {task: load_served_model(path) for task, path in paths.items()}


@pytest.fixture(scope="module")
def servidor_web(service_models):
    """URL base de ``redes servir`` de verdad (uvicorn en 127.0.0.1, en un hilo) con un
    modelo pequeño de cada tarea."""
    pytest.importorskip("uvicorn")
    from tests.servicio_modelos import running_server

    with running_server(list(service_models[1].values())) as url:
        yield url


# === Datos y modelos compartidos ===
# Cada uno se construye una sola vez por ejecución de pytest, también con ``pytest -n 2``:
# el primer proceso que lo pide lo construye en una carpeta común a los procesos
# (:func:`_once_per_run`) y el otro lo lee de allí. Solo si alguna prueba lo pide. Son de
# solo lectura: una prueba que escriba junto a sus archivos los copia antes a su
# ``tmp_path``; los registros se entregan copiados a cada prueba.

def _once_per_run(tmp_path_factory, name, build):
    """``build(carpeta)`` una sola vez en toda la ejecución; devuelve lo que devolvió.

    Sin xdist, en una carpeta de ``tmp_path_factory``. Con xdist, en
    ``<carpeta de la ejecución>/compartido/<name>`` (la carpeta padre de la de cada
    proceso): el primer proceso construye con el cerrojo tomado y deja el resultado
    (JSON) en ``.hecho.json``; los demás esperan el cerrojo y leen ese resultado. Si la
    construcción falla, no queda marca y el siguiente lo intenta de nuevo (y falla con su
    propio error).
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return build(tmp_path_factory.mktemp(name))
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent / "compartido"
    root.mkdir(exist_ok=True)
    folder, done = root / name, root / f"{name}.hecho.json"
    with FileLock(str(root / f"{name}.lock")):
        if done.is_file():
            return json.loads(done.read_text(encoding="utf-8"))
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        result = build(folder)
        done.write_text(json.dumps(result), encoding="utf-8")
    return result


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """La caché de exportaciones (``$REDES_CACHE``) de todas las pruebas: una carpeta de la
    ejecución (común a los procesos de ``pytest -n``), nunca ``~/.cache/redes-keras``.
    También la heredan los procesos que lanzan."""
    folder = Path(_once_per_run(tmp_path_factory, "cache", str))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDES_CACHE", str(folder))
        yield folder


def _read_records(root, labels=None):
    from datos.anotaciones import read_voc

    records, _ = read_voc(root / "annotations", root / "images", labels)
    return records


@pytest.fixture(scope="session")
def shapes(tmp_path_factory):
    """Carpeta VOC (``annotations/``, ``images/``) de las figuras de los entrenamientos
    cortos de YOLO: ``SHAPES_IMAGES`` imágenes de 64×64 con 1 o 2 círculos o cuadrados
    (:data:`tests.helpers.SHAPES_LABELS`)."""
    from datos.sinteticos import make_shapes_dataset
    from tests.helpers import SHAPES_IMAGES, SHAPES_LABELS, SHAPES_SIZE

    def build(folder):
        return str(make_shapes_dataset(
            folder, n_images=SHAPES_IMAGES, image_size=(SHAPES_SIZE, SHAPES_SIZE),
            classes=SHAPES_LABELS, max_objects=2, seed=0))

    return Path(_once_per_run(tmp_path_factory, "figuras", build))


@pytest.fixture(scope="session")
def _shapes_records(shapes):
    from tests.helpers import SHAPES_LABELS

    return _read_records(shapes, list(SHAPES_LABELS))


@pytest.fixture
def shapes_records(_shapes_records):
    """Los registros (``VocImage``) de :func:`shapes`, una copia para cada prueba."""
    return copy.deepcopy(_shapes_records)


@pytest.fixture(scope="session")
def wide_shapes(tmp_path_factory):
    """Carpeta VOC de figuras apaisadas: ``WIDE_SHAPES_IMAGES`` imágenes de 96 de alto × 128
    de ancho con 1 a 3 figuras de las 3 clases (círculo, cuadrado y triángulo)."""
    from datos.sinteticos import make_shapes_dataset
    from tests.helpers import WIDE_SHAPES_IMAGES, WIDE_SHAPES_SIZE

    def build(folder):
        return str(make_shapes_dataset(folder, n_images=WIDE_SHAPES_IMAGES,
                                       image_size=WIDE_SHAPES_SIZE, max_objects=3, seed=1))

    return Path(_once_per_run(tmp_path_factory, "figuras_apaisadas", build))


@pytest.fixture(scope="session")
def _wide_shapes_records(wide_shapes):
    return _read_records(wide_shapes)


@pytest.fixture
def wide_shapes_records(_wide_shapes_records):
    """Los registros de :func:`wide_shapes`, una copia para cada prueba."""
    return copy.deepcopy(_wide_shapes_records)


@pytest.fixture(scope="session")
def held_out_shapes(tmp_path_factory):
    """100 imágenes de figuras del tamaño de la demo, nunca vistas al entrenar (otra
    semilla que la demo y que :func:`trained_detector`)."""
    from datos.sinteticos import make_shapes_dataset
    from tareas.deteccion.demo import DEMO

    def build(folder):
        size = DEMO.image_size
        return str(make_shapes_dataset(folder / "figuras", n_images=100,
                                       image_size=(size, size), classes=DEMO.classes,
                                       max_objects=2, seed=100))

    return Path(_once_per_run(tmp_path_factory, "prueba", build))


#: El entrenamiento corto del detector compartido, por la orden: 160 imágenes de figuras
#: del tamaño de la demo, YOLOv2 tiny con un cuarto de los filtros, 4 épocas.
DETECTOR_TRAINING = ["--backbone", "tiny", "--ancho", "0.25", "--anclas", "auto",
                     "--epocas", "4", "--repeticiones", "1", "--lote", "16", "--tasa", "2e-3",
                     "--coseno", "--epocas-calentamiento", "1", "--paciencia", "0",
                     "--precision", "auto"]


@pytest.fixture(scope="session")
def trained_detector(tmp_path_factory):
    """Un detector tiny entrenado con ``redes deteccion entrenar``: ``(pesos, resumen JSON)``.

    Los archivos de la ejecución (registro, curvas) son los de ``resumen["archivos"]``. La
    calidad de un detector entrenado de verdad se prueba con el de la demo
    (tests/test_demo.py).
    """
    from cli.principal import main
    from datos.sinteticos import make_shapes_dataset
    from tareas.deteccion.demo import DEMO

    def build(base):
        size, classes = DEMO.image_size, list(DEMO.classes)
        train = make_shapes_dataset(base / "entrenamiento", n_images=160,
                                    image_size=(size, size), classes=classes, max_objects=2,
                                    seed=0)
        summary = base / "resumen.json"
        code = main(["deteccion", "entrenar", "--anotaciones", str(train / "annotations"),
                     "--imagenes", str(train / "images"), "--etiquetas", *classes,
                     "--tamanio", str(size), *DETECTOR_TRAINING,
                     "--salida", str(base / "red_figuras"), "--json", str(summary)])
        assert code == 0
        return json.loads(summary.read_text())

    result = _once_per_run(tmp_path_factory, "detector", build)
    return Path(result["archivos"]["pesos"]), result
