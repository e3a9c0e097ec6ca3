"""La caché de exportaciones y la elección de ``--motor auto``.

Con un ``.h5`` y un motor que no es Keras, el modelo se exporta una vez a una caché
(``$REDES_CACHE`` o ``~/.cache/redes-keras``, por el contenido del archivo).
``auto`` elige el más rápido de los instalados **para ese modelo**: la primera vez lo
exporta a ONNX y a OpenVINO, mide una predicción con cada uno y guarda la elección en la
caché (:func:`fastest_engine`)."""

from __future__ import annotations


import hashlib
import os
import secrets
import shutil
from pathlib import Path
from typing import Any


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
    """Carpeta de la caché de exportaciones: ``$REDES_CACHE`` o ``~/.cache/redes-keras``."""
    if os.environ.get("REDES_CACHE"):
        return Path(os.environ["REDES_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "redes-keras"


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:24]


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
        except ModelFileError:
            shutil.rmtree(folder, ignore_errors=True)  # una caché rota se rehace
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
