"""Convertir un conjunto de detección entre Pascal-VOC, YOLO-txt y COCO
(``redes datos convertir``).

Se lee el origen con :func:`datos.conjuntos.read_dataset` (con todas sus comprobaciones)
y se escribe en una carpeta nueva, partición a partición si el origen las tiene:

- **voc**: ``annotations/<nombre>.xml`` e ``images/``; las particiones, en
  ``ImageSets/Main/<partición>.txt``;
- **yolo**: ``data.yaml``, ``images/[<partición>/]`` y ``labels/[<partición>/]``;
- **coco**: ``annotations.json`` e ``images/`` o, con particiones,
  ``annotations/instances_<partición>.json`` e ``images/<partición>/``.

Las imágenes se enlazan (un enlace duro: no ocupa más disco) o, si no se puede (otro
disco), se copian de forma atómica; las anotaciones se escriben de forma atómica. Las
imágenes que el origen omite (dañadas, sin anotación o sin objetos) no se copian: el
resumen las cuenta. Si dos imágenes se llaman igual sin extensión (``a.jpg`` y ``a.png``,
o la misma en dos carpetas), la segunda pasa a ``a_1``.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from pathlib import Path

from datos.anotaciones_escritura import AnnotatedImage
from datos.anotaciones_escritura import write_coco
from datos.anotaciones_escritura import write_data_yaml
from datos.anotaciones_escritura import write_voc
from datos.anotaciones_escritura import write_yolo
from datos.conjuntos import VOC_SPLITS_DIR
from datos.conjuntos import dataset_splits
from datos.conjuntos import read_dataset
from datos.conjuntos import resolve_dataset
from nucleo.archivos import atomic_path
from nucleo.archivos import atomic_write
from nucleo.archivos import check_output_path
from nucleo.errores import ArgumentError
from nucleo.vocabulario import DATASET_FORMATS
from nucleo.vocabulario import check_choice

__all__ = ["check_conversion_output", "convert_dataset"]

logger = logging.getLogger("redes")


def check_conversion_output(out, data=None, *, ann_dir=None, img_dir=None,
                            name: str = "--salida") -> Path:
    """Comprueba, antes de leer nada, que se puede escribir el conjunto en ``out``.

    Raises:
        ArgumentError: si no se puede escribir, ya tiene algo dentro (la conversión
            escribe un conjunto nuevo: mezclarlo con otro daría un conjunto distinto de
            los dos) o está dentro del origen.
    """
    out = check_output_path(out, name, folder=True)
    if out.is_dir() and any(out.iterdir()):
        raise ArgumentError(f"{name}: «{out}» ya existe y no está vacía; la conversión "
                            "escribe un conjunto nuevo: elija otra carpeta o vacíela.")
    target = out.resolve()
    for source in (data, ann_dir, img_dir):
        if source is None or not Path(source).exists():
            continue  # lo que no existe lo dice la lectura
        source = Path(source).resolve()
        folder = source if source.is_dir() else source.parent
        if target == folder or target.is_relative_to(folder):
            raise ArgumentError(f"{name}: «{out}» está dentro del conjunto de origen "
                                f"{folder}: elija una carpeta fuera de él.")
    return out


def convert_dataset(to: str, out, data=None, *, fmt: str | None = None, ann_dir=None,
                    img_dir=None, split: str | None = None, labels=None, link: bool = True,
                    progress: bool = True) -> dict:
    """Convierte un conjunto de detección a otro formato en la carpeta nueva ``out``.

    Args:
        to: el formato de destino: ``"voc"``, ``"yolo"`` o ``"coco"``.
        out: la carpeta de destino; no debe existir o debe estar vacía.
        data, fmt, ann_dir, img_dir: el origen, como en :func:`datos.conjuntos.read_dataset`.
        split: solo esta partición (``None``: todas las que tenga el origen, cada una
            en la suya).
        labels: solo estas clases (``None``: todas; sus índices en YOLO y COCO siguen el
            orden en que el origen las declara, o el alfabético en VOC).
        link: enlazar las imágenes en lugar de copiarlas cuando se pueda.
        progress: barra de progreso (tqdm).

    Returns:
        El resumen: ``formato_origen``, ``formato``, ``salida``, ``particiones``,
        ``imagenes``, ``cajas``, ``clases`` (cajas por clase), ``enlazadas``,
        ``copiadas`` y lo que no se escribió: ``omitidas``, ``sin_objetos``,
        ``objetos_descartados``, ``cajas_recortadas`` y ``sin_anotacion``.

    Raises:
        ArgumentError, DataError: origen o destino no válidos (los nombran).

    Example:
        >>> convert_dataset("yolo", "figuras_yolo", "figuras")
    """
    check_choice(to, "to (--a)", DATASET_FORMATS)
    source = resolve_dataset(data, fmt=fmt, ann_dir=ann_dir, img_dir=img_dir, split=split)
    out = check_conversion_output(out, data, ann_dir=ann_dir, img_dir=img_dir)
    splits = [split] if split is not None else (
        dataset_splits(data, fmt=source.fmt, ann_dir=ann_dir, img_dir=img_dir) or [None])
    parts = []
    for part in splits:
        images, _ = read_dataset(data, labels, fmt=source.fmt, ann_dir=ann_dir,
                                 img_dir=img_dir, split=part)
        parts.append((part, images))
    classes = _classes(parts, labels)
    names = _unique_names(parts)
    writer = _Writer(to, out, classes, link, split is None and len(splits) > 1)
    _write_all(writer, parts, names, progress)
    summary = _summary(source.fmt, to, out, parts, writer)
    logger.info("Convertido a %s en %s: %d imágenes, %d cajas", to, out,
                summary["imagenes"], summary["cajas"])
    return summary


def _classes(parts, labels) -> list[str]:
    """Las clases del destino: las pedidas, o las declaradas por el origen (en su orden)
    y las demás que aparezcan, en orden alfabético."""
    if labels is not None:
        return list(labels)
    declared = []
    for _, images in parts:
        declared += [c for c in (images.classes or []) if c not in declared]
    seen = sorted({label for _, images in parts for r in images for label in r.labels})
    return declared + [c for c in seen if c not in declared]


def _unique_names(parts) -> dict[int, str]:
    """Un nombre de archivo por registro (``id(registro)`` → nombre), sin repetir el
    nombre sin extensión (las etiquetas de YOLO y los XML van por él)."""
    used, names = set(), {}
    for _, images in parts:
        for record in images:
            stem, suffix = record.path.stem, record.path.suffix
            candidate, number = stem, 0
            while candidate.lower() in used:
                number += 1
                candidate = f"{stem}_{number}"
            used.add(candidate.lower())
            names[id(record)] = candidate + suffix
    return names


class _Writer:
    """Escribe las imágenes y las anotaciones de un formato, partición a partición."""

    def __init__(self, to: str, out: Path, classes: list[str], link: bool, split: bool):
        self.to, self.out, self.classes, self.link = to, out, classes, link
        self.with_splits = split
        self.linked = self.copied = 0
        self.members: dict[str | None, list[str]] = {}
        self.coco: dict[str | None, list[AnnotatedImage]] = {}

    def image_dir(self, part: str | None, kind: str = "images") -> Path:
        """``images/`` (o ``labels/``), con la subcarpeta de la partición salvo en VOC."""
        if self.to == "voc" or not self.with_splits or part is None:
            return self.out / kind
        return self.out / kind / part

    def add(self, record, name: str, part: str | None) -> None:
        self._place(record.path, self.image_dir(part) / name)
        stem = Path(name).stem
        self.members.setdefault(part, []).append(stem)
        if self.to == "voc":
            write_voc(self.out / "annotations" / f"{stem}.xml", name, record.width,
                      record.height, record.boxes, record.labels)
        elif self.to == "yolo":
            write_yolo(self.image_dir(part, "labels") / f"{stem}.txt", record.width,
                       record.height, record.boxes, record.labels, self.classes)
        else:
            self.coco.setdefault(part, []).append(AnnotatedImage(
                name, record.width, record.height, record.boxes, record.labels))

    def finish(self) -> None:
        """Lo que va una vez por conjunto o por partición: listas, data.yaml, JSON."""
        splits = self.with_splits
        if self.to == "voc" and splits:
            for part, stems in self.members.items():
                text = "".join(stem + "\n" for stem in stems)
                atomic_write(self.out / VOC_SPLITS_DIR / f"{part}.txt",
                             lambda handle, text=text: handle.write(text), text=True)
        elif self.to == "yolo":
            write_data_yaml(self.out, self.classes, {part: f"images/{part}" for part in
                                                     self.members} if splits else None)
        elif self.to == "coco":
            for part, entries in self.coco.items():
                path = (self.out / "annotations" / f"instances_{part}.json" if splits
                        else self.out / "annotations.json")
                write_coco(path, entries, self.classes)

    def _place(self, source: Path, target: Path) -> None:
        """Enlaza (o copia, de forma atómica) ``source`` en ``target``."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.link:
            try:
                os.link(source, target)
                self.linked += 1
                return
            except OSError:
                self.link = False  # otro disco o sin enlaces: se copia el resto
        with atomic_path(target, keep_suffix=True) as tmp:
            shutil.copyfile(source, tmp)
        self.copied += 1


def _write_all(writer: _Writer, parts, names: dict[int, str], progress: bool) -> None:
    from tqdm.auto import tqdm

    total = sum(len(images) for _, images in parts)
    with tqdm(total=total, desc=f"Convirtiendo a {writer.to}", unit="imagen",
              disable=not progress, leave=False) as bar:
        for part, images in parts:
            for record in images:
                writer.add(record, names[id(record)], part)
                bar.update(1)
    writer.finish()


def _summary(source_format: str, to: str, out: Path, parts, writer: _Writer) -> dict:
    boxes: Counter[str] = Counter()
    totals = Counter()
    for _, images in parts:
        boxes.update(label for record in images for label in record.labels)
        report = images.report
        totals.update({"omitidas": len(report.skipped), "sin_objetos": len(report.empty),
                       "objetos_descartados": len(report.dropped_objects),
                       "cajas_recortadas": len(report.clipped),
                       "sin_anotacion": len(report.unannotated)})
    return {"formato_origen": source_format, "formato": to, "salida": str(out),
            "particiones": [part for part, _ in parts if part is not None],
            "imagenes": sum(len(images) for _, images in parts),
            "cajas": sum(boxes.values()),
            "clases": {name: boxes[name] for name in writer.classes},
            "enlazadas": writer.linked, "copiadas": writer.copied,
            **{key: totals[key] for key in ("omitidas", "sin_objetos", "objetos_descartados",
                                            "cajas_recortadas", "sin_anotacion")}}
