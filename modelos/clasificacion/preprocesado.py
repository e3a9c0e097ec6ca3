"""El preprocesado de los clasificadores: de las imágenes leídas a la entrada de la red."""

from __future__ import annotations

import numpy as np

from modelos.preprocesado import ImagePreprocessor
from modelos.preprocesado import Preprocessor


def prepare_images(images: np.ndarray, flatten: bool) -> np.ndarray:
    """Las imágenes ``(N, alto, ancho, canales)`` tal cual, o aplanadas ``(N, -1)`` para
    un MLP (``flatten``)."""
    return images.reshape(len(images), -1) if flatten else images


#: Los clasificadores de imágenes (deportes, CIFAR): píxeles / 255.
IMAGE_CLASSIFIER = ImagePreprocessor(
    input="float32 (B, alto, ancho, canales): las imágenes, píxeles / 255 (ver metadata)")
#: El MLP de imágenes: la misma división, con cada imagen aplanada.
FLAT_IMAGE_CLASSIFIER = ImagePreprocessor(
    input="float32 (B, alto · ancho · canales): las imágenes aplanadas, píxeles / 255",
    flatten=True)
#: La red XOR: dos números por fila.
XOR = Preprocessor(input="float32 (B, 2): dos entradas 0 o 1")
