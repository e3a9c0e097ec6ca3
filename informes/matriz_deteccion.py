"""Matriz de confusión de un detector y conteos por clase (aciertos, falsos positivos, fallos).

Mide las detecciones que se dibujan (puntuación ≥ un umbral, 0.3 por defecto), no la
curva entera como el mAP. En cada imagen, las detecciones y las cajas verdaderas se
emparejan **uno a uno por IoU, sin mirar la clase**, como ``ConfusionMatrix`` de
Ultralytics: de los pares con IoU ≥ ``iou_threshold`` cada detección se queda con su
caja de más IoU y, después, cada caja con su detección de más IoU (a igual IoU, la
caja y la detección anteriores). Con la clase fuera del emparejamiento, una caja
detectada con otra clase es un cambio de clase (fuera de la diagonal), no un fallo
más un falso positivo sueltos.

La matriz es ``(C + 1) × (C + 1)``: filas = la clase real y, la última, «fondo» (las
detecciones sin caja: falsos positivos); columnas = la clase predicha y, la última,
«fondo» (las cajas sin detección: fallos). Por clase ``c``:

- aciertos (TP) = ``M[c, c]``;
- falsos positivos (FP) = la columna ``c`` menos el acierto (fondo y cambios de clase);
- fallos (FN) = la fila ``c`` menos el acierto (no detectadas o con otra clase);
- TP + FN = las cajas verdaderas de la clase.

A diferencia de Ultralytics (``>``), la IoU y la puntuación cuentan desde el umbral
(``≥``), como en el mAP de :mod:`informes.metricas`.

Referencia:
    ultralytics/ultralytics, ``ultralytics/utils/metrics.py``, ``ConfusionMatrix``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datos.cajas import box_iou
from informes.metricas import check_detections
from informes.resultado import Table
from nucleo.validacion import check_number

#: El nombre de la fila y la columna de lo que no es ningún objeto.
BACKGROUND = "fondo"


@dataclass
class DetectionConfusion:
    """Resultado de :func:`detection_confusion`.

    Attributes:
        matrix: ``(C + 1, C + 1)`` enteros; filas = clase real + «fondo», columnas =
            clase predicha + «fondo».
        labels: las C clases.
        score_threshold: puntuación mínima de las detecciones contadas.
        iou_threshold: IoU mínima de un emparejamiento.
    """

    matrix: np.ndarray
    labels: list[str]
    score_threshold: float
    iou_threshold: float

    def counts(self) -> dict[str, dict[str, float]]:
        """``{clase: {"cajas", "aciertos", "falsos_positivos", "fallos", "precision",
        "exhaustividad", "f1"}}``; una proporción sin denominador vale ``nan``."""
        n = len(self.labels)
        hits = np.diag(self.matrix)[:n]
        false_pos = self.matrix[:, :n].sum(axis=0) - hits
        misses = self.matrix[:n].sum(axis=1) - hits
        out = {}
        for c, label in enumerate(self.labels):
            tp, fp, fn = int(hits[c]), int(false_pos[c]), int(misses[c])
            precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
            # F1 = 2·TP / (2·TP + FP + FN): la media armónica de las dos, y 0 (no nan)
            # para una clase con cajas y ninguna detección.
            f1 = _ratio(2 * tp, 2 * tp + fp + fn)
            out[label] = {"cajas": tp + fn, "aciertos": tp, "falsos_positivos": fp,
                          "fallos": fn, "precision": precision, "exhaustividad": recall,
                          "f1": f1}
        return out

    @property
    def condition(self) -> str:
        """«puntuación ≥ 0.3, IoU ≥ 0.5», para títulos."""
        return f"puntuación ≥ {self.score_threshold:g}, IoU ≥ {self.iou_threshold:g}"

    def table(self) -> Table:
        """La tabla «Conteo por clase» (cajas, TP, FP, FN, precisión, exhaustividad, F1)."""
        rows = [(label, c["cajas"], c["aciertos"], c["falsos_positivos"], c["fallos"],
                 *(_cell(c[key]) for key in ("precision", "exhaustividad", "f1")))
                for label, c in self.counts().items()]
        return Table(f"Conteo por clase ({self.condition})",
                     ("Clase", "Cajas", "Aciertos (TP)", "Falsos positivos (FP)",
                      "Fallos (FN)", "Precisión", "Exhaustividad", "F1"), rows)

    def to_json(self) -> dict:
        """La matriz con sus etiquetas y umbrales, para el JSON del informe."""
        return {"etiquetas": [*self.labels, BACKGROUND],
                "filas": "clase real (fondo: falsos positivos)",
                "columnas": "clase predicha (fondo: cajas no detectadas)",
                "umbral": self.score_threshold, "iou": self.iou_threshold,
                "matriz": self.matrix.tolist()}

    def plot(self, path) -> Path:
        """Dibuja la matriz en PNG: conteos anotados y color normalizado por fila."""
        return plot_detection_confusion(self, path)


def detection_confusion(detections, ground_truths, labels: Sequence[str], *,
                        score_threshold: float = 0.3,
                        iou_threshold: float = 0.5) -> DetectionConfusion:
    """Matriz de confusión de detección con fila y columna de «fondo».

    Args:
        detections: una entrada por imagen: (N, 6) ``xmin, ymin, xmax, ymax, puntuación,
            clase``.
        ground_truths: una entrada por imagen, en el mismo orden: (M, 5) ``xmin, ymin,
            xmax, ymax, clase``.
        labels: nombres de las clases (su número fija C).
        score_threshold: solo cuentan las detecciones con puntuación ≥ este valor.
        iou_threshold: IoU mínima para emparejar una detección con una caja.

    Returns:
        Un :class:`DetectionConfusion`.

    Raises:
        ArgumentError: si las formas, las clases o los umbrales no son válidos.

    Example:
        >>> detection_confusion([np.array([[0, 0, 10, 10, 0.9, 1]])],
        ...                     [np.array([[0, 0, 10, 10, 0]])], ["a", "b"]).matrix
        array([[0, 1, 0],
               [0, 0, 0],
               [0, 0, 0]])
    """
    check_number(score_threshold, "score_threshold", minimum=0, maximum=1)
    check_number(iou_threshold, "iou_threshold", minimum=0, maximum=1, include_minimum=False)
    labels = [str(label) for label in labels]
    detections, ground_truths, n = check_detections(
        detections, ground_truths, len(labels), where="detection_confusion")
    matrix = np.zeros((n + 1, n + 1), np.int64)
    for det, truth in zip(detections, ground_truths, strict=True):
        det = det[det[:, 4] >= score_threshold]
        truth_of, det_of = _match(det[:, :4], truth[:, :4], iou_threshold)
        # La columna «fondo» (n) al final de las clases predichas: det_of = -1 la señala.
        det_class = np.append(det[:, 5].astype(np.int64), n)
        np.add.at(matrix, (truth[:, 4].astype(np.int64), det_class[det_of]), 1)
        np.add.at(matrix, (n, det_class[:-1][truth_of < 0]), 1)
    return DetectionConfusion(matrix, labels, float(score_threshold), float(iou_threshold))


def _match(det_boxes, true_boxes, threshold) -> tuple[np.ndarray, np.ndarray]:
    """Emparejamiento uno a uno por IoU de Ultralytics.

    Returns:
        ``(caja de cada detección, detección de cada caja)``; -1 si no tiene pareja.
    """
    truth_of = np.full(len(det_boxes), -1)
    det_of = np.full(len(true_boxes), -1)
    if not len(det_boxes) or not len(true_boxes):
        return truth_of, det_of
    ious = box_iou(true_boxes, det_boxes)                       # (M, N)
    gt, dt = np.nonzero(ious >= threshold)
    # Por IoU descendente; a igual IoU, la caja y la detección anteriores primero.
    order = np.lexsort((dt, gt, -ious[gt, dt]))
    gt, dt = gt[order], dt[order]
    _, first = np.unique(dt, return_index=True)                 # la mejor caja de cada detección
    keep = np.sort(first)
    gt, dt = gt[keep], dt[keep]
    _, first = np.unique(gt, return_index=True)                 # y la mejor detección de cada caja
    gt, dt = gt[first], dt[first]
    truth_of[dt], det_of[gt] = gt, dt
    return truth_of, det_of


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else math.nan


def _cell(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def plot_detection_confusion(confusion: DetectionConfusion, path) -> Path:
    """PNG de la matriz: cada celda con su conteo y el color de su proporción en la fila
    (la de una clase real: de sus cajas; la de «fondo»: de los falsos positivos).

    Returns:
        La ruta escrita.
    """
    from informes.graficos import new_figure
    from informes.graficos import save_figure

    counts = confusion.matrix.astype(float)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    names = [*confusion.labels, BACKGROUND]
    n = len(names)
    side = max(4.0, 0.7 * n + 2.5)
    fig = new_figure(side + 1.2, side)
    ax = fig.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label="Proporción de la fila")
    ax.set_xticks(range(n), labels=names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), labels=names)
    ax.set_xlabel("Clase predicha (fondo: caja no detectada)")
    ax.set_ylabel("Clase real (fondo: falso positivo)")
    ax.set_title(f"Matriz de confusión\n({confusion.condition})")
    for row in range(n):
        for col in range(n):
            if row == col == n - 1:
                continue  # fondo con fondo: no se cuenta
            ax.text(col, row, f"{int(counts[row, col])}", ha="center", va="center",
                    color="white" if shares[row, col] > 0.5 else "black",
                    fontsize=10 if n <= 12 else 7)
    return save_figure(fig, path)
