"""El camino de una imagen hasta la entrada de YOLOv2, el mismo al entrenar y al detectar.

Toda imagen de detección (las de los lotes de entrenamiento, las de la evaluación y
las de :func:`modelos.yolo.decodificacion.detect`) pasa por aquí:

1. :func:`read_image`: un solo decodificador, :func:`datos.imagenes.read_rgb`, con una
   sola política de orientación: **se aplica la etiqueta EXIF** (la foto de un móvil
   guardada apaisada con orientación 6 se ve vertical, como en cualquier visor). Las
   anotaciones se leen en ese mismo marco (ver :func:`datos.anotaciones.read_voc`).
2. :func:`datos.imagenes.resize_image`: al tamaño de la red (área al reducir, bilineal al ampliar).
3. :func:`to_input`: ``uint8`` → ``float32`` en ``[0, 1]``.

Las cajas detectadas vuelven a píxeles de la imagen tal como la devolvió
:func:`read_image`, así que se dibujan sobre ella sin más cuentas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datos.imagenes import read_rgb
from datos.imagenes import resize_image
from modelos.preprocesado import ImagePreprocessor
from nucleo.errores import ArgumentError
from nucleo.errores import DataError


def read_image(image) -> np.ndarray:
    """Imagen ``uint8`` RGB (H, W, 3) desde una ruta (girada por EXIF) o un arreglo.

    Args:
        image: ruta de una imagen, o un arreglo ``uint8`` (H, W, 3) RGB o (H, W) gris.

    Raises:
        ArgumentError: si el arreglo no es ``uint8`` RGB o gris.
        DataError: si la ruta no existe o no se puede decodificar (la nombra).
    """
    if isinstance(image, (str, Path)):
        return read_rgb(image)
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3 \
            or min(array.shape[:2]) == 0:
        raise ArgumentError(f"detect: la imagen debe ser un arreglo uint8 RGB (alto, ancho, "
                            f"3) o una ruta; recibido {array.dtype} de forma {array.shape}.")
    return array


def read_record(record, image_size) -> np.ndarray:
    """La imagen de un registro de ``read_voc``, comprobada y redimensionada a la red.

    Args:
        record: con ``path``, ``width`` y ``height`` (el tamaño con la orientación EXIF
            aplicada, el de :func:`datos.anotaciones.read_voc`).
        image_size: ``(alto, ancho)`` de la entrada de la red.

    Returns:
        ``uint8`` (alto, ancho, 3) RGB.

    Raises:
        DataError: si la imagen ya no se puede leer o cambió de tamaño (la nombra).
    """
    pixels = read_image(Path(record.path))
    height, width = pixels.shape[:2]
    if (width, height) != (record.width, record.height):
        raise DataError(f"La imagen {record.path} mide {width}×{height} pero se leyó "
                        f"como {record.width}×{record.height}: ¿cambió el archivo?")
    return resize_image(pixels, image_size)


def to_input(images: np.ndarray) -> np.ndarray:
    """Lote ``uint8`` (B, alto, ancho, 3) → ``float32`` en ``[0, 1]``, la entrada de la red."""
    return np.asarray(images).astype(np.float32) / 255.0


class YoloPreprocessor(ImagePreprocessor):
    """El preprocesado que declara YOLOv2: fotos RGB ``/ 255`` y su salida sin activar."""

    calibrates_int8 = True

    def __init__(self):
        super().__init__(
            input="RGB float32 (B, alto, ancho, 3) en [0, 1]: píxeles / 255",
            output="(B, S_h, S_w, A, 5 + C) sin activar: tx, ty, tw, th, objeto, clases. "
                   "x = (columna + sigmoide(tx)) / S_w; w = ancla_w · exp(tw) / S_w; "
                   "puntuación = sigmoide(objeto) · softmax(clases)")

    def describe(self, model) -> dict:
        from modelos.yolo.constructor import yolo_config

        config = yolo_config(model)
        return {"yolo": {
            "labels": config["labels"], "anchors": config["anchors"],
            "input_size": list(config["input_size"]), "grid": list(config["grid"]),
            "backbone": config["backbone"], "input": self.input, "output": self.output,
        }}

    def image_size(self, model) -> tuple[int, int]:
        from modelos.yolo.constructor import yolo_config

        return tuple(yolo_config(model)["input_size"])
