"""Fixtures compartidas por todas las pruebas."""

from __future__ import annotations

import ipaddress
import socket
import urllib.request

import pytest


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
