"""Escritura de anotaciones: Pascal-VOC (:func:`write_voc`, las que
:func:`datos.anotaciones.read_voc` lee), YOLO-txt (:func:`write_yolo` y
:func:`write_data_yaml`) y COCO (:func:`write_coco`).

En VOC, las coordenadas enteras se escriben como enteros (como labelImg) y las demás con
dos decimales; en YOLO, normalizadas a [0, 1] con 6 decimales; en COCO, ``[x, y, ancho,
alto]`` en píxeles con 3 decimales. Cada archivo se escribe de forma atómica. El nombre
de la imagen sigue la misma regla que en la lectura: relativo a su carpeta, sin ``..``
ni ruta absoluta.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # solo construye y escribe; leer va por defusedxml
from collections.abc import Iterable
from collections.abc import Sequence
from pathlib import Path
from pathlib import PurePosixPath
from typing import NamedTuple

import numpy as np

from nucleo.archivos import atomic_write
from nucleo.errores import ArgumentError

COORDINATES = ("xmin", "ymin", "xmax", "ymax")


def relative_image_path(filename: str, what: str = "<filename>") -> PurePosixPath:
    """``filename`` como ruta relativa que no sale de la carpeta de imágenes.

    Args:
        filename: el nombre tal como lo trae la anotación.
        what: cómo se llama el campo en el mensaje (``<filename>``, ``file_name``).

    Raises:
        ArgumentError: si no es un texto, es una ruta absoluta o contiene ``..``.
    """
    if not isinstance(filename, str) or not filename.strip():
        raise ArgumentError(f"El nombre de imagen debe ser un texto no vacío; recibido "
                            f"{filename!r}.")
    normalized = filename.strip().replace("\\", "/")
    relative = PurePosixPath(normalized)
    if relative.is_absolute() or (len(normalized) > 1 and normalized[1] == ":"):
        raise ArgumentError(f"{what} {filename!r} es una ruta absoluta: debe ser un "
                            "nombre dentro de la carpeta de imágenes")
    if ".." in relative.parts:
        raise ArgumentError(f"{what} {filename!r} intenta salir de la carpeta de "
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
    boxes, labels = _checked("write_voc", filename, width, height, boxes, labels)
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ArgumentError(f"write_voc: «depth» debe ser un entero ≥ 1; recibido {depth!r}.")

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


def _checked(where: str, filename: str, width: int, height: int, boxes,
             labels: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Comprueba lo que comparten los escritores; devuelve ``(boxes (N, 4), labels)``.

    Raises:
        ArgumentError: el primer argumento no válido, nombrado.
    """
    try:
        relative_image_path(filename)
    except ArgumentError as exc:
        raise ArgumentError(f"{where}: {exc}.") from None
    for value, name in ((width, "width"), (height, "height")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ArgumentError(f"{where}: «{name}» debe ser un entero ≥ 1; "
                                f"recibido {value!r}.")
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ArgumentError(f"{where}: «boxes» debe tener forma (N, 4); recibida "
                            f"{boxes.shape}.")
    labels = list(labels)
    if len(labels) != len(boxes) or not all(isinstance(n, str) and n.strip() for n in labels):
        raise ArgumentError(
            f"{where}: «labels» debe tener un nombre no vacío por caja ({len(boxes)} "
            f"cajas); recibido {labels!r}."
        )
    if not np.isfinite(boxes).all():
        raise ArgumentError(f"{where}: «boxes» contiene valores no finitos.")
    return boxes, labels


def _class_index(where: str, classes: Sequence[str], labels: Sequence[str]) -> dict[str, int]:
    """``{clase: índice}`` de ``classes``; todas las ``labels`` deben estar.

    Raises:
        ArgumentError: clases repetidas o vacías, o una etiqueta que no está.
    """
    classes = list(classes)
    if not classes or len(set(classes)) != len(classes) or not all(
            isinstance(c, str) and c.strip() for c in classes):
        raise ArgumentError(f"{where}: «classes» debe ser una lista de nombres distintos; "
                            f"recibido {classes!r}.")
    index = {name: i for i, name in enumerate(classes)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise ArgumentError(f"{where}: las etiquetas {unknown} no están en «classes» "
                            f"({classes}).")
    return index


# === YOLO-txt (Ultralytics) ===

def write_yolo(txt_path: str | Path, width: int, height: int, boxes,
               labels: Sequence[str], classes: Sequence[str]) -> Path:
    """Escribe (de forma atómica) la etiqueta YOLO-txt de una imagen.

    Una línea por caja, ``clase cx cy ancho alto``, con la clase como su índice en
    ``classes`` (los ``names`` de ``data.yaml``) y el resto normalizado a [0, 1] por el
    tamaño de la imagen, con 6 decimales. Sin cajas, un archivo vacío (una imagen sin
    objetos, para Ultralytics).

    Args:
        txt_path: archivo a escribir (``labels/<nombre>.txt``; se crean las carpetas).
        width: ancho de la imagen en píxeles.
        height: alto de la imagen en píxeles.
        boxes: (N, 4) ``xmin, ymin, xmax, ymax`` en píxeles.
        labels: los N nombres de clase.
        classes: todas las clases, en el orden de sus índices.

    Returns:
        La ruta escrita.

    Raises:
        ArgumentError: si algún argumento no es válido (el mensaje lo nombra).

    Example:
        >>> write_yolo("labels/0001.txt", 416, 416, [[10, 20, 110, 220]], ["lego"],
        ...            ["lego"])
    """
    boxes, labels = _checked("write_yolo", Path(txt_path).name, width, height, boxes, labels)
    index = _class_index("write_yolo", classes, labels)
    lines = []
    for (xmin, ymin, xmax, ymax), label in zip(boxes, labels, strict=True):
        values = ((xmin + xmax) / 2 / width, (ymin + ymax) / 2 / height,
                  (xmax - xmin) / width, (ymax - ymin) / height)
        lines.append(f"{index[label]} " + " ".join(f"{v:.6f}" for v in values))
    text = "".join(line + "\n" for line in lines)
    return atomic_write(txt_path, lambda handle: handle.write(text), text=True)


def write_data_yaml(root: str | Path, classes: Sequence[str],
                    splits: dict[str, str] | None = None) -> Path:
    """Escribe (de forma atómica) ``root/data.yaml`` de Ultralytics.

    Args:
        root: la carpeta del conjunto.
        classes: los nombres de las clases, en el orden de sus índices (``names``).
        splits: ``{partición: carpeta de imágenes relativa a root}`` (``{"train":
            "images/train", "val": "images/val"}``); sin particiones, ``train`` y
            ``val`` son las dos ``images`` (Ultralytics pide las dos).

    Returns:
        La ruta escrita.

    Raises:
        ArgumentError: clases repetidas o vacías.
    """
    import yaml

    classes = list(_class_index("write_data_yaml", classes, []))
    splits = dict(splits) if splits else {"train": "images", "val": "images"}
    data = {**splits, "nc": len(classes), "names": classes}
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return atomic_write(Path(root) / "data.yaml", lambda handle: handle.write(text),
                        text=True)


# === COCO ===

class AnnotatedImage(NamedTuple):
    """Una imagen para :func:`write_coco`: su nombre relativo a la carpeta de imágenes, su
    tamaño y sus cajas (N, 4) ``xmin, ymin, xmax, ymax`` en píxeles con sus N clases."""

    filename: str
    width: int
    height: int
    boxes: object
    labels: Sequence[str]


def write_coco(json_path: str | Path, images: Iterable[AnnotatedImage],
               classes: Sequence[str]) -> Path:
    """Escribe (de forma atómica) un JSON de COCO con ``images``, ``annotations`` y
    ``categories``.

    Los ids de imagen, de anotación y de categoría empiezan en 1 (como en COCO); la
    categoría ``i + 1`` es ``classes[i]``. Cada caja va como ``bbox [x, y, ancho, alto]``
    en píxeles, con su ``area`` y ``iscrowd: 0``.

    Args:
        json_path: archivo a escribir (se crean las carpetas).
        images: las imágenes (:class:`AnnotatedImage` u objetos con esos campos).
        classes: todas las clases, en el orden de sus ids.

    Returns:
        La ruta escrita.

    Raises:
        ArgumentError: si algún argumento no es válido (el mensaje lo nombra).

    Example:
        >>> write_coco("annotations.json", [AnnotatedImage("0001.jpg", 416, 416,
        ...            [[10, 20, 110, 220]], ["lego"])], ["lego"])
    """
    import json

    entries, annotations = [], []
    index = _class_index("write_coco", classes, [])
    for image_id, image in enumerate(images, start=1):
        boxes, labels = _checked("write_coco", image.filename, image.width, image.height,
                                 image.boxes, image.labels)
        _class_index("write_coco", classes, labels)
        entries.append({"id": image_id, "file_name": image.filename,
                        "width": int(image.width), "height": int(image.height)})
        for (xmin, ymin, xmax, ymax), label in zip(boxes, labels, strict=True):
            bbox = [round(float(v), 3) for v in (xmin, ymin, xmax - xmin, ymax - ymin)]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": index[label] + 1, "bbox": bbox,
                                "area": round(bbox[2] * bbox[3], 3), "iscrowd": 0,
                                "segmentation": []})
    data = {"info": {"description": "redes-keras"}, "images": entries,
            "annotations": annotations,
            "categories": [{"id": i + 1, "name": name, "supercategory": "none"}
                           for i, name in enumerate(classes)]}
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return atomic_write(json_path, lambda handle: handle.write(text + "\n"), text=True)
