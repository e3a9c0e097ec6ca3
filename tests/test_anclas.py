"""Pruebas de tareas/deteccion/anclas.py: k-means con distancia 1 − IoU."""

import numpy as np
import pytest

from datos.anotaciones import VocImage
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from tareas.deteccion.anclas import boxes_wh
from tareas.deteccion.anclas import kmeans_anchors
from tareas.deteccion.anclas import mean_iou

CENTRES = np.array([[0.5, 0.8], [1.5, 1.0], [2.0, 4.0], [5.0, 2.5], [8.0, 9.0]])


def _clusters(seed=0, per_cluster=80, spread=0.05):
    rng = np.random.default_rng(seed)
    # Ruido multiplicativo: misma dispersión relativa en cajas grandes y pequeñas.
    return np.concatenate([c * np.exp(rng.normal(0, spread, (per_cluster, 2)))
                           for c in CENTRES])


def test_recovers_known_clusters_sorted_by_area():
    anchors, iou = kmeans_anchors(_clusters(), k=5, seed=0)
    np.testing.assert_allclose(anchors, CENTRES, rtol=0.05)  # CENTRES ya va por área
    areas = anchors[:, 0] * anchors[:, 1]
    assert (np.diff(areas) > 0).all()
    assert iou > 0.9 and iou == pytest.approx(mean_iou(_clusters(), anchors))


def test_beats_random_anchors():
    rng = np.random.default_rng(1)
    wh = rng.lognormal(mean=0.5, sigma=0.6, size=(400, 2))  # cajas variadas, sin grupos
    _, iou = kmeans_anchors(wh, k=5, seed=0)
    for seed in range(10):
        random_anchors = np.random.default_rng(seed).uniform(wh.min(0), wh.max(0), (5, 2))
        assert iou > mean_iou(wh, random_anchors)
        assert iou > mean_iou(wh, wh[np.random.default_rng(seed).choice(400, 5)])


def test_deterministic_and_more_anchors_cover_better():
    wh = _clusters(seed=2, spread=0.3)
    a1, iou1 = kmeans_anchors(wh, k=3, seed=4)
    a2, iou2 = kmeans_anchors(wh, k=3, seed=4)
    np.testing.assert_array_equal(a1, a2)
    assert iou1 == iou2
    assert kmeans_anchors(wh, k=6, seed=4)[1] > iou1


def test_bad_inputs():
    with pytest.raises(DataError, match="al menos tantas cajas"):
        kmeans_anchors(np.ones((3, 2)), k=5)
    with pytest.raises(ArgumentError, match="positivos"):
        kmeans_anchors([[1, 0], [1, 1]], k=1)
    with pytest.raises(ArgumentError, match="«k»"):
        kmeans_anchors(np.ones((3, 2)), k=0)


def test_boxes_wh_in_grid_units():
    records = [VocImage("a.jpg", 640, 480, np.array([[0, 0, 320, 120]], np.float32), ["x"]),
               VocImage("b.jpg", 100, 100, np.zeros((0, 4), np.float32), []),
               VocImage("c.jpg", 416, 416, np.array([[10, 10, 42, 74]], np.float32), ["x"])]
    # Red de 416 y rejilla 13: la mitad del ancho = 6.5 celdas; 120/480 del alto = 3.25.
    np.testing.assert_allclose(boxes_wh(records, 416), [[6.5, 3.25], [1, 2]])
    np.testing.assert_allclose(boxes_wh(records, (320, 416)), [[6.5, 2.5], [1, 64 / 416 * 10]])
    assert boxes_wh(records[1:2], 416).shape == (0, 2)
