"""Escritura de anotaciones Pascal-VOC (las que :func:`datos.anotaciones.read_voc` lee).

Las coordenadas enteras se escriben como enteros (como labelImg) y las demás con dos
decimales; el archivo se escribe de forma atómica. El nombre de la imagen sigue la misma
regla que en la lectura: relativo a su carpeta, sin ``..`` ni ruta absoluta.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # solo construye y escribe; leer va por defusedxml
from collections.abc import Sequence
from pathlib import Path
from pathlib import PurePosixPath

import numpy as np

from nucleo.archivos import atomic_write
from nucleo.errores import ArgumentError

COORDINATES = ("xmin", "ymin", "xmax", "ymax")


def relative_image_path(filename: str) -> PurePosixPath:
    """``filename`` como ruta relativa que no sale de la carpeta de imágenes.

    Raises:
        ArgumentError: si no es un texto, es una ruta absoluta o contiene ``..``.
    """
    if not isinstance(filename, str) or not filename.strip():
        raise ArgumentError(f"El nombre de imagen debe ser un texto no vacío; recibido "
                            f"{filename!r}.")
    normalized = filename.strip().replace("\\", "/")
    relative = PurePosixPath(normalized)
    if relative.is_absolute() or (len(normalized) > 1 and normalized[1] == ":"):
        raise ArgumentError(f"<filename> {filename!r} es una ruta absoluta: debe ser un "
                            "nombre dentro de la carpeta de imágenes")
    if ".." in relative.parts:
        raise ArgumentError(f"<filename> {filename!r} intenta salir de la carpeta de "
                            "imágenes")
    return relative


def format_number(value: float) -> str:
    """Un entero sin decimales; si no, con dos."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.2f}"


def write_voc(
    xml_path: str | Path,
    filename: str,
    width: int,
    height: int,
    boxes,
    labels: Sequence[str],
    *,
    depth: int = 3,
) -> Path:
    """Escribe (de forma atómica) una anotación que ``read_voc`` lee igual.

    Las coordenadas enteras se escriben como enteros (como labelImg) y las demás con
    dos decimales.

    Args:
        xml_path: archivo a escribir (se crean las carpetas que falten).
        filename: nombre de la imagen relativo a su carpeta (sin ``..`` ni ruta
            absoluta).
        width: ancho de la imagen en píxeles.
        height: alto de la imagen en píxeles.
        boxes: (N, 4) ``xmin, ymin, xmax, ymax`` en píxeles.
        labels: los N nombres de clase.
        depth: canales de la imagen.

    Returns:
        La ruta escrita.

    Raises:
        ArgumentError: si algún argumento no es válido (el mensaje lo nombra).

    Example:
        >>> write_voc("annotations/0001.xml", "0001.jpg", 416, 416,
        ...           [[10, 20, 110, 220]], ["lego"])
    """
    try:
        relative_image_path(filename)
    except ArgumentError as exc:
        raise ArgumentError(f"write_voc: {exc}.") from None
    for value, name in ((width, "width"), (height, "height"), (depth, "depth")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ArgumentError(f"write_voc: «{name}» debe ser un entero ≥ 1; "
                                f"recibido {value!r}.")
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ArgumentError(f"write_voc: «boxes» debe tener forma (N, 4); recibida "
                            f"{boxes.shape}.")
    labels = list(labels)
    if len(labels) != len(boxes) or not all(isinstance(n, str) and n.strip() for n in labels):
        raise ArgumentError(
            f"write_voc: «labels» debe tener un nombre no vacío por caja ({len(boxes)} "
            f"cajas); recibido {labels!r}."
        )
    if not np.isfinite(boxes).all():
        raise ArgumentError("write_voc: «boxes» contiene valores no finitos.")

    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "images"
    ET.SubElement(root, "filename").text = filename
    size = ET.SubElement(root, "size")
    for name, value in (("width", width), ("height", height), ("depth", depth)):
        ET.SubElement(size, name).text = str(int(value))
    for box, label in zip(boxes, labels, strict=True):
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = label
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        bndbox = ET.SubElement(obj, "bndbox")
        for name, value in zip(COORDINATES, box, strict=True):
            ET.SubElement(bndbox, name).text = format_number(value)
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"
    return atomic_write(xml_path, lambda handle: handle.write(data))
