"""Guardar y cargar cualquier modelo de los constructores en un único archivo HDF5.

Estructura del archivo::

    /            attrs: format="redes-keras", format_version=1, builder=<nombre>,
                        kwargs=<JSON>, omitted=<JSON>, metadata=<JSON>, keras_version
    /weights/000000 ... un dataset por variable, attrs: path=<ruta Keras de la variable>

``kwargs`` guarda todos los argumentos del constructor, también los que tomaron su
valor por defecto; los archivos anteriores, que solo guardaban los explícitos, se
completan con los valores por defecto actuales del constructor.

``load`` no confía en el archivo. Antes de leer ningún peso:

1. lee los atributos con un tamaño y una profundidad JSON acotados, y los argumentos
   solo pueden ser números, textos y listas (nada que Keras deserialice);
2. construye la arquitectura en seco (``keras.StatelessScope``: variables sin
   memoria) y rechaza más de :data:`MAX_PARAMETERS` parámetros;
3. compara cada dataset declarado (ruta, forma y tipo, sin leerlo) con la variable
   del modelo.

Solo entonces construye el modelo de verdad y lee los pesos, que deben ser números
reales finitos. Cualquier archivo mal formado da :class:`ModelFileError` con el
nombre del archivo y lo que falló. No se guarda ni se ejecuta código (sin pickle, sin
capas Lambda). La escritura es atómica: se escribe un temporal en la misma carpeta y se
cambia de nombre con ``os.replace``.
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path
from typing import Any

import h5py
from nucleo.keras_listo import keras
import numpy as np

from nucleo.archivos import atomic_path
from nucleo.errores import ArgumentError, ModelFileError, RedesError, WeightsMismatchError
from modelos.archivo_h5 import declared_weights
from modelos.archivo_h5 import json_attribute
from modelos.archivo_h5 import open_model_file
from modelos.archivo_h5 import read_weights
from modelos.archivo_h5 import reading
from modelos.archivo_h5 import text_attribute
from modelos.registro import builder_spec, family_of, get_builder, upgrade_kwargs

FORMAT = "redes-keras"
FORMAT_VERSION = 1
#: Parámetros que puede tener un modelo reconstruido desde un archivo (2 GB en float32).
MAX_PARAMETERS = 500_000_000
#: Mayor entero admitido en los argumentos guardados (ninguna dimensión pasa de int32).
MAX_INTEGER = 2**31 - 1
# Argumentos que Keras interpreta (optimizador, pérdida, métricas): solo nombres.
_KERAS_IDENTIFIERS = ("optimizer", "loss", "metrics")


def to_json(value: Any) -> Any:
    """Convierte tuplas, escalares y matrices numpy a JSON; lanza TypeError si no se puede."""
    if isinstance(value, float) and not np.isfinite(value):
        return None   # JSON estricto: null, no NaN
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, np.generic):
        return to_json(value.item())
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: to_json(v) for k, v in value.items()}
    raise TypeError(type(value).__name__)


def split_kwargs(kwargs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Separa los argumentos representables en JSON de los que no (p. ej. objetos)."""
    stored, omitted = {}, []
    for key, value in kwargs.items():
        try:
            stored[key] = to_json(value)
        except TypeError:
            omitted.append(key)
    return stored, omitted


def _weight_array(variable) -> np.ndarray:
    array = np.asarray(variable.numpy())
    if array.dtype.name == "bfloat16":  # h5py no tiene bfloat16
        array = array.astype(np.float32)
    return array


def save(model, path, metadata: dict[str, Any] | None = None) -> Path:
    """Guarda ``model`` (de un constructor registrado) en un archivo HDF5.

    Se guardan todos los argumentos del constructor, los valores por defecto incluidos.

    Args:
        model: modelo devuelto por un ``build_xxx`` de :mod:`modelos`.
        path: destino; cualquier nombre (``.h5`` recomendado), se crean carpetas.
        metadata: diccionario JSON con datos extra (clases, escalado, tamaño...). Si no
            trae ``"tarea"``, se anota la que declara la familia del constructor.

    Returns:
        La ruta escrita.

    Raises:
        ArgumentError: si el modelo no viene de un constructor registrado o los
            metadatos no son JSON.
        ModelFileError: si la escritura falla; el archivo anterior queda intacto.

    Example:
        >>> modelo = modelos.build_xor()
        >>> modelos.save(modelo, "pesos/xor.h5")  # doctest: +SKIP
    """
    spec = builder_spec(model)
    if spec is None:
        raise ArgumentError(
            "modelos.save necesita un modelo creado con un constructor de modelos "
            "(build_xor, build_mlp...). Para otros modelos usa model.save_weights()."
        )
    kwargs, omitted = split_kwargs(spec.kwargs)
    metadata = dict(metadata or {})
    family = family_of(spec)
    if "tarea" not in metadata and family is not None and family.task is not None:
        metadata["tarea"] = family.task   # todo modelo guardado dice su tarea
    try:
        metadata_json = json.dumps(to_json(metadata))
    except TypeError as exc:
        raise ArgumentError(
            f"Los metadatos deben ser JSON; no lo es un valor de tipo {exc}.") from None

    path = Path(path)
    try:
        with atomic_path(path) as tmp_name, h5py.File(tmp_name, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["builder"] = spec.name
            f.attrs["kwargs"] = json.dumps(kwargs)
            f.attrs["omitted"] = json.dumps(omitted)
            f.attrs["metadata"] = metadata_json
            f.attrs["keras_version"] = keras.__version__
            group = f.create_group("weights")
            for index, variable in enumerate(model.weights):
                dataset = group.create_dataset(f"{index:06d}", data=_weight_array(variable))
                dataset.attrs["path"] = variable.path
    except Exception as exc:
        raise ModelFileError(
            f"No se pudo guardar el modelo en «{path}»: {exc}. "
            "El archivo anterior, si existía, queda intacto."
        ) from exc
    return path


# === Lectura ===

def _read_info(handle: h5py.File, path: Path) -> dict[str, Any]:
    """Los atributos de la raíz, comprobados: formato, versión, constructor y JSON."""
    if text_attribute(handle, path, "format", required=False) != FORMAT:
        raise ModelFileError(
            f"«{path}» es HDF5 pero no lo escribió modelos.save (falta format='{FORMAT}'). "
            "Si son pesos de Keras, usa model.load_weights()."
        )
    with reading(path, "el atributo «format_version»"):
        version = handle.attrs.get("format_version", FORMAT_VERSION)
        version = int(version) if np.ndim(version) == 0 else None
    if version is None or not 1 <= version <= FORMAT_VERSION:
        raise ModelFileError(
            f"«{path}»: versión de formato {version} desconocida (esta versión de redes-keras "
            f"lee hasta la {FORMAT_VERSION}); ¿lo escribió una versión más nueva?")
    return {
        "builder": text_attribute(handle, path, "builder"),
        "kwargs": json_attribute(handle, path, "kwargs", dict),
        "omitted": json_attribute(handle, path, "omitted", list),
        "metadata": json_attribute(handle, path, "metadata", dict),
    }


def _complete_kwargs(info: dict[str, Any], path: Path) -> dict[str, Any]:
    """Los argumentos guardados, con los valores antiguos traducidos y los que falten
    (archivos que solo guardaban los explícitos) con el valor por defecto actual."""
    if not all(isinstance(name, str) for name in info["omitted"]):
        raise ModelFileError(f"«{path}»: el atributo «omitted» debe ser una lista de nombres.")
    try:
        builder = get_builder(info["builder"])
    except ModelFileError:
        return dict(info["kwargs"])
    kwargs = upgrade_kwargs(info["builder"], info["kwargs"])
    for name, parameter in inspect.signature(builder).parameters.items():
        if (name in kwargs or name in info["omitted"]
                or parameter.default is inspect.Parameter.empty):
            continue
        try:
            kwargs[name] = to_json(parameter.default)
        except TypeError:
            continue
    return kwargs


def load_metadata(path) -> dict[str, Any]:
    """Lee sin construir el modelo: ``{"builder", "kwargs", "omitted", "metadata"}``.

    ``kwargs`` tiene todos los argumentos del constructor: los de un archivo antiguo
    que solo guardaba los explícitos se completan con los valores por defecto actuales
    (salvo los de ``omitted``, que no se pudieron guardar en JSON).

    Raises:
        ModelFileError: si el archivo no existe, es una carpeta, no es de
            modelos.save o sus atributos están mal formados.
    """
    path = Path(path)
    with open_model_file(path) as handle:
        info = _read_info(handle, path)
    info["kwargs"] = _complete_kwargs(info, path)
    return info


def _check_stored_kwargs(kwargs: dict[str, Any], path: Path) -> None:
    """Solo números acotados, textos, listas y ``None``: nada que Keras deserialice."""
    def refuse(name: str, what: str):
        raise ModelFileError(f"«{path}»: el argumento guardado «{name}» {what}; los "
                             "argumentos solo pueden ser números, textos y listas.")

    for name, value in kwargs.items():
        pending = [value]
        while pending:
            item = pending.pop()
            if isinstance(item, dict):
                refuse(name, "es un diccionario (no se deserializan objetos de Keras)")
            if isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INTEGER:
                refuse(name, f"es un entero de {len(str(abs(item)))} cifras, fuera de límites")
            elif isinstance(item, float) and not math.isfinite(item):
                refuse(name, f"es {item} (no finito)")
        if name in _KERAS_IDENTIFIERS and not (
                value is None or isinstance(value, str)
                or (name == "metrics" and isinstance(value, list)
                    and all(isinstance(v, str) for v in value))):
            refuse(name, "debe ser un nombre de Keras (texto)")


def _rebuild(builder, kwargs: dict[str, Any], path: Path, *, dry: bool):
    """Llama al constructor; con ``dry``, en seco: sin compilar ni memoria para los pesos.

    Las variables creadas en un ``StatelessScope`` quedan pendientes de inicializar en
    una lista global de Keras, que se inicializaría entera al salir del siguiente ámbito
    sin estado: se restaura la lista de antes para que nada reserve los pesos en seco.
    """
    from keras.src.backend.common import global_state

    try:
        if not dry:
            return builder(**kwargs)
        if "compile" in inspect.signature(builder).parameters:
            kwargs = {**kwargs, "compile": False}
        pending = list(global_state.get_global_attribute("uninitialized_variables") or [])
        try:
            with keras.StatelessScope(initialize_variables=False):
                return builder(**kwargs)
        finally:
            global_state.set_global_attribute("uninitialized_variables", pending)
    except RedesError as exc:
        raise ModelFileError(f"«{path}»: los argumentos guardados no son válidos: {exc}") from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError,
            MemoryError) as exc:
        message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise ModelFileError(f"«{path}»: el constructor rechaza los argumentos guardados "
                             f"({type(exc).__name__}: {message})") from None


def load(path, compile: bool = True):
    """Reconstruye un modelo guardado con :func:`save` y carga sus pesos.

    Antes de reservar memoria para ningún peso se comprueban los argumentos (tipos y
    límites), el tamaño del modelo (:data:`MAX_PARAMETERS`) y la ruta, forma y tipo
    de cada peso declarado en el archivo.

    Args:
        path: archivo HDF5 escrito por :func:`save`.
        compile: si es ``False`` el modelo se devuelve sin compilar. Compilado (para
            seguir entrenando), con TensorFlow trae ya las variables del optimizador
            (:func:`~modelos.compilado.build_optimizer`): para solo predecir, ``False``
            ahorra esa memoria (el doble de los pesos con Adam).

    Returns:
        El ``keras.Model`` reconstruido, con los mismos pesos.

    Raises:
        ModelFileError: archivo inexistente, carpeta, no HDF5, truncado, ajeno o mal
            formado (atributos, argumentos o pesos que no son números reales finitos).
        UnknownBuilderError: el constructor guardado no está registrado.
        WeightsMismatchError: los pesos no encajan con la arquitectura (número, ruta o
            forma de alguna variable).
    """
    path = Path(path)
    with open_model_file(path) as handle:
        info = _read_info(handle, path)
        builder = get_builder(info["builder"])
        kwargs = _complete_kwargs(info, path)
        _check_stored_kwargs(kwargs, path)
        if "compile" in inspect.signature(builder).parameters:
            kwargs["compile"] = bool(compile and kwargs.get("compile", True))
        declared = declared_weights(handle, path)

        outline = _rebuild(builder, kwargs, path, dry=True)
        parameters = sum(math.prod(v.shape) for v in outline.weights)
        if parameters > MAX_PARAMETERS:
            raise ModelFileError(
                f"«{path}»: los argumentos guardados dan un modelo «{info['builder']}» de "
                f"{parameters:,} parámetros (máximo {MAX_PARAMETERS:,}); no se construye.")
        _check_declared(declared, outline.weights, path, info["builder"])
        del outline

        model = _rebuild(builder, kwargs, path, dry=False)
        _assign(model, read_weights(handle, path, declared, model.weights))
    return model


def load_weights(model, path) -> None:
    """Carga en ``model`` los pesos de un archivo de :func:`save`, comprobando cada uno.

    El modelo debe tener la misma arquitectura (p. ej. el mismo constructor con los
    mismos argumentos); no se reconstruye nada. Ruta, forma y tipo de cada peso se
    comparan antes de leer ninguno, y si alguno falla el modelo queda como estaba.

    Raises:
        ModelFileError: archivo inexistente, no HDF5, truncado, ajeno o con pesos que
            no son números reales finitos.
        WeightsMismatchError: número de variables, ruta o forma de alguna distinta.
    """
    path = Path(path)
    with open_model_file(path) as handle:
        _read_info(handle, path)
        builder = text_attribute(handle, path, "builder")
        declared = declared_weights(handle, path)
        _check_declared(declared, model.weights, path, builder)
        _assign(model, read_weights(handle, path, declared, model.weights))


def _check_declared(declared, variables, path: Path, builder: str) -> None:
    """Número, ruta y forma de cada peso declarado frente a las variables del modelo."""
    if len(declared) != len(variables):
        raise WeightsMismatchError(
            f"«{path}» guarda {len(declared)} variables y el modelo «{builder}» "
            f"reconstruido tiene {len(variables)}."
        )
    for entry, variable in zip(declared, variables, strict=True):
        if entry.path != variable.path:
            raise WeightsMismatchError(
                f"«{path}»: el peso «weights/{entry.key}» es de la variable «{entry.path}» y "
                f"en esa posición el modelo «{builder}» tiene «{variable.path}».")
        if entry.shape != tuple(variable.shape):
            raise WeightsMismatchError(
                f"«{path}»: la variable «{entry.path}» tiene forma {entry.shape} y el "
                f"modelo espera {tuple(variable.shape)} en «{variable.path}»."
            )


def _assign(model, values: list[np.ndarray]) -> None:
    for variable, value in zip(model.weights, values, strict=True):
        variable.assign(value)
