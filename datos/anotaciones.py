"""Anotaciones Pascal-VOC (las de labelImg): lectura validada (y escritura, en
:mod:`datos.anotaciones_escritura`).

Formato (uno por imagen, ``annotations/<nombre>.xml``)::

    <annotation>
      <filename>foto_001.jpg</filename>
      <size><width>640</width><height>480</height><depth>3</depth></size>
      <object>
        <name>lego</name>
        <bndbox><xmin>10</xmin><ymin>20</ymin><xmax>110</xmax><ymax>220</ymax></bndbox>
      </object>
    </annotation>

Las coordenadas se leen tal cual, como píxeles continuos (``xmin = 0`` es el borde
izquierdo; ver :mod:`datos.cajas`): es lo que hacían el artículo y keras-yolo2, y
:func:`write_voc` escribe lo mismo que :func:`read_voc` lee. El XML se analiza con
``defusedxml`` y se rechazan las entidades y los DTD.

Orientación: las cajas y ``<size>`` están en el marco de la imagen **tal como se ve**, con
la etiqueta EXIF de orientación aplicada (una foto de móvil guardada 96×64 con
orientación 6 se ve y se anota 64×96). Es lo que escriben labelImg (desde su PR #650,
de 2020, lee con ``QImageReader.setAutoTransform``) y labelme, y el marco en que
:func:`datos.imagenes.read_rgb` decodifica para entrenar, evaluar y detectar. Una
anotación hecha sin aplicar el EXIF (labelImg anterior) declara el ``<size>`` girado y
se omite con ese motivo.

Nada de lo que traiga una carpeta detiene la lectura: cada anotación inválida se
omite con su motivo, cada objeto inválido se descarta con el suyo y las cajas que se
salen de la imagen se recortan; todo queda en el informe ``images.report``
(:class:`VocReport`) y se resume en un único aviso del registro ``redes``.

Referencia:
    «Detección de objetos con Python y YOLO», Aprende Machine Learning
    (``leer_annotations``); experiencor/keras-yolo2, ``preprocessing.parse_annotation``.
"""

from __future__ import annotations

import logging
import math
import struct
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from pathlib import PurePosixPath
from typing import NoReturn

import numpy as np

from datos.anotaciones_escritura import COORDINATES
from datos.anotaciones_escritura import format_number
from datos.anotaciones_escritura import relative_image_path
from datos.anotaciones_escritura import write_voc
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.errores import EmptyDataError
from datos.imagenes import IMAGE_EXTENSIONS

__all__ = ["VocImage", "VocImages", "VocReport", "read_voc", "write_voc"]

logger = logging.getLogger("redes")

# Cuántos motivos se listan en el aviso (todos quedan en el informe).
_MAX_LISTED = 20
# Etiqueta EXIF de orientación y sus valores que giran 90° o trasponen (cambian ancho por
# alto), los mismos que aplica ``ImageOps.exif_transpose`` en ``datos.imagenes.read_rgb``.
_ORIENTATION = 0x0112
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})


@dataclass
class VocImage:
    """Una imagen anotada.

    Attributes:
        path: ruta de la imagen.
        width: ancho real de la imagen en píxeles, con la orientación EXIF aplicada.
        height: alto real en píxeles, con la orientación EXIF aplicada.
        boxes: ``float32`` (N, 4) ``xmin, ymin, xmax, ymax`` en píxeles, dentro de
            la imagen y con área positiva.
        labels: los N nombres de clase, en el orden de ``boxes``.
        annotation: ruta del XML del que sale.
    """

    path: Path
    width: int
    height: int
    boxes: np.ndarray
    labels: list[str]
    annotation: Path | None = None


@dataclass
class VocReport:
    """Lo que :func:`read_voc` omitió, descartó o corrigió, con el motivo de cada cosa.

    Attributes:
        skipped: ``(xml, motivo)`` de cada anotación omitida entera (XML mal formado
            o con entidades/DTD, imagen ausente, dañada, fuera de la carpeta o de
            tamaño distinto al anotado...).
        dropped_objects: ``(xml, motivo)`` de cada objeto descartado (etiqueta no
            pedida, caja vacía o invertida, coordenada que no es un número...).
        clipped: ``(xml, motivo)`` de cada caja recortada a los bordes de la imagen.
        empty: anotaciones que se quedaron sin ningún objeto (la imagen no se usa).
    """

    skipped: list[tuple[Path, str]] = field(default_factory=list)
    dropped_objects: list[tuple[Path, str]] = field(default_factory=list)
    clipped: list[tuple[Path, str]] = field(default_factory=list)
    empty: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        """Una línea con los totales, en castellano."""
        return (f"{len(self.skipped)} anotaciones omitidas, {len(self.empty)} sin objetos, "
                f"{len(self.dropped_objects)} objetos descartados, "
                f"{len(self.clipped)} cajas recortadas")

    def __bool__(self) -> bool:
        return bool(self.skipped or self.dropped_objects or self.clipped or self.empty)


class VocImages(list):
    """Lista de :class:`VocImage` con el informe de la lectura en ``.report``.

    Se comporta como una lista normal (``len``, índices, iteración); un corte
    (``images[:10]``) da una ``list`` sin informe.
    """

    def __init__(self, items=(), report: VocReport | None = None):
        super().__init__(items)
        self.report = report if report is not None else VocReport()


class _Skip(Exception):
    """La anotación entera se omite; el mensaje es el motivo en castellano."""


def read_voc(
    ann_dir: str | Path,
    img_dir: str | Path,
    labels: Sequence[str] | None = None,
    *,
    check_images: bool = True,
) -> tuple[VocImages, dict[str, int]]:
    """Lee una carpeta de anotaciones Pascal-VOC y comprueba sus imágenes.

    Equivale a ``leer_annotations(ann_dir, img_dir, labels)`` del artículo. Se leen
    los ``*.xml`` de ``ann_dir`` (sin subcarpetas, en orden alfabético); cada
    ``<filename>`` se busca dentro de ``img_dir``, sin salir de ella (si falta, o no
    existe y no tiene extensión, se busca ``<nombre>`` con cualquier extensión de imagen,
    sin distinguir mayúsculas: ``foto.JPG`` vale).

    El tamaño de cada imagen se toma de su cabecera (sin decodificarla entera) y
    debe coincidir con ``<size>`` si la anotación lo trae. Con ``check_images`` se
    decodifica además cada imagen (los JPEG a 1/8 de resolución, que recorre todo
    el archivo pero cuesta poco) para detectar archivos truncados o dañados antes
    de entrenar, nunca a mitad de una época. El tamaño es el de la imagen con la
    orientación EXIF aplicada, el marco de las anotaciones (ver la docstring del módulo).

    Args:
        ann_dir: carpeta de los XML.
        img_dir: carpeta de las imágenes.
        labels: si se da, solo se conservan los objetos de estas clases; las
            imágenes que se quedan sin objetos se descartan (van a
            ``images.report.empty``).
        check_images: decodificar cada imagen para detectar las dañadas.

    Returns:
        ``(images, label_counts)``: ``images`` es una :class:`VocImages` (una lista
        de :class:`VocImage` con el informe de lo omitido en ``images.report``) y
        ``label_counts`` cuenta cada etiqueta vista en las anotaciones válidas,
        también las que ``labels`` descarta (como en el artículo), ordenadas por
        nombre.

    Raises:
        ArgumentError: si ``labels`` no es una lista de nombres distintos.
        DataError: si alguna de las carpetas no existe.
        EmptyDataError: si no hay ningún XML o ninguna anotación utilizable (el
            mensaje da los primeros motivos).

    Example:
        >>> images, counts = read_voc("lego/annotations", "lego/images", ["lego"])
        >>> images[0].boxes.shape, images[0].labels     # (N, 4) y N nombres
        >>> images.report.summary()   # lo omitido, descartado o recortado, con motivos
    """
    wanted = _check_labels(labels)
    ann_root = _existing_dir(ann_dir, "anotaciones")
    img_root = _existing_dir(img_dir, "imágenes")
    files = _annotation_files(ann_root)
    images, counts = _read_all(files, img_root, wanted, check_images)
    report = images.report
    _log_report(report, ann_root)
    if not images:
        _raise_unusable(report, files, ann_root, wanted)
    if wanted:
        missing = [name for name in wanted if counts[name] == 0]
        if missing:
            logger.warning("Las clases %s no aparecen en ninguna anotación de %s",
                           missing, ann_root)
    logger.info("Leídas %d imágenes anotadas de %s (%s)", len(images), ann_root,
                report.summary())
    return images, dict(sorted(counts.items()))


def _annotation_files(ann_root: Path) -> list[Path]:
    """Los ``*.xml`` de la carpeta (sin ocultos ni subcarpetas), en orden alfabético.

    Raises:
        EmptyDataError: si no hay ninguno.
    """
    files = sorted(p for p in ann_root.iterdir()
                   if p.suffix.lower() == ".xml" and p.is_file() and not p.name.startswith("."))
    if not files:
        raise EmptyDataError(
            f"La carpeta de anotaciones {ann_root} no contiene ningún archivo .xml "
            "(Pascal-VOC, como los que escribe labelImg)"
        )
    return files


def _read_all(files: list[Path], img_root: Path, wanted, check_images: bool
              ) -> tuple[VocImages, Counter[str]]:
    """Lee cada anotación; las omitidas y las vacías van al informe de ``images.report``.

    Returns:
        ``(images, counts)``: las imágenes con algún objeto y la cuenta de etiquetas vistas.
    """
    report = VocReport()
    counts: Counter[str] = Counter()
    images = VocImages(report=report)
    folders: dict[Path, dict[str, Path]] = {}  # imágenes por nombre sin extensión
    for xml_path in files:
        try:
            record, names = _read_one(xml_path, img_root, wanted, report, check_images,
                                      folders)
        except _Skip as exc:
            report.skipped.append((xml_path, str(exc)))
            continue
        counts.update(names)
        if len(record.labels) == 0:
            report.empty.append(xml_path)
        else:
            images.append(record)
    return images, counts


def _raise_unusable(report: VocReport, files: list[Path], ann_root: Path,
                    wanted) -> NoReturn:
    """Error cuando ninguna anotación sirve, con los primeros motivos.

    Raises:
        EmptyDataError: siempre.
    """
    reasons = [f"{p.name}: {r}" for p, r in report.skipped[:3]]
    if report.empty:
        which = f" de las clases {list(wanted)}" if wanted else ""
        reasons.append(f"{len(report.empty)} anotaciones sin ningún objeto{which}")
    raise EmptyDataError(
        f"Ninguna de las {len(files)} anotaciones de {ann_root} es utilizable: "
        + "; ".join(reasons)
    )


# === Lectura de una anotación ===

def _read_one(xml_path: Path, img_root: Path, wanted, report: VocReport,
              check_images: bool, folders: dict) -> tuple[VocImage, list[str]]:
    """Lee un XML; devuelve el registro (quizá sin objetos) y las etiquetas vistas."""
    root = _parse_xml(xml_path)
    image_path = _find_image(xml_path, root, img_root, folders)
    width, height = _image_size(image_path, check_images)
    _check_declared_size(root, width, height, image_path)

    boxes, names, seen = [], [], []
    for number, obj in enumerate(root.iter("object"), start=1):
        where = f"objeto {number}"
        name = (obj.findtext("name") or "").strip()
        if not name:
            report.dropped_objects.append((xml_path, f"{where}: sin <name>"))
            continue
        seen.append(name)
        where = f"objeto {number} ({name!r})"
        if wanted is not None and name not in wanted:
            report.dropped_objects.append(
                (xml_path, f"{where}: etiqueta desconocida (se pidieron {list(wanted)})"))
            continue
        try:
            box = _read_box(obj)
        except _Skip as exc:
            report.dropped_objects.append((xml_path, f"{where}: {exc}"))
            continue
        xmin, ymin, xmax, ymax = box
        if xmin >= xmax or ymin >= ymax:
            report.dropped_objects.append(
                (xml_path, f"{where}: caja vacía o invertida (xmin={xmin:g}, "
                           f"xmax={xmax:g}, ymin={ymin:g}, ymax={ymax:g})"))
            continue
        clipped = (max(xmin, 0.0), max(ymin, 0.0), min(xmax, float(width)),
                   min(ymax, float(height)))
        if clipped != box:
            if clipped[0] >= clipped[2] or clipped[1] >= clipped[3]:
                report.dropped_objects.append(
                    (xml_path, f"{where}: caja {_format_box(box)} fuera de la imagen "
                               f"de {width}×{height}"))
                continue
            report.clipped.append(
                (xml_path, f"{where}: caja {_format_box(box)} recortada a "
                           f"{_format_box(clipped)} (imagen de {width}×{height})"))
        boxes.append(clipped)
        names.append(name)
    record = VocImage(
        path=image_path, width=width, height=height,
        boxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
        labels=names, annotation=xml_path,
    )
    return record, seen


def _parse_xml(xml_path: Path) -> ET.Element:
    import defusedxml
    import defusedxml.ElementTree as SafeET

    try:
        root = SafeET.parse(xml_path, forbid_dtd=True).getroot()
    except defusedxml.DefusedXmlException as exc:
        raise _Skip(f"el XML declara un DTD o entidades, que no se admiten por "
                    f"seguridad ({type(exc).__name__})") from None
    except ET.ParseError as exc:
        raise _Skip(f"XML mal formado ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _Skip(f"no se puede leer el archivo ({exc})") from None
    if root.tag != "annotation":
        raise _Skip(f"la raíz del XML es <{root.tag}>, se esperaba <annotation> "
                    "(Pascal-VOC)")
    return root


def _safe_relative(filename: str) -> PurePosixPath:
    try:
        return relative_image_path(filename)
    except ArgumentError as exc:
        raise _Skip(str(exc)) from None


def _find_image(xml_path: Path, root: ET.Element, img_root: Path, folders: dict) -> Path:
    filename = (root.findtext("filename") or "").strip()
    folder, stem = img_root, xml_path.stem
    if filename:
        relative = _safe_relative(filename)
        if (img_root / relative).is_file():
            return img_root / relative
        if relative.suffix:
            # La extensión con otras mayúsculas (labelImg escribe «00000.jpg» de «00000.JPG»
            # en sistemas que no distinguen): se acepta; otra extensión se nombra.
            near = _images_by_stem(img_root.joinpath(*relative.parent.parts),
                                   folders).get(relative.stem)
            if near is not None and near.name.lower() == relative.name.lower():
                return near
            there = f"; hay «{near.name}»" if near is not None else ""
            raise _Skip(f"la imagen {filename} no existe en {img_root}{there}")
        folder, stem = img_root.joinpath(*relative.parent.parts), relative.name
    found = _images_by_stem(folder, folders).get(stem)
    if found is not None:
        return found
    shown = filename or f"(sin <filename>; se buscó {xml_path.stem}.jpg, .png...)"
    raise _Skip(f"la imagen {shown} no existe en {img_root}")


def _images_by_stem(folder: Path, folders: dict) -> dict[str, Path]:
    """Imágenes de ``folder`` por nombre sin extensión (``.JPG`` = ``.jpg``), una vez."""
    if folder not in folders:
        order = sorted(IMAGE_EXTENSIONS)
        found = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS
                        and p.is_file()) if folder.is_dir() else (),
                       key=lambda p: (order.index(p.suffix.lower()), p.name))
        folders[folder] = {}
        for path in found:
            folders[folder].setdefault(path.stem, path)
    return folders[folder]


def _image_size(path: Path, check: bool) -> tuple[int, int]:
    """Ancho y alto de la cabecera con la orientación EXIF aplicada (como la decodifica
    ``read_rgb``); con ``check``, decodifica para detectar daños."""
    from PIL import Image
    from PIL import UnidentifiedImageError

    try:
        with Image.open(path) as img:
            width, height = img.size
            if check:
                if img.format == "JPEG":
                    # Decodificar a 1/8 recorre todo el flujo (detecta el truncado)
                    # con una fracción del coste.
                    img.draft(img.mode, (max(1, width // 8), max(1, height // 8)))
                img.load()
            if img.getexif().get(_ORIENTATION, 1) in _SWAPPING_ORIENTATIONS:
                width, height = height, width
    except UnidentifiedImageError:
        raise _Skip(f"{path.name} no es una imagen reconocible") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error,
            Image.DecompressionBombError) as exc:
        raise _Skip(f"imagen {path.name} dañada o truncada ({exc})") from None
    return int(width), int(height)


def _check_declared_size(root: ET.Element, width: int, height: int, path: Path) -> None:
    size = root.find("size")
    if size is None:
        return
    declared = []
    for name in ("width", "height"):
        text = (size.findtext(name) or "").strip()
        try:
            declared.append(int(float(text)) if text else 0)
        except ValueError:
            raise _Skip(f"<size>/<{name}> = {text!r} no es un número") from None
    if 0 in declared:  # algunas herramientas escriben 0 o nada: vale el tamaño real
        return
    if tuple(declared) != (width, height):
        hint = (" con la orientación EXIF aplicada (¿anotada sin girarla, p. ej. con un "
                "labelImg anterior a 2020?)" if tuple(declared) == (height, width) else "")
        raise _Skip(f"la anotación dice {declared[0]}×{declared[1]} pero la imagen "
                    f"{path.name} mide {width}×{height}{hint}")


def _read_box(obj: ET.Element) -> tuple[float, float, float, float]:
    bndbox = obj.find("bndbox")
    if bndbox is None:
        raise _Skip("sin <bndbox>")
    values = []
    for name in COORDINATES:
        text = (bndbox.findtext(name) or "").strip()
        try:
            value = float(text)
        except ValueError:
            raise _Skip(f"<{name}> = {text!r} no es un número") from None
        if not math.isfinite(value):
            raise _Skip(f"<{name}> = {text!r} no es un número finito")
        values.append(value)
    return tuple(values)


# === Ayudas ===

def _check_labels(labels) -> tuple[str, ...] | None:
    if labels is None:
        return None
    if not isinstance(labels, str):
        labels = list(labels)
    if isinstance(labels, str) or not all(isinstance(n, str) and n for n in labels) \
            or not labels or len(set(labels)) != len(labels):
        raise ArgumentError(
            f"«labels» debe ser una lista de nombres de clase distintos, p. ej. "
            f"['lego']; recibido {labels!r}."
        )
    return tuple(labels)


def _existing_dir(path, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"La carpeta de {what} {path} no existe o no es una carpeta")
    return path


def _format_box(box) -> str:
    return "(" + ", ".join(format_number(v) for v in box) + ")"


def _log_report(report: VocReport, root: Path) -> None:
    if not report:
        return
    lines = [f"  {p.name}: {r}" for p, r in
             (report.skipped + report.dropped_objects + report.clipped)[:_MAX_LISTED]]
    total = len(report.skipped) + len(report.dropped_objects) + len(report.clipped)
    more = f"\n  ... y {total - _MAX_LISTED} más (ver images.report)" \
        if total > _MAX_LISTED else ""
    logger.warning("Anotaciones de %s: %s\n%s%s", root, report.summary(),
                   "\n".join(lines), more)
