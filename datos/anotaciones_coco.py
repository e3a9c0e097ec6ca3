"""Anotaciones COCO (un JSON): lectura validada, con los mismos registros e informe que
Pascal-VOC (:mod:`datos.anotaciones`).

Formato (lo que se usa del JSON; lo demás se ignora)::

    {"images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}, ...],
     "annotations": [{"id": 7, "image_id": 1, "category_id": 3,
                      "bbox": [x, y, ancho, alto], "iscrowd": 0}, ...],
     "categories": [{"id": 3, "name": "perro"}, ...]}

``bbox`` va en píxeles desde la esquina superior izquierda. El JSON se lee con
:func:`nucleo.archivos.read_json`, con tamaño y profundidad máximos
(:data:`nucleo.vocabulario.MAX_COCO_JSON_BYTES`, ``MAX_COCO_JSON_DEPTH``). Cada
``file_name`` se busca dentro de la carpeta de imágenes, sin salir de ella, y el
``width``/``height`` declarado debe coincidir con el de la cabecera de la imagen (con la
orientación EXIF aplicada), como ``<size>`` en VOC.

Una imagen que falta, está dañada o no cuadra con su tamaño se omite; una anotación con
un ``image_id`` o un ``category_id`` que no existen, una ``bbox`` que no son cuatro
números o de tamaño cero, o ``iscrowd`` (una región de multitud, que no es un objeto) se
descarta; todo con el índice y el id de la anotación en el informe.

Carpetas (:func:`coco_files`, :func:`coco_image_dir`): el JSON puede estar en la carpeta
del conjunto (``annotations.json``), en ``annotations/`` (``instances_val2017.json``,
una partición por archivo) o junto a sus imágenes (``train/_annotations.coco.json`` de
Roboflow).

Referencia:
    Lin et al., «Microsoft COCO: Common Objects in Context» (2014) y el formato de
    cocodataset.org (*Data format*, detección de objetos).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from datos.anotaciones_comun import AnnotationSkipped
from datos.anotaciones_comun import VocImage
from datos.anotaciones_comun import VocImages
from datos.anotaciones_comun import VocReport
from datos.anotaciones_comun import check_declared_size
from datos.anotaciones_comun import check_labels
from datos.anotaciones_comun import finish_reading
from datos.anotaciones_comun import image_size
from datos.anotaciones_comun import make_record
from datos.anotaciones_comun import place_box
from datos.anotaciones_comun import unreferenced_images
from datos.anotaciones_comun import wanted_label
from datos.anotaciones_escritura import relative_image_path
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.errores import EmptyDataError
from nucleo.vocabulario import MAX_COCO_JSON_BYTES
from nucleo.vocabulario import MAX_COCO_JSON_DEPTH

__all__ = ["coco_files", "coco_image_dir", "load_coco", "read_coco", "read_coco_files"]

#: Lo que se mira del principio de un .json para reconocerlo como COCO sin leerlo entero.
_HEAD_BYTES = 1 << 20
_ANNOTATION_FOLDERS = ("annotations", "Annotations")
#: Píxeles que una caja puede salirse de la imagen por el redondeo de ``x + ancho`` sin
#: que se cuente como recortada.
_ROUNDING = 0.01
#: El nombre del JSON de cada partición en las exportaciones de Roboflow.
_ROBOFLOW_NAME = "_annotations.coco.json"


# === Carpetas ===

def looks_like_coco(path: Path) -> bool:
    """``True`` si ``path`` es un ``.json`` cuyo principio trae la clave ``"images"``."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return False
    return b'"images"' in head


def coco_files(root) -> list[Path]:
    """Los JSON de COCO de la carpeta ``root``: ``*.json``, ``annotations/*.json`` y
    ``*/_annotations.coco.json``; si alguno es ``instances_*.json``, solo esos (así se
    dejan fuera ``captions_*`` y ``person_keypoints_*`` del COCO oficial)."""
    root = Path(root)
    found = [*root.glob("*.json"), *root.glob(f"*/{_ROBOFLOW_NAME}")]
    for name in _ANNOTATION_FOLDERS:
        found += (root / name).glob("*.json")
    found = sorted({p for p in found if p.is_file() and not p.name.startswith(".")
                    and looks_like_coco(p)})
    instances = [p for p in found if p.name.startswith("instances_")]
    return instances or found


def split_token(path: Path) -> str:
    """Lo que nombra la partición de un JSON: ``val2017`` de ``instances_val2017.json``,
    ``valid`` de ``valid/_annotations.coco.json``."""
    if path.name == _ROBOFLOW_NAME:
        return path.parent.name.lower()
    return path.stem.lower().removeprefix("instances_")


def coco_image_dir(json_path: Path, data: dict | None = None) -> Path:
    """La carpeta de imágenes de un JSON: la primera de ``RAIZ/images/<partición>``,
    ``RAIZ/<partición>``, la carpeta del JSON (y su ``images/``), ``RAIZ/images`` y
    ``RAIZ`` donde está la primera imagen que nombra el JSON (``RAIZ`` es la carpeta de
    ``annotations/`` o la del JSON)."""
    json_path = Path(json_path)
    inside = json_path.parent.name in _ANNOTATION_FOLDERS
    root = json_path.parent.parent if inside else json_path.parent
    token = split_token(json_path)
    candidates = [root / "images" / token, root / token]
    if not inside:
        candidates += [json_path.parent / "images", json_path.parent]
    candidates += [root / "images", root]
    existing = list(dict.fromkeys(c for c in candidates if c.is_dir()))
    names = [e.get("file_name") for e in (data or {}).get("images", [])[:5]
             if isinstance(e, dict) and isinstance(e.get("file_name"), str)]
    for folder in existing:
        for name in names:
            try:
                if (folder / relative_image_path(name, "file_name")).is_file():
                    return folder
            except ArgumentError:
                continue
    return existing[0] if existing else root


# === El JSON ===

def load_coco(json_path) -> dict:
    """Lee un JSON de COCO con los límites y comprueba su forma y sus ``categories``.

    Returns:
        El diccionario, con ``categories`` ya comprobadas.

    Raises:
        DataError: si falta, supera un límite, no es JSON o le falta ``images``,
            ``annotations`` o ``categories`` (nombra el archivo y la clave).
    """
    from nucleo.archivos import read_json

    path = Path(json_path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"No se puede leer el JSON de COCO {path} ({exc.strerror or exc})"
                        ) from None
    if size > MAX_COCO_JSON_BYTES:
        raise DataError(f"{path} ocupa {size} bytes, más de los {MAX_COCO_JSON_BYTES} que se "
                        "admiten para un JSON de COCO")
    data = read_json(path, max_bytes=MAX_COCO_JSON_BYTES, max_depth=MAX_COCO_JSON_DEPTH)
    if not isinstance(data, dict):
        raise DataError(f"{path}: se esperaba un objeto JSON con images, annotations y "
                        f"categories; recibido {type(data).__name__}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DataError(f"{path}: falta la lista «{key}» (formato COCO de detección)")
    return data


def _categories(data: dict, path: Path) -> dict:
    """``{id: nombre}`` de ``categories``, en el orden de los ids.

    Raises:
        DataError: una categoría sin ``id`` entero o sin ``name``, o un id repetido.
    """
    names = {}
    for index, entry in enumerate(data["categories"]):
        cid = entry.get("id") if isinstance(entry, dict) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        if not _is_id(cid) or not isinstance(name, str) or not name.strip():
            raise DataError(f"{path}: categories[{index}] debe tener «id» entero y «name» "
                            f"no vacío; recibido {str(entry)[:80]}")
        if cid in names:
            raise DataError(f"{path}: categories[{index}] repite el id {cid}")
        names[cid] = name.strip()
    # Los ids enteros por su valor; los de texto (no estándar, pero se ven) después.
    return dict(sorted(names.items(), key=lambda item: (isinstance(item[0], str),
                                                        str(item[0]).zfill(20))))


def _is_id(value) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and bool(value))


# === Lectura ===

def read_coco(json_path, img_dir=None, labels: Sequence[str] | None = None, *,
              check_images: bool = True) -> tuple[VocImages, dict[str, int]]:
    """Lee un JSON de COCO y comprueba sus imágenes.

    Da lo mismo que :func:`datos.anotaciones.read_voc`: las cajas en píxeles
    ``xmin, ymin, xmax, ymax`` (de ``bbox [x, y, ancho, alto]``), el mismo informe y
    los mismos errores. ``images.classes`` son las ``categories`` en el orden de sus ids.

    Args:
        json_path: el JSON.
        img_dir: la carpeta de las imágenes (``None``: la de :func:`coco_image_dir`).
        labels: si se da, solo se conservan los objetos de estas clases (las imágenes que
            se quedan sin objetos van a ``images.report.empty``).
        check_images: decodificar cada imagen para detectar las dañadas.

    Returns:
        ``(images, label_counts)`` como :func:`datos.anotaciones.read_voc`.

    Raises:
        ArgumentError: si ``labels`` no es una lista de nombres distintos.
        DataError: el JSON falta, supera un límite o no tiene la forma de COCO.
        EmptyDataError: si ninguna imagen es utilizable.

    Example:
        >>> images, counts = read_coco("coco/annotations/instances_val2017.json")
        >>> images.report.dropped_objects   # [(json, "anotación 12 (id 907): ..."), ...]
    """
    return read_coco_files([(Path(json_path), img_dir)], labels, check_images=check_images)


def read_coco_files(sources: Sequence[tuple[Path, Path | None]],
                    labels: Sequence[str] | None = None, *,
                    check_images: bool = True) -> tuple[VocImages, dict[str, int]]:
    """Lee varios JSON de COCO (las particiones de un conjunto) como uno solo.

    Args:
        sources: ``(json, carpeta de imágenes o None)`` de cada uno.
        labels: como en :func:`read_coco`.
        check_images: como en :func:`read_coco`.
    """
    wanted = check_labels(labels)
    report = VocReport()
    images = VocImages(report=report, classes=[])
    counts: Counter[str] = Counter()
    total = 0
    for json_path, img_dir in sources:
        json_path = Path(json_path)
        data = load_coco(json_path)
        categories = _categories(data, json_path)
        images.classes += [n for n in categories.values() if n not in images.classes]
        if img_dir is None:
            img_dir = coco_image_dir(json_path, data)
        elif not Path(img_dir).is_dir():
            raise DataError(f"La carpeta de imágenes {img_dir} no existe o no es una carpeta")
        total += _read_file(json_path, Path(img_dir), data, categories, wanted, report,
                            images, counts, check_images)
    root = sources[0][0] if len(sources) == 1 else Path(sources[0][0]).parent
    if total == 0:
        raise EmptyDataError(f"{root} no tiene ninguna imagen en «images»")
    return finish_reading(images, counts, Path(root), wanted, total)


def _read_file(path: Path, img_dir: Path, data: dict, categories: dict, wanted,
               report: VocReport, images: VocImages, counts: Counter,
               check_images: bool) -> int:
    """Lee las imágenes y anotaciones de un JSON ya cargado; devuelve cuántas imágenes
    declara."""
    entries = _image_entries(data, path, report)
    grouped = _group_annotations(data, path, entries, categories, report)
    used: set[Path] = set()
    for image_id, (index, entry) in entries.items():
        where = f"imagen {index} (id {image_id}, {str(entry.get('file_name'))[:80]!r})"
        try:
            image = _find_image(entry, img_dir)
            used.add(image)
            width, height = image_size(image, check_images)
            check_declared_size(_declared(entry), width, height, image)
        except AnnotationSkipped as exc:
            report.skipped.append((path, f"{where}: {exc}"))
            continue
        record, seen = _record(image, width, height, grouped.get(image_id, []), path,
                               wanted, report)
        counts.update(seen)
        if record.labels:
            images.append(record)
        else:  # sin un archivo por imagen, el informe nombra la imagen
            report.empty.append(image)
    report.unannotated += unreferenced_images([img_dir, *{p.parent for p in used}], used)
    return len(entries)


def _image_entries(data: dict, path: Path, report: VocReport) -> dict:
    """``{id: (índice, entrada)}`` de ``images``; las mal formadas o repetidas van al
    informe."""
    entries = {}
    for index, entry in enumerate(data["images"]):
        image_id = entry.get("id") if isinstance(entry, dict) else None
        if not _is_id(image_id) or not isinstance(entry.get("file_name"), str):
            report.skipped.append((path, f"imagen {index}: debe tener «id» y «file_name»; "
                                         f"recibido {str(entry)[:80]}"))
        elif image_id in entries:
            report.skipped.append((path, f"imagen {index}: repite el id {image_id} de la "
                                         f"imagen {entries[image_id][0]}"))
        else:
            entries[image_id] = (index, entry)
    return entries


def _group_annotations(data: dict, path: Path, entries: dict, categories: dict,
                       report: VocReport) -> dict:
    """``{image_id: [(dónde, clase, bbox)]}``; las anotaciones que no sirven van al
    informe con su índice y su id."""
    grouped: dict = {}
    for index, ann in enumerate(data["annotations"]):
        aid = ann.get("id") if isinstance(ann, dict) else None
        where = f"anotación {index}" + (f" (id {aid})" if _is_id(aid) else "")
        if not isinstance(ann, dict):
            report.dropped_objects.append((path, f"{where}: no es un objeto JSON"))
            continue
        try:
            name, bbox = _check_annotation(ann, entries, categories)
        except AnnotationSkipped as exc:
            report.dropped_objects.append((path, f"{where}: {exc}"))
            continue
        grouped.setdefault(ann["image_id"], []).append((where, name, bbox))
    return grouped


def _check_annotation(ann: dict, entries: dict, categories: dict) -> tuple[str, list]:
    image_id, category = ann.get("image_id"), ann.get("category_id")
    if not _is_id(image_id) or image_id not in entries:
        raise AnnotationSkipped(f"image_id {image_id!r} no está en «images»")
    if not _is_id(category) or category not in categories:
        raise AnnotationSkipped(f"category_id {category!r} no está en «categories»")
    name = categories[category]
    if ann.get("iscrowd"):
        raise AnnotationSkipped(f"{name!r}: iscrowd = {ann['iscrowd']!r} (una región de "
                                "multitud, no un objeto)")
    bbox = ann.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in bbox):
        raise AnnotationSkipped(f"{name!r}: «bbox» debe ser [x, y, ancho, alto] con cuatro "
                                f"números finitos; recibido {str(bbox)[:80]}")
    if bbox[2] <= 0 or bbox[3] <= 0:
        raise AnnotationSkipped(f"{name!r}: caja de tamaño cero o negativo (ancho="
                                f"{bbox[2]:g}, alto={bbox[3]:g})")
    return name, [float(v) for v in bbox]


def _find_image(entry: dict, img_dir: Path) -> Path:
    try:
        relative = relative_image_path(entry["file_name"], "file_name")
    except ArgumentError as exc:
        raise AnnotationSkipped(str(exc)) from None
    image = img_dir / relative
    if not image.is_file():
        raise AnnotationSkipped(f"la imagen {entry['file_name']} no existe en {img_dir}")
    return image


def _declared(entry: dict) -> tuple[int, int]:
    """``(width, height)`` declarados (``0`` si faltan: no se comprueban)."""
    values = []
    for key in ("width", "height"):
        value = entry.get(key, 0)
        if value is None:
            value = 0
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0:
            raise AnnotationSkipped(f"«{key}» = {value!r} no es un tamaño válido")
        values.append(int(value))
    return values[0], values[1]


def _record(image: Path, width: int, height: int, objects: list, path: Path, wanted,
            report: VocReport) -> tuple[VocImage, list[str]]:
    boxes, names, seen = [], [], []
    for where, name, (x, y, w, h) in objects:
        seen.append(name)
        where = f"{where} ({name!r})"
        if not wanted_label(report, path, where, name, wanted):
            continue
        placed = place_box(report, path, where, (x, y, x + w, y + h), width, height,
                           tolerance=_ROUNDING)
        if placed is not None:
            boxes.append(placed)
            names.append(name)
    return make_record(image, width, height, boxes, names, path), seen
