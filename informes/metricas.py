"""mAP de detección (Pascal VOC) y curvas de precisión-exhaustividad por clase.

Cálculo (el de VOC 2010+, ``voc_ap(use_07_metric=False)``, y el de keras-yolo2):

1. Por clase, todas las detecciones de todas las imágenes se ordenan por puntuación
   descendente (orden estable: a igual puntuación, primero la de la imagen anterior).
2. Emparejamiento voraz: cada detección se compara con las cajas verdaderas de su
   clase en su imagen; la de mayor IoU (la primera si empatan) cuenta como acierto
   si IoU ≥ ``iou_threshold`` y no la había reclamado ya una detección mejor. Si no,
   es un falso positivo (un duplicado no prueba con la segunda mejor caja).
3. AP = área bajo la curva de precisión-exhaustividad interpolada en todos los
   puntos (la precisión en cada exhaustividad es la máxima a su derecha).

Clases sin ninguna caja verdadera: su AP no está definida; vale ``nan`` en el
diccionario y **no entra en la media** (como pycocotools; keras-yolo2 la contaba
como 0 y bajaba el mAP). Sus detecciones son falsos positivos solo de esa clase.
Una clase con cajas verdaderas y ninguna detección tiene AP 0 y sí entra.

Umbral: por defecto IoU ≥ 0.5 (VOC); keras-yolo2, el código del artículo, usaba 0.3.
Quien informe un mAP debe decir con qué umbral (``mAP@0.5``, ``mAP@0.3``).

Referencia:
    Everingham et al., «The PASCAL Visual Object Classes Challenge» (devkit, ``VOCevaldet``);
    experiencor/keras-yolo2, ``frontend.YOLO.evaluate``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from datos.cajas import box_iou
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.validacion import check_int
from nucleo.validacion import check_number


@dataclass
class PrecisionRecall:
    """Curva de precisión-exhaustividad de una clase.

    Attributes:
        precision: (D,) precisión tras cada una de las D detecciones, por puntuación
            descendente.
        recall: (D,) exhaustividad tras cada detección.
        scores: (D,) puntuaciones en ese orden (el umbral de cada punto).
        ap: AP interpolada en todos los puntos; ``nan`` sin cajas verdaderas.
        n_ground_truth: cajas verdaderas de la clase.
    """

    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    ap: float
    n_ground_truth: int


def mean_average_precision(detections, ground_truths, iou_threshold: float = 0.5,
                           num_classes: int | None = None) -> tuple[float, dict[int, float]]:
    """mAP de VOC y AP de cada clase.

    Args:
        detections: una entrada por imagen: arreglo (N, 6) ``xmin, ymin, xmax, ymax,
            puntuación, clase`` (N puede ser 0).
        ground_truths: una entrada por imagen, en el mismo orden: (M, 5) ``xmin,
            ymin, xmax, ymax, clase``.
        iou_threshold: IoU mínima para acertar (0.5 VOC; 0.3 la de keras-yolo2).
        num_classes: número de clases; por defecto la mayor clase vista + 1.

    Returns:
        ``(mAP, {clase: AP})``: mAP es la media de las AP de las clases con alguna
        caja verdadera; las clases sin ninguna tienen AP ``nan``.

    Raises:
        ArgumentError: si las formas, las clases o el umbral no son válidos.
        DataError: si no hay ninguna caja verdadera (el mAP no está definido).

    Example:
        >>> mean_average_precision([np.array([[0, 0, 10, 10, 0.9, 0]])],
        ...                        [np.array([[0, 0, 10, 10, 0]])])
        (1.0, {0: 1.0})
    """
    curves = precision_recall_curves(detections, ground_truths, iou_threshold, num_classes)
    per_class = {c: curve.ap for c, curve in curves.items()}
    defined = [ap for ap in per_class.values() if not math.isnan(ap)]
    if not defined:
        raise DataError("mean_average_precision: no hay ninguna caja verdadera: el mAP "
                        "no está definido.")
    return float(np.mean(defined)), per_class


def precision_recall_curves(detections, ground_truths, iou_threshold: float = 0.5,
                            num_classes: int | None = None) -> dict[int, PrecisionRecall]:
    """Curvas de precisión-exhaustividad y AP por clase (para gráficos e informes).

    Args:
        detections: como en :func:`mean_average_precision`.
        ground_truths: como en :func:`mean_average_precision`.
        iou_threshold: IoU mínima para acertar.
        num_classes: número de clases; por defecto la mayor clase vista + 1.

    Returns:
        ``{clase: PrecisionRecall}`` para cada clase en ``range(num_classes)``.

    Raises:
        ArgumentError: si las formas, las clases o el umbral no son válidos.
    """
    check_number(iou_threshold, "iou_threshold", minimum=0, maximum=1)
    detections, ground_truths, num_classes = check_detections(detections, ground_truths,
                                                              num_classes)
    det_classes = [d[:, 5].astype(np.int64) for d in detections]
    gt_classes = [g[:, 4].astype(np.int64) for g in ground_truths]
    return {c: _class_curve(c, detections, ground_truths, det_classes, gt_classes,
                            iou_threshold) for c in range(num_classes)}


def check_detections(detections, ground_truths, num_classes: int | None = None, *,
                     where: str = "mean_average_precision"
                     ) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """Comprueba y convierte las detecciones y cajas verdaderas de varias imágenes.

    Args:
        detections: como en :func:`mean_average_precision`.
        ground_truths: como en :func:`mean_average_precision`.
        num_classes: número de clases; por defecto la mayor clase vista + 1.
        where: la función que llama, para los mensajes de error.

    Returns:
        ``(detecciones, verdades, num_classes)``: listas de arreglos ``float64`` (N, 6) y
        (M, 5) con clases enteras ≥ 0 y menores que ``num_classes``.

    Raises:
        ArgumentError: si las formas, las clases o el número de imágenes no son válidos.
    """
    detections = [_as_rows(d, 6, "detections", i) for i, d in enumerate(detections)]
    ground_truths = [_as_rows(g, 5, "ground_truths", i) for i, g in enumerate(ground_truths)]
    if len(detections) != len(ground_truths):
        raise ArgumentError(
            f"{where}: hay {len(detections)} imágenes con detecciones y "
            f"{len(ground_truths)} con cajas verdaderas; debe haber una entrada por imagen "
            "en ambas."
        )
    det_classes = [_classes(d[:, 5], "detections", i) for i, d in enumerate(detections)]
    gt_classes = [_classes(g[:, 4], "ground_truths", i) for i, g in enumerate(ground_truths)]
    seen = max([int(c.max()) + 1 for c in det_classes + gt_classes if len(c)], default=0)
    if num_classes is None:
        num_classes = max(seen, 1)
    check_int(num_classes, "num_classes", where=where)
    if seen > num_classes:
        raise ArgumentError(f"{where}: aparece la clase {seen - 1} con "
                            f"num_classes={num_classes}.")
    return detections, ground_truths, num_classes


def average_precision(recall, precision) -> float:
    """AP interpolada en todos los puntos (VOC 2010+) de una curva.

    Args:
        recall: (D,) exhaustividad creciente.
        precision: (D,) precisión en cada punto.

    Returns:
        El área bajo la envolvente de la curva, en [0, 1].
    """
    mrec = np.concatenate([[0.0], np.asarray(recall, np.float64), [1.0]])
    mpre = np.concatenate([[0.0], np.asarray(precision, np.float64), [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # máximo a la derecha
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def _class_curve(c, detections, ground_truths, det_classes, gt_classes,
                 threshold) -> PrecisionRecall:
    gt_boxes = [g[gc == c, :4] for g, gc in zip(ground_truths, gt_classes)]
    n_gt = sum(len(b) for b in gt_boxes)
    det_rows = [d[dc == c] for d, dc in zip(detections, det_classes)]
    image_of = np.concatenate([np.full(len(r), i) for i, r in enumerate(det_rows)]
                              ).astype(np.int64) if det_rows else np.zeros(0, np.int64)
    local = np.concatenate([np.arange(len(r)) for r in det_rows]).astype(np.int64) \
        if det_rows else np.zeros(0, np.int64)
    scores = np.concatenate([r[:, 4] for r in det_rows]) if det_rows else np.zeros(0)
    order = np.argsort(-scores, kind="stable")
    # IoU de cada detección con cada caja verdadera de su imagen: (n_det_i, n_gt_i)
    ious = [box_iou(r[:, :4], g) for r, g in zip(det_rows, gt_boxes)]
    matched = [np.zeros(len(g), bool) for g in gt_boxes]
    hit = np.zeros(len(order), bool)
    for rank, k in enumerate(order):
        image, row = image_of[k], local[k]
        if matched[image].size == 0:
            continue
        overlaps = ious[image][row]
        best = int(np.argmax(overlaps))
        if overlaps[best] >= threshold and not matched[image][best]:
            matched[image][best] = True
            hit[rank] = True
    true_positives = np.cumsum(hit)
    precision = true_positives / np.arange(1, len(hit) + 1)
    if n_gt == 0:
        return PrecisionRecall(precision, np.zeros(len(hit)), scores[order], math.nan, 0)
    recall = true_positives / n_gt
    return PrecisionRecall(precision, recall, scores[order],
                           average_precision(recall, precision), n_gt)


def _as_rows(array, columns: int, name: str, index: int) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.size == 0:
        return array.reshape(0, columns)
    if array.ndim != 2 or array.shape[1] != columns or not np.isfinite(array).all():
        layout = ("xmin, ymin, xmax, ymax, puntuación, clase" if columns == 6
                  else "xmin, ymin, xmax, ymax, clase")
        raise ArgumentError(f"{name}[{index}]: se esperaba un arreglo finito (N, {columns}) "
                            f"{layout}; recibida forma {array.shape}.")
    return array


def _classes(values: np.ndarray, name: str, index: int) -> np.ndarray:
    if len(values) and ((values < 0).any() or (values != np.round(values)).any()):
        raise ArgumentError(f"{name}[{index}]: las clases deben ser enteros ≥ 0; "
                            f"recibidas {values.tolist()}.")
    return values.astype(np.int64)


@dataclass
class OversizedBoxes:
    """Resultado de :func:`oversized_boxes`: cuántas detecciones se «tragan» a su objeto."""

    oversized: int
    matched: int

    @property
    def rate(self) -> float:
        """Fracción de detecciones emparejadas que son demasiado grandes (``nan`` si no hay
        ninguna emparejada)."""
        return self.oversized / self.matched if self.matched else math.nan


def oversized_boxes(detections, ground_truths, *, score_threshold: float = 0.3,
                    area_factor: float = 1.5, min_iou: float = 0.1) -> OversizedBoxes:
    """Detecciones que se tragan un objeto vecino: caja ≥ ``area_factor`` × la verdadera.

    Cada detección con puntuación ≥ ``score_threshold`` (las que se dibujan) se empareja
    con la caja verdadera de su clase en su imagen con la que más se solapa, si la IoU
    llega a ``min_iou``. Es «tragona» si su área es al menos ``area_factor`` veces la de
    esa caja (p. ej. la caja de un mapache en brazos de alguien que cubre a la persona).

    Args:
        detections, ground_truths: como en :func:`mean_average_precision`.

    Returns:
        Un :class:`OversizedBoxes` (``oversized``, ``matched`` y ``rate``).

    Example:
        >>> oversized_boxes([np.array([[0, 0, 20, 20, 0.9, 0]])],
        ...                 [np.array([[0, 0, 10, 10, 0]])]).rate
        1.0
    """
    check_number(score_threshold, "score_threshold", minimum=0, maximum=1)
    check_number(area_factor, "area_factor", minimum=1, maximum=1e6)
    check_number(min_iou, "min_iou", minimum=0, maximum=1, include_minimum=False)
    if len(detections) != len(ground_truths):
        raise ArgumentError(f"oversized_boxes: {len(detections)} imágenes con detecciones y "
                            f"{len(ground_truths)} con cajas verdaderas; deben coincidir.")
    oversized = matched = 0
    for i, (det, truth) in enumerate(zip(detections, ground_truths, strict=True)):
        det = _as_rows(det, 6, "detections", i)
        truth = _as_rows(truth, 5, "ground_truths", i)
        det = det[det[:, 4] >= score_threshold]
        if not len(det) or not len(truth):
            continue
        ious = box_iou(det[:, :4], truth[:, :4])
        ious[det[:, 5][:, None] != truth[:, 4][None, :]] = 0.0
        best = np.argmax(ious, axis=1)
        hit = ious[np.arange(len(det)), best] >= min_iou
        area = np.prod(np.clip(det[:, 2:4] - det[:, :2], 0, None), axis=1)
        truth_area = np.prod(np.clip(truth[:, 2:4] - truth[:, :2], 0, None), axis=1)[best]
        matched += int(hit.sum())
        oversized += int((hit & (area >= area_factor * truth_area)).sum())
    return OversizedBoxes(oversized, matched)
