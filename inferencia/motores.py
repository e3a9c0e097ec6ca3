"""Motores de inferencia: una sola interfaz para Keras, ONNX Runtime, OpenVINO y LiteRT.

Este módulo abre un motor (:func:`load_engine`); la interfaz común está en
:mod:`inferencia.motor_base`, los motores de las exportaciones en
:mod:`inferencia.motores_exportados` y la caché y la elección de ``auto`` en
:mod:`inferencia.eleccion`.

Un motor se comporta, para quien predice, como un modelo de Keras ya cargado:
``predict_on_batch(x)``, ``predict(x, batch_size=...)``, ``input_shape``,
``output_shape`` y el constructor con sus argumentos (``modelos.registro.builder_spec``
funciona con él). Así :func:`modelos.yolo.decodificacion.detect_batch`, la
clasificación, el pronóstico de ventas y la traducción usan el mismo código (la misma
decodificación y NMS) con cualquier motor.

:func:`load_engine` abre un motor desde

- un archivo de :func:`modelos.save` (``.h5``): con ``keras`` lo carga como siempre; con
  ``onnx``, ``openvino`` o ``litert`` lo exporta una vez (:mod:`inferencia.exportar`) a una
  caché (``$REDES_CACHE`` o ``~/.cache/redes-keras``, por el contenido del archivo) y
  abre la exportación;
- o una carpeta de ``redes TAREA exportar`` (o su ``modelo.json``), sin Keras ni constructores.

``predict_images`` recibe fotos ``uint8`` ya redimensionadas (lo que usa ``detect_batch``):
el motor ``openvino`` hace la división entre 255 dentro de su grafo. Una exportación de
``redes deteccion exportar --int8`` (:mod:`inferencia.cuantizar`) se abre como cualquier otra de
OpenVINO; su ``repr`` dice ``int8``.

``engine="auto"`` con un ``.h5`` elige el más rápido de los instalados **para ese
modelo**: la primera vez lo exporta a ONNX y a OpenVINO, mide una predicción con cada
uno y guarda la elección en la caché (:func:`fastest_engine`). Con una exportación, el
motor de su formato. OpenVINO calcula en bfloat16 si la CPU lo hace de forma nativa
(AVX-512 BF16 o AMX) y en float32 si no; ``precision="float32"`` lo fija.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


from nucleo.errores import ArgumentError, ModelFileError
from inferencia.exportar import (
    ARTIFACTS,
    RUNTIME_NEEDS,
    EXPORT_NEEDS,
    check_modules,
    read_description,
)
from nucleo.entorno import resolve_engine_precision
from nucleo.vocabulario import ENGINES
from inferencia.eleccion import AUTO_BATCH
from inferencia.eleccion import AUTO_CANDIDATES
from inferencia.eleccion import auto_choice_path
from inferencia.eleccion import cached_export
from inferencia.eleccion import engine_installed
from inferencia.eleccion import time_call
from inferencia.motor_base import Engine
from inferencia.motor_base import KerasEngine
from inferencia.motor_base import example_inputs
from inferencia.motores_exportados import ENGINE_FORMATS
from inferencia.motores_exportados import LiteRtEngine
from inferencia.motores_exportados import OnnxEngine
from inferencia.motores_exportados import OpenVinoEngine
from inferencia.motores_exportados import SavedModelEngine
from inferencia.motores_exportados import open_export


# === Elegir y abrir ===


def _check_choice(engine: str) -> str:
    if engine not in ENGINES:
        raise ArgumentError(f"«motor» debe ser uno de {', '.join(ENGINES)}; "
                            f"recibido {engine!r}.")
    return engine


def fastest_engine(weights, precision: str | None = None) -> Engine:
    """El motor más rápido para **este** modelo, medido aquí la primera vez.

    Exporta el ``.h5`` a cada motor instalado de :data:`AUTO_CANDIDATES` (a la caché), mide
    una predicción de un lote de :data:`AUTO_BATCH` con cada uno y se queda con el más
    rápido; un formato al que el modelo no se puede exportar (OpenVINO no convierte las
    LSTM de ``ventas_rnn`` y ``seq2seq``) se salta. La elección se guarda en la caché,
    junto a las exportaciones (:func:`auto_choice_path`, con los tiempos medidos): las
    siguientes veces solo se abre ese motor. Keras queda como último recurso.

    Por qué medir: el orden depende del modelo. En una CPU con AMX, OpenVINO en bf16 gana
    con las redes convolucionales grandes (YOLOv2, la CNN de CIFAR) y ONNX Runtime con las
    pequeñas (el MLP de ventas: 17 µs frente a 139), donde pesa el coste fijo de cada
    llamada (``bench/inferencia.py``).
    """
    import json

    from nucleo.archivos import atomic_write, dumps_strict
    from nucleo.entorno import native_bfloat16

    weights = Path(weights)
    bf16 = native_bfloat16()
    candidates = [name for name in AUTO_CANDIDATES if engine_installed(name)]
    choice_path = auto_choice_path(weights, precision)
    try:
        choice = json.loads(choice_path.read_text(encoding="utf-8"))
        if choice.get("bf16") == bf16 and choice.get("motor") in candidates + ["keras"]:
            return load_engine(weights, choice["motor"], precision=precision)
    except (OSError, ValueError, AttributeError, ModelFileError):
        pass   # sin elección guardada (o rota, o su exportación ya no vale): se mide
    engines: dict[str, Engine] = {}
    failures: dict[str, str] = {}
    for name in candidates:
        try:
            engines[name] = load_engine(weights, name, precision=precision)
        except (ModelFileError, ArgumentError) as exc:
            failures[name] = str(exc).splitlines()[0][:300]
    if engines:
        inputs = example_inputs(next(iter(engines.values())), batch=AUTO_BATCH, seed=0)
        seconds = {name: time_call(engine, inputs) for name, engine in engines.items()}
        best = min(seconds, key=seconds.get)
        chosen = engines[best]
    else:
        seconds, best = {}, "keras"
        chosen = load_engine(weights, "keras", precision=precision)
    record = {"motor": best, "bf16": bf16, "lote": AUTO_BATCH,
              "microsegundos": {name: round(value * 1e6, 1) for name, value in seconds.items()},
              "fallos": failures}
    try:
        atomic_write(choice_path, lambda handle: handle.write(
            dumps_strict(record, ensure_ascii=False, indent=2) + "\n"), text=True)
    except OSError:
        pass   # una caché de solo lectura: se medirá otra vez la próxima
    return chosen


def is_export(source) -> bool:
    """Si ``source`` es una exportación (carpeta o ``modelo.json``) y no un ``.h5``."""
    source = Path(source)
    return source.is_dir() or source.suffix == ".json"


def source_info(source) -> dict[str, Any]:
    """``{"builder", "kwargs", "metadata"}`` de un ``.h5`` o una exportación, sin abrir
    el modelo (los argumentos, completos con los valores por defecto).

    Raises:
        ModelFileError: si no es ni lo uno ni lo otro, o no se puede leer.
    """
    if is_export(source):
        info = read_description(source)
    else:
        import modelos

        info = modelos.load_metadata(source)
    return {key: info[key] for key in ("builder", "kwargs", "metadata")}


def source_metadata(source) -> dict[str, Any]:
    """Los metadatos de la tarea de un ``.h5`` o de una exportación (ver :func:`source_info`)."""
    return source_info(source)["metadata"]


def load_engine(source, engine: str = "auto", *, precision: str | None = None) -> Engine:
    """Abre ``source`` (``.h5`` de :func:`modelos.save` o exportación) con ``engine``.

    Args:
        source: ruta de los pesos ``.h5``, o carpeta (o ``modelo.json``) de
            ``redes TAREA exportar``.
        engine: ``"keras"``, ``"onnx"``, ``"openvino"``, ``"litert"`` o ``"auto"``.
        precision: ``None`` (la más rápida que no pierde exactitud aquí), ``"float32"``
            o ``"bfloat16"``.

    Raises:
        ArgumentError: motor desconocido, o que no ejecuta esa exportación.
        EnvironmentSetupError: el motor no está instalado (nombra el extra de pip).
        ModelFileError: el archivo o la exportación no valen.

    Example:
        >>> motor = load_engine("pesos/yolo/modelo.h5", "openvino")  # doctest: +SKIP
        >>> detect(motor, "foto.jpg")                                 # doctest: +SKIP
    """
    _check_choice(engine)
    source = Path(source)
    if is_export(source):
        return open_export(read_description(source), engine, precision)
    import modelos

    info = modelos.load_metadata(source)  # comprueba el archivo antes de exportar
    if engine == "auto":
        return fastest_engine(source, precision)
    if engine == "keras":
        precision = resolve_engine_precision("keras", precision)
        model = _load_keras(source, precision)
        return KerasEngine(model, info["metadata"], precision)
    fmt = ENGINE_FORMATS[engine]
    check_modules(RUNTIME_NEEDS[fmt] + EXPORT_NEEDS[fmt], f"El motor {engine}")
    return open_export(cached_export(source, fmt), engine, precision)


def _load_keras(path: Path, precision: str):
    from nucleo.keras_listo import keras

    import modelos

    if precision == "float32":
        return modelos.load(path, compile=False)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        return modelos.load(path, compile=False)
    finally:
        keras.config.set_dtype_policy(previous)


def as_engine(model, metadata: dict[str, Any] | None = None) -> Engine:
    """Un motor tal cual, o un modelo de Keras envuelto en :class:`KerasEngine`."""
    return model if isinstance(model, Engine) else KerasEngine(model, metadata)


__all__ = ["ARTIFACTS", "AUTO_BATCH", "AUTO_CANDIDATES", "ENGINES", "Engine", "KerasEngine",
           "LiteRtEngine", "OnnxEngine", "OpenVinoEngine", "SavedModelEngine", "as_engine",
           "auto_choice_path", "cached_export", "engine_installed", "example_inputs",
           "fastest_engine", "load_engine", "open_export"]
