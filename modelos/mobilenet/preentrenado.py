"""El extractor preentrenado de una MobileNetV2 nueva: de un ``.pth`` de torchvision, del
``.h5`` de ``redes pesos convertir`` o del archivo de ImageNet de ``keras.applications``
(``--backbone-pesos``).

Solo se copian las capas ``features_*`` (el extractor): la cabeza de un modelo nuevo
tiene sus propias clases. Todo se comprueba antes de asignar nada.
"""

from __future__ import annotations

from pathlib import Path

from modelos.mobilenet.constructor import assign_checked
from nucleo.errores import ModelFileError
from nucleo.keras_listo import keras

#: Las capas del extractor (las de torchvision ``features``).
FEATURES_PREFIX = "features_"


def _feature_layers(model: keras.Model) -> dict[str, keras.layers.Layer]:
    return {layer.name: layer for layer in model.layers
            if layer.name.startswith(FEATURES_PREFIX) and layer.get_weights()}


def load_pretrained_features(model: keras.Model, path) -> dict:
    """Copia en ``model`` el extractor de ``path`` (``.pth`` de torchvision o ``.h5`` de
    una MobileNetV2 de redes).

    Returns:
        ``{"archivo", "capas"}``.

    Raises:
        ModelFileError: el archivo no existe, no es una MobileNetV2 o su ancho no es el
            del modelo (nombra la capa y las dos formas).
    """
    path = Path(path)
    from modelos.mobilenet.keras_aplicaciones import is_keras_applications

    if path.suffix.lower() not in (".pth", ".pt") and is_keras_applications(path):
        from modelos.mobilenet.keras_aplicaciones import load_keras_applications

        return {"archivo": str(path), "capas": len(load_keras_applications(model, path))}
    if path.suffix.lower() in (".pth", ".pt"):
        from modelos.mobilenet.torchvision import load_torchvision_mobilenetv2

        info = load_torchvision_mobilenetv2(model, path, head=False)
        return {"archivo": str(path), "capas": info["capas"]}
    from modelos.guardado import load

    source = load(path, compile=False)
    ours, theirs = _feature_layers(model), _feature_layers(source)
    if not theirs:
        raise ModelFileError(f"{path}: no es una MobileNetV2 (no tiene capas "
                             f"«{FEATURES_PREFIX}*»); use el .h5 de «redes pesos convertir».")
    missing = [name for name in ours if name not in theirs]
    if missing:
        raise ModelFileError(f"{path}: le falta la capa «{missing[0]}» del extractor.")
    filled = assign_checked(ours, {name: theirs[name].get_weights() for name in ours}, path)
    return {"archivo": str(path), "capas": len(filled)}

