"""El preprocesado de los clasificadores: de las imágenes leídas a la entrada de la red."""

from __future__ import annotations


import numpy as np

# Particiones de ``evaluate_classifier`` y clases que puede nombrar un clasificador guardado.


def prepare_images(images: np.ndarray, flatten: bool) -> np.ndarray:
    """Las imágenes ``(N, alto, ancho, canales)`` tal cual, o aplanadas ``(N, -1)`` para
    un MLP (``flatten``)."""
    return images.reshape(len(images), -1) if flatten else images
