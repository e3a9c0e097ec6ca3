"""Anotaciones YOLO-txt de Ultralytics: lectura validada, con los mismos registros e
informe que Pascal-VOC (:mod:`datos.anotaciones`).

Formato (la carpeta ``RAIZ`` del conjunto)::

    RAIZ/data.yaml          names: [gato, perro]   (o {0: gato, 1: perro})
                            train: images/train    (opcionales: path, train, val, test)
                            val: images/val
    RAIZ/images/train/a.jpg
    RAIZ/labels/train/a.txt una línea por objeto: «clase cx cy ancho alto», en [0, 1]

Sin particiones, las imágenes van en ``images/`` y las etiquetas en ``labels/``. La
etiqueta de cada imagen es la de Ultralytics: la misma ruta con el último ``images/``
cambiado por ``labels/`` y la extensión por ``.txt``; una imagen sin ``.txt`` no tiene
anotación (va a ``report.unannotated``) y un ``.txt`` vacío es una imagen sin objetos.

Cada partición de ``data.yaml`` es una carpeta de imágenes, un ``.txt`` con una imagen
por línea o una lista de ellas, relativa a ``path`` (si está dentro de ``RAIZ``; si no,
se avisa y se usa ``RAIZ``) o a ``RAIZ``; como en Ultralytics, ``../train/images`` que
no existe se busca como ``train/images`` (las exportaciones de Roboflow). Ninguna puede
salir de ``RAIZ``. ``data.yaml`` se lee con ``yaml.safe_load`` (nada se ejecuta) y con
un tamaño máximo (:data:`nucleo.vocabulario.MAX_DATA_YAML_BYTES`).

Cada línea mal formada se descarta con su archivo y su número de línea en el informe:
columnas de más o de menos, algo que no es un número, una clase fuera de ``names`` o una
caja de tamaño cero; una caja que se sale de la imagen se recorta, como en VOC.

Referencia:
    Ultralytics, «Object Detection Datasets Overview» (formato YOLO) y
    ``ultralytics/data/utils.py`` (``img2label_paths``, ``check_det_dataset``).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from datos.anotaciones_comun import AnnotationSkipped
from datos.anotaciones_comun import VocImage
from datos.anotaciones_comun import VocImages
from datos.anotaciones_comun import VocReport
from datos.anotaciones_comun import check_labels
from datos.anotaciones_comun import finish_reading
from datos.anotaciones_comun import image_files
from datos.anotaciones_comun import image_size
from datos.anotaciones_comun import make_record
from datos.anotaciones_comun import place_box
from datos.anotaciones_comun import wanted_label
from datos.anotaciones_comun import finite_number
from datos.imagenes import IMAGE_EXTENSIONS
from nucleo.errores import DataError
from nucleo.errores import EmptyDataError
from nucleo.vocabulario import DATASET_SPLITS
from nucleo.vocabulario import MAX_DATA_YAML_BYTES
from nucleo.vocabulario import MAX_YOLO_LABEL_BYTES

__all__ = ["YoloLayout", "label_path", "load_layout", "read_yolo", "yolo_images",
           "yolo_splits"]

logger = logging.getLogger("redes")

#: Los nombres de ``data.yaml`` que se buscan en la carpeta, en este orden.
YAML_NAMES = ("data.yaml", "data.yml")
#: Lo que las coordenadas normalizadas pueden salirse de [0, 1] por redondeo sin que se
#: cuente como caja recortada.
_ROUNDING = 1e-5
#: El archivo de clases que escribe labelImg en modo YOLO junto a las etiquetas.
_CLASSES_FILE = "classes.txt"


@dataclass
class YoloLayout:
    """Lo que dice ``data.yaml``, comprobado.

    Attributes:
        root: la carpeta del conjunto.
        yaml_path: su ``data.yaml``.
        names: ``{índice: clase}``.
        splits: ``{partición: [carpetas o .txt de imágenes]}``, dentro de ``root``.
    """

    root: Path
    yaml_path: Path
    names: dict[int, str]
    splits: dict[str, list[Path]] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        """Las clases en el orden de sus índices."""
        return [self.names[i] for i in sorted(self.names)]


# === data.yaml ===

def find_yaml(root: Path) -> Path | None:
    """``data.yaml`` (o ``data.yml``) de la carpeta, o ``None``."""
    return next((root / name for name in YAML_NAMES if (root / name).is_file()), None)


def load_layout(root) -> YoloLayout:
    """Lee y comprueba ``data.yaml`` de la carpeta ``root`` (o el propio ``.yaml``).

    Raises:
        DataError: si falta, ocupa demasiado, no es YAML, no trae ``names`` válidos o
            una partición sale de la carpeta o no existe (el mensaje nombra el archivo
            y la clave).
    """
    root = Path(root)
    if root.is_file() and root.suffix.lower() in (".yaml", ".yml"):
        yaml_path, root = root, root.parent
    else:
        if not root.is_dir():
            raise DataError(f"La carpeta del conjunto {root} no existe o no es una carpeta")
        yaml_path = find_yaml(root)
        if yaml_path is None:
            raise DataError(f"{root} no tiene data.yaml: un conjunto YOLO-txt lo necesita "
                            "para los nombres de las clases (names)")
    data = _parse_yaml(yaml_path)
    names = _names(data, yaml_path)
    base = _base(data.get("path"), root, yaml_path)
    splits = {}
    for split in DATASET_SPLITS:
        value = data.get(split)
        if value is None:
            continue
        entries = value if isinstance(value, list) else [value]
        if not entries or not all(isinstance(e, str) and e.strip() for e in entries):
            raise DataError(f"{yaml_path}: «{split}» debe ser una ruta o una lista de rutas; "
                            f"recibido {value!r}")
        splits[split] = [_inside(base, entry.strip(), root, f"{split}: {entry}", yaml_path)
                         for entry in entries]
    return YoloLayout(root, yaml_path, names, splits)


def _parse_yaml(path: Path) -> dict:
    import yaml

    try:
        size = path.stat().st_size
        if size > MAX_DATA_YAML_BYTES:
            raise DataError(f"{path} ocupa {size} bytes, más de los {MAX_DATA_YAML_BYTES} "
                            "que se admiten para un data.yaml")
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"No se puede leer {path} como texto UTF-8 ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", línea {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise DataError(f"{path}{where}: YAML mal formado ({problem})") from None
    except RecursionError:
        raise DataError(f"{path}: el YAML anida demasiados niveles") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: se esperaba un diccionario YAML (names, train, val...); "
                        f"recibido {type(data).__name__}")
    return data


def _names(data: dict, path: Path) -> dict[int, str]:
    names = data.get("names")
    if isinstance(names, list):
        names = dict(enumerate(names))
    elif isinstance(names, dict):  # {"0": gato} (claves entre comillas) vale como {0: gato}
        names = {int(k) if isinstance(k, str) and k.isdigit() else k: v
                 for k, v in names.items()}
    if not isinstance(names, dict) or not names or not all(
            isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in names):
        raise DataError(f"{path}: «names» debe ser una lista de clases o un diccionario "
                        "{índice: clase} con índices enteros ≥ 0")
    bad = [v for v in names.values() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise DataError(f"{path}: cada nombre de «names» debe ser un texto no vacío; "
                        f"recibido {bad[0]!r}")
    names = {k: v.strip() for k, v in names.items()}
    if len(set(names.values())) != len(names):
        repeated = sorted(n for n, c in Counter(names.values()).items() if c > 1)
        raise DataError(f"{path}: «names» repite las clases {repeated}")
    nc = data.get("nc")
    if nc is not None and nc != len(names):
        raise DataError(f"{path}: «nc» dice {nc!r} pero «names» tiene {len(names)} clases")
    return names


def _base(path_entry, root: Path, yaml_path: Path) -> Path:
    """La carpeta de ``path:`` si está dentro de ``root``; si no, ``root`` (con un aviso)."""
    if path_entry is None or path_entry == "":
        return root
    if isinstance(path_entry, str):
        candidate = Path(path_entry)
        candidate = (candidate if candidate.is_absolute() else root / candidate).resolve()
        if candidate.is_dir() and candidate.is_relative_to(root.resolve()):
            return candidate
    logger.warning("%s: «path: %s» no es una carpeta dentro de %s; las particiones se "
                   "buscan desde la carpeta de data.yaml", yaml_path, path_entry, root)
    return root


def _inside(base: Path, text: str, root: Path, key: str, source: Path) -> Path:
    """La ruta ``text`` (relativa a ``base``) resuelta, que no sale de ``root``.

    Raises:
        DataError: si sale de ``root`` o no existe (nombra ``source`` y ``key``).
    """
    given = Path(text)
    candidate = (given if given.is_absolute() else base / given).resolve()
    if not candidate.exists() and text.startswith("../"):
        # Ultralytics: «../train/images» que no existe se busca como «train/images».
        candidate = (base / text[3:]).resolve()
    if not candidate.is_relative_to(root.resolve()):
        raise DataError(f"{source}: «{key}» sale de la carpeta del conjunto {root}: las "
                        "rutas deben quedar dentro de ella")
    if not candidate.exists():
        raise DataError(f"{source}: «{key}» no existe ({candidate})")
    return candidate


# === Imágenes y etiquetas ===

def _sources(layout: YoloLayout, split: str | None) -> list[Path]:
    """Las carpetas o listas de imágenes de ``split`` (``None``: de todas).

    Raises:
        DataError: si la partición no está o no hay carpeta ``images/``.
    """
    if split is not None:
        if split in layout.splits:
            return layout.splits[split]
        folder = layout.root / "images" / split
        if folder.is_dir():
            return [folder.resolve()]
        declared = ", ".join(layout.splits) or "ninguna"
        raise DataError(f"{layout.yaml_path} no declara la partición «{split}» y no existe "
                        f"{folder} (particiones declaradas: {declared})")
    if layout.splits:
        return list(dict.fromkeys(p for paths in layout.splits.values() for p in paths))
    folder = layout.root / "images"
    if not folder.is_dir():
        raise DataError(f"{layout.root} no tiene carpeta images/ y {layout.yaml_path.name} no "
                        "declara particiones (train, val, test)")
    return [folder.resolve()]


def _listed(source: Path, root: Path, report: VocReport) -> list[Path]:
    """Las imágenes de una lista ``.txt`` de Ultralytics (una por línea; ``./x`` es
    relativa a la lista y el resto a ``root``); las que salen de ``root`` van al informe."""
    if source.stat().st_size > MAX_YOLO_LABEL_BYTES:
        raise DataError(f"{source} ocupa más de {MAX_YOLO_LABEL_BYTES} bytes")
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"No se puede leer {source} como texto UTF-8 ({exc})") from None
    images = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        base = source.parent if text.startswith("./") else root
        path = (base / text).resolve()
        if not path.is_relative_to(root.resolve()):
            report.skipped.append((source, f"línea {number}: {text!r} sale de la carpeta "
                                           f"del conjunto {root}"))
        elif path.suffix.lower() in IMAGE_EXTENSIONS:
            images.append(path)
    return images


def label_path(image: Path) -> Path:
    """La etiqueta de ``image`` según Ultralytics: el último ``images`` de la ruta pasa a
    ``labels`` y la extensión a ``.txt`` (sin ``images``, junto a la imagen)."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


def yolo_images(root, split: str | None = None,
                report: VocReport | None = None) -> list[Path]:
    """Las imágenes de la partición ``split`` (``None``: todas), sin repetir, ordenadas."""
    layout = root if isinstance(root, YoloLayout) else load_layout(root)
    report = VocReport() if report is None else report
    found: list[Path] = []
    for source in _sources(layout, split):
        found += (image_files(source, recursive=True) if source.is_dir()
                  else _listed(source, layout.root, report))
    return sorted(set(found))


def yolo_splits(root) -> list[str]:
    """Las particiones distintas que declara ``data.yaml`` (las que repiten las imágenes
    de otra no cuentan); ``[]`` si hay una sola o ninguna: el conjunto no está dividido."""
    layout = root if isinstance(root, YoloLayout) else load_layout(root)
    distinct: dict[tuple, str] = {}
    for split, paths in layout.splits.items():
        distinct.setdefault(tuple(sorted(paths)), split)
    return list(distinct.values()) if len(distinct) > 1 else []


def _orphans(layout: YoloLayout, sources: list[Path], expected: set[Path]) -> list[Path]:
    """Las etiquetas ``.txt`` de las carpetas de etiquetas sin imagen que les corresponda."""
    out = []
    for source in sources:
        folder = label_path(source / "x.jpg").parent if source.is_dir() else None
        if folder is None or folder == source or not folder.is_dir():
            continue
        out += [p for p in folder.rglob("*.txt") if p.resolve() not in expected
                and p.name != _CLASSES_FILE and not p.name.startswith(".")]
    return sorted(set(out))


# === Lectura ===

def read_yolo(root, labels: Sequence[str] | None = None, *, split: str | None = None,
              check_images: bool = True) -> tuple[VocImages, dict[str, int]]:
    """Lee un conjunto YOLO-txt de Ultralytics y comprueba sus imágenes.

    Da lo mismo que :func:`datos.anotaciones.read_voc`: las cajas en píxeles
    ``xmin, ymin, xmax, ymax`` (de ``cx cy ancho alto`` normalizados, con el tamaño real
    de la imagen con la orientación EXIF aplicada), el mismo informe y los mismos
    errores. ``images.classes`` son los ``names`` de ``data.yaml`` en su orden.

    Args:
        root: la carpeta del conjunto (con ``data.yaml``) o el propio ``data.yaml``.
        labels: si se da, solo se conservan los objetos de estas clases (las imágenes que
            se quedan sin objetos van a ``images.report.empty``).
        split: ``"train"``, ``"val"`` o ``"test"`` (``None``: todas las particiones, sin
            repetir imágenes).
        check_images: decodificar cada imagen para detectar las dañadas.

    Returns:
        ``(images, label_counts)`` como :func:`datos.anotaciones.read_voc`.

    Raises:
        ArgumentError: si ``labels`` no es una lista de nombres distintos.
        DataError: ``data.yaml`` que falta o no vale, o una partición que no está.
        EmptyDataError: si no hay imágenes o ninguna etiqueta utilizable.

    Example:
        >>> images, counts = read_yolo("figuras_yolo", split="val")
        >>> images.report.dropped_objects    # [(labels/val/a.txt, "línea 3: ..."), ...]
    """
    wanted = check_labels(labels)
    layout = load_layout(root)
    report = VocReport()
    sources = _sources(layout, split)
    found = yolo_images(layout, split, report)
    if not found:
        raise EmptyDataError(f"No hay ninguna imagen en {', '.join(map(str, sources))}")
    images = VocImages(report=report, classes=layout.classes)
    counts: Counter[str] = Counter()
    expected: set[Path] = set()
    for image in found:
        label = label_path(image)
        expected.add(label.resolve())
        if not label.is_file():
            report.unannotated.append(image)
            continue
        try:
            record, seen = _read_one(image, label, layout, wanted, report, check_images)
        except AnnotationSkipped as exc:
            report.skipped.append((label, str(exc)))
            continue
        counts.update(seen)
        if record.labels:
            images.append(record)
        else:
            report.empty.append(label)
    for orphan in _orphans(layout, sources, expected):
        report.skipped.append((orphan, "no hay ninguna imagen para esta etiqueta"))
    total = len(found) - len(report.unannotated)
    if total == 0:
        raise EmptyDataError(
            f"Ninguna de las {len(found)} imágenes de {layout.root} tiene etiqueta: para "
            f"{found[0]} se buscó {label_path(found[0])}")
    return finish_reading(images, counts, layout.root, wanted, total)


def _read_one(image: Path, label: Path, layout: YoloLayout, wanted, report: VocReport,
              check_images: bool) -> tuple[VocImage, list[str]]:
    """Lee una etiqueta; devuelve el registro (quizá sin objetos) y las clases vistas."""
    width, height = image_size(image, check_images)
    lines = _label_lines(label)
    boxes, names, seen = [], [], []
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            name, values = _parse_line(parts, layout)
        except AnnotationSkipped as exc:
            report.dropped_objects.append((label, f"línea {number}: {exc}"))
            continue
        seen.append(name)
        where = f"línea {number} ({name!r})"
        if not wanted_label(report, label, where, name, wanted):
            continue
        cx, cy, w, h = values
        if w <= 0 or h <= 0:
            report.dropped_objects.append(
                (label, f"{where}: caja de tamaño cero o negativo (ancho={w:g}, "
                        f"alto={h:g})"))
            continue
        box = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width,
               (cy + h / 2) * height)
        # Los 6 decimales de una etiqueta pueden salirse del borde en 1e-6: no es recorte.
        placed = place_box(report, label, where, box, width, height,
                           tolerance=_ROUNDING * max(width, height))
        if placed is not None:
            boxes.append(placed)
            names.append(name)
    return make_record(image, width, height, boxes, names, label), seen


def _label_lines(label: Path) -> list[str]:
    try:
        size = label.stat().st_size
        if size > MAX_YOLO_LABEL_BYTES:
            raise AnnotationSkipped(f"ocupa {size} bytes, más de los {MAX_YOLO_LABEL_BYTES} "
                                    "que se admiten para una etiqueta")
        return label.read_bytes().decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationSkipped(f"no se puede leer como texto UTF-8 ({exc})") from None


def _parse_line(parts: list[str], layout: YoloLayout) -> tuple[str, tuple[float, ...]]:
    """``(clase, (cx, cy, ancho, alto))`` de una línea ya partida.

    Raises:
        AnnotationSkipped: con lo que está mal de la línea.
    """
    if len(parts) != 5:
        raise AnnotationSkipped(f"se esperaban 5 columnas (clase cx cy ancho alto); hay "
                                f"{len(parts)}")
    try:
        number = float(parts[0])
    except ValueError:
        number = math.nan
    if not number.is_integer():
        raise AnnotationSkipped(f"la clase {parts[0]!r} no es un entero")
    index = int(number)
    if index not in layout.names:
        known = sorted(layout.names)
        raise AnnotationSkipped(f"la clase {index} no está en «names» de "
                                f"{layout.yaml_path.name} ({len(known)} clases: "
                                f"{known[0]} a {known[-1]})")
    values = tuple(finite_number(text, name)
                   for name, text in zip(("cx", "cy", "ancho", "alto"), parts[1:], strict=True))
    return layout.names[index], values
