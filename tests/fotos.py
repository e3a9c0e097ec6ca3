"""Fotos reales que traen los paquetes instalados (scikit-image y scikit-learn), para
comprobar un modelo de ImageNet sin descargar nada."""

from __future__ import annotations

import numpy as np

#: Nombre → (paquete, función) de cada foto RGB.
PHOTOS = {
    "chelsea": ("skimage.data", "chelsea"),
    "coffee": ("skimage.data", "coffee"),
    "rocket": ("skimage.data", "rocket"),
    "china": ("sklearn.datasets", "china"),
    "motorcycle": ("skimage.data", "stereo_motorcycle"),
}


def test_photos() -> tuple[list[str], list[np.ndarray]]:
    """``(nombres, fotos uint8 RGB)`` de :data:`PHOTOS`."""
    import importlib

    from sklearn.datasets import load_sample_image

    names, photos = [], []
    for name, (package, function) in PHOTOS.items():
        if package == "sklearn.datasets":
            photo = load_sample_image(f"{function}.jpg")
        else:
            photo = getattr(importlib.import_module(package), function)()
            if isinstance(photo, tuple):   # stereo_motorcycle: (izquierda, derecha, disparidad)
                photo = photo[0]
        names.append(name)
        photos.append(np.ascontiguousarray(photo[..., :3], dtype=np.uint8))
    return names, photos


test_photos.__test__ = False  # no es una prueba de pytest
