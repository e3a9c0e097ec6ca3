"""El archivo de ImageNet de ``keras.applications.MobileNetV2`` en nuestra MobileNetV2.

``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5`` (HDF5 de Keras 2:
``layer_names`` y, por capa, ``weight_names`` como ``block_3_expand/kernel:0``) se entrenó
con tres diferencias respecto a la de torchvision (ver :mod:`modelos.mobilenet.constructor`):

- el relleno de las convoluciones de paso 2, solo abajo y a la derecha: el modelo se
  construye con ``padding="keras"`` (``build_yolo(mobilenet_padding="keras")``; ``redes
  deteccion entrenar --backbone-pesos`` lo hace solo al reconocer el archivo);
- ``epsilon=1e-3`` en BatchNormalization: como ``var + ε`` es lo único que cuenta, se pasa
  a la varianza (``var + 1e-3 − 1e-5``) y el resultado es el mismo;
- la entrada en ``[-1, 1]`` (``2x − 1``) en lugar de la normalización de ImageNet que el
  modelo lleva dentro: la primera convolución es lineal, así que se escala cada canal de
  su núcleo (``2σ_c``) y su término constante (``Σ W·(2μ_c − 1)``) se resta de la media
  de su BatchNorm. Es exacto salvo en el borde de la imagen (el relleno con ceros es cero
  en la escala de cada uno), como mide ``tests/test_yolo_mobilenet.py``.

Las capas se renombran a las de torchvision: ``Conv1`` → ``features_0``,
``expanded_conv_*`` → ``features_1_*``, ``block_N_*`` → ``features_{N+1}_*`` y ``Conv_1``
→ ``features_18``.
"""

from __future__ import annotations

import re

import numpy as np

from modelos.mobilenet.constructor import BN_EPSILON
from modelos.mobilenet.constructor import assign_checked
from modelos.mobilenet.constructor import IMAGENET_MEAN
from modelos.mobilenet.constructor import IMAGENET_STD
from nucleo.errores import WeightsMismatchError

#: ``epsilon`` de BatchNormalization de ``keras.applications.MobileNetV2``.
KERAS_BN_EPSILON = 1e-3
#: Nombres de capa de ``keras.applications.MobileNetV2`` con pesos.
KERAS_LAYER = re.compile(r"^(Conv1|bn_Conv1|Conv_1|Conv_1_bn|expanded_conv_(depthwise|project)"
                         r"(_BN)?|block_\d+_(expand|depthwise|project)(_BN)?)$")
_CONV = ("kernel",)
_DEPTHWISE = ("depthwise_kernel",)
_NORM = ("gamma", "beta", "moving_mean", "moving_variance")


def is_keras_mobilenetv2(layer_names) -> bool:
    """``True`` si los ``layer_names`` de un HDF5 de Keras 2 son los de su MobileNetV2."""
    names = set(layer_names)
    return {"Conv1", "bn_Conv1", "Conv_1", "Conv_1_bn"} <= names


def is_keras_applications(path) -> bool:
    """``True`` si ``path`` es un HDF5 de Keras 2 con las capas de la MobileNetV2 de
    ``keras.applications`` (no lanza: cualquier otro archivo da ``False``)."""
    from pathlib import Path

    from modelos.archivo_h5 import open_model_file
    from modelos.keras2_h5 import MAX_LAYERS
    from modelos.keras2_h5 import decode_names
    from modelos.keras2_h5 import keras2_root
    from nucleo.errores import ModelFileError

    path = Path(path)
    try:
        if not path.is_file():
            return False
        with path.open("rb") as handle:
            if handle.read(8) != b"\x89HDF\r\n\x1a\n":
                return False
        with open_model_file(path) as handle:
            root = keras2_root(handle)
            return root is not None and is_keras_mobilenetv2(
                decode_names(root.attrs["layer_names"])[:MAX_LAYERS])
    except (ModelFileError, OSError):
        return False


def our_name(keras_name: str) -> str:
    """``block_3_expand_BN`` → ``features_4_expand_bn`` (los nombres de torchvision)."""
    fixed = {"Conv1": "features_0", "bn_Conv1": "features_0_bn", "Conv_1": "features_18",
             "Conv_1_bn": "features_18_bn"}
    if keras_name in fixed:
        return fixed[keras_name]
    name = keras_name.replace("expanded_conv_", "block_0_")
    _, number, rest = name.split("_", 2)
    return f"features_{int(number) + 1}_{rest.replace('_BN', '_bn')}"


def keras_layer_weights(stored: dict[str, dict[str, np.ndarray]], path
                        ) -> dict[str, list[np.ndarray]]:
    """Los pesos de Keras (``{capa: {peso: array}}``) → ``{nuestra capa: [arrays]}`` en el
    orden de Keras 3, con el ``epsilon`` y la entrada ya pasados a los de nuestro modelo.

    Raises:
        WeightsMismatchError: falta un peso, o una varianza es negativa.
    """
    out: dict[str, list[np.ndarray]] = {}
    for name, weights in stored.items():
        if name.endswith(("_BN", "_bn")) or name == "bn_Conv1":
            expected = _NORM
        elif "depthwise" in name:
            expected = _DEPTHWISE
        else:
            expected = _CONV
        if expected is _DEPTHWISE and "depthwise_kernel" not in weights and "kernel" in weights:
            expected = _CONV  # guardado con Keras 3, que lo llama «kernel»
        missing = [w for w in expected if w not in weights]
        if missing:
            raise WeightsMismatchError(f"«{path}»: a «{name}» le faltan los pesos {missing}.")
        arrays = [np.asarray(weights[w], np.float32) for w in expected]
        if expected is _NORM:
            if (arrays[3] < 0).any():
                raise WeightsMismatchError(f"«{path}»: «{name}» tiene varianzas negativas.")
            arrays[3] = arrays[3] + (KERAS_BN_EPSILON - BN_EPSILON)
        out[our_name(name)] = arrays
    if "features_0" in out and "features_0_bn" in out:
        _fold_input_scaling(out)
    return out


def load_keras_applications(model, path) -> list[str]:
    """Copia en ``model`` (con capas ``features_*`` y ``padding="keras"``) el extractor del
    archivo de ``keras.applications``; todo se comprueba antes de asignar nada.

    Returns:
        Los nombres de las capas llenas.

    Raises:
        WeightsMismatchError: el modelo usa el relleno de torchvision, o el archivo no trae
            todas las capas o son de otro ancho.
    """
    from modelos.mobilenet.constructor import padding_of
    from modelos.keras2_h5 import read_keras2_weights

    if padding_of(model) != "keras":
        raise WeightsMismatchError(
            f"«{path}» es la MobileNetV2 de keras.applications, entrenada con el relleno de "
            "Keras en los pasos 2, y el modelo usa el de torchvision: constrúyalo con "
            "padding='keras' (build_mobilenetv2) o mobilenet_padding='keras' (build_yolo); "
            "«redes ... entrenar --backbone-pesos» lo hace solo.")
    weights = keras_layer_weights(read_keras2_weights(path, KERAS_LAYER), path)
    ours = {layer.name: layer for layer in model.layers
            if layer.name.startswith("features_") and layer.weights}
    if set(weights) != set(ours):
        missing = sorted(set(ours) - set(weights))[:3]
        raise WeightsMismatchError(
            f"«{path}» no trae todas las capas del extractor (faltan p. ej. {missing}): no es "
            "una MobileNetV2 completa sin cabeza.")
    return assign_checked(ours, weights, path, WeightsMismatchError)


def _fold_input_scaling(out: dict[str, list[np.ndarray]]) -> None:
    """La primera convolución lee ``(x − μ)/σ`` en lugar de ``2x − 1``: ``2x − 1 =
    2σ·(x − μ)/σ + (2μ − 1)``."""
    mean, std = np.asarray(IMAGENET_MEAN, np.float32), np.asarray(IMAGENET_STD, np.float32)
    (kernel,) = out["features_0"]                       # (3, 3, 3, C), HWIO
    constant = np.einsum("hwio,i->o", kernel, 2 * mean - 1)
    out["features_0"] = [kernel * (2 * std)[None, None, :, None]]
    gamma, beta, moving_mean, moving_variance = out["features_0_bn"]
    out["features_0_bn"] = [gamma, beta, moving_mean - constant, moving_variance]
