"""Lo que cada familia declara de sus entradas y salidas (el «preprocessor» de keras-hub).

Los motores de inferencia, la exportación, la cuantización int8 y el servicio no saben
de familias: preguntan a :func:`modelos.registro.preprocessor_of` cómo preparar una
entrada y qué contar de la salida. Cada familia declara el suyo en su paquete
(``modelos/<familia>/__init__.py``, con :func:`modelos.registro.declare_family`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError


@dataclasses.dataclass(frozen=True)
class Preprocessor:
    """Entradas y salidas de una familia, descritas para ``modelo.json``.

    Attributes:
        input: qué recibe la red (texto para la descripción de una exportación).
        output: qué devuelve (texto; vacío si no hace falta contarlo).
    """

    input: str
    output: str = ""

    #: Si la red recibe imágenes (``predict_images`` y la calibración int8 lo exigen).
    takes_images = False
    #: Si la cuantización int8 de OpenVINO sabe calibrarla con fotos.
    calibrates_int8 = False

    def describe(self, model) -> dict[str, Any]:
        """Lo que la descripción de una exportación cuenta del modelo ``model``."""
        described = {"input": self.input}
        if self.output:
            described["output"] = self.output
        return described


@dataclasses.dataclass(frozen=True)
class ImagePreprocessor(Preprocessor):
    """Una red que recibe imágenes: ``uint8`` → ``float32`` dividiendo entre ``pixel_scale``.

    Attributes:
        pixel_scale: la división de los píxeles (255: la red ve ``[0, 1]``). El motor
            OpenVINO la hace dentro de su grafo.
        flatten: si la red recibe cada imagen aplanada (un MLP).
    """

    pixel_scale: float = 255.0
    flatten: bool = False

    takes_images = True

    def to_input(self, images) -> np.ndarray:
        """Lote ``uint8`` (B, alto, ancho, canales) → la entrada ``float32`` de la red."""
        array = np.asarray(images)
        if array.dtype != np.uint8 or array.ndim != 4:
            raise ArgumentError(f"Se esperaba un lote de imágenes uint8 (B, alto, ancho, "
                                f"canales); recibido {array.dtype} de forma {array.shape}.")
        pixels = array.astype(np.float32) / np.float32(self.pixel_scale)
        return pixels.reshape(len(pixels), -1) if self.flatten else pixels

    def image_size(self, model) -> tuple[int, int]:
        """``(alto, ancho)`` de la entrada de ``model`` (un modelo de Keras o un motor)."""
        shape = model.input_shape
        if self.flatten or len(shape) != 4 or None in shape[1:3]:
            raise ArgumentError("El modelo no declara el alto y el ancho de sus imágenes.")
        return int(shape[1]), int(shape[2])
