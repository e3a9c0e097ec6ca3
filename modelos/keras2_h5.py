"""Lectura de pesos de un HDF5 de Keras 2 (``save_weights`` o ``model.save``) sin
deserializar ningún modelo: ``layer_names`` en la raíz (o en ``model_weights``) y, por
capa, ``weight_names`` como ``conv_1/kernel:0``. Lo usan los puntos de partida de YOLO
(los ``*_backend.h5`` de keras-yolo2) y de MobileNetV2 (el archivo de ImageNet de
``keras.applications``). Cada dataset se comprueba (números reales finitos) al leerlo.
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np

from modelos.archivo_h5 import open_model_file
from modelos.archivo_h5 import reading
from nucleo.errores import ModelFileError

#: Capas como mucho en ``layer_names``.
MAX_LAYERS = 10_000


def keras2_root(handle):
    """El grupo con ``layer_names`` (la raíz de ``save_weights`` o ``model_weights`` de
    ``model.save``), o None."""
    for node in (handle, handle.get("model_weights")):
        if isinstance(node, h5py.Group) and "layer_names" in node.attrs:
            return node
    return None


def decode_names(values) -> list[str]:
    """Un atributo de nombres de HDF5 (bytes o texto) → lista de ``str``."""
    return [v.decode("utf-8") if isinstance(v, (bytes, np.bytes_)) else str(v)
            for v in np.atleast_1d(values)]


def float_dataset(node, path: Path, where: str) -> np.ndarray:
    """El dataset ``node`` como ``float32``, si es de números reales finitos."""
    if not isinstance(node, h5py.Dataset) or node.dtype.kind != "f" or node.shape is None:
        raise ModelFileError(f"«{path}»: «{where}» no es un dataset de números reales.")
    value = np.asarray(node[()], dtype=np.float32)
    if not np.isfinite(value).all():
        raise ModelFileError(f"«{path}»: «{where}» tiene valores NaN o infinitos.")
    return value


def read_keras2_weights(path: Path, pattern: re.Pattern) -> dict[str, dict[str, np.ndarray]]:
    """``{"conv_1": {"kernel": ...}, "norm_1": {"gamma": ...}, ...}`` del HDF5 de Keras 2,
    para las capas cuyo nombre casa con ``pattern``.

    Cada peso se atribuye a la capa que nombra su ``weight_names`` (``conv_1/kernel:0``);
    así también sirven los archivos en que el extractor es un submodelo (``model_1``).
    Las demás capas (p. ej. ``DetectionLayer`` de keras-yolo2) se ignoran.

    Raises:
        ModelFileError: sin ``layer_names``, demasiadas capas, un grupo o un peso que
            falta (archivo truncado) o un dataset que no es de números reales finitos.
    """
    found: dict[str, dict[str, np.ndarray]] = {}
    with open_model_file(path) as handle, reading(path, "los pesos de Keras 2"):
        root = keras2_root(handle)
        if root is None:
            raise ModelFileError(f"«{path}» no es un HDF5 de Keras 2 (falta «layer_names»).")
        layer_names = decode_names(root.attrs["layer_names"])
        if len(layer_names) > MAX_LAYERS:
            raise ModelFileError(f"«{path}»: {len(layer_names)} capas (máximo {MAX_LAYERS}).")
        for group_name in layer_names:
            if group_name not in root:
                raise ModelFileError(f"«{path}»: «layer_names» nombra «{group_name}» y el "
                                     "archivo no tiene ese grupo (¿archivo truncado?).")
            group = root[group_name]
            for weight in decode_names(group.attrs.get("weight_names", [])):
                parts = weight.split("/")
                leaf = parts[-1].split(":")[0]
                owner = parts[-2] if len(parts) >= 2 else group_name
                if not pattern.match(owner):
                    owner = group_name
                if not pattern.match(owner):
                    continue
                if weight not in group:
                    raise ModelFileError(f"«{path}»: falta el peso «{group_name}/{weight}» "
                                         "que declara «weight_names» (¿archivo truncado?).")
                value = float_dataset(group[weight], path, f"{group_name}/{weight}")
                found.setdefault(owner, {})[leaf] = value
    return found
