"""Un conjunto de detección en cualquiera de los tres formatos: Pascal-VOC, YOLO-txt y COCO.

:func:`read_dataset` reconoce el formato por el contenido de la carpeta
(:func:`detect_format`) y llama al lector que toca; los tres dan los mismos registros
(:class:`~datos.anotaciones_comun.VocImage`) con el mismo informe
(:class:`~datos.anotaciones_comun.VocReport`), así que entrenar, evaluar y calcular
anclas no saben de formatos.

Dos formas de nombrar los datos:

- ``data``: la carpeta de un conjunto en cualquier formato (o un ``.json`` de COCO, o un
  ``data.yaml`` de YOLO);
- ``ann_dir`` + ``img_dir``: el par de hoy, la carpeta de los XML de Pascal-VOC y la de
  las imágenes (o, con ``fmt="coco"``, el JSON y la carpeta de sus imágenes).

Cómo se reconoce cada formato en una carpeta ``RAIZ``:

- **YOLO-txt**: ``RAIZ/data.yaml`` (ver :mod:`datos.anotaciones_yolo`);
- **COCO**: un ``.json`` que empieza con la clave ``"images"`` en ``RAIZ``,
  ``RAIZ/annotations/`` o ``RAIZ/<partición>/_annotations.coco.json`` (ver
  :mod:`datos.anotaciones_coco`);
- **Pascal-VOC**: ``*.xml`` en ``RAIZ/annotations/``, ``RAIZ/Annotations/`` o ``RAIZ``,
  con las imágenes en ``RAIZ/images/``, ``RAIZ/JPEGImages/`` o ``RAIZ``.

Particiones (``split``: ``train``, ``val`` o ``test``): en YOLO, las de ``data.yaml`` (o
``images/<partición>``); en COCO, un JSON por partición (``instances_val2017.json``,
``valid/_annotations.coco.json``); en VOC, ``RAIZ/ImageSets/Main/<partición>.txt`` con
un nombre por línea. Sin ``split`` se lee todo el conjunto.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from datos.anotaciones import read_voc
from datos.anotaciones_coco import coco_files
from datos.anotaciones_coco import coco_image_dir
from datos.anotaciones_coco import load_coco
from datos.anotaciones_coco import read_coco_files
from datos.anotaciones_coco import split_token
from datos.anotaciones_comun import VocImages
from datos.anotaciones_comun import image_files as folder_images
from datos.anotaciones_yolo import find_yaml
from datos.anotaciones_yolo import read_yolo
from datos.anotaciones_yolo import yolo_images
from datos.anotaciones_yolo import yolo_splits
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.vocabulario import DATASET_FORMATS
from nucleo.vocabulario import DATASET_SPLITS
from nucleo.vocabulario import MAX_YOLO_LABEL_BYTES
from nucleo.vocabulario import check_choice

__all__ = ["DATASET_FORMATS", "DatasetSource", "dataset_splits", "detect_format",
           "image_files", "read_dataset", "resolve_dataset"]

_VOC_ANNOTATIONS = ("annotations", "Annotations")
_VOC_IMAGES = ("images", "JPEGImages")
#: Dónde lista Pascal-VOC los nombres de cada partición.
VOC_SPLITS_DIR = Path("ImageSets") / "Main"
#: Cómo se nombran los datos en los mensajes: el argumento de Python y su opción.
_DATA = "«data» (--datos)"
_PAIR = "«ann_dir» e «img_dir» (--anotaciones y --imagenes)"


@dataclass
class DatasetSource:
    """Dónde está un conjunto, ya resuelto: lo que :func:`read_dataset` pasa al lector.

    Attributes:
        fmt: ``"voc"``, ``"yolo"`` o ``"coco"``.
        root: la carpeta del conjunto (YOLO), o ``None``.
        ann_dir: la carpeta de los XML (VOC), o ``None``.
        img_dir: la carpeta de las imágenes (VOC), o ``None``.
        split: la partición pedida, o ``None``.
        names: en VOC con ``split``, los nombres de ``ImageSets/Main/<split>.txt``.
        coco: en COCO, ``(json, carpeta de imágenes o None)`` de cada archivo.
    """

    fmt: str
    root: Path | None = None
    ann_dir: Path | None = None
    img_dir: Path | None = None
    split: str | None = None
    names: list[str] | None = None
    coco: list[tuple[Path, Path | None]] = field(default_factory=list)


# === Reconocer el formato ===

def detect_format(root) -> str:
    """El formato del conjunto ``root`` por su contenido: ``"yolo"``, ``"coco"`` o ``"voc"``.

    Un ``.json`` es COCO y un ``.yaml`` es el ``data.yaml`` de YOLO; en una carpeta se
    busca, en este orden, ``data.yaml`` (YOLO), un JSON de COCO (en la carpeta, en
    ``annotations/`` o ``<partición>/_annotations.coco.json``) y ``*.xml`` (Pascal-VOC, en
    la carpeta, en ``annotations/`` o en ``Annotations/``).

    Raises:
        DataError: si no existe o no se reconoce (el mensaje dice qué se buscó).

    Example:
        >>> detect_format("figuras")          # annotations/*.xml
        'voc'
    """
    root = Path(root)
    if root.is_file():
        kinds = {".json": "coco", ".yaml": "yolo", ".yml": "yolo"}
        if root.suffix.lower() in kinds:
            return kinds[root.suffix.lower()]
        raise DataError(f"{root} no es un conjunto de detección: se esperaba una carpeta, "
                        "un .json de COCO o el data.yaml de YOLO")
    if not root.is_dir():
        raise DataError(f"La carpeta del conjunto {root} no existe")
    if find_yaml(root) is not None:
        return "yolo"
    if coco_files(root):
        return "coco"
    if _xml_folder(root) is not None:
        return "voc"
    raise DataError(
        f"No se reconoce el formato de {root}: se buscó data.yaml (YOLO-txt), un .json de "
        "COCO (en la carpeta, en annotations/ o en <partición>/_annotations.coco.json) y "
        "archivos .xml (Pascal-VOC, en la carpeta, en annotations/ o en Annotations/). "
        "Con --formato-datos se dice el formato; con --anotaciones y --imagenes, las carpetas.")


def _has_xml(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix.lower() == ".xml" and not p.name.startswith(".")
                                   for p in folder.iterdir())


def _xml_folder(root: Path) -> Path | None:
    """La carpeta de los XML de un conjunto VOC (``annotations/``, ``Annotations/`` o la
    propia carpeta), o ``None``."""
    return next((folder for folder in (*(root / n for n in _VOC_ANNOTATIONS), root)
                 if _has_xml(folder)), None)


# === Resolver dónde están los datos ===

def resolve_dataset(data=None, *, fmt: str | None = None, ann_dir=None, img_dir=None,
                    split: str | None = None) -> DatasetSource:
    """Dónde están las anotaciones y las imágenes de un conjunto (sin leerlas).

    Args:
        data: la carpeta del conjunto en cualquier formato, un ``.json`` de COCO o un
            ``data.yaml`` de YOLO.
        fmt: el formato (``None``: se reconoce con :func:`detect_format`).
        ann_dir: con ``img_dir`` y sin ``data``: la carpeta de los XML de VOC (o, con
            ``fmt="coco"`` o si es un ``.json``, el JSON de COCO).
        img_dir: la carpeta de las imágenes del par.
        split: ``"train"``, ``"val"`` o ``"test"`` (``None``: todo).

    Raises:
        ArgumentError: si no se da ``data`` ni el par, o se dan los dos, o un valor no
            válido.
        DataError: si la carpeta no existe, no se reconoce o no tiene la partición.
    """
    if fmt is not None:
        check_choice(fmt, "fmt (--formato-datos)", DATASET_FORMATS)
    if split is not None:
        check_choice(split, "split (--particion)", DATASET_SPLITS)
    if data is not None:
        if ann_dir is not None or img_dir is not None:
            raise ArgumentError(f"Dé {_DATA} o {_PAIR}, no los dos.")
        return _from_folder(Path(data), fmt, split)
    if ann_dir is None or img_dir is None:
        given = "falta «img_dir» (--imagenes)" if ann_dir is not None else (
            "falta «ann_dir» (--anotaciones)" if img_dir is not None else "no se dio ninguno")
        raise ArgumentError(f"Indique los datos con {_DATA}, la carpeta del conjunto en "
                            f"cualquier formato, o con {_PAIR}; {given}.")
    ann_dir, img_dir = Path(ann_dir), Path(img_dir)
    if fmt is None:
        fmt = "coco" if ann_dir.suffix.lower() == ".json" and ann_dir.is_file() else "voc"
    if fmt == "yolo":
        raise ArgumentError(f"YOLO-txt necesita su data.yaml (los nombres de las clases): dé "
                            f"la carpeta del conjunto con {_DATA}.")
    if fmt == "coco":
        if split is not None:
            raise ArgumentError("Con un solo JSON de COCO no hay particiones: quite «split» "
                                "(--particion).")
        return DatasetSource("coco", coco=[(ann_dir, img_dir)])
    names = _voc_split_names(ann_dir.parent, split) if split is not None else None
    return DatasetSource("voc", ann_dir=ann_dir, img_dir=img_dir, split=split, names=names)


def _from_folder(root: Path, fmt: str | None, split: str | None) -> DatasetSource:
    fmt = fmt or detect_format(root)
    if not root.exists():
        raise DataError(f"La carpeta del conjunto {root} no existe")
    if fmt == "yolo":
        return DatasetSource("yolo", root=root, split=split)
    if fmt == "coco":
        return DatasetSource("coco", split=split, coco=[(p, None) for p in
                                                        _coco_split_files(root, split)])
    ann_dir = _xml_folder(root) if root.is_dir() else None
    if ann_dir is None:
        raise DataError(f"{root} no tiene archivos .xml de Pascal-VOC (ni en annotations/ "
                        "ni en Annotations/)")
    img_dir = next((root / n for n in _VOC_IMAGES if (root / n).is_dir()), root)
    names = _voc_split_names(root, split) if split is not None else None
    return DatasetSource("voc", root=root, ann_dir=ann_dir, img_dir=img_dir, split=split,
                         names=names)


def _coco_split_files(root: Path, split: str | None) -> list[Path]:
    if root.is_file():
        if split is not None:
            raise ArgumentError(f"{root} es un solo JSON de COCO, sin particiones: quite "
                                "«split» (--particion).")
        return [root]
    files = coco_files(root)
    if not files:
        raise DataError(f"{root} no tiene ningún JSON de COCO (en la carpeta, en "
                        "annotations/ o en <partición>/_annotations.coco.json)")
    if split is None:
        return files
    chosen = [p for p in files if split_token(p).startswith(split)]
    if not chosen:
        raise DataError(f"Ningún JSON de COCO de {root} es de la partición «{split}»: "
                        f"{', '.join(str(p.relative_to(root)) for p in files)}")
    return chosen


def _voc_split_names(root: Path, split: str) -> list[str]:
    """Los nombres de ``root/ImageSets/Main/<split>.txt`` (el primero de cada línea).

    Raises:
        DataError: si no existe, ocupa demasiado o no se puede leer.
    """
    path = root / VOC_SPLITS_DIR / f"{split}.txt"
    if not path.is_file():
        available = sorted(p.stem for p in (root / VOC_SPLITS_DIR).glob("*.txt")
                           if p.stem in DATASET_SPLITS)
        raise DataError(f"No existe {path}: en Pascal-VOC cada partición es una lista de "
                        f"nombres en {VOC_SPLITS_DIR}/ (hay: {', '.join(available) or 'ninguna'})")
    if path.stat().st_size > MAX_YOLO_LABEL_BYTES:
        raise DataError(f"{path} ocupa más de {MAX_YOLO_LABEL_BYTES} bytes")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"No se puede leer {path} como texto UTF-8 ({exc})") from None
    return [line.split()[0] for line in lines if line.strip()]


# === Leer ===

def read_dataset(data=None, labels: Sequence[str] | None = None, *, fmt: str | None = None,
                 ann_dir=None, img_dir=None, split: str | None = None,
                 check_images: bool = True) -> tuple[VocImages, dict[str, int]]:
    """Lee un conjunto de detección en cualquier formato, con las comprobaciones de VOC.

    Da lo mismo con los tres formatos (ver :func:`datos.anotaciones.read_voc`): una
    :class:`~datos.anotaciones_comun.VocImages` de registros con las cajas en píxeles y el
    informe de lo omitido, descartado y recortado en ``images.report`` (también las
    imágenes sin anotación, en ``images.report.unannotated``), y la cuenta de cada
    etiqueta vista. ``images.classes`` son las clases que declara el conjunto (YOLO y
    COCO), o ``None`` (VOC).

    Args:
        data: la carpeta del conjunto en cualquier formato (o un ``.json`` de COCO o un
            ``data.yaml`` de YOLO).
        labels: si se da, solo se conservan los objetos de estas clases.
        fmt: ``"voc"``, ``"yolo"`` o ``"coco"`` (``None``: se reconoce por el contenido).
        ann_dir: sin ``data``: la carpeta de los XML de VOC, como en ``read_voc`` (o el
            JSON de COCO).
        img_dir: sin ``data``: la carpeta de las imágenes.
        split: ``"train"``, ``"val"`` o ``"test"`` donde el conjunto tenga particiones
            (``None``: todo el conjunto).
        check_images: decodificar cada imagen para detectar las dañadas.

    Returns:
        ``(images, label_counts)``.

    Raises:
        ArgumentError: datos sin nombrar o nombrados dos veces, o un valor no válido.
        DataError: una carpeta o archivo que falta o no vale (lo nombra).
        EmptyDataError: si ninguna imagen es utilizable.

    Example:
        >>> images, counts = read_dataset("figuras_yolo", split="val")
        >>> images, counts = read_dataset(ann_dir="lego/annotations", img_dir="lego/images")
    """
    source = resolve_dataset(data, fmt=fmt, ann_dir=ann_dir, img_dir=img_dir, split=split)
    if source.fmt == "yolo":
        return read_yolo(source.root, labels, split=source.split, check_images=check_images)
    if source.fmt == "coco":
        return read_coco_files(source.coco, labels, check_images=check_images)
    return read_voc(source.ann_dir, source.img_dir, labels, check_images=check_images,
                    only=source.names)


def image_files(data=None, *, fmt: str | None = None, ann_dir=None, img_dir=None,
                split: str | None = None) -> list[Path]:
    """Todas las imágenes del conjunto (o de la partición), tengan anotación o no.

    Con lo que da :func:`read_dataset` (sus ``images`` y ``images.report``) se sabe de
    cada una si se usa, si se omitió y por qué, o si no tiene anotación. Los argumentos
    son los de :func:`read_dataset`.

    Returns:
        Las rutas, sin repetir y en orden alfabético.
    """
    source = resolve_dataset(data, fmt=fmt, ann_dir=ann_dir, img_dir=img_dir, split=split)
    if source.fmt == "yolo":
        return yolo_images(source.root, source.split)
    if source.fmt == "coco":
        found = []
        for json_path, folder in source.coco:
            folder = folder if folder is not None else coco_image_dir(
                json_path, load_coco(json_path))
            found += folder_images(Path(folder), recursive=True)
        return sorted(set(found))
    found = folder_images(source.img_dir)
    if source.names is not None:
        names = set(source.names)
        found = [p for p in found if p.stem in names]
    return found


def dataset_splits(data=None, *, fmt: str | None = None, ann_dir=None,
                   img_dir=None) -> list[str]:
    """Las particiones que tiene el conjunto, de :data:`~nucleo.vocabulario.DATASET_SPLITS`;
    ``[]`` si no está dividido (o tiene una sola)."""
    source = resolve_dataset(data, fmt=fmt, ann_dir=ann_dir, img_dir=img_dir)
    if source.fmt == "yolo":
        return yolo_splits(source.root)
    if source.fmt == "coco":
        tokens = [split_token(p) for p, _ in source.coco]
        found = [s for s in DATASET_SPLITS if any(t.startswith(s) for t in tokens)]
        return found if len(source.coco) > 1 and len(found) > 1 else []
    root = source.root if source.root is not None else source.ann_dir.parent
    found = [s for s in DATASET_SPLITS if (root / VOC_SPLITS_DIR / f"{s}.txt").is_file()]
    return found if len(found) > 1 else []
