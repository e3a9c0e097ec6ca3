"""De un ``.pth`` de torchvision a un ``.h5`` de redes (``redes pesos convertir``)."""

from __future__ import annotations

from pathlib import Path

from modelos.guardado import save
from modelos.mobilenet.constructor import build_mobilenetv2
from modelos.mobilenet.torchvision import describe
from modelos.mobilenet.torchvision import load_torchvision_mobilenetv2
from modelos.mobilenet.torchvision import read_state_dict
from nucleo.errores import ModelFileError


def convert_torchvision(path, out_path, *, alpha: float = 1.0) -> dict:
    """Escribe en ``out_path`` el clasificador de :func:`build_mobilenetv2` con los pesos
    del ``.pth`` de torchvision ``path`` (224×224, las clases de su cabeza), con los
    metadatos de la tarea ``clasificacion``: ``redes clasificacion predecir`` lo usa.

    Returns:
        Lo que devuelve :func:`load_torchvision_mobilenetv2`.

    Raises:
        ModelFileError: el archivo no se puede leer, no es una MobileNetV2 con cabeza o no
            es de ese ``alpha``.
    """
    state = read_state_dict(path)
    info = describe(state)
    if not info["clases"]:
        raise ModelFileError(f"{path}: no trae la cabeza de clasificación "
                             "(«classifier.1.weight»).")
    model = build_mobilenetv2(num_classes=info["clases"], alpha=alpha)
    info = load_torchvision_mobilenetv2(model, path, state=state)
    classes = [f"imagenet_{i}" for i in range(info["clases"])]
    save(model, Path(out_path), metadata={
        "tarea": "clasificacion", "clases": classes, "tamanio": [224, 224], "canales": 3,
        "aplanar": False,
        "origen": {"archivo": Path(path).name, "formato": "torchvision state_dict",
                   "sha256_conocido": info["sha256_conocido"]}})
    return info
