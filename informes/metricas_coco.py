"""Las métricas de COCO de un detector, con ``pycocotools`` (la implementación oficial).

Complementan el mAP de VOC de :mod:`informes.metricas`. Las cajas verdaderas y las
detecciones se pasan a las estructuras de COCO en memoria (sin archivos): cajas en
``[x, y, ancho, alto]`` y áreas de la propia caja (no hay segmentaciones), ninguna caja
de «multitud» (``iscrowd = 0``) y ids desde 1 (COCOeval toma el id 0 como «sin
pareja»). Lo que ``COCOeval`` imprime se calla; :func:`coco_summary` da su resumen en
castellano.

Qué mide cada cifra (``maxDets = 100`` detecciones por imagen y clase):

- ``coco_map_50_95``: la AP media de las clases, promediada en 10 umbrales de IoU
  (0.50, 0.55 … 0.95): premia cajas bien ajustadas, no solo bien puestas.
- ``coco_ap_50`` / ``coco_ap_75``: la misma AP a IoU 0.5 y 0.75.
- ``coco_ap_pequenas`` / ``_medianas`` / ``_grandes``: la AP 0.5:0.95 solo con los
  objetos de área < 32², entre 32² y 96², y > 96² píxeles de la imagen original
  (``nan`` si no hay ninguno de ese tamaño).
- ``coco_ar_100``: la exhaustividad media (0.5:0.95) con hasta 100 detecciones.

Diferencias con la AP de VOC (``informes.metricas``) a IoU 0.5: COCO interpola en 101
puntos de exhaustividad (0, 0.01 … 1) en vez de integrar la envolvente en todos los
puntos (a lo sumo 1/101 de diferencia por clase); una detección cuya mejor caja ya
estaba emparejada prueba con la siguiente libre (en VOC es un falso positivo); y solo
cuentan las 100 detecciones de más puntuación de cada imagen y clase. Lo comprueba
``tests/test_metricas_coco.py``.

Referencia:
    Lin et al., «Microsoft COCO: Common Objects in Context» (2014);
    ``pycocotools.cocoeval.COCOeval`` (cocodataset/cocoapi).
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from informes.metricas import check_detections

#: Las cifras de COCO, en el orden de ``COCOeval.stats`` que les corresponde.
COCO_METRICS = {"coco_map_50_95": 0, "coco_ap_50": 1, "coco_ap_75": 2, "coco_ap_pequenas": 3,
                "coco_ap_medianas": 4, "coco_ap_grandes": 5, "coco_ar_100": 8}

#: Las 12 cifras de ``COCOeval.summarize()``, en castellano: (AP o AR, IoU, área, maxDets).
_SUMMARY = (("AP", "0.50:0.95", "todas", 100), ("AP", "0.50", "todas", 100),
            ("AP", "0.75", "todas", 100), ("AP", "0.50:0.95", "pequeñas", 100),
            ("AP", "0.50:0.95", "medianas", 100), ("AP", "0.50:0.95", "grandes", 100),
            ("AR", "0.50:0.95", "todas", 1), ("AR", "0.50:0.95", "todas", 10),
            ("AR", "0.50:0.95", "todas", 100), ("AR", "0.50:0.95", "pequeñas", 100),
            ("AR", "0.50:0.95", "medianas", 100), ("AR", "0.50:0.95", "grandes", 100))


@dataclass
class CocoResult:
    """Resultado de :func:`coco_evaluation`.

    Attributes:
        stats: las 12 cifras de ``COCOeval.stats`` (``nan`` donde COCO da -1: sin
            objetos de ese tamaño).
        ap: ``{clase: AP 0.5:0.95}``; ``nan`` en las clases sin cajas verdaderas.
        ap_50: ``{clase: AP a IoU 0.5}`` (101 puntos), igual.
    """

    stats: np.ndarray
    ap: dict[int, float]
    ap_50: dict[int, float]

    @property
    def metrics(self) -> dict[str, float]:
        """Las cifras de :data:`COCO_METRICS` por su nombre."""
        return {name: float(self.stats[i]) for name, i in COCO_METRICS.items()}


def coco_evaluation(detections, ground_truths, num_classes: int | None = None,
                    labels: Sequence[str] | None = None) -> CocoResult:
    """Evalúa detecciones con ``COCOeval`` (cajas, ``maxDets`` 1, 10 y 100).

    Args:
        detections: una entrada por imagen: (N, 6) ``xmin, ymin, xmax, ymax, puntuación,
            clase`` en píxeles de la imagen original.
        ground_truths: una entrada por imagen, en el mismo orden: (M, 5) ``xmin, ymin,
            xmax, ymax, clase``.
        num_classes: número de clases; por defecto la mayor clase vista + 1.
        labels: nombres de las clases (solo para las categorías de COCO).

    Returns:
        Un :class:`CocoResult`.

    Raises:
        ArgumentError: si las formas o las clases no son válidas.

    Example:
        >>> resultado = coco_evaluation([np.array([[0, 0, 10, 10, 0.9, 0]])],
        ...                             [np.array([[0, 0, 10, 10, 0]])])
        >>> round(resultado.metrics["coco_map_50_95"], 6)
        1.0
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    detections, ground_truths, num_classes = check_detections(
        detections, ground_truths, num_classes, where="coco_evaluation")
    images = [{"id": i + 1} for i in range(len(ground_truths))]
    categories = [{"id": c + 1, "name": labels[c] if labels else str(c)}
                  for c in range(num_classes)]
    truths = [dict(_annotation(row[:4], row[4], i), iscrowd=0)
              for i, rows in enumerate(ground_truths) for row in rows]
    results = [dict(_annotation(row[:4], row[5], i), score=float(row[4]))
               for i, rows in enumerate(detections) for row in rows]
    with contextlib.redirect_stdout(io.StringIO()):  # COCO y COCOeval hablan por stdout
        coco_truth, coco_results = COCO(), COCO()
        for coco, annotations in ((coco_truth, truths), (coco_results, results)):
            coco.dataset = {"images": images, "categories": categories,
                            "annotations": [dict(a, id=k + 1)
                                            for k, a in enumerate(annotations)]}
            coco.createIndex()
        evaluator = COCOeval(coco_truth, coco_results, iouType="bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return _result(evaluator, num_classes)


def _annotation(box, label, image: int) -> dict:
    """Una caja ``xyxy`` como anotación de COCO: ``[x, y, ancho, alto]`` y su área."""
    x1, y1, x2, y2 = (float(v) for v in box)
    width, height = max(x2 - x1, 0.0), max(y2 - y1, 0.0)
    return {"image_id": image + 1, "category_id": int(label) + 1,
            "bbox": [x1, y1, width, height], "area": width * height}


def _mean(values: np.ndarray) -> float:
    """La media de las entradas definidas (COCO marca las demás con -1), o ``nan``."""
    defined = values[values > -1]
    return float(np.mean(defined)) if defined.size else math.nan


def _result(evaluator, num_classes: int) -> CocoResult:
    """Las 12 cifras de ``summarize()`` (``nan`` donde COCO da -1) y la AP de cada clase."""
    params = evaluator.params
    stats = np.where(np.asarray(evaluator.stats) > -1, evaluator.stats, np.nan)
    precision = evaluator.eval["precision"]  # (IoU, exhaustividad, clase, área, maxDets)
    every = params.areaRngLbl.index("all")
    top = params.maxDets.index(100)
    ap = {c: _mean(precision[:, :, c, every, top]) for c in range(num_classes)}
    at_50 = np.isclose(params.iouThrs, 0.5)
    ap_50 = {c: _mean(precision[at_50][:, :, c, every, top]) for c in range(num_classes)}
    return CocoResult(stats.astype(float), ap, ap_50)


def coco_summary(result: CocoResult) -> str:
    """El resumen de ``COCOeval.summarize()`` en castellano, una cifra por línea."""
    lines = []
    for (kind, iou, area, max_dets), value in zip(_SUMMARY, result.stats, strict=True):
        name = "Precisión media (AP)" if kind == "AP" else "Exhaustividad media (AR)"
        shown = "    -" if math.isnan(value) else f"{value:.3f}"
        lines.append(f"{name:<24} IoU={iou:<9} cajas={area:<8} máx. {max_dets:>3} "
                     f"detecciones = {shown}")
    return "\n".join(lines)


def map_summary(voc_map_50: float, coco: CocoResult | None = None) -> str:
    """La línea de resumen que dice qué mAP es cada uno.

    Example:
        >>> map_summary(0.8123)
        'mAP@0.5 (VOC) 0.812'
    """
    parts = [f"mAP@0.5 (VOC) {voc_map_50:.3f}"]
    if coco is not None:
        parts.append(f"mAP@0.5:0.95 (COCO) {coco.metrics['coco_map_50_95']:.3f}")
    return " · ".join(parts)
