"""Fixtures compartidas por todas las pruebas."""

from __future__ import annotations

import ipaddress
import os
import socket
import urllib.request

import pytest

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
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Ninguna prueba puede abrir una conexión fuera de esta máquina (ni descargar nada).

    Las conexiones a 127.0.0.0/8 y ::1 siguen permitidas (servidores de prueba locales).
    """

    def refuse_urlopen(*args, **kwargs):
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

    paths = save_service_models(tmp_path_factory.mktemp("servicio"))
    return paths, {task: load_served_model(path) for task, path in paths.items()}


@pytest.fixture(scope="module")
def servidor_web(service_models):
    """URL base de ``redes servir`` de verdad (uvicorn en 127.0.0.1, en un hilo) con un
    modelo pequeño de cada tarea."""
    pytest.importorskip("uvicorn")
    from tests.servicio_modelos import running_server

    with running_server(list(service_models[1].values())) as url:
        yield url
