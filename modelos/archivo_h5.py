"""Lectura defensiva del archivo HDF5 de :mod:`modelos.guardado`.

Un archivo de modelo puede venir de cualquier parte, así que nada de lo que declara se
cree hasta comprobarlo: los atributos tienen un tamaño y una profundidad JSON acotados,
y de cada peso se miran ruta, forma y tipo (metadatos del dataset, sin leer los datos)
antes de reservar memoria para él. Todo lo que falle da :class:`ModelFileError` con el
nombre del archivo, nunca una excepción de h5py, numpy o json.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nucleo.errores import ModelFileError, RedesError, WeightsMismatchError
from nucleo.archivos import json_depth
from nucleo.vocabulario import MAX_JSON_DEPTH

#: Tamaño máximo de un atributo (los argumentos o los metadatos en JSON).
MAX_ATTRIBUTE_BYTES = 64 * 2**20
#: Número máximo de pesos (datasets) en un archivo.
MAX_WEIGHTS = 100_000

_KIND_NAMES = {"i": "enteros", "u": "enteros sin signo", "b": "booleanos",
               "c": "números complejos", "S": "textos", "U": "textos",
               "O": "textos u objetos de longitud variable", "V": "un tipo compuesto",
               "M": "fechas", "m": "duraciones"}


@contextlib.contextmanager
def reading(path: Path, what: str):
    """Convierte cualquier fallo de lectura de ``what`` en :class:`ModelFileError`."""
    try:
        yield
    except RedesError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, AttributeError,
            UnicodeError, MemoryError, RecursionError, OverflowError) as exc:
        message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise ModelFileError(
            f"«{path}»: no se puede leer {what} ({type(exc).__name__}: {message}); "
            "¿archivo dañado o no escrito por modelos.save?") from None


def open_model_file(path: Path) -> h5py.File:
    """Abre ``path`` para leer (úsese con ``with``).

    Raises:
        ModelFileError: si no existe, es una carpeta o no es un HDF5 legible.
    """
    if path.is_dir():
        raise ModelFileError(f"«{path}» es una carpeta; se esperaba un archivo de modelo "
                             "(.h5) escrito por modelos.save.")
    if not path.exists():
        raise ModelFileError(f"No existe el archivo de modelo «{path}».")
    if not path.is_file():
        raise ModelFileError(f"«{path}» no es un archivo normal; se esperaba un archivo de "
                             "modelo (.h5).")
    try:
        return h5py.File(path, "r")
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(
            f"«{path}» no es un archivo HDF5 legible (¿truncado o de otro tipo?): {exc}"
        ) from None


def text_attribute(node, path: Path, key: str, *, required: bool = True) -> str | None:
    """El atributo de texto ``key`` de ``node``, con su tamaño acotado.

    Raises:
        ModelFileError: si falta (con ``required``), es demasiado grande o no es texto.
    """
    where = f"el atributo «{key}»"
    with reading(path, where):
        if key not in node.attrs:
            if required:
                raise ModelFileError(f"«{path}»: falta {where}.")
            return None
        size = node.attrs.get_id(key).get_storage_size()
        if size > MAX_ATTRIBUTE_BYTES:
            raise ModelFileError(f"«{path}»: {where} ocupa {size} bytes (máximo "
                                 f"{MAX_ATTRIBUTE_BYTES}).")
        value = node.attrs[key]
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value.item()
        if isinstance(value, (bytes, np.bytes_)):
            value = bytes(value).decode("utf-8")
    if not isinstance(value, str):
        raise ModelFileError(f"«{path}»: {where} debería ser un texto; es "
                             f"{type(value).__name__}.")
    if len(value) > MAX_ATTRIBUTE_BYTES:
        raise ModelFileError(f"«{path}»: {where} tiene {len(value)} caracteres (máximo "
                             f"{MAX_ATTRIBUTE_BYTES}).")
    return value


def json_attribute(node, path: Path, key: str, kind: type) -> Any:
    """El atributo ``key`` leído como JSON de tipo ``kind`` (dict o list), acotado.

    Raises:
        ModelFileError: si falta, no es JSON válido, anida más de :data:`MAX_JSON_DEPTH`
            niveles o no es del tipo esperado.
    """
    text = text_attribute(node, path, key)
    try:
        value = json.loads(text)
    except RecursionError:
        raise ModelFileError(f"«{path}»: el atributo «{key}» anida demasiados niveles de "
                             f"JSON (máximo {MAX_JSON_DEPTH}).") from None
    except ValueError:
        raise ModelFileError(f"«{path}»: el atributo «{key}» no es JSON válido.") from None
    if not isinstance(value, kind):
        raise ModelFileError(f"«{path}»: el atributo «{key}» debería ser {kind.__name__}.")
    check_json_value(value, path, key)
    return value


def check_json_value(value: Any, path: Path, key: str) -> None:
    """Rechaza JSON anidado más de :data:`MAX_JSON_DEPTH` niveles."""
    if json_depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ModelFileError(f"«{path}»: el atributo «{key}» anida demasiados niveles de "
                             f"JSON (máximo {MAX_JSON_DEPTH}).")


@dataclasses.dataclass(frozen=True)
class DeclaredWeight:
    """Lo que el archivo declara de un peso, leído sin tocar sus datos."""

    key: str
    path: str
    shape: tuple[int, ...]
    dtype: np.dtype


def _describe(dtype: np.dtype) -> str:
    if dtype.kind == "f":
        return f"reales de {dtype.itemsize * 8} bits"
    return f"{_KIND_NAMES.get(dtype.kind, 'un tipo no numérico')} ({dtype})"


def _check_dataset(group, key: str, path: Path) -> DeclaredWeight:
    where = f"«{path}»: «weights/{key}»"
    if not isinstance(group.get(key, getlink=True), h5py.HardLink):
        raise ModelFileError(f"{where} es un enlace; los pesos deben estar en el archivo.")
    node = group[key]
    if not isinstance(node, h5py.Dataset):
        raise ModelFileError(f"{where} es un grupo; se esperaba un dataset con los valores "
                             "de una variable.")
    if node.is_virtual or node.external:
        raise ModelFileError(f"{where} guarda sus datos en otro archivo; los pesos deben "
                             "estar en el archivo.")
    dtype = node.dtype
    simple = (dtype.fields is None and dtype.subdtype is None and dtype.kind in "fiub"
              and dtype.itemsize <= 8 and h5py.check_string_dtype(dtype) is None
              and h5py.check_vlen_dtype(dtype) is None)
    if not simple:
        raise ModelFileError(f"{where} es de {_describe(dtype)}; los pesos deben ser números "
                             "reales (float32).")
    if node.shape is None:
        raise ModelFileError(f"{where} no tiene forma (dataset vacío); se esperaban los "
                             "valores de una variable.")
    stored_path = text_attribute(node, path, "path")
    return DeclaredWeight(key, stored_path, tuple(int(n) for n in node.shape), dtype)


def declared_weights(handle: h5py.File, path: Path) -> list[DeclaredWeight]:
    """Ruta, forma y tipo de cada peso del grupo ``weights``, en orden, sin leer datos.

    Raises:
        ModelFileError: si ``weights`` falta o no es un grupo de datasets ``000000``,
            ``000001``... de números, sin enlaces ni datos externos.
    """
    with reading(path, "el grupo «weights»"):
        link = handle.get("weights", getlink=True)
        if link is None:
            raise ModelFileError(f"«{path}»: falta el grupo «weights» (¿archivo truncado?).")
        if not isinstance(link, h5py.HardLink) or not isinstance(handle["weights"], h5py.Group):
            raise ModelFileError(f"«{path}»: «weights» debería ser un grupo con un dataset "
                                 "por variable.")
        group = handle["weights"]
        count = len(group)
        if count > MAX_WEIGHTS:
            raise ModelFileError(f"«{path}»: «weights» tiene {count} entradas (máximo "
                                 f"{MAX_WEIGHTS}).")
        names = sorted(group)
        expected = [f"{index:06d}" for index in range(count)]
        if names != expected:
            unexpected = sorted(set(names) - set(expected))
            raise ModelFileError(f"«{path}»: los pesos deben llamarse «000000», «000001»...; "
                                 f"hay «weights/{unexpected[0][:40]}».")
        return [_check_dataset(group, key, path) for key in expected]


def _variable_kind(variable) -> str:
    name = str(variable.dtype)
    if "float" in name:
        return "f"
    if name == "bool":
        return "b"
    return "i" if "int" in name else "?"


def read_weights(handle: h5py.File, path: Path, declared: list[DeclaredWeight],
                 variables) -> list[np.ndarray]:
    """Lee los pesos ya comprobados (forma y ruta) y los convierte al tipo de cada variable.

    Raises:
        WeightsMismatchError: si el tipo de un peso no sirve para su variable (enteros o
            booleanos para una variable real...).
        ModelFileError: si un peso no se puede leer o tiene valores NaN o infinitos.
    """
    for entry, variable in zip(declared, variables, strict=True):
        kind = "i" if entry.dtype.kind == "u" else entry.dtype.kind
        if kind != _variable_kind(variable):
            raise WeightsMismatchError(
                f"«{path}»: el peso de «{entry.path}» es de {_describe(entry.dtype)} y la "
                f"variable del modelo es {variable.dtype}.")
    values = []
    for entry, variable in zip(declared, variables, strict=True):
        with reading(path, f"el peso «weights/{entry.key}» ({entry.path})"):
            value = np.asarray(handle["weights"][entry.key][()])
            if entry.dtype.kind == "f" and str(variable.dtype) in ("float16", "float32",
                                                                    "float64"):
                # Un float64 que no cabe en float32 pasa a infinito y se rechaza abajo.
                with np.errstate(over="ignore"):
                    value = value.astype(str(variable.dtype), copy=False)
        if value.dtype.kind == "f":
            bad = int(value.size - np.count_nonzero(np.isfinite(value)))
            if bad:
                raise ModelFileError(
                    f"«{path}»: el peso de «{entry.path}» tiene {bad} valores NaN o infinitos "
                    f"(de {value.size}); un modelo así no da predicciones válidas.")
        values.append(value)
    return values
