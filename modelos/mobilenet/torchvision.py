"""Los pesos de ImageNet de la MobileNetV2 de torchvision (``mobilenet_v2-b0353104.pth``).

Un ``.pth`` es un *pickle* de PyTorch dentro de un zip. Se lee con
``torch.load(weights_only=True)`` (extra ``torch``), que solo reconstruye tensores,
diccionarios y números: un archivo que lleve código para ejecutar se rechaza sin
ejecutarlo. Después se comprueba que el diccionario es el de una MobileNetV2 (todas las
claves, con sus formas) y solo entonces se copian los pesos al modelo de Keras: un
archivo malo (de otra arquitectura, cortado o con código) da un error claro y deja el
modelo como estaba.

Las claves de torchvision y las capas de :func:`modelos.mobilenet.build_mobilenetv2`::

    features.0.0 / .0.1                 features_0 / features_0_bn
    features.1.conv.0.0 / .0.1          features_1_depthwise / _bn  (expansión 1)
    features.1.conv.1 / .2              features_1_project / _bn
    features.N.conv.0.0 / .0.1          features_N_expand / _bn     (N = 2..17)
    features.N.conv.1.0 / .1.1          features_N_depthwise / _bn
    features.N.conv.2 / .3              features_N_project / _bn
    features.18.0 / .18.1               features_18 / features_18_bn
    classifier.1                        classifier
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from nucleo.errores import ModelFileError
from nucleo.keras_listo import keras
from modelos.mobilenet.constructor import block_plan

#: Un ``.pth`` de MobileNetV2 pesa unos 14 MB (alpha 1); más de esto no es uno.
MAX_PTH_BYTES = 256 * 1024 * 1024
#: La huella (sha256) del archivo de ImageNet de torchvision que se ha probado.
TORCHVISION_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"


def read_state_dict(path) -> dict[str, np.ndarray]:
    """Los tensores de un ``.pth`` de PyTorch como arrays ``float32``, sin ejecutar nada.

    Raises:
        ModelFileError: el archivo no existe, es demasiado grande, está cortado, no es de
            PyTorch o trae objetos que no son tensores (código).
        EnvironmentSetupError: PyTorch no está instalado (extra ``torch``).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"El archivo de pesos {path} no existe.")
    if path.stat().st_size > MAX_PTH_BYTES:
        raise ModelFileError(f"{path}: {path.stat().st_size} bytes; un .pth de MobileNetV2 "
                             f"pesa unos 14 MB (como mucho {MAX_PTH_BYTES} bytes).")
    if importlib.util.find_spec("torch") is None:
        from nucleo.errores import EnvironmentSetupError

        raise EnvironmentSetupError(
            "Leer un .pth de PyTorch necesita PyTorch: pip install \"torch==2.13.0\" "
            "\".[torch]\" (la compilación para CPU).")
    import pickle

    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelFileError(
            f"{path}: no se cargó porque trae objetos que no son pesos (un pickle con "
            f"código no se ejecuta nunca): {str(exc).splitlines()[0][:200]}") from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: no es un archivo de pesos de PyTorch legible (¿está "
                             f"cortado?): {str(exc).splitlines()[0][:200]}") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(
            isinstance(key, str) and isinstance(value, torch.Tensor)
            for key, value in state.items()):
        raise ModelFileError(f"{path}: se esperaba un diccionario de tensores (state_dict); "
                             f"trae {type(state).__name__}.")
    return {key: value.detach().to(torch.float32).numpy() if value.is_floating_point()
            else value.numpy() for key, value in state.items()}


def _bn(state, key: str) -> list[np.ndarray]:
    return [state[f"{key}.weight"], state[f"{key}.bias"], state[f"{key}.running_mean"],
            state[f"{key}.running_var"]]


def _conv(kernel: np.ndarray, depthwise: bool = False) -> np.ndarray:
    # PyTorch: (salida, entrada, alto, ancho); Keras: (alto, ancho, entrada, salida), y
    # en la depthwise (alto, ancho, canales, 1) desde (canales, 1, alto, ancho).
    return kernel.transpose(2, 3, 0, 1) if depthwise else kernel.transpose(2, 3, 1, 0)


def layer_weights(state: dict[str, np.ndarray], num_blocks: int = 17
                  ) -> dict[str, list[np.ndarray]]:
    """Capa de Keras → sus pesos en el orden de Keras, desde las claves de torchvision.

    Raises:
        KeyError: falta alguna clave (:func:`load_torchvision_mobilenetv2` lo explica).
    """
    weights = {"features_0": [_conv(state["features.0.0.weight"])],
               "features_0_bn": _bn(state, "features.0.1")}
    for index in range(1, num_blocks + 1):
        key, name = f"features.{index}.conv", f"features_{index}"
        parts = (("depthwise", "0"), ("project", "1"), (None, "2"))
        if f"{key}.0.0.weight" in state and f"{key}.3.weight" in state:  # con expansión
            weights[f"{name}_expand"] = [_conv(state[f"{key}.0.0.weight"])]
            weights[f"{name}_expand_bn"] = _bn(state, f"{key}.0.1")
            parts = (("depthwise", "1"), ("project", "2"), (None, "3"))
        weights[f"{name}_depthwise"] = [_conv(state[f"{key}.{parts[0][1]}.0.weight"], True)]
        weights[f"{name}_depthwise_bn"] = _bn(state, f"{key}.{parts[0][1]}.1")
        weights[f"{name}_project"] = [_conv(state[f"{key}.{parts[1][1]}.weight"])]
        weights[f"{name}_project_bn"] = _bn(state, f"{key}.{parts[2][1]}")
    weights["features_18"] = [_conv(state[f"features.{num_blocks + 1}.0.weight"])]
    weights["features_18_bn"] = _bn(state, f"features.{num_blocks + 1}.1")
    if "classifier.1.weight" in state:
        weights["classifier"] = [state["classifier.1.weight"].T, state["classifier.1.bias"]]
    return weights


def describe(state: dict[str, np.ndarray]) -> dict[str, int]:
    """``{"canales_entrada", "clases"}`` del archivo: el ancho de la primera convolución y
    las clases de la cabeza (0 si no trae cabeza).

    Raises:
        ModelFileError: no tiene la primera convolución de una MobileNetV2.
    """
    first = state.get("features.0.0.weight")
    if first is None or first.ndim != 4 or first.shape[1:] != (3, 3, 3):
        raise ModelFileError("no es una MobileNetV2 de torchvision: falta la primera "
                             "convolución «features.0.0.weight» de forma (C, 3, 3, 3).")
    head = state.get("classifier.1.weight")
    return {"canales_entrada": int(first.shape[0]),
            "clases": int(head.shape[0]) if head is not None else 0}


def known_file(path) -> bool:
    """``True`` si ``path`` es el archivo de ImageNet de torchvision (su sha256)."""
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest() == TORCHVISION_SHA256


def load_torchvision_mobilenetv2(model: keras.Model, path, *, head: bool = True,
                                 state: dict[str, np.ndarray] | None = None) -> dict:
    """Copia los pesos de un ``.pth`` de torchvision en un modelo de
    :func:`modelos.mobilenet.build_mobilenetv2` (o en un extractor con sus mismas capas).

    Todo se comprueba antes de asignar nada: si falla, el modelo queda como estaba.

    Args:
        model: el modelo de Keras, con capas ``features_*`` (y ``classifier`` si ``head``).
        path: el ``.pth``.
        head: copiar también la cabeza de clasificación (si el modelo la tiene).
        state: el diccionario ya leído de ``path`` (:func:`read_state_dict`), para no
            leerlo dos veces.

    Returns:
        ``{"capas", "canales_entrada", "clases", "sha256_conocido"}``.

    Raises:
        ModelFileError: archivo ilegible o de otra arquitectura, o formas que no casan con
            el modelo (nombra la capa y las dos formas).
    """
    path = Path(path)
    state = read_state_dict(path) if state is None else state
    info = describe(state)
    num_blocks = len(block_plan())
    try:
        weights = layer_weights(state, num_blocks)
    except KeyError as exc:
        raise ModelFileError(f"{path}: no es una MobileNetV2 de torchvision; falta la clave "
                             f"{exc}.") from None
    names = {layer.name for layer in model.layers}
    if not head or "classifier" not in names:
        weights.pop("classifier", None)
    plan = []
    for name, arrays in weights.items():
        if name not in names:
            raise ModelFileError(f"El modelo «{model.name}» no tiene la capa «{name}» de "
                                 "una MobileNetV2; use build_mobilenetv2.")
        layer = model.get_layer(name)
        expected = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(a.shape) for a in arrays]
        if expected != got:
            raise ModelFileError(f"{path}: la capa «{name}» tiene pesos de forma {got} y el "
                                 f"modelo espera {expected} (¿otro ancho, alpha, u otro "
                                 "número de clases?).")
        plan.append((layer, arrays))
    for layer, arrays in plan:
        layer.set_weights(arrays)
    return {"capas": len(plan), **info, "sha256_conocido": known_file(path)}
