"""Fotos llenas de objetos: el búfer de cajas de la pérdida no elige por tamaño, su tamaño
sale de los datos, y se dice al empezar cuántos objetos comparten celda y ancla."""

from __future__ import annotations

import numpy as np
import pytest

from modelos.yolo.objetivos import VOC_ANCHORS
from modelos.yolo.objetivos import buffer_choice
from modelos.yolo.objetivos import encode_targets
from modelos.yolo.objetivos import shared_cells

pytestmark = pytest.mark.neutral


def _crowded():
    """6 cajas grandes y 6 pequeñas de 416×416, cada una en su celda (13×13)."""
    big = [[32 * i, 0, 32 * i + 96, 96] for i in range(0, 12, 2)]
    small = [[32 * i + 8, 320, 32 * i + 20, 332] for i in range(0, 12, 2)]
    return np.array(big + small, float), np.zeros(12, np.int64)


def test_the_buffer_does_not_keep_only_the_largest_boxes():
    boxes, labels = _crowded()
    kept_small = []
    for seed in range(40):
        _, true_boxes = encode_targets(boxes, labels, 416, 13, VOC_ANCHORS, 1, 6, seed=seed)
        widths = true_boxes[:, 2] * 32                       # en píxeles
        assert np.count_nonzero(widths) == 6
        kept_small.append(int(np.sum((widths > 0) & (widths < 20))))
    # Con el criterio del área (keras-yolo2) serían siempre 0 pequeñas de 6.
    assert 0.3 < np.mean(kept_small) / 6 < 0.7
    # Determinista con la semilla.
    first = encode_targets(boxes, labels, 416, 13, VOC_ANCHORS, 1, 6, seed=3)[1]
    again = encode_targets(boxes, labels, 416, 13, VOC_ANCHORS, 1, 6, seed=3)[1]
    np.testing.assert_array_equal(first, again)


def test_one_box_per_cell_and_anchor_first():
    # 0, 1 y 2 comparten celda y ancla (gana la 2); 3, 4 y 5 tienen la suya.
    chosen = [buffer_choice(6, winners=[2, 3, 4, 5], max_boxes=4, seed=s) for s in range(10)]
    assert all(c.tolist() == [2, 3, 4, 5] for c in chosen)
    some = {tuple(buffer_choice(6, [2, 3, 4, 5], 2, seed=s)) for s in range(20)}
    assert len(some) > 1 and all(set(c) <= {2, 3, 4, 5} for c in some)
    assert {2, 3, 4, 5} < set(buffer_choice(6, [2, 3, 4, 5], 5, seed=0).tolist())


def test_shared_cells_counts_the_objects_that_lose_their_place():
    same = [[0, 0, 30, 30], [2, 2, 28, 28], [100, 100, 130, 130]]
    assert shared_cells(same, 416, 13, VOC_ANCHORS) == 1
    assert shared_cells(same[:1] + same[2:], 416, 13, VOC_ANCHORS) == 0
    # Con una rejilla más fina (la de --tamanio 832 sobre la misma foto) se separan.
    apart = [[0, 0, 14, 14], [16, 16, 30, 30]]
    assert shared_cells(apart, 416, 13, VOC_ANCHORS) == 1
    assert shared_cells(apart, 416, 26, VOC_ANCHORS) == 0
