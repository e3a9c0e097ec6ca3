"""``redes servir`` como proceso de verdad: arranca en 127.0.0.1, atiende y, con SIGTERM,
deja terminar la petición en curso antes de salir con código 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from tests.servicio_modelos import free_port  # noqa: E402

#: Espera del lote: la única petición se queda este tiempo en la cola del modelo, así que
#: sigue en curso cuando llega SIGTERM.
WAIT_MS = 2500


def _wait_until_up(process, url: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"redes servir terminó al arrancar:\n{process.stderr.read()}")
        try:
            if httpx.get(f"{url}/salud", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise AssertionError("redes servir no respondió a tiempo")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM es de POSIX")
def test_sigterm_lets_the_request_in_flight_finish(service_models):
    paths = service_models[0]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.principal", "servir", "--pesos", str(paths["ventas"]),
         "--puerto", str(port), "--espera-ms", str(WAIT_MS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        _wait_until_up(process, url)
        answer = {}

        def ask():
            body = {"fechas": [f"2018-03-{d:02d}" for d in range(1, 15)],
                    "unidades": [100 + 3 * d for d in range(14)], "dias": 3}
            started = time.monotonic()
            response = httpx.post(f"{url}/ventas/pronostico", json=body, timeout=60)
            answer.update(status=response.status_code, json=response.json(),
                          seconds=time.monotonic() - started)

        client = threading.Thread(target=ask)
        client.start()
        time.sleep(WAIT_MS / 1000 / 3)        # la petición ya espera en la cola
        process.send_signal(signal.SIGTERM)
        client.join(60)
        code = process.wait(60)
        stderr = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert answer["status"] == 200, answer
    assert len(answer["json"]["pronostico"]) == 3
    assert answer["seconds"] >= WAIT_MS / 1000 * 0.9   # terminó después de la señal
    assert code == 0, stderr
    assert "Sirviendo 1 modelo" in stderr and "Servidor parado." in stderr
    assert "Traceback" not in stderr
