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

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Collection
from collections.abc import Sequence
from pathlib import Path
from pathlib import PurePosixPath

from datos.anotaciones_comun import AnnotationSkipped
from datos.anotaciones_comun import VocImage
from datos.anotaciones_comun import VocImages
from datos.anotaciones_comun import VocReport
from datos.anotaciones_comun import check_declared_size
from datos.anotaciones_comun import check_labels
from datos.anotaciones_comun import existing_dir
from datos.anotaciones_comun import finish_reading
from datos.anotaciones_comun import image_size
from datos.anotaciones_comun import images_by_stem
from datos.anotaciones_comun import make_record
from datos.anotaciones_comun import place_box
from datos.anotaciones_comun import unreferenced_images
from datos.anotaciones_comun import wanted_label
from datos.anotaciones_comun import finite_number
from datos.anotaciones_escritura import COORDINATES
from datos.anotaciones_escritura import relative_image_path
from datos.anotaciones_escritura import write_voc
from nucleo.errores import ArgumentError
from nucleo.errores import EmptyDataError

__all__ = ["VocImage", "VocImages", "VocReport", "read_voc", "write_voc"]


def read_voc(
    ann_dir: str | Path,
    img_dir: str | Path,
    labels: Sequence[str] | None = None,
    *,
    check_images: bool = True,
    only: Collection[str] | None = None,
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
        only: si se da, solo los XML con estos nombres sin extensión (los de una
            partición: ``ImageSets/Main/train.txt`` de Pascal-VOC).

    Las imágenes de ``img_dir`` (y de las carpetas de las imágenes nombradas) que ningún
    XML nombra van a ``images.report.unannotated``; con ``only``, solo las de esos
    nombres.

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
    wanted = check_labels(labels)
    ann_root = existing_dir(ann_dir, "anotaciones")
    img_root = existing_dir(img_dir, "imágenes")
    files = _annotation_files(ann_root, only)
    images, counts = _read_all(files, img_root, wanted, check_images)
    if only is not None:
        names = set(only)
        images.report.unannotated = [p for p in images.report.unannotated
                                     if p.stem in names]
    return finish_reading(images, counts, ann_root, wanted, len(files))


def _annotation_files(ann_root: Path, only: Collection[str] | None = None) -> list[Path]:
    """Los ``*.xml`` de la carpeta (sin ocultos ni subcarpetas), en orden alfabético; con
    ``only``, los de esos nombres sin extensión.

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
    if only is not None:
        names = set(only)
        files = [p for p in files if p.stem in names]
        if not files:
            raise EmptyDataError(f"Ninguno de los {len(names)} nombres de la partición tiene "
                                 f"su .xml en {ann_root}")
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
    used: set[Path] = set()  # imágenes que nombra algún XML (para las no anotadas)
    for xml_path in files:
        try:
            record, names = _read_one(xml_path, img_root, wanted, report, check_images,
                                      folders, used)
        except AnnotationSkipped as exc:
            report.skipped.append((xml_path, str(exc)))
            continue
        counts.update(names)
        if len(record.labels) == 0:
            report.empty.append(xml_path)
        else:
            images.append(record)
    report.unannotated = unreferenced_images([img_root, *{p.parent for p in used}], used)
    return images, counts


# === Lectura de una anotación ===

def _read_one(xml_path: Path, img_root: Path, wanted, report: VocReport,
              check_images: bool, folders: dict, used: set) -> tuple[VocImage, list[str]]:
    """Lee un XML; devuelve el registro (quizá sin objetos) y las etiquetas vistas."""
    root = _parse_xml(xml_path)
    image_path = _find_image(xml_path, root, img_root, folders)
    used.add(image_path)
    width, height = image_size(image_path, check_images)
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
        if not wanted_label(report, xml_path, where, name, wanted):
            continue
        try:
            box = _read_box(obj)
        except AnnotationSkipped as exc:
            report.dropped_objects.append((xml_path, f"{where}: {exc}"))
            continue
        placed = place_box(report, xml_path, where, box, width, height)
        if placed is not None:
            boxes.append(placed)
            names.append(name)
    return make_record(image_path, width, height, boxes, names, xml_path), seen


def _parse_xml(xml_path: Path) -> ET.Element:
    import defusedxml
    import defusedxml.ElementTree as SafeET

    try:
        root = SafeET.parse(xml_path, forbid_dtd=True).getroot()
    except defusedxml.DefusedXmlException as exc:
        raise AnnotationSkipped(f"el XML declara un DTD o entidades, que no se admiten "
                                f"por seguridad ({type(exc).__name__})") from None
    except ET.ParseError as exc:
        raise AnnotationSkipped(f"XML mal formado ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationSkipped(f"no se puede leer el archivo ({exc})") from None
    if root.tag != "annotation":
        raise AnnotationSkipped(f"la raíz del XML es <{root.tag}>, se esperaba "
                                "<annotation> (Pascal-VOC)")
    return root


def _safe_relative(filename: str) -> PurePosixPath:
    try:
        return relative_image_path(filename)
    except ArgumentError as exc:
        raise AnnotationSkipped(str(exc)) from None


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
            near = images_by_stem(img_root.joinpath(*relative.parent.parts),
                                  folders).get(relative.stem)
            if near is not None and near.name.lower() == relative.name.lower():
                return near
            there = f"; hay «{near.name}»" if near is not None else ""
            raise AnnotationSkipped(f"la imagen {filename} no existe en {img_root}{there}")
        folder, stem = img_root.joinpath(*relative.parent.parts), relative.name
    found = images_by_stem(folder, folders).get(stem)
    if found is not None:
        return found
    shown = filename or f"(sin <filename>; se buscó {xml_path.stem}.jpg, .png...)"
    raise AnnotationSkipped(f"la imagen {shown} no existe en {img_root}")


def _check_declared_size(root: ET.Element, width: int, height: int, path: Path) -> None:
    size = root.find("size")
    if size is None:
        return
    declared = []
    for name in ("width", "height"):
        text = (size.findtext(name) or "").strip()
        try:
            declared.append(int(float(text)) if text else 0)
        except (ValueError, OverflowError):
            raise AnnotationSkipped(f"<size>/<{name}> = {text!r} no es un número") from None
    # Algunas herramientas escriben 0 o nada: vale el tamaño real.
    check_declared_size(tuple(declared), width, height, path)


def _read_box(obj: ET.Element) -> tuple[float, float, float, float]:
    bndbox = obj.find("bndbox")
    if bndbox is None:
        raise AnnotationSkipped("sin <bndbox>")
    return tuple(finite_number((bndbox.findtext(name) or "").strip(), f"<{name}>")
                 for name in COORDINATES)

