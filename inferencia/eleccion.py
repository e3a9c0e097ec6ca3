"""La caché de exportaciones y la elección de ``--motor auto``.

Con un ``.h5`` y un motor que no es Keras, el modelo se exporta una vez a una caché
(``$REDES_CACHE`` o ``~/.cache/redes-keras``, por el contenido del archivo).
``auto`` elige el más rápido de los instalados **para ese modelo**: la primera vez lo
exporta a ONNX y a OpenVINO, mide una predicción con cada uno y guarda la elección en la
caché (:func:`fastest_engine`)."""

from __future__ import annotations


import functools
import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any


from nucleo.archivos import sha256_of
from nucleo.errores import ModelFileError
from inferencia.exportar import (
    DESCRIPTION,
    RUNTIME_NEEDS,
    EXPORT_NEEDS,
    export_model,
    missing_modules,
    read_description,
)
from inferencia.motor_base import Engine
from inferencia.motores_exportados import ENGINE_FORMATS

logger = logging.getLogger("redes")


#: Candidatos de ``auto`` con un ``.h5``, que :func:`fastest_engine` mide con el modelo
#: (Keras, el último recurso). Con bfloat16 nativo, OpenVINO calcula en bf16: YOLOv2-416
#: a 75 img/s frente a 13 de ONNX Runtime en una CPU con AMX, pero el MLP de ventas va
#: a 139 µs por llamada frente a 17 (``bench/inferencia.py``); por eso se mide.
AUTO_CANDIDATES = ("onnx", "openvino")


#: ``auto`` con un ``.h5``: lote de la medida, y como mucho cuántas llamadas y segundos
#: por motor (:func:`fastest_engine`).
AUTO_BATCH = 8


AUTO_CALLS = 20


AUTO_SECONDS = 1.0


def engine_installed(name: str, *, export: bool = True) -> bool:
    """Si el motor ``name`` puede usarse aquí (y exportar a su formato, con ``export``)."""
    if name == "keras":
        return True
    fmt = ENGINE_FORMATS[name]
    needs = RUNTIME_NEEDS[fmt] + (EXPORT_NEEDS[fmt] if export else ())
    return not missing_modules(needs)


def time_call(engine: Engine, inputs) -> float:
    """Segundos por llamada de ``engine`` con ``inputs``: la mejor de hasta
    :data:`AUTO_CALLS` llamadas, sin pasar de :data:`AUTO_SECONDS` (tras una de
    calentamiento)."""
    import time

    engine.predict_on_batch(inputs)
    best, spent = float("inf"), 0.0
    for _ in range(AUTO_CALLS):
        start = time.perf_counter()
        engine.predict_on_batch(inputs)
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
        if spent > AUTO_SECONDS:
            break
    return best


def auto_choice_path(weights, precision: str | None = None) -> Path:
    """Dónde guarda :func:`fastest_engine` su elección para ``weights`` (en la caché,
    junto a sus exportaciones): ``{"motor", "bf16", "lote", "microsegundos", "fallos"}``."""
    return (cache_root() / "exportados" / _file_digest(Path(weights))
            / f"auto-{precision or 'defecto'}.json")




def cache_root() -> Path:
    """Carpeta de la caché de exportaciones: ``$REDES_CACHE`` o ``~/.cache/redes-keras``.

    Si no se puede usar (es un archivo, está en ``/proc`` o ``/sys``, no se puede crear o
    escribir), se usa una carpeta temporal propia y se avisa una vez.
    """
    if os.environ.get("REDES_CACHE"):
        wanted = Path(os.environ["REDES_CACHE"])
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        wanted = Path(base) / "redes-keras"
    return _usable(wanted)


@functools.cache
def _usable(wanted: Path) -> Path:
    problem = None
    if any(str(wanted.resolve()).startswith(p) for p in ("/proc", "/sys", "/dev")):
        problem = "es una carpeta del sistema"
    else:
        try:
            wanted.mkdir(parents=True, exist_ok=True)
            probe = wanted / f".prueba-{os.getpid()}-{secrets.token_hex(4)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            problem = exc.strerror or type(exc).__name__
    if problem is None:
        return wanted
    fallback = Path(tempfile.gettempdir()) / f"redes-keras-cache-{os.getuid()}"
    fallback.mkdir(parents=True, exist_ok=True)
    logger.warning("La caché «%s» no se puede usar (%s): se usa «%s» (REDES_CACHE la fija).",
                   wanted, problem, fallback)
    return fallback


def _file_digest(path: Path) -> str:
    return sha256_of(path)[:24]


def cached_export(weights, fmt: str) -> dict[str, Any]:
    """La exportación de ``weights`` a ``fmt`` en la caché; la crea si falta.

    La clave es el contenido del archivo: otro entrenamiento en la misma ruta exporta
    de nuevo. Se exporta en una carpeta temporal y se renombra al final.
    """
    weights = Path(weights)
    folder = cache_root() / "exportados" / _file_digest(weights) / fmt
    if (folder / DESCRIPTION).is_file():
        try:
            return read_description(folder)
        except ModelFileError as exc:  # una entrada rota o cambiada se rehace
            logger.warning("La exportación %s de «%s» en la caché no vale (%s): se rehace.",
                           fmt, weights, str(exc).splitlines()[0][:200])
            shutil.rmtree(folder, ignore_errors=True)
    staging = folder.with_name(f".{fmt}-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        export_model(weights, fmt, staging)
        try:
            os.replace(staging, folder)
        except OSError:  # otro proceso la creó a la vez: vale la suya
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return read_description(folder)
