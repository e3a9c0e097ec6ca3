"""Orden ``redes servir``: la API HTTP y la página web de los modelos guardados.

Ejemplo::

    redes demo
    redes servir --pesos pesos/demo/deteccion/modelo.h5 --pesos pesos/demo/ventas_ste/modelo.h5

y abrir http://127.0.0.1:8000/ (la página) o http://127.0.0.1:8000/docs (la API).
"""

from __future__ import annotations

import ipaddress
import logging
import os

from cli.comun import add_command
from nucleo.vocabulario import ENGINE_HELP
from nucleo.vocabulario import ENGINES
from nucleo.vocabulario import SERVICE_BATCH_REQUESTS
from nucleo.vocabulario import SERVICE_MAX_MB
from nucleo.vocabulario import SERVICE_MAX_PIXELS

logger = logging.getLogger("redes")

#: Variable de entorno con la clave de acceso (lo mismo que ``--clave``).
KEY_ENV = "REDES_CLAVE"


def is_loopback(host: str) -> bool:
    """``True`` si ``host`` solo es accesible desde esta máquina (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_weights(values: list[str]) -> list[tuple[str | None, str]]:
    """``["det=pesos/a.h5", "pesos/b.h5"]`` → ``[("det", "pesos/a.h5"), (None, "pesos/b.h5")]``."""
    from pathlib import Path

    parsed = []
    for value in values:
        name, sep, path = value.partition("=")
        if sep and name and not Path(value).exists() and name.replace("_", "").replace(
                "-", "").isalnum():
            parsed.append((name, path))
        else:
            parsed.append((None, value))
    return parsed


def check_service_installed() -> None:
    """Comprueba que están FastAPI, uvicorn y python-multipart (el extra ``servicio``).

    Raises:
        EnvironmentSetupError: nombra el paquete que falta y el extra de pip.
    """
    import importlib.util

    from nucleo.errores import EnvironmentSetupError

    for module, package in (("fastapi", "fastapi"), ("uvicorn", "uvicorn"),
                            ("python_multipart", "python-multipart")):
        if importlib.util.find_spec(module) is None:
            raise EnvironmentSetupError(
                f"redes servir necesita «{package}», que no está instalado: instálalo con "
                'pip install "redes-keras[servicio]" (o, desde el repositorio, '
                'pip install ".[servicio]").')


def serve_settings(args):
    """Los :class:`~servicio.app.Settings` de los argumentos, validados.

    Raises:
        ArgumentError: límites fuera de rango, o un host que no es local sin clave.
    """
    from nucleo.errores import ArgumentError
    from servicio.app import Settings

    key = args.clave or os.environ.get(KEY_ENV) or None
    if not is_loopback(args.host) and not key:
        raise ArgumentError(
            f"redes servir: escuchar en {args.host} (fuera de esta máquina) exige una clave: "
            f"--clave o la variable {KEY_ENV}. Los clientes la envían en la cabecera X-Clave.")
    if key is not None and len(key) < 12:
        raise ArgumentError("redes servir: la clave debe tener al menos 12 caracteres.")
    if key is not None and (key != key.strip() or not all(" " <= c <= "~" for c in key)):
        # Una cabecera HTTP lleva ASCII visible y los clientes recortan los espacios de los
        # extremos: una clave así nunca llegaría igual y toda petición daría 401.
        raise ArgumentError("redes servir: la clave debe ser ASCII imprimible (letras sin "
                            "tilde ni ñ, cifras, signos) y sin espacios al principio ni al "
                            "final: ningún cliente HTTP podría enviarla en X-Clave.")
    checks = (("--limite-mb", args.limite_mb, 0.001, 1024),
              ("--limite-pixeles", args.limite_pixeles, 1, 10**9),
              ("--lote-peticiones", args.lote_peticiones, 1, 256),
              ("--espera-ms", args.espera_ms, 0, 10_000))
    for name, value, low, high in checks:
        if not low <= value <= high:
            raise ArgumentError(f"redes servir: {name} debe estar entre {low} y {high}; "
                                f"recibido {value}.")
    if not 0 < args.puerto < 65536:
        raise ArgumentError(f"redes servir: --puerto debe estar entre 1 y 65535; recibido "
                            f"{args.puerto}.")
    return Settings(max_body_bytes=int(args.limite_mb * 2**20), max_pixels=args.limite_pixeles,
                    max_batch=args.lote_peticiones, wait_ms=args.espera_ms, api_key=key,
                    cors_origins=tuple(args.cors or ()), allowed_hosts=allowed_hosts(args))


#: Los nombres de esta máquina que acepta un servidor en 127.0.0.1 en la cabecera Host.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def allowed_hosts(args) -> tuple[str, ...] | None:
    """Los valores de ``Host`` que se aceptan: escuchando en esta máquina, sus nombres
    locales (contra el DNS rebinding) más los de ``--hosts``; fuera (con clave), cualquiera
    salvo que ``--hosts`` los fije."""
    extra = tuple(args.hosts or ())
    if is_loopback(args.host):
        return tuple(dict.fromkeys((*LOCAL_HOSTS, args.host, *extra)))
    return extra or None


def _cmd_serve(args) -> int:
    from servicio.modelos_servidos import load_served_model

    check_service_installed()
    settings = serve_settings(args)
    models = []
    for name, path in parse_weights(args.pesos):
        model = load_served_model(path, engine=args.motor, name=name)
        logger.info("Cargado «%s» (%s, motor %s) de %s", model.name, model.task,
                    model.info().get("motor"), path)
        models.append(model)
    from servicio.servidor import run_server

    return run_server(models, settings, host=args.host, port=args.puerto)


def add_commands(commands) -> None:
    """Añade ``redes servir``."""
    parser = add_command(
        commands, "servir", "sirve modelos guardados por HTTP (API y página web)",
        description="Carga cada modelo una vez y los sirve con FastAPI y uvicorn: "
                    "POST /detectar, /clasificar, /ventas/pronostico y /traducir según el "
                    "modelo, GET /modelos y /salud, la documentación en /docs y una página "
                    "web en /. Las peticiones a un mismo modelo se agrupan en lotes. "
                    'Necesita el extra: pip install "redes-keras[servicio]".')
    parser.add_argument("--pesos", required=True, action="append", metavar="[NOMBRE=]RUTA",
                        help="modelo .h5 de «redes TAREA entrenar» o carpeta de «redes "
                             "TAREA exportar»; se repite para servir varios. NOMBRE (por "
                             "defecto, la carpeta o el archivo) elige el modelo con "
                             "?modelo=NOMBRE")
    parser.add_argument("--host", default="127.0.0.1",
                        help="dirección en que escucha (por defecto 127.0.0.1, solo esta "
                             "máquina; otra exige --clave)")
    parser.add_argument("--puerto", type=int, default=8000, help="puerto (por defecto 8000)")
    parser.add_argument("--hosts", nargs="+", metavar="NOMBRE",
                        help="otros nombres aceptados en la cabecera Host (p. ej. el de un "
                             "proxy); en 127.0.0.1 solo se aceptan 127.0.0.1, localhost y "
                             "::1, contra el DNS rebinding")
    parser.add_argument("--clave", default=None,
                        help=f"clave de acceso que los clientes envían en la cabecera X-Clave "
                             f"(o la variable {KEY_ENV}); obligatoria fuera de 127.0.0.1")
    parser.add_argument("--motor", choices=ENGINES, default="keras", help=ENGINE_HELP)
    parser.add_argument("--limite-mb", type=float, default=SERVICE_MAX_MB,
                        help="tamaño máximo del cuerpo de una petición en MiB (por defecto "
                             "10); más → 413")
    parser.add_argument("--limite-pixeles", type=int, default=SERVICE_MAX_PIXELS,
                        help="píxeles como mucho de una imagen subida, comprobados antes de "
                             "decodificarla (por defecto 40 millones); más → 413")
    parser.add_argument("--lote-peticiones", type=int, default=SERVICE_BATCH_REQUESTS,
                        metavar="N",
                        help="peticiones como mucho por llamada a la red (por defecto 8)")
    parser.add_argument("--espera-ms", type=float, default=5.0,
                        help="milisegundos que se espera a que se llene un lote (por "
                             "defecto 5)")
    parser.add_argument("--cors", action="append", metavar="ORIGEN",
                        help="permite CORS a ese origen (p. ej. http://localhost:3000); se "
                             "repite. Por defecto, ninguno")
    parser.set_defaults(func=_cmd_serve, resumable=False)
