"""Pruebas de datos/cajas.py: IoU, conversiones, recorte y tamaños de rejilla."""

import numpy as np
import pytest

from datos.cajas import as_size
from datos.cajas import box_area
from datos.cajas import box_iou
from datos.cajas import clip_boxes
from datos.cajas import cxcywh_to_xyxy
from datos.cajas import scale_boxes
from datos.cajas import wh_iou
from datos.cajas import xyxy_to_cxcywh
from nucleo.errores import ArgumentError


def test_box_iou_golden_values():
    a = [[0, 0, 2, 2], [10, 10, 12, 14]]
    b = [[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6], [10, 12, 12, 16]]
    expected = np.array([[1 / 7, 1.0, 0.0, 0.0],
                         [0.0, 0.0, 0.0, 4 / 12]])
    np.testing.assert_allclose(box_iou(a, b), expected)
    np.testing.assert_allclose(box_iou(b, a), expected.T)  # simétrica


def test_touching_and_empty_boxes_give_zero_not_nan():
    iou = box_iou([[0, 0, 1, 1], [3, 3, 3, 5]], [[1, 0, 2, 1], [3, 3, 3, 5]])
    assert np.isfinite(iou).all()
    np.testing.assert_array_equal(iou, np.zeros((2, 2)))
    assert box_area([[2, 2, 1, 5]])[0] == 0.0  # invertida: área 0


def test_single_box_and_empty_sets():
    assert box_iou([0, 0, 1, 1], [0, 0, 1, 1]).shape == (1, 1)
    assert box_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)


def test_wh_iou_golden():
    np.testing.assert_allclose(wh_iou([[2, 2]], [[1, 4], [2, 2], [4, 4]]),
                               [[2 / 6, 1.0, 4 / 16]])


def test_conversions_round_trip():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (20, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, 50, (20, 2))], axis=1)
    centre = xyxy_to_cxcywh(boxes)
    np.testing.assert_allclose(centre[0], [(boxes[0, 0] + boxes[0, 2]) / 2,
                                           (boxes[0, 1] + boxes[0, 3]) / 2,
                                           boxes[0, 2] - boxes[0, 0], boxes[0, 3] - boxes[0, 1]])
    np.testing.assert_allclose(cxcywh_to_xyxy(centre), boxes)


def test_clip_and_scale():
    clipped = clip_boxes([[-5, 3, 50, 80], [200, 200, 300, 300]], width=40, height=60)
    np.testing.assert_array_equal(clipped, [[0, 3, 40, 60], [40, 60, 40, 60]])
    assert box_area(clipped)[1] == 0  # totalmente fuera: vacía
    np.testing.assert_array_equal(scale_boxes([[10, 20, 30, 40]], 0.5, 2), [[5, 40, 15, 80]])


def test_bad_shapes_name_the_argument():
    with pytest.raises(ArgumentError, match="boxes_a.*\\(N, 4\\)"):
        box_iou([[0, 1, 2]], [[0, 0, 1, 1]])
    with pytest.raises(ArgumentError, match="wh_b"):
        wh_iou([[1, 1]], [[1, 1, 1]])


def test_sizes():
    assert as_size(416) == (416, 416)
    assert as_size((320, 416)) == (320, 416)
    with pytest.raises(ArgumentError, match="image_size"):
        as_size("416")
