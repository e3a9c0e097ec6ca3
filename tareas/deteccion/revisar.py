"""Revisar un conjunto de detección antes de entrenar: ``redes deteccion revisar``.

Funciones puras sobre los registros (:class:`~datos.anotaciones.VocImage`) y el informe
del lector (:class:`~datos.anotaciones.VocReport`):

- :func:`max_boxes_summary`: cajas por imagen, su máximo y cuántas dejaría fuera un
  ``--max-cajas`` dado; :func:`warn_max_boxes` es lo que mira el entrenamiento al
  empezar (un aviso con el valor sugerido).
- :func:`duplicate_boxes`: cajas repetidas (misma clase e IoU > 0.9 en una imagen).
- :func:`anchor_fit`: la mejor IoU de cada caja con las anclas (``voc``, ``auto`` o una
  lista) al ``--tamanio`` de la red; por debajo de 0.5 el objetivo de YOLOv2 la encaja mal.
- :func:`reader_issues`: lo que el lector omitió o corrigió, por tipo: cajas fuera de la
  imagen (recortadas o descartadas), de área cero, anotaciones sin imagen, imágenes sin
  anotación e imágenes dañadas.

:func:`review_records` lo junta en un :class:`~informes.resultado.TaskResult` (tabla y
JSON) y dibuja en ``out_dir`` la muestra y las cajas (:mod:`informes.revision`);
:func:`review_dataset` lee antes el conjunto (Pascal-VOC, YOLO-txt o COCO).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from datos.cajas import as_size
from datos.cajas import box_iou
from datos.cajas import wh_iou
from informes.resultado import Table
from informes.resultado import TaskResult
from nucleo.errores import DataError

logger = logging.getLogger("redes")

#: IoU a partir de la cual dos cajas de la misma clase en una imagen son la misma.
DUPLICATE_IOU = 0.9
#: Mejor IoU con las anclas por debajo de la cual una caja encaja mal.
LOW_ANCHOR_IOU = 0.5
#: Imágenes de la muestra dibujada.
SAMPLE_IMAGES = 16
#: Los PNG que escribe en ``out_dir``.
MOSAIC_NAME = "revision_muestra.png"
BOXES_PLOT_NAME = "revision_cajas.png"

# Tipos de lo que el lector omitió o corrigió, por su motivo (ver datos.anotaciones_comun).
_SKIPPED_KINDS = (("anotaciones_sin_imagen", re.compile(r"no existe en|ninguna imagen para")),
                  ("imagenes_danadas", re.compile(r"dañada o truncada|no es una imagen "
                                                  r"reconocible")))
_DROPPED_KINDS = (("cajas_fuera_descartadas", re.compile(r"fuera de la imagen")),
                  ("cajas_area_cero", re.compile(r"vacía o invertida|tamaño cero")),
                  ("objetos_de_otras_clases", re.compile(r"etiqueta desconocida")))
#: Descripción de cada tipo, para la tabla (en su orden).
ISSUE_NAMES = {
    "cajas_duplicadas": f"cajas duplicadas (misma clase, IoU > {DUPLICATE_IOU:g})",
    "cajas_fuera_recortadas": "cajas que se salen de la imagen (recortadas)",
    "cajas_fuera_descartadas": "cajas fuera de la imagen (descartadas)",
    "cajas_area_cero": "cajas de área cero o invertidas (descartadas)",
    "objetos_invalidos": "otros objetos descartados (coordenadas no válidas...)",
    "objetos_de_otras_clases": "objetos de clases no pedidas (descartados)",
    "anotaciones_sin_imagen": "anotaciones sin imagen",
    "imagenes_danadas": "imágenes dañadas o ilegibles",
    "anotaciones_invalidas": "otras anotaciones omitidas (XML mal formado...)",
    "anotaciones_sin_objetos": "anotaciones sin ningún objeto",
    "imagenes_sin_anotacion": "imágenes sin anotación",
}


def boxes_per_image(records) -> np.ndarray:
    """Cuántas cajas tiene cada registro, en su orden."""
    return np.array([len(r.boxes) for r in records], dtype=np.int64)


def max_boxes_summary(records, max_boxes: int | None = None) -> dict[str, Any]:
    """Cajas por imagen: su histograma, la media, el máximo (el ``--max-cajas`` sugerido,
    con el que ninguna caja se queda fuera del búfer de la pérdida) y, con ``max_boxes``,
    cuántas imágenes tienen más y cuántas cajas no caben."""
    counts = boxes_per_image(records)
    most = int(counts.max()) if len(counts) else 0
    summary: dict[str, Any] = {
        "maximo": most, "media": round(float(counts.mean()), 3) if len(counts) else 0.0,
        "histograma": {int(n): int(k) for n, k in zip(*np.unique(counts, return_counts=True),
                                                      strict=True)},
        "sugerido": max(1, most)}
    if max_boxes is not None:
        over = counts > max_boxes
        summary.update({"max_cajas": int(max_boxes), "imagenes_con_mas": int(over.sum()),
                        "cajas_que_no_caben": int((counts[over] - max_boxes).sum())})
    return summary


def warn_max_boxes(records, max_boxes: int) -> dict[str, Any]:
    """La parte barata de la revisión al empezar a entrenar: si alguna imagen tiene más
    cajas que ``max_boxes`` (``--max-cajas``), un aviso con cuántas se quedan fuera del
    búfer de la pérdida y el valor sugerido. Devuelve :func:`max_boxes_summary`."""
    summary = max_boxes_summary(records, max_boxes)
    if summary["imagenes_con_mas"]:
        logger.warning(
            "--max-cajas %d: %d imágenes de entrenamiento tienen más cajas (hasta %d) y %d "
            "cajas se quedan fuera del búfer de la pérdida, elegidas sin mirar su tamaño. "
            "Sugerencia: --max-cajas %d (o sin --max-cajas, que toma el máximo).",
            max_boxes, summary["imagenes_con_mas"], summary["maximo"],
            summary["cajas_que_no_caben"], summary["sugerido"])
    return summary


def duplicate_boxes(records, threshold: float = DUPLICATE_IOU) -> list[dict[str, Any]]:
    """Las cajas que repiten otra anterior de la misma imagen y clase (IoU > ``threshold``;
    las idénticas también): una entrada por caja repetida, con la imagen, la clase, los
    índices de las dos cajas y su IoU."""
    found = []
    for record in records:
        if len(record.boxes) < 2:
            continue
        iou = box_iou(record.boxes, record.boxes)
        labels = np.asarray(record.labels)
        same = (labels[:, None] == labels[None, :]) & (iou > threshold)
        for later in range(1, len(labels)):
            earlier = np.flatnonzero(same[later, :later])
            if len(earlier):
                found.append({"imagen": str(record.path), "clase": str(labels[later]),
                              "caja": later, "repite": int(earlier[0]),
                              "iou": round(float(iou[later, earlier[0]]), 4)})
    return found


def resolve_review_anchors(anchors, records, input_size, *, seed: int = 0) -> np.ndarray:
    """Las anclas ``(A, 2)`` en celdas: ``"voc"``, ``"auto"`` (k-means de las cajas de
    ``records``, como al entrenar con ``--anclas auto``) o una lista.

    Raises:
        DataError: ``"auto"`` con menos de 5 cajas.
    """
    from modelos.yolo.objetivos import VOC_ANCHORS
    from modelos.yolo.objetivos import as_anchors
    from tareas.deteccion.anclas import boxes_wh
    from tareas.deteccion.anclas import kmeans_anchors

    if isinstance(anchors, str) and anchors == "auto":
        wh = boxes_wh(records, input_size)
        if len(wh) < 5:
            raise DataError(f"Para calcular 5 anclas por k-means hacen falta al menos 5 "
                            f"cajas; hay {len(wh)}: use --anclas voc o una lista.")
        return kmeans_anchors(wh, k=5, seed=seed)[0]
    named_voc = anchors is None or (isinstance(anchors, str) and anchors == "voc")
    return as_anchors(VOC_ANCHORS if named_voc else anchors)


def anchor_fit(records, input_size, anchors, *, threshold: float = LOW_ANCHOR_IOU
               ) -> dict[str, Any]:
    """La mejor IoU (ancho y alto, con los centros alineados) de cada caja con ``anchors``
    (en celdas) al tamaño de entrada ``input_size``: la media, la fracción por debajo de
    ``threshold``, un histograma en décimas y los valores de cada caja (``"mejor_iou"``)."""
    from tareas.deteccion.anclas import boxes_wh

    wh = boxes_wh(records, input_size)
    anchors = np.asarray(anchors, dtype=np.float64)
    best = wh_iou(wh, anchors).max(axis=1) if len(wh) else np.zeros(0)
    edges = np.linspace(0.0, 1.0, 11)
    histogram, _ = np.histogram(best, bins=edges)
    return {"anclas": [[round(float(w), 5), round(float(h), 5)] for w, h in anchors],
            "iou_media": round(float(best.mean()), 4) if len(best) else None,
            "umbral": threshold, "por_debajo": int((best < threshold).sum()),
            "fraccion_por_debajo": round(float(np.mean(best < threshold)), 4)
            if len(best) else 0.0,
            "histograma": {f"{lo:.1f}-{hi:.1f}": int(n)
                           for lo, hi, n in zip(edges[:-1], edges[1:], histogram, strict=True)},
            "mejor_iou": best}


def _entries(items) -> list[dict[str, str]]:
    return [{"archivo": str(path), "motivo": reason} for path, reason in items]


def _classify(items, kinds, rest: str) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list] = {name: [] for name, _ in kinds}
    out[rest] = []
    for path, reason in items:
        name = next((name for name, pattern in kinds if pattern.search(reason)), rest)
        out[name].append((path, reason))
    return {name: _entries(found) for name, found in out.items()}


def reader_issues(report) -> dict[str, list[dict[str, str]]]:
    """Lo que el lector omitió o corrigió (``images.report``), por tipo: cada uno una lista
    de ``{"archivo", "motivo"}`` (las imágenes sin anotación, con el motivo vacío)."""
    issues = {"cajas_fuera_recortadas": _entries(report.clipped)}
    issues.update(_classify(report.dropped_objects, _DROPPED_KINDS, "objetos_invalidos"))
    issues.update(_classify(report.skipped, _SKIPPED_KINDS, "anotaciones_invalidas"))
    issues["anotaciones_sin_objetos"] = _entries((path, "") for path in report.empty)
    issues["imagenes_sin_anotacion"] = _entries((path, "")
                                                for path in getattr(report, "unannotated", []))
    return issues


def _class_table(records) -> tuple[dict[str, dict[str, int]], Table]:
    boxes = Counter(label for r in records for label in r.labels)
    images = Counter(label for r in records for label in set(r.labels))
    per_class = {name: {"cajas": boxes[name], "imagenes": images[name]}
                 for name in sorted(boxes)}
    return per_class, Table("Cajas por clase", ("Clase", "Cajas (imágenes)"),
                            [(name, f"{v['cajas']} ({v['imagenes']})")
                             for name, v in per_class.items()])


def review_records(images, counts=None, *, labels=None, input_size=416, anchors="voc",
                   max_boxes: int | None = None, out_dir=None, seed: int = 0) -> TaskResult:
    """Revisa un conjunto ya leído (``images``, de :func:`datos.anotaciones.read_voc` o
    de otro lector, con su informe en ``images.report``).

    Args:
        images: los registros, con ``.report`` (sin él, solo lo que se ve en las cajas).
        counts: la cuenta de etiquetas del lector (también las no pedidas), o ``None``.
        labels: las clases, en el orden de los colores (``None``: las de las cajas).
        input_size: la entrada de la red (``--tamanio``), para las anclas.
        anchors: ``"voc"``, ``"auto"`` o anchos y altos en celdas (``--anclas``).
        max_boxes: el ``--max-cajas`` a comprobar, o ``None``.
        out_dir: carpeta de los dos PNG (``None``: no se dibuja).
        seed: semilla de la muestra y del k-means de ``"auto"``.

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` con los totales;
        ``data`` con ``conteos`` (cuántos de cada problema de :data:`ISSUE_NAMES`),
        ``por_clase``, ``cajas_por_imagen``, ``anclas``, ``duplicadas`` y ``problemas``
        (cada caso con su archivo y motivo).
    """
    input_size = as_size(input_size)
    classes = list(labels) if labels else sorted({n for r in images for n in r.labels})
    per_class, class_table = _class_table(images)
    per_image = max_boxes_summary(images, max_boxes)
    fit = anchor_fit(images, input_size, resolve_review_anchors(anchors, images, input_size,
                                                                seed=seed))
    best_iou = fit.pop("mejor_iou")
    issues = {"cajas_duplicadas": duplicate_boxes(images)}
    report = getattr(images, "report", None)
    if report is not None:
        issues.update(reader_issues(report))
    metrics = {"imagenes": len(images), "cajas": int(sum(len(r.boxes) for r in images)),
               "clases": len(per_class), "max_cajas_por_imagen": per_image["maximo"],
               "media_cajas_por_imagen": per_image["media"],
               **({"cajas_que_no_caben": per_image["cajas_que_no_caben"]}
                  if max_boxes is not None else {}),
               "iou_media_anclas": fit["iou_media"],
               "fraccion_iou_anclas_bajo_0_5": fit["fraccion_por_debajo"]}
    tally = {name: len(issues.get(name, ())) for name in ISSUE_NAMES}
    files = {}
    if out_dir is not None:
        from informes.revision import plot_box_statistics
        from informes.revision import plot_sample_mosaic
        from modelos.yolo.objetivos import grid_size

        out = Path(out_dir)
        files["muestra"] = plot_sample_mosaic(images, classes, out / MOSAIC_NAME, seed=seed,
                                              count=SAMPLE_IMAGES)
        files["cajas"] = plot_box_statistics(images, classes, out / BOXES_PLOT_NAME,
                                             anchors=fit["anclas"], grid=grid_size(input_size),
                                             best_iou=best_iou, threshold=LOW_ANCHOR_IOU)
    return TaskResult(
        title="Revisión del conjunto de detección",
        metrics=metrics, files=files,
        data={"conteos": tally, "por_clase": per_class, "etiquetas_leidas": dict(counts or {}),
              "cajas_por_imagen": per_image, "anclas": {**fit, "tamanio": list(input_size)},
              "duplicadas": issues["cajas_duplicadas"], "problemas": issues},
        tables=[class_table, _issue_table(issues, per_image, fit)],
        text=_examples(issues))


def _issue_table(issues, per_image, fit) -> Table:
    rows = [(text, len(issues.get(name, ()))) for name, text in ISSUE_NAMES.items()]
    if "max_cajas" in per_image:
        rows.append((f"cajas que no caben con --max-cajas {per_image['max_cajas']} "
                     f"(sugerido: {per_image['sugerido']})", per_image["cajas_que_no_caben"]))
    rows.append((f"cajas con mejor IoU con las anclas < {fit['umbral']:g}",
                 f"{fit['por_debajo']} ({fit['fraccion_por_debajo']:.0%})"))
    return Table("Problemas encontrados", ("Qué", "Cuántos"), rows)


def _examples(issues, shown: int = 3) -> list[str]:
    """Los primeros casos de cada problema (todos van al JSON)."""
    lines = []
    for name, found in issues.items():
        for item in found[:shown]:
            where = item.get("imagen") or item.get("archivo")
            what = item.get("motivo") or (f"caja {item['caja']} repite la {item['repite']} "
                                          f"(IoU {item['iou']:.2f})" if "caja" in item else "")
            lines.append(f"{ISSUE_NAMES[name]}: {Path(where).name}{': ' + what if what else ''}")
        if len(found) > shown:
            lines.append(f"{ISSUE_NAMES[name]}: ... y {len(found) - shown} más (ver --json)")
    return lines


def review_dataset(data=None, labels=None, *, fmt: str | None = None, ann_dir=None,
                   img_dir=None, split: str | None = None, **options) -> TaskResult:
    """Lee un conjunto en cualquier formato (:func:`datos.conjuntos.read_dataset`, con
    ``data`` o ``ann_dir`` + ``img_dir``, ``fmt`` y ``split``), comprobando cada imagen, y lo
    revisa con :func:`review_records` (``options``: ``input_size``, ``anchors``,
    ``max_boxes``, ``out_dir``, ``seed``).

    Example:
        >>> review_dataset(ann_dir="lego/annotations", img_dir="lego/images", max_boxes=5,
        ...                out_dir="revision/lego")  # doctest: +SKIP
    """
    from datos.conjuntos import read_dataset

    images, counts = read_dataset(data, labels, fmt=fmt, ann_dir=ann_dir, img_dir=img_dir,
                                  split=split, check_images=True)
    declared = getattr(images, "classes", None)
    return review_records(images, counts, labels=labels or declared, **options)
