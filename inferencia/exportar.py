"""Exportar un modelo a SavedModel, ONNX, OpenVINO o LiteRT, con una descripción JSON.

``redes xor exportar --pesos modelo.h5 --formato onnx --salida exportado/`` (o
:func:`export_model`) escribe en la carpeta de salida:

- el artefacto: ``saved_model/`` (SavedModel de TensorFlow), ``modelo.onnx``,
  ``modelo.xml`` + ``modelo.bin`` (IR de OpenVINO) o ``modelo.tflite`` (LiteRT);
- ``modelo.json``: todo lo que un programa necesita para usarlo sin el código de los
  constructores: el formato y el archivo, las entradas y salidas (nombre, forma y tipo),
  el constructor y sus argumentos, los metadatos de la tarea guardados con los pesos
  (clases, escalador, tokenizadores...) y, según el modelo, el preprocesado (tamaño de
  entrada, escala de los píxeles) y la salida (anclas y etiquetas de YOLO).

Keras hace la conversión (``model.export``): sobre TensorFlow, ONNX pasa por
``tf2onnx`` y OpenVINO por su convertidor. Las capas propias (``Reorg``, las del
Transformer) se exportan porque solo usan operaciones de ``keras.ops``.

Los formatos pesados van en extras de pip: ``onnx`` (onnx, tf2onnx, onnxruntime) y
``openvino``. Si falta uno, el error lo nombra.

La escritura es atómica por archivo: se exporta en una carpeta temporal junto a la
salida y solo al final se mueven los archivos a su sitio (la descripción, la última).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from nucleo.archivos import dumps_strict
from nucleo.archivos import read_json
from nucleo.archivos import sha256_of
from nucleo.errores import ArgumentError, DataError, EnvironmentSetupError, ModelFileError
from nucleo.vocabulario import EXPORT_FORMATS as FORMATS
from nucleo.vocabulario import MAX_IMAGE_SIDE
from nucleo.vocabulario import MAX_JSON_DEPTH

#: Nombre del artefacto de cada formato dentro de la carpeta de salida.
ARTIFACTS = {"saved_model": "saved_model", "onnx": "modelo.onnx",
             "openvino": "modelo.xml", "litert": "modelo.tflite"}
#: Archivos que acompañan al artefacto (los pesos del IR de OpenVINO).
COMPANIONS = {"openvino": ("modelo.bin",)}
#: La descripción JSON que acompaña a cada exportación.
DESCRIPTION = "modelo.json"
DESCRIPTION_VERSION = 1

#: Módulos que necesita exportar a cada formato, y el extra de pip que los instala.
EXPORT_NEEDS = {"saved_model": (), "onnx": ("onnx", "tf2onnx"), "openvino": ("openvino",),
                 "litert": ()}
#: Módulos que necesita ejecutar cada formato.
RUNTIME_NEEDS = {"saved_model": ("tensorflow",), "onnx": ("onnxruntime",),
                 "openvino": ("openvino",), "litert": ("tensorflow",)}
EXTRAS = {"onnx": "onnx", "tf2onnx": "onnx", "onnxruntime": "onnx", "openvino": "openvino",
          "nncf": "openvino",
          "ai_edge_litert": "litert", "tensorflow": None}
# Nombre de cada formato en el `format` de keras.Model.export.
_KERAS_FORMATS = {"saved_model": "tf_saved_model", "onnx": "onnx", "openvino": "openvino",
                  "litert": "litert"}


def missing_modules(modules) -> list[str]:
    """Los de ``modules`` que no están instalados (sin importarlos)."""
    return [name for name in modules if importlib.util.find_spec(name) is None]


def check_modules(modules, what: str) -> None:
    """Comprueba que están instalados los módulos que necesita ``what``.

    Raises:
        EnvironmentSetupError: nombra el primer módulo que falta y el extra de pip que
            lo instala.
    """
    missing = missing_modules(modules)
    if not missing:
        return
    extra = EXTRAS.get(missing[0])
    hint = (f'instálalo con pip install "redes-keras[{extra}]" (o, desde el repositorio, '
            f'pip install ".[{extra}]")' if extra else "reinstala redes-keras")
    raise EnvironmentSetupError(f"{what} necesita el paquete «{missing[0]}», que no está "
                                f"instalado: {hint}.")


def check_format(fmt: str, name: str = "formato") -> str:
    """Devuelve ``fmt`` si es uno de :data:`FORMATS`; si no, un error que los lista."""
    if fmt not in FORMATS:
        raise ArgumentError(f"«{name}» debe ser uno de {', '.join(FORMATS)}; recibido {fmt!r}.")
    return fmt


# === La descripción ===

def _tensor_specs(tensors) -> list[dict[str, Any]]:
    return [{"name": tensor.name.split(":")[0], "shape": list(tensor.shape),
             "dtype": str(tensor.dtype)} for tensor in tensors]


def _task_details(model) -> dict[str, Any]:
    """Lo que la familia del modelo declara de su entrada y de su salida."""
    from modelos.registro import preprocessor_of

    preprocessor = preprocessor_of(model)
    return preprocessor.describe(model) if preprocessor is not None else {}


def describe(model, fmt: str | None, metadata: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    """La descripción JSON de ``model`` exportado como ``fmt`` (ver el módulo).

    Con ``fmt=None`` describe el modelo de Keras en memoria (formato ``"keras"``, sin
    artefacto): lo usa el motor ``keras``.

    Raises:
        ArgumentError: si el modelo no viene de un constructor registrado.
    """
    from nucleo.keras_listo import keras

    from modelos.guardado import split_kwargs, to_json
    from modelos.registro import builder_spec

    spec = builder_spec(model)
    if spec is None:
        raise ArgumentError("Solo se exportan modelos de un constructor registrado "
                            "(build_yolo, build_sales_mlp...) o un archivo de modelos.save.")
    kwargs, omitted = split_kwargs(spec.kwargs)
    description = {
        "format": fmt or "keras",
        "format_version": DESCRIPTION_VERSION,
        "artifact": ARTIFACTS.get(fmt),
        "builder": spec.name,
        "kwargs": kwargs,
        "omitted": omitted,
        "metadata": to_json(metadata or {}),
        "inputs": _tensor_specs(model.inputs),
        "outputs": _tensor_specs(model.outputs),
        "precision": "float32",
        "keras_version": keras.__version__,
    }
    description.update(_task_details(model))
    return description


#: Tamaño máximo de ``modelo.json`` (las descripciones reales ocupan unos pocos KB; los
#: tokenizadores de un traductor, algo más).
MAX_DESCRIPTION_BYTES = 16 * 2**20
#: Lado máximo de una dimensión que no es de imagen (fichas, rasgos).
MAX_DIMENSION = 2**24


def _check_shape(shape, where: str) -> None:
    """Cada dimensión es ``None`` o un entero positivo acotado; alto y ancho de una imagen
    ``(B, alto, ancho, canales)``, como mucho :data:`MAX_IMAGE_SIDE`: se comprueba antes
    de reservar memoria para ella."""
    if not isinstance(shape, list) or len(shape) > 8:
        raise ModelFileError(f"{where} debe ser una lista de como mucho 8 dimensiones.")
    for axis, dim in enumerate(shape):
        image_side = len(shape) == 4 and axis in (1, 2)
        limit = MAX_IMAGE_SIDE if image_side else MAX_DIMENSION
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int)
                                or not 0 < dim <= limit):
            raise ModelFileError(f"{where}: la dimensión {axis} vale {dim!r}; se esperaba un "
                                 f"entero entre 1 y {limit}"
                                 + (" (el lado máximo de una imagen)" if image_side else "")
                                 + ".")


def _verify_digests(description: dict[str, Any], json_path: Path) -> None:
    """Cada archivo con su sha256 en ``modelo.json`` es el que se exportó: uno cambiado por
    otro (otra exportación, una copia cortada) se rechaza antes de abrirlo."""
    digests = description.get("sha256")
    if digests is None:
        return   # exportaciones de antes de que se guardara el sha256
    known = {description["artifact"], *COMPANIONS.get(description["format"], ())}
    if not isinstance(digests, dict) or not set(digests) <= known or not all(
            isinstance(v, str) and len(v) == 64 for v in digests.values()):
        raise ModelFileError(f"«{json_path}»: el campo «sha256» debe dar el sha256 de "
                             f"{', '.join(sorted(known))}.")
    for entry, expected in digests.items():
        actual = sha256_of(json_path.parent / entry)
        if actual != expected:
            raise ModelFileError(
                f"«{json_path.parent / entry}» no es el archivo que se exportó (sha256 "
                f"{actual[:16]}…, se esperaba {expected[:16]}…): se cambió o se cortó. "
                "Vuelva a exportar el modelo.")


def read_description(path) -> dict[str, Any]:
    """Lee y comprueba ``modelo.json`` de una exportación (la carpeta o el archivo).

    Raises:
        ModelFileError: si falta, no es JSON, le falta un campo o el artefacto no está.
    """
    path = Path(path)
    json_path = path / DESCRIPTION if path.is_dir() else path
    if path.is_dir() and not json_path.is_file():
        raise ModelFileError(f"«{path}» es una carpeta sin {DESCRIPTION}: se esperaba un "
                             "modelo .h5 o la carpeta de una exportación de «redes TAREA "
                             "exportar».")
    if not json_path.is_file():
        raise ModelFileError(f"«{path}» no es una exportación de «redes TAREA exportar»: falta "
                             f"{DESCRIPTION}.")
    try:
        description = read_json(json_path, max_bytes=MAX_DESCRIPTION_BYTES,
                                max_depth=MAX_JSON_DEPTH)
    except DataError as exc:
        raise ModelFileError(str(exc)) from None
    if not isinstance(description, dict):
        raise ModelFileError(f"«{json_path}»: se esperaba un objeto JSON.")
    expected = {"format": str, "artifact": str, "builder": str, "kwargs": dict,
                "metadata": dict, "inputs": list, "outputs": list}
    for key, kind in expected.items():
        if not isinstance(description.get(key), kind):
            raise ModelFileError(f"«{json_path}»: el campo «{key}» falta o no es "
                                 f"{kind.__name__}.")
    if description["format"] not in FORMATS:
        raise ModelFileError(f"«{json_path}»: formato «{description['format']}» desconocido; "
                             f"se esperaba uno de {', '.join(FORMATS)}.")
    if description["artifact"] != ARTIFACTS[description["format"]]:
        raise ModelFileError(f"«{json_path}»: el artefacto de {description['format']} debe "
                             f"llamarse «{ARTIFACTS[description['format']]}».")
    folder = json_path.parent.resolve()
    for entry in (description["artifact"], *COMPANIONS.get(description["format"], ())):
        if not (json_path.parent / entry).exists():
            raise ModelFileError(f"«{json_path.parent}»: falta «{entry}», que nombra "
                                 f"{DESCRIPTION}.")
        target = (json_path.parent / entry).resolve()
        if not target.is_relative_to(folder):
            raise ModelFileError(f"«{json_path.parent / entry}» es un enlace que sale de la "
                                 f"carpeta de la exportación (a «{target}»): no se abre.")
    _verify_digests(description, json_path)
    for key in ("inputs", "outputs"):
        for index, item in enumerate(description[key]):
            if not (isinstance(item, dict) and isinstance(item.get("name"), str)
                    and isinstance(item.get("shape"), list)
                    and isinstance(item.get("dtype"), str)):
                raise ModelFileError(f"«{json_path}»: «{key}[{index}]» debe tener «name», "
                                     "«shape» y «dtype».")
            _check_shape(item["shape"], f"«{json_path}»: «{key}[{index}].shape»")
    size = (description.get("yolo") or {}).get("input_size") if isinstance(
        description.get("yolo"), dict) else None
    if size is not None:
        if not isinstance(size, list) or len(size) != 2:
            raise ModelFileError(f"«{json_path}»: «yolo.input_size» debe ser [alto, ancho].")
        _check_shape([None, *size, 3], f"«{json_path}»: «yolo.input_size»")
    description["directory"] = str(json_path.parent)
    return description


# === Exportar ===

def _example_inputs(model) -> list[np.ndarray]:
    """Una entrada de ejemplo por cada entrada del modelo (lote 1; longitud 2 si es libre)."""
    examples = []
    for tensor in model.inputs:
        shape = [1] + [2 if size is None else size for size in tensor.shape[1:]]
        examples.append(np.ones(shape, str(tensor.dtype)))
    return examples


def _check_backend() -> None:
    from nucleo.entorno import backend_name

    if backend_name() != "tensorflow":
        raise EnvironmentSetupError(
            f"Exportar necesita el backend tensorflow (el predeterminado); el activo es "
            f"«{backend_name()}». Quite --backend o KERAS_BACKEND.")


def decline_openvino_telemetry() -> None:
    """Que OpenVINO y NNCF no envíen telemetría desde este proceso.

    El convertidor de OpenVINO (``openvino.convert_model``, que usa Keras al exportar) y
    NNCF (al cuantizar) envían estadísticas de uso a Google Analytics **salvo que el
    usuario lo haya rechazado** (``opt_in_out --opt_out``, que escribe
    ``~/intel/openvino_telemetry``). Aquí nada sale a la red sin pedirlo: se responde
    «rechazado» a la consulta del consentimiento en este proceso, sin tocar el archivo
    del usuario. Sin el paquete ``openvino_telemetry`` no hay nada que hacer.
    """
    try:
        from openvino_telemetry import main
        from openvino_telemetry.utils import opt_in_checker
    except ImportError:
        return
    declined = opt_in_checker.ConsentCheckResult.DECLINED
    opt_in_checker.OptInChecker.check = lambda self, *args, **kwargs: declined
    # Si otro código ya creó la instancia única (con el consentimiento supuesto), también.
    instance = getattr(main.Telemetry, "_SingletonMetaClass__single_instance", None)
    if instance is not None:
        instance.consent = False


@contextlib.contextmanager
def _quiet():
    """Silencia lo que tf2onnx y el convertidor escriben por stdout al exportar."""
    import io
    import logging
    import warnings

    loggers = [logging.getLogger(name) for name in ("tf2onnx", "openvino")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            # El parche de tf2onnx que trae Keras pregunta por np.object (numpy 2 avisa).
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _move_into(source: Path, target: Path) -> None:
    """Mueve ``source`` a ``target``; una carpeta que ya existía se sustituye entera."""
    if source.is_dir() and target.exists():
        old = target.with_name(f".{target.name}.{secrets.token_hex(4)}.viejo")
        os.replace(target, old)
        os.replace(source, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(source, target)


def check_output(output, fmt: str) -> Path:
    """La carpeta de salida de una exportación ``fmt``, comprobada antes de empezar.

    Raises:
        ArgumentError: si es un archivo, o ya tiene una exportación de otro formato (no
            se mezclan dos descripciones).
    """
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise ArgumentError(f"--salida: «{output}» es un archivo; se esperaba una carpeta.")
    previous = output / DESCRIPTION
    if previous.is_file():
        with contextlib.suppress(ModelFileError):
            old = read_description(previous)["format"]
            if old != fmt:
                raise ArgumentError(f"--salida: «{output}» ya tiene una exportación {old}; "
                                    f"use otra carpeta para {fmt}.")
    return output


@contextlib.contextmanager
def staged_export(output: Path, fmt: str, description: dict[str, Any]):
    """Una carpeta temporal junto a ``output`` donde escribir el artefacto de ``fmt``.

    Si el bloque termina bien, escribe ``description`` y mueve el artefacto, sus
    compañeros y la descripción (la última) a ``output``; si falla, ``output`` queda
    como estaba. La carpeta temporal se borra siempre.
    """
    output.mkdir(parents=True, exist_ok=True)
    staging = output / f".exportando-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        yield staging
        description["sha256"] = {entry: sha256_of(staging / entry)
                                 for entry in (ARTIFACTS[fmt], *COMPANIONS.get(fmt, ()))
                                 if (staging / entry).is_file()}
        (staging / DESCRIPTION).write_text(
            dumps_strict(description, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        for entry in (ARTIFACTS[fmt], *COMPANIONS.get(fmt, ())):
            _move_into(staging / entry, output / entry)
        _move_into(staging / DESCRIPTION, output / DESCRIPTION)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _export_failure(builder: str, fmt: str, exc: Exception) -> str:
    """El error de una conversión, en una línea (los convertidores escriben párrafos)."""
    text = " ".join(str(exc).split())
    if len(text) > 400:
        text = text[:400] + "…"
    hint = ""
    if fmt == "openvino" and "TensorList" in text:
        hint = (" OpenVINO no convierte las capas recurrentes (LSTM, GRU) de este modelo; "
                "use --motor onnx o auto, o --formato onnx.")
    return f"No se pudo exportar «{builder}» a {fmt}.{hint} Detalle: {type(exc).__name__}: {text}"


def export_model(model, fmt: str, output, *, metadata: dict[str, Any] | None = None) -> Path:
    """Exporta ``model`` (o un archivo de :func:`modelos.save`) a ``output/``.

    Args:
        model: un modelo de un constructor registrado, o la ruta de su ``.h5``.
        fmt: ``"saved_model"``, ``"onnx"``, ``"openvino"`` o ``"litert"``.
        output: carpeta de salida, una por exportación; se crea si falta. Una
            exportación anterior del mismo formato se sustituye; si tiene otro formato,
            es un error (no se mezclan dos descripciones).
        metadata: metadatos de la tarea; con una ruta se leen del archivo.

    Returns:
        La ruta de ``modelo.json``.

    Raises:
        ArgumentError: formato desconocido, o una salida que es un archivo.
        EnvironmentSetupError: falta el paquete del formato (nombra el extra) o el
            backend no es tensorflow.
        ModelFileError: el archivo de pesos no vale, o la conversión falló.

    Example:
        >>> export_model("pesos/yolo/modelo.h5", "onnx", "exportado")  # doctest: +SKIP
        PosixPath('exportado/modelo.json')
    """
    fmt = check_format(fmt)
    output = check_output(output, fmt)
    check_modules(EXPORT_NEEDS[fmt], f"Exportar a {fmt}")
    _check_backend()
    if fmt == "openvino":
        decline_openvino_telemetry()
    if isinstance(model, (str, Path)):
        import modelos

        source = Path(model)
        info = modelos.load_metadata(source)
        metadata = info["metadata"] if metadata is None else metadata
        model = modelos.load(source, compile=False)
    description = describe(model, fmt, metadata)
    # Un modelo que aún no se llamó no tiene grafo que convertir (ONNX lo exige).
    examples = _example_inputs(model)
    model(examples if len(examples) > 1 else examples[0], training=False)
    with staged_export(output, fmt, description) as staging:
        try:
            with _quiet():
                model.export(str(staging / ARTIFACTS[fmt]), format=_KERAS_FORMATS[fmt],
                             verbose=False)
        except Exception as exc:  # la conversión de terceros puede fallar de mil formas
            raise ModelFileError(_export_failure(description["builder"], fmt, exc)) from exc
    return output / DESCRIPTION
