"""Pruebas de informes/metricas.py: mAP de VOC, casos dorados y una referencia."""

import math

import numpy as np
import pytest

from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from informes.metricas import average_precision
from informes.metricas import mean_average_precision
from informes.metricas import precision_recall_curves


def _det(*rows):
    return np.array(rows, dtype=float).reshape(-1, 6)


def _gt(*rows):
    return np.array(rows, dtype=float).reshape(-1, 5)


def test_perfect_detections_give_one():
    gts = [_gt([0, 0, 10, 10, 0], [20, 20, 30, 30, 1]), _gt([5, 5, 15, 25, 0])]
    dets = [np.c_[g[:, :4], np.full(len(g), 0.9), g[:, 4]] for g in gts]
    m, per_class = mean_average_precision(dets, gts)
    assert m == 1.0 and per_class == {0: 1.0, 1: 1.0}


def test_false_positive_ranked_first():
    # Orden: FP (0.9), TP (0.8): precisión [0, 1/2], exhaustividad [0, 1] -> AP 0.5
    gts = [_gt([0, 0, 10, 10, 0])]
    dets = [_det([50, 50, 60, 60, 0.9, 0], [0, 0, 10, 10, 0.8, 0])]
    m, per_class = mean_average_precision(dets, gts)
    assert m == pytest.approx(0.5) and per_class[0] == pytest.approx(0.5)
    # El mismo falso positivo por detrás no cuesta nada.
    dets = [_det([50, 50, 60, 60, 0.1, 0], [0, 0, 10, 10, 0.8, 0])]
    assert mean_average_precision(dets, gts)[0] == pytest.approx(1.0)


def test_duplicates_count_as_false_positives():
    # Dos cajas verdaderas; la primera se detecta dos veces (el duplicado en medio).
    gts = [_gt([0, 0, 10, 10, 0], [20, 0, 30, 10, 0])]
    dets = [_det([0, 0, 10, 10, 0.9, 0], [0, 0, 10, 10.5, 0.8, 0],
                 [20, 0, 30, 10, 0.7, 0])]
    curve = precision_recall_curves(dets, gts)[0]
    np.testing.assert_allclose(curve.precision, [1, 1 / 2, 2 / 3])
    np.testing.assert_allclose(curve.recall, [0.5, 0.5, 1.0])
    # Envolvente: 0.5 * 1 + 0.5 * 2/3
    assert curve.ap == pytest.approx(0.5 + 1 / 3)


def test_class_without_ground_truth_is_nan_and_left_out_of_the_mean():
    gts = [_gt([0, 0, 10, 10, 0])]
    dets = [_det([0, 0, 10, 10, 0.9, 0], [30, 30, 40, 40, 0.95, 2])]
    m, per_class = mean_average_precision(dets, gts, num_classes=3)
    assert math.isnan(per_class[1]) and math.isnan(per_class[2])
    assert per_class[0] == 1.0 and m == 1.0  # la detección de la clase 2 no baja el mAP
    # Una clase con cajas y sin detecciones sí cuenta, con AP 0.
    gts = [_gt([0, 0, 10, 10, 0], [20, 20, 30, 30, 1])]
    m, per_class = mean_average_precision([_det([0, 0, 10, 10, 0.9, 0])], gts)
    assert per_class[1] == 0.0 and m == pytest.approx(0.5)


def test_iou_threshold_and_wrong_class():
    gts = [_gt([0, 0, 10, 10, 0])]
    dets = [_det([0, 0, 10, 5, 0.9, 0])]  # IoU 0.5 exacta: acierto con >=
    assert mean_average_precision(dets, gts, iou_threshold=0.5)[0] == 1.0
    assert mean_average_precision(dets, gts, iou_threshold=0.6)[0] == 0.0
    dets = [_det([0, 0, 10, 10, 0.9, 1])]  # clase equivocada
    assert mean_average_precision(dets, gts, num_classes=2)[0] == 0.0
    dets = [_det([0, 0, 10, 4, 0.9, 0])]  # IoU 0.4: vale con el 0.3 de keras-yolo2
    assert mean_average_precision(dets, gts, iou_threshold=0.3)[0] == 1.0
    assert mean_average_precision(dets, gts)[0] == 0.0


def test_curves_expose_scores_in_order():
    gts = [_gt([0, 0, 10, 10, 0]), _gt()]
    dets = [_det([0, 0, 10, 10, 0.3, 0]), _det([0, 0, 10, 10, 0.7, 0])]
    curve = precision_recall_curves(dets, gts)[0]
    np.testing.assert_array_equal(curve.scores, [0.7, 0.3])
    np.testing.assert_allclose(curve.precision, [0, 0.5])
    assert curve.n_ground_truth == 1


def test_bad_inputs():
    with pytest.raises(ArgumentError, match="detections\\[0\\]"):
        mean_average_precision([np.zeros((1, 5))], [_gt()])
    with pytest.raises(ArgumentError, match="una entrada por imagen"):
        mean_average_precision([_det()], [_gt(), _gt()])
    with pytest.raises(ArgumentError, match="clases deben ser enteros"):
        mean_average_precision([_det()], [_gt([0, 0, 1, 1, 0.5])])
    with pytest.raises(ArgumentError, match="num_classes"):
        mean_average_precision([_det()], [_gt([0, 0, 1, 1, 3])], num_classes=2)
    with pytest.raises(DataError, match="ninguna caja verdadera"):
        mean_average_precision([_det([0, 0, 1, 1, 0.5, 0])], [_gt()])


# === Referencia independiente: bucles sencillos, sin numpy vectorizado ===

def _iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _reference_ap(dets, gts, c, threshold):
    truths = {i: [list(g[:4]) for g in gt if int(g[4]) == c] for i, gt in enumerate(gts)}
    used = {i: [False] * len(t) for i, t in truths.items()}
    n_gt = sum(len(t) for t in truths.values())
    found = [(d[4], i, list(d[:4])) for i, det in enumerate(dets) for d in det if int(d[5]) == c]
    found = sorted(found, key=lambda item: -item[0])
    tp, fp = [], []
    for _, i, box in found:
        best, best_j = -1.0, -1
        for j, truth in enumerate(truths[i]):
            value = _iou(box, truth)
            if value > best:
                best, best_j = value, j
        if best >= threshold and not used[i][best_j]:
            used[i][best_j] = True
            tp.append(1)
            fp.append(0)
        else:
            tp.append(0)
            fp.append(1)
    if n_gt == 0:
        return math.nan
    # voc_ap(use_07_metric=False) del devkit, con bucles
    rec, prec, acc_tp, acc_fp = [], [], 0, 0
    for t, f in zip(tp, fp):
        acc_tp += t
        acc_fp += f
        rec.append(acc_tp / n_gt)
        prec.append(acc_tp / (acc_tp + acc_fp))
    mrec = [0.0] + rec + [1.0]
    mpre = [0.0] + prec + [0.0]
    for k in range(len(mpre) - 2, -1, -1):
        mpre[k] = max(mpre[k], mpre[k + 1])
    return sum((mrec[k + 1] - mrec[k]) * mpre[k + 1] for k in range(len(mrec) - 1)
               if mrec[k + 1] != mrec[k])


def _random_case(rng, n_images=12, n_classes=3):
    dets, gts = [], []
    for _ in range(n_images):
        n = rng.integers(0, 6)
        xy = rng.uniform(0, 80, (n, 2))
        g = np.c_[xy, xy + rng.uniform(5, 30, (n, 2)), rng.integers(0, n_classes, n)]
        # Detecciones: cajas verdaderas perturbadas (algunas duplicadas) y ruido.
        near = g[rng.integers(0, max(n, 1), rng.integers(0, 2 * n + 1))] if n else \
            np.zeros((0, 5))
        near = near.copy()
        near[:, :4] += rng.normal(0, 4, (len(near), 4))
        near[:, 2:4] = np.maximum(near[:, 2:4], near[:, :2] + 1)
        m = rng.integers(0, 4)
        xy = rng.uniform(0, 80, (m, 2))
        noise = np.c_[xy, xy + rng.uniform(5, 30, (m, 2)), rng.integers(0, n_classes, m)]
        boxes = np.concatenate([near, noise])
        d = np.c_[boxes[:, :4], rng.random(len(boxes)), boxes[:, 4]]
        dets.append(d)
        gts.append(g)
    return dets, gts


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("threshold", [0.3, 0.5])
def test_matches_independent_reference(seed, threshold):
    rng = np.random.default_rng(seed)
    dets, gts = _random_case(rng)
    m, per_class = mean_average_precision(dets, gts, iou_threshold=threshold, num_classes=3)
    reference = {c: _reference_ap(dets, gts, c, threshold) for c in range(3)}
    for c in range(3):
        if math.isnan(reference[c]):
            assert math.isnan(per_class[c])
        else:
            assert per_class[c] == pytest.approx(reference[c], abs=1e-6)
    defined = [v for v in reference.values() if not math.isnan(v)]
    assert m == pytest.approx(sum(defined) / len(defined), abs=1e-6)


def test_average_precision_envelope():
    assert average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]) == pytest.approx(5 / 6)
    assert average_precision([], []) == 0.0
