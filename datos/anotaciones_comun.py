"""Lo que comparten los lectores de anotaciones Pascal-VOC, YOLO-txt y COCO.

Los tres dan los mismos registros (:class:`VocImage`) en una :class:`VocImages` con el
mismo informe (:class:`VocReport`), y aplican las mismas protecciones con las mismas
funciones:

- el tamaño de cada imagen sale de su cabecera, con la orientación EXIF aplicada, y con
  ``check_images`` se decodifica para detectar las dañadas (:func:`image_size`);
- cada caja inválida se descarta y cada caja que se sale de la imagen se recorta, con su
  motivo en el informe (:func:`place_box`);
- las imágenes de la carpeta que ninguna anotación nombra se listan en
  ``report.unannotated`` (:func:`unreferenced_images`);
- el informe se resume en un único aviso del registro ``redes`` y, si ninguna anotación
  sirve, el error lo dice con los primeros motivos (:func:`finish_reading`).
"""

from __future__ import annotations

import logging
import math
import struct
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import NoReturn

import numpy as np

from datos.anotaciones_escritura import format_number
from datos.imagenes import IMAGE_EXTENSIONS
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.errores import EmptyDataError

logger = logging.getLogger("redes")

# Cuántos motivos se listan en el aviso (todos quedan en el informe).
_MAX_LISTED = 20
# Etiqueta EXIF de orientación y sus valores que giran 90° o trasponen (cambian ancho por
# alto), los mismos que aplica ``ImageOps.exif_transpose`` en ``datos.imagenes.read_rgb``.
_ORIENTATION = 0x0112
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})


@dataclass
class VocImage:
    """Una imagen anotada (la dan los tres lectores: VOC, YOLO-txt y COCO).

    Attributes:
        path: ruta de la imagen.
        width: ancho real de la imagen en píxeles, con la orientación EXIF aplicada.
        height: alto real en píxeles, con la orientación EXIF aplicada.
        boxes: ``float32`` (N, 4) ``xmin, ymin, xmax, ymax`` en píxeles, dentro de
            la imagen y con área positiva.
        labels: los N nombres de clase, en el orden de ``boxes``.
        annotation: el archivo del que sale (el XML, el ``.txt`` de YOLO o el JSON de COCO).
    """

    path: Path
    width: int
    height: int
    boxes: np.ndarray
    labels: list[str]
    annotation: Path | None = None


@dataclass
class VocReport:
    """Lo que un lector omitió, descartó o corrigió, con el motivo de cada cosa.

    Cada motivo va con el archivo de anotaciones en que está (el XML, el ``.txt`` de YOLO
    con su número de línea en el motivo, o el JSON de COCO con el índice y el id de la
    anotación).

    Attributes:
        skipped: ``(archivo, motivo)`` de cada anotación de imagen omitida entera (XML
            mal formado o con entidades/DTD, imagen ausente, dañada, fuera de la carpeta
            o de tamaño distinto al anotado...).
        dropped_objects: ``(archivo, motivo)`` de cada objeto descartado (etiqueta no
            pedida, caja vacía o invertida, coordenada que no es un número, línea mal
            formada...).
        clipped: ``(archivo, motivo)`` de cada caja recortada a los bordes de la imagen.
        empty: anotaciones que se quedaron sin ningún objeto (la imagen no se usa); en
            COCO, que no tiene un archivo por imagen, las imágenes.
        unannotated: imágenes de la carpeta que ninguna anotación nombra (no se usan).
    """

    skipped: list[tuple[Path, str]] = field(default_factory=list)
    dropped_objects: list[tuple[Path, str]] = field(default_factory=list)
    clipped: list[tuple[Path, str]] = field(default_factory=list)
    empty: list[Path] = field(default_factory=list)
    unannotated: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        """Una línea con los totales, en castellano."""
        text = (f"{len(self.skipped)} anotaciones omitidas, {len(self.empty)} sin objetos, "
                f"{len(self.dropped_objects)} objetos descartados, "
                f"{len(self.clipped)} cajas recortadas")
        if self.unannotated:
            text += f", {len(self.unannotated)} imágenes sin anotación"
        return text

    def __bool__(self) -> bool:
        # Una imagen sin anotación no es un problema de las anotaciones: no cuenta aquí.
        return bool(self.skipped or self.dropped_objects or self.clipped or self.empty)


class VocImages(list):
    """Lista de :class:`VocImage` con el informe de la lectura en ``.report``.

    Se comporta como una lista normal (``len``, índices, iteración); un corte
    (``images[:10]``) da una ``list`` sin informe. ``classes`` son las clases que declara
    el conjunto, en su orden (``names`` de ``data.yaml``, ``categories`` de COCO), o
    ``None`` si el formato no las declara (Pascal-VOC).
    """

    def __init__(self, items=(), report: VocReport | None = None,
                 classes: list[str] | None = None):
        super().__init__(items)
        self.report = report if report is not None else VocReport()
        self.classes = classes


class AnnotationSkipped(Exception):
    """La anotación entera (o el objeto, según quién la lance) se omite; el mensaje es el
    motivo en castellano."""


# === Imágenes ===

def image_size(path: Path, check: bool) -> tuple[int, int]:
    """Ancho y alto de la cabecera con la orientación EXIF aplicada (como la decodifica
    ``read_rgb``); con ``check``, decodifica para detectar daños.

    Raises:
        AnnotationSkipped: si no es una imagen o está dañada (con el motivo).
    """
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
        raise AnnotationSkipped(f"{path.name} no es una imagen reconocible") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error,
            Image.DecompressionBombError) as exc:
        raise AnnotationSkipped(f"imagen {path.name} dañada o truncada ({exc})") from None
    return int(width), int(height)


def check_declared_size(declared: tuple[int, int], width: int, height: int,
                        path: Path) -> None:
    """El tamaño que dice la anotación frente al real (``0`` en alguno: no se comprueba).

    Raises:
        AnnotationSkipped: si no coinciden (con una pista si están girados por el EXIF).
    """
    if 0 in declared or tuple(declared) == (width, height):
        return
    hint = (" con la orientación EXIF aplicada (¿anotada sin girarla, p. ej. con un "
            "labelImg anterior a 2020?)" if tuple(declared) == (height, width) else "")
    raise AnnotationSkipped(f"la anotación dice {declared[0]}×{declared[1]} pero la imagen "
                            f"{path.name} mide {width}×{height}{hint}")


def image_files(folder: Path, *, recursive: bool = False) -> list[Path]:
    """Las imágenes de ``folder`` (sin ocultas), en orden alfabético; ``[]`` si no existe."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.suffix.lower() in IMAGE_EXTENSIONS
                  and not p.name.startswith(".") and p.is_file())


def images_by_stem(folder: Path, cache: dict) -> dict[str, Path]:
    """Imágenes de ``folder`` por nombre sin extensión (``.JPG`` = ``.jpg``), listadas una
    vez por ``cache``; con dos extensiones para el mismo nombre gana la primera de
    :data:`datos.imagenes.IMAGE_EXTENSIONS` en orden alfabético."""
    if folder not in cache:
        order = sorted(IMAGE_EXTENSIONS)
        found = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS
                        and p.is_file()) if folder.is_dir() else (),
                       key=lambda p: (order.index(p.suffix.lower()), p.name))
        cache[folder] = {}
        for path in found:
            cache[folder].setdefault(path.stem, path)
    return cache[folder]


def unreferenced_images(folders: Iterable[Path], used: set[Path], *,
                        keep=None) -> list[Path]:
    """Las imágenes de ``folders`` (sin subcarpetas) que no están en ``used``.

    Args:
        folders: carpetas a listar (la de imágenes y las de las imágenes nombradas).
        used: imágenes que nombra alguna anotación.
        keep: si se da, ``keep(ruta)`` decide cuáles cuentan (p. ej. las de una partición).
    """
    used = {path.resolve() for path in used}
    seen = set()
    out = []
    for folder in folders:
        key = Path(folder).resolve()
        if key in seen:
            continue
        seen.add(key)
        out += [p for p in image_files(folder) if p.resolve() not in used
                and (keep is None or keep(p))]
    return sorted(out)


# === Cajas ===

def format_box(box) -> str:
    """``(x1, y1, x2, y2)`` con los enteros sin decimales."""
    return "(" + ", ".join(format_number(v) for v in box) + ")"


def finite_number(text: str, name: str) -> float:
    """``text`` como número finito; si no lo es, :class:`AnnotationSkipped` con ``name`` (el
    campo tal como lo ve quien anotó: ``<xmin>``, ``cx``...) y el texto leído."""
    try:
        value = float(text)
    except ValueError:
        raise AnnotationSkipped(f"{name} = {text!r} no es un número") from None
    if not math.isfinite(value):
        raise AnnotationSkipped(f"{name} = {text!r} no es un número finito")
    return value


def wanted_label(report: VocReport, source: Path, where: str, name: str, wanted) -> bool:
    """Si el objeto ``name`` es de una clase pedida (``wanted``; ``None``: todas). Si no, lo
    anota en ``report.dropped_objects`` como «etiqueta desconocida» (el motivo que
    :mod:`tareas.deteccion.revisar` cuenta como objeto de otra clase)."""
    if wanted is None or name in wanted:
        return True
    report.dropped_objects.append(
        (source, f"{where}: etiqueta desconocida (se pidieron {list(wanted)})"))
    return False


def place_box(report: VocReport, source: Path, where: str, box, width: int,
              height: int, *, tolerance: float = 0.0
              ) -> tuple[float, float, float, float] | None:
    """La caja ``xmin, ymin, xmax, ymax`` recortada a la imagen, o ``None`` si se descarta.

    Una caja vacía o invertida, o que queda entera fuera de la imagen, va a
    ``report.dropped_objects``; una que se sale en parte se recorta y va a
    ``report.clipped``; ``where`` nombra el objeto en el motivo (``objeto 2 ('lego')``,
    ``línea 3``, ``anotación 7 (id 12)``). Lo que se sale como mucho ``tolerance``
    píxeles (el redondeo de un formato que guarda decimales) se ajusta al borde sin
    contarlo como recorte.
    """
    box = tuple(float(v) for v in box)
    if tolerance > 0:
        box = tuple(_snap(v, side, tolerance) for v, side in
                    zip(box, (width, height, width, height), strict=True))
    xmin, ymin, xmax, ymax = box
    if xmin >= xmax or ymin >= ymax:
        report.dropped_objects.append(
            (source, f"{where}: caja vacía o invertida (xmin={xmin:g}, "
                     f"xmax={xmax:g}, ymin={ymin:g}, ymax={ymax:g})"))
        return None
    clipped = (max(xmin, 0.0), max(ymin, 0.0), min(xmax, float(width)),
               min(ymax, float(height)))
    if clipped != box:
        if clipped[0] >= clipped[2] or clipped[1] >= clipped[3]:
            report.dropped_objects.append(
                (source, f"{where}: caja {format_box(box)} fuera de la imagen "
                         f"de {width}×{height}"))
            return None
        report.clipped.append(
            (source, f"{where}: caja {format_box(box)} recortada a "
                     f"{format_box(clipped)} (imagen de {width}×{height})"))
    return clipped


def _snap(value: float, side: int, tolerance: float) -> float:
    if -tolerance <= value < 0:
        return 0.0
    if side < value <= side + tolerance:
        return float(side)
    return value


def make_record(path: Path, width: int, height: int, boxes: list, labels: list[str],
                annotation: Path | None) -> VocImage:
    """Un :class:`VocImage` con las cajas como ``float32`` (N, 4)."""
    return VocImage(path=path, width=width, height=height,
                    boxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
                    labels=list(labels), annotation=annotation)


# === Argumentos y cierre ===

def check_labels(labels) -> tuple[str, ...] | None:
    """``labels`` como tupla de nombres distintos (o ``None``: todas las clases).

    Raises:
        ArgumentError: si no es una lista de nombres distintos y no vacíos.
    """
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


def existing_dir(path, what: str) -> Path:
    """``path`` si es una carpeta.

    Raises:
        DataError: si no existe o no es una carpeta (nombra ``what``).
    """
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"La carpeta de {what} {path} no existe o no es una carpeta")
    return path


def log_report(report: VocReport, root: Path) -> None:
    """Un único aviso con el resumen y los primeros motivos (todos en ``images.report``)."""
    if report.unannotated:
        logger.info("%d imágenes de %s no tienen anotación y no se usan (ver "
                    "images.report.unannotated)", len(report.unannotated), root)
    if not report:
        return
    lines = [f"  {p.name}: {r}" for p, r in
             (report.skipped + report.dropped_objects + report.clipped)[:_MAX_LISTED]]
    total = len(report.skipped) + len(report.dropped_objects) + len(report.clipped)
    more = f"\n  ... y {total - _MAX_LISTED} más (ver images.report)" \
        if total > _MAX_LISTED else ""
    logger.warning("Anotaciones de %s: %s\n%s%s", root, report.summary(),
                   "\n".join(lines), more)


def raise_unusable(report: VocReport, total: int, root: Path, wanted) -> NoReturn:
    """Error cuando ninguna de las ``total`` anotaciones sirve, con los primeros motivos.

    Raises:
        EmptyDataError: siempre.
    """
    reasons = [f"{p.name}: {r}" for p, r in report.skipped[:3]]
    if report.empty:
        which = f" de las clases {list(wanted)}" if wanted else ""
        reasons.append(f"{len(report.empty)} anotaciones sin ningún objeto{which}")
    raise EmptyDataError(
        f"Ninguna de las {total} anotaciones de {root} es utilizable: "
        + "; ".join(reasons)
    )


def finish_reading(images: VocImages, counts: Counter, root: Path, wanted,
                   total: int) -> tuple[VocImages, dict[str, int]]:
    """El final común de los lectores: el aviso, el error si nada sirve, las clases
    pedidas que no aparecen y la línea de resumen.

    Returns:
        ``(images, label_counts)`` con las cuentas ordenadas por nombre.

    Raises:
        EmptyDataError: si no queda ninguna imagen utilizable.
    """
    report = images.report
    log_report(report, root)
    if not images:
        raise_unusable(report, total, root, wanted)
    if wanted:
        missing = [name for name in wanted if counts[name] == 0]
        if missing:
            logger.warning("Las clases %s no aparecen en ninguna anotación de %s",
                           missing, root)
    logger.info("Leídas %d imágenes anotadas de %s (%s)", len(images), root,
                report.summary())
    return images, dict(sorted(counts.items()))
