"""Arrancar la app con uvicorn y pararla con cuidado.

Con SIGTERM (o Ctrl+C) uvicorn deja de aceptar conexiones, espera a que terminen las
peticiones en curso (hasta :data:`GRACEFUL_SECONDS`) y solo entonces para los trabajadores
de los lotes: ninguna petición aceptada se queda sin respuesta.
"""

from __future__ import annotations

import logging
import signal
import sys

from servicio.app import Settings, create_app

logger = logging.getLogger("redes")

#: Segundos que se espera a las peticiones en curso al parar.
GRACEFUL_SECONDS = 30


def _graceful_server_class():
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """El servidor de uvicorn, pero una parada pedida con SIGTERM o Ctrl+C termina con
        código 0 (uvicorn vuelve a lanzar la señal al acabar, y el proceso moriría por ella
        aunque la parada haya sido ordenada). Un segundo Ctrl+C sigue forzando la salida."""

        def handle_exit(self, sig, frame) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

    return GracefulServer


def warm_up(models) -> None:
    """Lotes de prueba de 1 y de 2 en cada modelo: TensorFlow traza la función de
    predicción la primera vez y otra con el primer lote de otro tamaño (después la
    generaliza); así no lo paga la primera petición real."""
    for model in models:
        item = model.example_input()
        model.run_batch([item])
        model.run_batch([item, item])


def run_server(models, settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Sirve ``models`` hasta SIGTERM/SIGINT; devuelve el código de salida (0)."""
    import uvicorn

    app = create_app(models, settings)
    warm_up(models)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                            access_log=False, timeout_graceful_shutdown=GRACEFUL_SECONDS,
                            server_header=False)
    server = _graceful_server_class()(config)
    shown = f"[{host}]" if ":" in host else host
    tasks = ", ".join(f"{m.name} ({m.task})" for m in models)
    print(f"Sirviendo {len(models)} modelo{'s' if len(models) != 1 else ''}: {tasks}\n"
          f"Página: http://{shown}:{port}/   API: http://{shown}:{port}/docs\n"
          "Ctrl+C (o SIGTERM) para parar: las peticiones en curso terminan antes.",
          file=sys.stderr, flush=True)
    server.run()
    print("Servidor parado.", file=sys.stderr, flush=True)
    return 0
