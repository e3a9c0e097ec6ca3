"""Pruebas de modelos/yolo/decodificacion.py: decode, nms, detect y detect_batch.

Las salidas de la red se escriben a mano (rejilla 2×2) para que cada caja decodificada
se pueda calcular en papel.
"""

import math

import numpy as np
import pytest

from nucleo.entorno import prepare_backend

prepare_backend()

import keras  # noqa: E402

from nucleo.errores import ArgumentError  # noqa: E402
from nucleo.errores import DataError  # noqa: E402
from modelos.registro import BuilderSpec  # noqa: E402
from modelos.yolo.decodificacion import decode  # noqa: E402
from modelos.yolo.decodificacion import decode_batch  # noqa: E402
from modelos.yolo.decodificacion import detect  # noqa: E402
from modelos.yolo.decodificacion import detect_batch  # noqa: E402
from modelos.yolo.decodificacion import nms  # noqa: E402

pytestmark = pytest.mark.neutral

ANCHORS = [[2.0, 1.0], [0.5, 0.5]]
OFF = -30.0  # logit de objeto de las anclas vacías: σ ≈ 1e-13


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _netout(n_classes=2):
    """(2, 2, 2, 5 + C) sin ninguna caja."""
    netout = np.zeros((2, 2, 2, 5 + n_classes), np.float32)
    netout[..., 4] = OFF
    return netout


def _put(netout, row, col, anchor, t=(0.0, 0.0, 0.0, 0.0), objectness=10.0, logits=(0, 3)):
    netout[row, col, anchor, :4] = t
    netout[row, col, anchor, 4] = objectness
    netout[row, col, anchor, 5:] = logits


def _class_prob(logits, k):
    exps = np.exp(np.asarray(logits, np.float64))
    return exps[k] / exps.sum()


# === decode ===

def test_decode_golden_box():
    netout = _netout()
    # Fila 1, columna 0, ancla 0 (2×1 celdas): σ(0) = ½ -> centro (0.5, 1.5) celdas;
    # tw = log ½ -> ancho 1 celda; th = 0 -> alto 1. Relativo a la rejilla 2×2:
    # centro (0.25, 0.75), lado 0.5 -> [0, 0.5, 0.5, 1].
    _put(netout, 1, 0, 0, t=(0.0, 0.0, math.log(0.5), 0.0), objectness=2.0, logits=(0, 3))
    boxes = decode(netout, ANCHORS, obj_threshold=0.3)
    assert boxes.shape == (1, 6) and boxes.dtype == np.float32
    np.testing.assert_allclose(boxes[0, :4], [0.0, 0.5, 0.5, 1.0], atol=1e-6)
    assert boxes[0, 4] == pytest.approx(_sigmoid(2.0) * _class_prob([0, 3], 1), rel=1e-5)
    assert boxes[0, 5] == 1


def test_decode_offsets_non_square_grid():
    # Rejilla 2 filas × 3 columnas: x sobre el ancho (3), y sobre el alto (2).
    netout = np.full((2, 3, 1, 6), 0.0, np.float32)
    netout[..., 4] = OFF
    netout[0, 2, 0] = [math.log(3.0), 0.0, 0.0, 0.0, 10.0, 0.0]  # σ(tx) = 0.75
    boxes = decode(netout, [[1.5, 1.0]])
    cx, cy = (2 + 0.75) / 3, 0.5 / 2
    np.testing.assert_allclose(boxes[0, :4], [cx - 0.25, cy - 0.25, cx + 0.25, cy + 0.25],
                               atol=1e-6)


def test_decode_threshold_is_inclusive():
    netout = _netout()
    _put(netout, 0, 0, 1, objectness=30.0, logits=(0, 0))  # puntuación 1 · ½ exacta
    assert decode(netout, ANCHORS, obj_threshold=0.5)[:, 4].tolist() == [0.5]
    assert len(decode(netout, ANCHORS, obj_threshold=0.5001)) == 0


def test_decode_score_uses_best_class_probability():
    netout = _netout(n_classes=3)
    _put(netout, 0, 1, 0, objectness=_logit(0.8), logits=(0.0, 0.0, 0.0))
    boxes = decode(netout, ANCHORS, obj_threshold=0.2)
    assert boxes[0, 4] == pytest.approx(0.8 / 3, rel=1e-5) and boxes[0, 5] == 0
    assert len(decode(netout, ANCHORS, obj_threshold=0.3)) == 0


def _logit(p):
    return math.log(p / (1.0 - p))


def test_decode_nms_suppresses_same_class_keeps_other_class():
    netout = _netout()
    # Tres cajas casi iguales (la misma ancla 2×1 en celdas vecinas con desplazamientos
    # que las juntan) y una cuarta de otra clase en el mismo sitio.
    _put(netout, 0, 0, 0, t=(4.0, 0, 0, 0), objectness=4.0, logits=(0, 5))
    _put(netout, 0, 1, 0, t=(-4.0, 0, 0, 0), objectness=3.0, logits=(0, 5))
    _put(netout, 0, 0, 1, t=(4.0, 0, math.log(4), math.log(2)), objectness=2.0,
         logits=(5, 0))
    boxes = decode(netout, ANCHORS, obj_threshold=0.3, nms_threshold=0.3)
    assert boxes[:, 5].tolist() == [1, 0]
    assert boxes[0, 4] == pytest.approx(_sigmoid(4.0) * _class_prob([0, 5], 1), rel=1e-5)
    # Con umbral 1 la NMS no suprime nada: salen las tres, por puntuación.
    everything = decode(netout, ANCHORS, obj_threshold=0.3, nms_threshold=1.0)
    assert len(everything) == 3 and (np.diff(everything[:, 4]) <= 0).all()


def test_decode_empty_and_tensor_input():
    empty = decode(_netout(), ANCHORS)
    assert empty.shape == (0, 6) and empty.dtype == np.float32
    netout = _netout()
    _put(netout, 1, 1, 1)
    tensor = keras.ops.cast(keras.ops.convert_to_tensor(netout), "bfloat16")
    from_tensor = decode(tensor, ANCHORS)
    np.testing.assert_allclose(from_tensor, decode(netout, ANCHORS), atol=1e-2)
    batch = decode_batch(np.stack([netout, _netout()]), ANCHORS)
    assert [len(b) for b in batch] == [1, 0]


def test_decode_huge_logits_are_finite():
    # Cajas gigantes (tw limitado a 16): las 4 celdas de cada ancla se solapan y la
    # NMS deja una por ancla (las dos formas tienen IoU 0.125 entre sí).
    boxes = decode(np.full((2, 2, 2, 7), 1e4, np.float32), ANCHORS)
    assert np.isfinite(boxes).all() and len(boxes) == 2


def test_decode_errors_in_spanish():
    with pytest.raises(ArgumentError, match="no encaja con 2 anclas"):
        decode(np.zeros((2, 2, 3, 7)), ANCHORS)
    with pytest.raises(ArgumentError, match=r"\(S_h, S_w, A, 5 \+ C\)"):
        decode(np.zeros((2, 2, 7)), ANCHORS)
    with pytest.raises(ArgumentError, match="obj_threshold"):
        decode(_netout(), ANCHORS, obj_threshold=1.5)


# === nms ===

def test_nms_greedy_per_class():
    boxes = [[0, 0, 10, 10],     # 0: la mejor de la clase 0
             [0, 0, 10, 5],      # 1: IoU 0.5 con la 0
             [0, 5, 10, 10],     # 2: IoU 0.5 con la 0 y 0 con la 1
             [0, 0, 10, 10],     # 3: idéntica a la 0 pero de la clase 1
             [20, 20, 30, 30]]   # 4: lejos
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]
    classes = [0, 0, 0, 1, 0]
    assert nms(boxes, scores, classes, 0.5).tolist() == [0, 1, 2, 3, 4]  # IoU = umbral: queda
    assert nms(boxes, scores, classes, 0.4).tolist() == [0, 3, 4]
    assert nms(boxes, scores, None, 0.4).tolist() == [0, 4]              # sin clases
    # Voraz: con la 0 fuera, la 1 sobrevive y no suprime a la 2 (IoU 0).
    assert nms(boxes[1:3], scores[1:3], None, 0.4).tolist() == [0, 1]
    assert nms(np.zeros((0, 4)), [], [], 0.5).shape == (0,)


def test_nms_order_and_errors():
    kept = nms([[0, 0, 1, 1], [5, 5, 6, 6], [9, 9, 10, 10]], [0.2, 0.9, 0.5], [1, 0, 2], 0.5)
    assert kept.tolist() == [1, 2, 0]
    with pytest.raises(ArgumentError, match="tantas como cajas"):
        nms([[0, 0, 1, 1]], [0.1, 0.2], None, 0.5)


# === detect ===

def _constant_model(netout, input_size=(64, 96)):
    """Modelo cuya salida es siempre ``netout`` (núcleo a 0, sesgo = netout)."""
    inputs = keras.Input((*input_size, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    x = keras.layers.Dense(netout.size, kernel_initializer="zeros",
                           bias_initializer=keras.initializers.Constant(netout.ravel()))(x)
    return keras.Model(inputs, keras.layers.Reshape(netout.shape)(x))


def test_detect_returns_original_pixels_clipped(tmp_path):
    from PIL import Image

    netout = _netout()
    _put(netout, 1, 0, 0, t=(0.0, 0.0, math.log(0.5), 0.0))          # [0, .5, .5, 1]
    _put(netout, 0, 1, 1, t=(0.0, 0.0, math.log(4.0), math.log(4.0)), logits=(3, 0))
    model = _constant_model(netout)
    image = np.zeros((100, 200, 3), np.uint8)
    boxes = detect(model, image, anchors=ANCHORS)
    assert boxes.shape == (2, 6)
    by_class = {int(b[5]): b[:4] for b in boxes}
    np.testing.assert_allclose(by_class[1], [0, 50, 100, 100], atol=1e-3)
    # Clase 0: centro (0.75, 0.25), lado 1 -> [0.25, -0.25, 1.25, 0.75], recortada.
    np.testing.assert_allclose(by_class[0], [50, 0, 200, 75], atol=1e-3)

    path = tmp_path / "foto.png"
    Image.fromarray(np.zeros((50, 40, 3), np.uint8)).save(path)
    from_path = detect(model, str(path), anchors=ANCHORS)
    np.testing.assert_allclose(from_path[:, :4] / [40, 50, 40, 50],
                               boxes[:, :4] / [200, 100, 200, 100], atol=1e-4)


def test_detect_batch_images_of_any_size():
    netout = _netout()
    _put(netout, 1, 0, 0, t=(0.0, 0.0, math.log(0.5), 0.0))
    model = _constant_model(netout)
    images = [np.zeros((100, 200, 3), np.uint8), np.zeros((30, 20), np.uint8),
              np.zeros((64, 96, 3), np.uint8)]
    results = detect_batch(model, images, anchors=ANCHORS, batch_size=2)
    assert len(results) == 3
    for image, boxes in zip(images, results):
        height, width = image.shape[:2]
        np.testing.assert_allclose(boxes[0, :4], [0, height / 2, width / 2, height],
                                   atol=1e-3)
    assert detect_batch(model, [], anchors=ANCHORS) == []


def test_detect_takes_anchors_from_build_yolo_spec():
    netout = np.zeros((2, 2, 5, 6), np.float32)
    netout[..., 4] = OFF
    netout[0, 0, 4] = [0, 0, 0, 0, 10, 0]            # ancla 4 de VOC: 11.24 × 10.01
    model = _constant_model(netout)
    object.__setattr__(model, "_redes_spec", BuilderSpec("yolo", {"labels": ["lego"]}))
    boxes = detect(model, np.zeros((64, 96, 3), np.uint8))
    # 11.24 × 10.01 celdas en una rejilla de 2×2: cubre (recortada) toda la imagen.
    np.testing.assert_allclose(boxes[0, :4], [0, 0, 96, 64], atol=1e-3)
    custom = [[1, 1]] * 4 + [[0.5, 0.5]]
    object.__setattr__(model, "_redes_spec", BuilderSpec("yolo", {"anchors": custom}))
    boxes = detect(model, np.zeros((64, 96, 3), np.uint8))
    np.testing.assert_allclose(boxes[0, :4], [12, 8, 36, 24], atol=1e-3)


def test_detect_errors_in_spanish(tmp_path):
    model = _constant_model(_netout())
    with pytest.raises(ArgumentError, match="indique sus anclas"):
        detect(model, np.zeros((10, 10, 3), np.uint8))
    broken = tmp_path / "rota.jpg"
    broken.write_bytes(b"no es una imagen")
    with pytest.raises(DataError, match="rota.jpg"):
        detect(model, broken, anchors=ANCHORS)
    with pytest.raises(ArgumentError, match="uint8 RGB"):
        detect(model, np.zeros((10, 10, 3), np.float32), anchors=ANCHORS)
    with pytest.raises(ArgumentError, match="lista de imágenes"):
        detect_batch(model, np.zeros((10, 10, 3), np.uint8), anchors=ANCHORS)
