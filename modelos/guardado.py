"""Guardar y cargar cualquier modelo de los constructores en un único archivo HDF5.

Estructura del archivo::

    /            attrs: format="redes-keras", format_version=1, builder=<nombre>,
                        kwargs=<JSON>, omitted=<JSON>, metadata=<JSON>, keras_version
    /weights/000000 ... un dataset por variable, attrs: path=<ruta Keras de la variable>

``load`` reconstruye la arquitectura con el constructor registrado y los argumentos
JSON y después asigna los pesos comprobando ruta y forma de cada uno. No se guarda
ni se ejecuta código (sin pickle, sin capas Lambda). La escritura es atómica: se
escribe un temporal en la misma carpeta y se cambia de nombre con ``os.replace``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import keras
import numpy as np

from datos.archivos import atomic_path
from datos.errores import ArgumentError, ModelFileError, WeightsMismatchError
from modelos.registro import builder_spec, get_builder

FORMAT = "redes-keras"
FORMAT_VERSION = 1


def _to_json(value: Any) -> Any:
    """Convierte tuplas y escalares numpy a JSON; lanza TypeError si no se puede."""
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _to_json(v) for k, v in value.items()}
    raise TypeError(type(value).__name__)


def _split_kwargs(kwargs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Separa los argumentos representables en JSON de los que no (p. ej. objetos)."""
    stored, omitted = {}, []
    for key, value in kwargs.items():
        try:
            stored[key] = _to_json(value)
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

    Args:
        model: modelo devuelto por un ``build_xxx`` de :mod:`modelos`.
        path: destino; cualquier nombre (``.h5`` recomendado), se crean carpetas.
        metadata: diccionario JSON con datos extra (clases, escalado, tamaño...).

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
    kwargs, omitted = _split_kwargs(spec.kwargs)
    try:
        metadata_json = json.dumps(_to_json(metadata or {}))
    except TypeError as exc:
        raise ArgumentError(f"Los metadatos deben ser JSON; no lo es un valor de tipo {exc}.") from None

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


def _open(path: Path) -> h5py.File:
    if not path.is_file():
        raise ModelFileError(f"No existe el archivo de modelo «{path}».")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise ModelFileError(
            f"«{path}» no es un archivo HDF5 legible (¿truncado o de otro tipo?): {exc}"
        ) from None
    if handle.attrs.get("format") != FORMAT:
        handle.close()
        raise ModelFileError(
            f"«{path}» es HDF5 pero no lo escribió modelos.save (falta format='{FORMAT}'). "
            "Si son pesos de Keras, usa model.load_weights()."
        )
    return handle


def _json_attr(handle: h5py.File, path: Path, key: str, kind: type) -> Any:
    try:
        value = json.loads(handle.attrs[key])
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(f"«{path}»: el atributo «{key}» falta o no es JSON válido.") from None
    if not isinstance(value, kind):
        raise ModelFileError(f"«{path}»: el atributo «{key}» debería ser {kind.__name__}.")
    return value


def load_metadata(path) -> dict[str, Any]:
    """Lee sin construir el modelo: ``{"builder", "kwargs", "omitted", "metadata"}``.

    Raises:
        ModelFileError: si el archivo no existe o no es de modelos.save.
    """
    path = Path(path)
    with _open(path) as handle:
        return {
            "builder": str(handle.attrs.get("builder", "")),
            "kwargs": _json_attr(handle, path, "kwargs", dict),
            "omitted": _json_attr(handle, path, "omitted", list),
            "metadata": _json_attr(handle, path, "metadata", dict),
        }


def load(path, compile: bool = True):
    """Reconstruye un modelo guardado con :func:`save` y carga sus pesos.

    Args:
        path: archivo HDF5 escrito por :func:`save`.
        compile: si es ``False`` el modelo se devuelve sin compilar.

    Returns:
        El ``keras.Model`` reconstruido, con los mismos pesos.

    Raises:
        ModelFileError: archivo inexistente, no HDF5, truncado o ajeno.
        UnknownBuilderError: el constructor guardado no está registrado.
        WeightsMismatchError: los pesos no encajan con la arquitectura.
    """
    path = Path(path)
    info = load_metadata(path)
    builder = get_builder(info["builder"])
    kwargs = dict(info["kwargs"])
    if "compile" in kwargs or not compile:
        kwargs["compile"] = bool(compile and kwargs.get("compile", True))
    try:
        model = builder(**kwargs)
    except ArgumentError as exc:
        raise ModelFileError(f"«{path}»: los argumentos guardados no son válidos: {exc}") from None

    load_weights(model, path)
    return model


def load_weights(model, path) -> None:
    """Carga en ``model`` los pesos de un archivo de :func:`save`, comprobando cada uno.

    El modelo debe tener la misma arquitectura (p. ej. el mismo constructor con los
    mismos argumentos); no se reconstruye nada.

    Raises:
        ModelFileError: archivo inexistente, no HDF5, truncado o ajeno.
        WeightsMismatchError: número de variables o forma de alguna distinta.
    """
    path = Path(path)
    with _open(path) as handle:
        try:
            group = handle["weights"]
            stored = [(group[key].attrs.get("path", ""), group[key][()]) for key in sorted(group)]
        except (KeyError, OSError, RuntimeError) as exc:
            raise ModelFileError(f"«{path}»: no se pueden leer los pesos (¿archivo truncado?): {exc}") from None
        builder = str(handle.attrs.get("builder", ""))

    variables = model.weights
    if len(stored) != len(variables):
        raise WeightsMismatchError(
            f"«{path}» guarda {len(stored)} variables y el modelo «{builder}» "
            f"reconstruido tiene {len(variables)}."
        )
    for variable, (stored_path, value) in zip(variables, stored):
        if tuple(value.shape) != tuple(variable.shape):
            raise WeightsMismatchError(
                f"«{path}»: la variable «{stored_path}» tiene forma {tuple(value.shape)} y el "
                f"modelo espera {tuple(variable.shape)} en «{variable.path}»."
            )
    for variable, (_, value) in zip(variables, stored):
        variable.assign(value)
