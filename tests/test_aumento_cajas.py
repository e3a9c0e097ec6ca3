"""Aumento con cajas (detección): imagen y cajas transformadas juntas por imgaug."""

import numpy as np
import pytest

from datos.aumento import make_augmenter
from datos.cajas import box_iou
from nucleo.errores import ArgumentError


def _bright_rectangle(box=(40, 30, 90, 60), size=(96, 128)):
    image = np.zeros((*size, 3), np.uint8)
    x0, y0, x1, y1 = box
    image[y0:y1, x0:x1] = 255
    return image, np.array([box], np.float32)


def _bright_bbox(image):
    mask = image.mean(axis=-1) > 128
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]


def test_boxes_follow_their_object_under_many_seeds():
    image, box = _bright_rectangle()
    moved = 0
    for seed in range(60):
        augmenter = make_augmenter(seed=seed, geometric_probability=1.0)
        out, boxes, labels = augmenter(image, box, ["lego"])
        assert out.shape == image.shape and labels == ["lego"] and boxes.shape == (1, 4)
        assert box_iou(boxes, [_bright_bbox(out)])[0, 0] >= 0.8, seed
        moved += not np.allclose(boxes, box, atol=0.5)
    assert moved >= 50  # la geometría sí se aplica a las cajas


def test_flip_is_exact():
    image, box = _bright_rectangle()
    flip = make_augmenter(seed=0, max_photometric=0, geometric_probability=0.0, flip=1.0)
    out, boxes = flip(image, box)
    np.testing.assert_array_equal(out, image[:, ::-1])
    np.testing.assert_allclose(boxes, [[128 - 90, 30, 128 - 40, 60]])


def test_partly_outside_clipped_and_mostly_outside_dropped_with_label():
    identity = make_augmenter(seed=0, geometric=False, max_photometric=0)
    image = np.zeros((64, 64, 3), np.uint8)
    boxes = [[-10, 5, 20, 30],   # 2/3 dentro: se recorta
             [-50, 5, 5, 30],    # 1/11 dentro: se descarta
             [10, 10, 11, 40],   # 1 píxel de ancho: se descarta (min_box_size=2)
             [30, 30, 60, 70]]   # 26/40 dentro: se recorta
    out, kept, labels = identity(image, boxes, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(out, image)
    np.testing.assert_allclose(kept, [[0, 5, 20, 30], [30, 30, 60, 64]])
    assert labels == ["a", "d"]
    assert kept.dtype == np.float32
    loose = make_augmenter(seed=0, geometric=False, max_photometric=0, min_visible=0.0,
                           min_box_size=0.0)
    assert loose(image, boxes, [0, 1, 2, 3])[2] == [0, 1, 2, 3]


def test_boxes_pushed_out_by_translation_are_dropped():
    image, _ = _bright_rectangle()
    shift = make_augmenter(seed=0, max_photometric=0, flip=0.0, geometric_probability=1.0,
                           scale=(1.0, 1.0), translate=0.5)
    dropped = 0
    for _ in range(30):
        out, boxes, labels = shift(image, [[0, 0, 20, 20], [50, 40, 70, 60]], ["borde", "centro"])
        assert len(boxes) == len(labels)
        dropped += "borde" not in labels
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= 128).all() \
            and (boxes[:, 3] <= 96).all()
    assert dropped > 0


def test_batch_with_seed_is_reproducible_and_float_kept():
    augmenter = make_augmenter(seed=3)
    images = np.random.default_rng(0).random((3, 32, 48, 3)).astype(np.float32)
    boxes = [np.array([[2, 2, 20, 20]]), np.zeros((0, 4)), np.array([[5, 5, 30, 25],
                                                                     [1, 1, 9, 9]])]
    labels = [[0], [], [1, 2]]
    first = augmenter.augment_with_boxes(images, boxes, labels, seed=11)
    augmenter(np.zeros((8, 8, 3), np.uint8))  # avanza el estado propio
    second = augmenter.augment_with_boxes(images, boxes, labels, seed=11)
    np.testing.assert_array_equal(first[0], second[0])
    for a, b in zip(first[1], second[1]):
        np.testing.assert_array_equal(a, b)
    assert first[2] == second[2] and first[0].dtype == np.float32
    assert first[1][1].shape == (0, 4)
    assert augmenter.augment_with_boxes(images, boxes)[2] is None


def test_classification_call_unchanged():
    augmenter = make_augmenter(seed=1)
    out = augmenter(np.zeros((16, 16, 3), np.uint8))
    assert isinstance(out, np.ndarray) and out.shape == (16, 16, 3)
    # Sin cajas, la llamada de clasificación devuelve solo la imagen y es el mismo aumento
    # que el del lote y que el de la imagen con cajas (las cajas no cambian los píxeles).
    image = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    changed = 0
    for seed in range(4):
        alone = make_augmenter(seed=seed)(image)
        assert alone.dtype == np.uint8 and alone.shape == image.shape
        np.testing.assert_array_equal(
            alone, make_augmenter(seed=seed).augment_batch(image[np.newaxis])[0])
        with_boxes, _ = make_augmenter(seed=seed)(image, [[4, 4, 20, 20]])
        np.testing.assert_array_equal(alone, with_boxes)
        changed += not np.array_equal(alone, image)
    assert changed >= 2  # y sí aumenta
    # Con solo el volteo, el resultado exacto.
    flip = make_augmenter(seed=0, max_photometric=0, geometric_probability=0.0, flip=1.0)
    np.testing.assert_array_equal(flip(image), image[:, ::-1])


def test_bad_box_arguments():
    augmenter = make_augmenter(seed=0)
    image = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(ArgumentError, match="labels.*boxes"):
        augmenter(image, labels=["a"])
    with pytest.raises(ArgumentError, match="\\(N, 4\\)"):
        augmenter(image, [[0, 0, 4]])
    with pytest.raises(ArgumentError, match="una etiqueta por caja"):
        augmenter(image, [[0, 0, 4, 4]], ["a", "b"])
    with pytest.raises(ArgumentError, match="conjuntos de cajas"):
        augmenter.augment_with_boxes(image[None], [])
    with pytest.raises(ArgumentError, match="min_visible"):
        make_augmenter(min_visible=1.5)
