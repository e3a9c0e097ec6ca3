"""Pruebas de modelos/yolo/perdida.py: cada término de YoloLoss calculado a mano.

Rejillas de 1×1 o 2×2 celdas y una o dos anclas, con valores que se pueden seguir
en papel. Cada término se aísla poniendo a 0 los pesos de los demás. Al final, una
red pequeña entrenada con YoloLoss y decodificada con ``detect_batch`` debe
sobreajustar unas figuras sintéticas (mAP@0.5 ≥ 0.8): la pérdida y el decodificador
funcionan juntos.
"""

import math

import numpy as np
import pytest

from nucleo.entorno import prepare_backend

prepare_backend()

import keras  # noqa: E402

from nucleo.errores import ArgumentError  # noqa: E402
from modelos.yolo.objetivos import pack_target  # noqa: E402
from modelos.yolo.perdida import YoloLoss  # noqa: E402
from tests.helpers import gradient_step  # noqa: E402
from tests.helpers import value_and_gradient  # noqa: E402

pytestmark = pytest.mark.neutral

ONE_ANCHOR = [[1.0, 1.0]]
TWO_ANCHORS = [[1.0, 1.0], [0.5, 0.5]]
NO_TERMS = {"object_scale": 0.0, "no_object_scale": 0.0, "coord_scale": 0.0,
            "class_scale": 0.0}


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _logit(p):
    return math.log(p / (1.0 - p))


def _target(y, boxes=()):
    """Objetivo apilado (1, S·S·A + M, 5 + C) a partir de la rejilla y el búfer."""
    y = np.asarray(y, np.float32)
    true_boxes = np.zeros((2, 4), np.float32)
    true_boxes[:len(boxes)] = np.asarray(boxes, np.float32).reshape(-1, 4)
    return pack_target(y, true_boxes)[None]


def _only(anchors, **weights):
    """YoloLoss con todos los términos a 0 salvo los que se pasan."""
    return YoloLoss(anchors, **{**NO_TERMS, **weights})


def _value(loss, y_true, y_pred):
    out = keras.ops.convert_to_numpy(loss.call(y_true, np.asarray(y_pred, np.float32)))
    assert out.shape == (len(y_pred),)
    return float(out[0])


# === Coordenadas ===

def test_coordinate_term_golden():
    # Rejilla 1×1, ancla 1×1; caja verdadera cx 0.25, cy 0.75, w = h = 0.5 celdas.
    y = np.zeros((1, 1, 1, 7))
    y[0, 0, 0] = [0.25, 0.75, 0.5, 0.5, 1, 0, 1]
    pred = np.zeros((1, 1, 1, 1, 7))
    pred[..., 1] = math.log(3.0)   # σ = 0.75: sin error en y
    pred[..., 3] = math.log(2.0)   # th = log 2 frente a log(0.5 / 1)
    # x: (0.5 − 0.25)²; w: (0 − log ½)² = log²2; h: (log 2 − log ½)² = 4·log²2
    error = 0.25 ** 2 + 5 * math.log(2.0) ** 2
    weight = 2.0 * (2.0 - 0.25)    # coord_scale · (2 − w·h), área relativa 0.25
    got = _value(_only(ONE_ANCHOR, coord_scale=2.0), _target(y, [y[0, 0, 0, :4]]), pred)
    assert got == pytest.approx(0.5 * weight * error, rel=1e-6)


def test_coordinate_term_uses_cell_offset_and_its_anchor():
    # Rejilla 2×2; objeto en la fila 1, columna 0 (cx 0.5, cy 1.25), asignado al ancla 1
    # (2 × 0.5): el objetivo es σ(tx) = 0.5, σ(ty) = 0.25, tw = log(1/2), th = log(1/0.5).
    anchors = [[1.0, 1.0], [2.0, 0.5]]
    y = np.zeros((2, 2, 2, 6))
    y[1, 0, 1] = [0.5, 1.25, 1.0, 1.0, 1, 1]
    pred = np.zeros((1, 2, 2, 2, 6))
    error = 0.25 ** 2 + 2 * math.log(2.0) ** 2
    weight = 2.0 - 1.0 / 4.0       # caja de 1×1 celdas en una rejilla de 2×2
    got = _value(_only(anchors, coord_scale=1.0), _target(y, [[0.5, 1.25, 1, 1]]), pred)
    assert got == pytest.approx(0.5 * weight * error, rel=1e-6)


def _box_iou_terms(pred_box, true_box):
    """IoU, GIoU y CIoU en numpy de dos cajas ``(cx, cy, w, h)`` (las fórmulas de los
    artículos, escritas aparte de la pérdida)."""
    (px, py, pw, ph), (tx, ty, tw, th) = pred_box, true_box
    ix = max(0.0, min(px + pw / 2, tx + tw / 2) - max(px - pw / 2, tx - tw / 2))
    iy = max(0.0, min(py + ph / 2, ty + th / 2) - max(py - ph / 2, ty - th / 2))
    union = pw * ph + tw * th - ix * iy
    iou = ix * iy / union
    cw = max(px + pw / 2, tx + tw / 2) - min(px - pw / 2, tx - tw / 2)
    ch = max(py + ph / 2, ty + th / 2) - min(py - ph / 2, ty - th / 2)
    giou = iou - (cw * ch - union) / (cw * ch)
    v = 4 / math.pi ** 2 * (math.atan(tw / th) - math.atan(pw / ph)) ** 2
    alpha = v / (1 - iou + v)
    ciou = iou - ((px - tx) ** 2 + (py - ty) ** 2) / (cw ** 2 + ch ** 2) - alpha * v
    return iou, giou, ciou


@pytest.mark.parametrize("box_loss", ["giou", "ciou"])
@pytest.mark.parametrize("raw", [(0.0, 0.0, 0.0, 0.0), (1.2, -0.7, 0.9, 0.4),
                                 (-2.0, 2.5, 1.5, -1.0)],
                         ids=["centrada", "grande", "lejos"])
def test_iou_box_losses_golden(box_loss, raw):
    # Rejilla 2×2, ancla 1×1 en la celda (1, 0); caja verdadera cx 0.6, cy 1.3, 0.8×0.5.
    true_box = (0.6, 1.3, 0.8, 0.5)
    y = np.zeros((2, 2, 1, 6))
    y[1, 0, 0] = [*true_box, 1, 1]
    pred = np.zeros((1, 2, 2, 1, 6))
    pred[0, 1, 0, 0, :4] = raw
    pred_box = (0 + _sigmoid(raw[0]), 1 + _sigmoid(raw[1]), math.exp(raw[2]),
                math.exp(raw[3]))
    iou, giou, ciou = _box_iou_terms(pred_box, true_box)
    weight = 1.5 * (2.0 - 0.8 * 0.5 / 4.0)   # coord_scale · (2 − w·h)
    expected = weight * (1.0 - (giou if box_loss == "giou" else ciou))
    got = _value(_only(ONE_ANCHOR, coord_scale=1.5, box_loss=box_loss),
                 _target(y, [true_box]), pred)
    assert got == pytest.approx(expected, rel=1e-5)
    assert got > 0.0 and giou <= iou + 1e-12 and ciou < iou


@pytest.mark.parametrize("box_loss", ["giou", "ciou"])
def test_box_losses_pull_a_prediction_onto_its_box(box_loss):
    """Descenso de gradiente sobre la salida cruda: la caja decodificada llega al objeto
    (la que empieza el doble de grande y desplazada acaba con IoU > 0.95). La tasa baja
    hasta 0: el gradiente de 1 − IoU no se anula cerca del óptimo y con tasa fija oscila."""
    true_box = (0.6, 1.3, 0.8, 0.5)
    y = np.zeros((2, 2, 1, 6))
    y[1, 0, 0] = [*true_box, 1, 1]
    y_true = _target(y, [true_box])
    loss = _only(ONE_ANCHOR, coord_scale=1.0, box_loss=box_loss)
    pred = np.zeros((1, 2, 2, 1, 6), np.float32)
    pred[0, 1, 0, 0, :4] = [1.5, -1.5, math.log(1.6), math.log(1.0)]
    steps = 80
    step_of = gradient_step(lambda p: loss(y_true, p))
    for step in range(steps):
        _, gradient = step_of(pred)
        pred = pred - 0.4 * (1 - step / steps) * gradient
    raw = pred[0, 1, 0, 0, :4].astype(float)
    box = (_sigmoid(raw[0]), 1 + _sigmoid(raw[1]), math.exp(raw[2]), math.exp(raw[3]))
    iou, _, _ = _box_iou_terms(box, true_box)
    assert iou > 0.95, (box_loss, box, iou)


# === Objeto (rescore) y sin objeto ===

def _kl(target, p):
    """KL(t ‖ p) de Bernoulli, con 0·log 0 = 0."""
    return sum(a * math.log(a / b) for a, b in ((target, p), (1 - target, 1 - p)) if a > 0)


@pytest.mark.parametrize("objectness_loss, error", [
    ("logistic", _kl), ("squared", lambda t, p: 0.5 * (t - p) ** 2)])
@pytest.mark.parametrize("objectness", [0.5, 0.25, 0.99], ids=["media", "exacta", "confiada"])
def test_object_term_targets_iou_of_prediction(objectness_loss, error, objectness):
    # Predicción: ancla 1×1 centrada (tx = tw = 0) -> caja [0, 1]²; verdad: 0.5×0.5
    # centrada -> IoU = 0.25 / 1: el objetivo es 0.25, no 1 (con 0.25 el error es 0).
    y = np.zeros((1, 1, 1, 6))
    y[0, 0, 0] = [0.5, 0.5, 0.5, 0.5, 1, 1]
    pred = np.zeros((1, 1, 1, 1, 6))
    pred[..., 4] = _logit(objectness)
    loss = _only(ONE_ANCHOR, object_scale=5.0, objectness_loss=objectness_loss)
    got = _value(loss, _target(y, [y[0, 0, 0, :4]]), pred)
    assert got == pytest.approx(5.0 * error(0.25, objectness), rel=1e-5, abs=1e-6)


def test_object_gradient_does_not_vanish_with_logistic():
    # σ(to) ≈ 0.001 en el ancla responsable: «logistic» empuja el logit con
    # object_scale·(σ − IoU); «squared» lo multiplica además por σ(1 − σ) ≈ 0.001.
    y = np.zeros((1, 1, 1, 6))
    y[0, 0, 0] = [0.5, 0.5, 1.0, 1.0, 1, 1]          # la predicción coincide: IoU 1
    logit = np.full((1, 1, 1, 1, 6), _logit(0.001), np.float32)
    gradients = {}
    for kind in ("logistic", "squared"):
        loss = _only(ONE_ANCHOR, object_scale=5.0, objectness_loss=kind)
        _, gradient = value_and_gradient(lambda p, loss=loss: loss(
            _target(y, [[0.5, 0.5, 1, 1]]), keras.ops.concatenate(
                [keras.ops.zeros((1, 1, 1, 1, 4)), p[..., 4:]], axis=-1)), logit)
        gradients[kind] = float(gradient[0, 0, 0, 0, 4])
    assert gradients["logistic"] == pytest.approx(5.0 * (0.001 - 1.0), rel=1e-4)
    assert gradients["squared"] == pytest.approx(
        5.0 * (0.001 - 1.0) * 0.001 * 0.999, rel=1e-3)


@pytest.mark.parametrize("side, ignore_thresh, penalised", [
    (1.0, 0.6, True),    # IoU 0.25 ≤ 0.6: se castiga
    (1.8, 0.6, False),   # IoU 0.81 > 0.6: se ignora
    (1.8, 0.9, True),    # IoU 0.81 ≤ 0.9: se castiga
], ids=["lejos", "solapa", "umbral-alto"])
def test_no_object_term_and_ignore_mask(side, ignore_thresh, penalised):
    # Ancla 0 responsable de una caja 1×1 centrada; el ancla 1 (0.5×0.5) está vacía y su
    # caja predicha mide 0.5·side: IoU con la verdadera = 0.25·side². Su σ(to) = 0.5:
    # error −log(1 − 0.5) = log 2 («logistic») o ½·0.5² («squared»).
    y = np.zeros((1, 1, 2, 6))
    y[0, 0, 0] = [0.5, 0.5, 1, 1, 1, 1]
    pred = np.zeros((1, 1, 1, 2, 6))
    pred[0, 0, 0, 0, 4] = 3.0            # la responsable no entra en este término
    pred[0, 0, 0, 1, 2:4] = math.log(side)
    target = _target(y, [[0.5, 0.5, 1, 1]])
    for kind, error in (("logistic", math.log(2.0)), ("squared", 0.125)):
        loss = _only(TWO_ANCHORS, no_object_scale=2.0, ignore_thresh=ignore_thresh,
                     objectness_loss=kind)
        assert _value(loss, target, pred) == pytest.approx(2.0 * error * penalised)


def test_ignore_mask_uses_every_box_of_the_buffer():
    # Ninguna ancla responsable (p. ej. el objeto perdió una colisión), pero la caja
    # sigue en el búfer: el ancla 0 (caja predicha = la verdadera) no se castiga.
    y = np.zeros((1, 1, 2, 6))
    pred = np.zeros((1, 1, 1, 2, 6))     # σ(to) = 0.5 en ambas: log 2 cada una
    loss = _only(TWO_ANCHORS, no_object_scale=1.0)
    assert _value(loss, _target(y, [[0.5, 0.5, 1, 1]]), pred) == pytest.approx(math.log(2))
    assert _value(loss, _target(y), pred) == pytest.approx(2 * math.log(2))


# === Clase ===

def test_class_term_is_softmax_cross_entropy():
    y = np.zeros((1, 1, 2, 7))
    y[0, 0, 0] = [0.5, 0.5, 1, 1, 1, 0, 1]          # clase 1 de 2 en el ancla 0
    pred = np.zeros((1, 1, 1, 2, 7))
    pred[0, 0, 0, 0, 5:] = [2.0, 0.0]
    pred[0, 0, 0, 1, 5:] = [-9.0, 9.0]              # ancla vacía: no cuenta
    got = _value(_only(TWO_ANCHORS, class_scale=3.0), _target(y, [[0.5, 0.5, 1, 1]]), pred)
    assert got == pytest.approx(3.0 * math.log(1.0 + math.e ** 2), rel=1e-6)


# === Calentamiento ===

def test_warmup_pulls_empty_anchors_to_priors_then_stops():
    # Ancla 0 responsable (sus términos a 0); el ancla 1 vacía se lleva a σ = ½, t = 0.
    y = np.zeros((1, 1, 2, 6))
    y[0, 0, 0] = [0.5, 0.5, 1, 1, 1, 1]
    pred = np.zeros((1, 1, 1, 2, 6))
    pred[0, 0, 0, 0, :4] = [3.0, 3.0, 3.0, 3.0]    # responsable: fuera del calentamiento
    pred[0, 0, 0, 1, :4] = [1.0, -1.0, 0.5, -0.5]
    expected = 0.5 * 0.01 * ((_sigmoid(1) - 0.5) ** 2 + (_sigmoid(-1) - 0.5) ** 2 + 0.5)
    target = _target(y, [[0.5, 0.5, 1, 1]])
    loss = _only(TWO_ANCHORS, warmup_batches=2)
    values = [_value(loss, target, pred) for _ in range(3)]
    assert values == pytest.approx([expected, expected, 0.0], rel=1e-5)
    assert int(loss.seen.numpy()) == 3

    off = _only(TWO_ANCHORS)
    assert off.seen is None and _value(off, target, pred) == 0.0


def _tiny_detector(grid=2, n_anchors=1, depth=6):
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, strides=16 // grid, padding="same")(inputs)
    x = keras.layers.Conv2D(n_anchors * depth, 1)(x)
    return keras.Model(inputs, keras.layers.Reshape((grid, grid, n_anchors, depth))(x))


@pytest.mark.parametrize("jit_compile", [
    False,
    pytest.param(True, marks=pytest.mark.skipif(
        keras.backend.backend() != "tensorflow", reason="jit_compile con XLA de TensorFlow")),
], ids=["sin-jit", "jit"])
def test_warmup_counter_counts_batches_inside_fit(jit_compile):
    # 8 imágenes en lotes de 2: 4 lotes de entrenamiento + 1 de validación por época.
    y = np.zeros((2, 2, 1, 6))
    y[0, 1, 0] = [1.5, 0.5, 1, 1, 1, 1]
    targets = np.repeat(_target(y, [[1.5, 0.5, 1, 1]]), 8, axis=0)
    images = np.random.default_rng(0).random((8, 16, 16, 3)).astype("float32")
    model = _tiny_detector()
    loss = YoloLoss(ONE_ANCHOR, warmup_batches=3)
    model.compile(optimizer="adam", loss=loss, jit_compile=jit_compile)
    loss.bind(model)
    history = model.fit(images, targets, batch_size=2, epochs=2, verbose=0,
                        validation_data=(images[:2], targets[:2]))
    assert int(keras.ops.convert_to_numpy(loss.seen)) == 2 * (4 + 1)
    assert np.isfinite(history.history["loss"]).all()
    assert not model.non_trainable_variables   # el contador no es un peso del modelo
    assert set(history.history) == {"loss", "val_loss"}  # ni una cifra de los registros


# === Todo junto ===

def test_full_loss_is_the_sum_of_its_terms_per_image():
    rng = np.random.default_rng(0)
    y = np.zeros((2, 2, 2, 7))
    y[0, 1, 0] = [0.7, 1.2, 0.8, 1.1, 1, 1, 0]
    y[1, 1, 1] = [1.6, 1.5, 0.4, 0.6, 1, 0, 1]
    boxes = [[0.7, 1.2, 0.8, 1.1], [1.6, 1.5, 0.4, 0.6]]
    y_true = np.concatenate([_target(y, boxes), _target(np.zeros_like(y))])  # 2.ª vacía
    y_pred = rng.normal(0, 1.5, (2, 2, 2, 2, 7)).astype(np.float32)
    weights = {"object_scale": 5.0, "no_object_scale": 1.0, "coord_scale": 1.0,
               "class_scale": 1.0}
    full = keras.ops.convert_to_numpy(YoloLoss(TWO_ANCHORS).call(y_true, y_pred))
    parts = sum(keras.ops.convert_to_numpy(_only(TWO_ANCHORS, **{k: v}).call(y_true, y_pred))
                for k, v in weights.items())
    np.testing.assert_allclose(full, parts, rtol=1e-6)
    # Imagen vacía: solo el término sin objeto, Σ −log(1 − σ(to)) (nada que ignorar).
    no_obj = np.sum(np.log1p(np.exp(y_pred[1, ..., 4].astype(np.float64))))
    assert full[1] == pytest.approx(no_obj, rel=1e-5)
    # La reducción de Keras hace la media sobre el lote.
    mean = float(YoloLoss(TWO_ANCHORS)(y_true, y_pred))
    assert mean == pytest.approx(full.mean(), rel=1e-6)


def test_config_round_trip():
    loss = YoloLoss([1.0, 2.0, 3.0, 1.5], object_scale=4.0, no_object_scale=0.5,
                    coord_scale=2.0, class_scale=1.5, ignore_thresh=0.7,
                    warmup_batches=10, warmup_scale=0.02, objectness_loss="squared",
                    box_loss="ciou", name="mi_yolo")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, YoloLoss)
    assert restored.get_config() == loss.get_config()
    assert restored.get_config()["anchors"] == [[1.0, 2.0], [3.0, 1.5]]
    assert restored.seen is not None and restored.name == "mi_yolo"
    assert restored.box_loss == "ciou"


def test_bfloat16_prediction_is_computed_in_float32():
    rng = np.random.default_rng(1)
    y = np.zeros((2, 2, 2, 6))
    y[0, 0, 1] = [0.4, 0.6, 0.5, 0.5, 1, 1]
    y_true = _target(y, [[0.4, 0.6, 0.5, 0.5]])
    y_pred = keras.ops.cast(rng.normal(size=(1, 2, 2, 2, 6)), "bfloat16")
    loss = YoloLoss(TWO_ANCHORS)
    got = loss.call(y_true, y_pred)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    expected = loss.call(y_true, keras.ops.cast(y_pred, "float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got),
                               keras.ops.convert_to_numpy(expected), rtol=1e-6)


# === Sin NaN ===

def _no_object_target():
    return _target(np.zeros((2, 2, 2, 7)))


def _tiny_box_target():
    y = np.zeros((2, 2, 2, 7))
    y[1, 1, 1] = [1.5, 1.5, 1e-3, 1e-3, 1, 0, 1]
    return _target(y, [[1.5, 1.5, 1e-3, 1e-3]])


@pytest.mark.parametrize("make_target", [_no_object_target, _tiny_box_target],
                         ids=["sin-objetos", "caja-diminuta"])
@pytest.mark.parametrize("scale", [0.0, 1.0, 50.0, 1e4], ids=["cero", "normal", "50", "1e4"])
@pytest.mark.parametrize("objectness_loss, box_loss", [("logistic", "darknet"),
                                                       ("squared", "darknet"),
                                                       ("logistic", "ciou"),
                                                       ("logistic", "giou")])
def test_no_nan_in_loss_or_gradients(make_target, scale, objectness_loss, box_loss):
    rng = np.random.default_rng(2)
    y_pred = scale * np.sign(rng.normal(size=(2, 2, 2, 2, 7))).astype("float32")
    y_true = np.repeat(make_target(), 2, axis=0)
    loss = YoloLoss(TWO_ANCHORS, warmup_batches=5, objectness_loss=objectness_loss,
                    box_loss=box_loss)
    value, gradient = value_and_gradient(lambda p: loss(y_true, p), y_pred)
    assert np.isfinite(value)
    assert np.isfinite(gradient).all()


# === Errores ===

def test_errors_in_spanish():
    with pytest.raises(ArgumentError, match="anchors"):
        YoloLoss([[1.0, -1.0]])
    with pytest.raises(ArgumentError, match="object_scale"):
        YoloLoss(ONE_ANCHOR, object_scale=-1)
    with pytest.raises(ArgumentError, match="ignore_thresh"):
        YoloLoss(ONE_ANCHOR, ignore_thresh=1.5)
    with pytest.raises(ArgumentError, match="warmup_batches"):
        YoloLoss(ONE_ANCHOR, warmup_batches=2.5)
    with pytest.raises(ArgumentError, match="objectness_loss"):
        YoloLoss(ONE_ANCHOR, objectness_loss="bce")
    with pytest.raises(ArgumentError, match="«box_loss» debe ser uno de"):
        YoloLoss(ONE_ANCHOR, box_loss="diou")
    y_true = _target(np.zeros((1, 1, 2, 6)))
    with pytest.raises(ArgumentError, match="no encaja con 1 anclas"):
        YoloLoss(ONE_ANCHOR).call(y_true, np.zeros((1, 1, 1, 2, 6), np.float32))
    with pytest.raises(ArgumentError, match="pack_target"):
        YoloLoss(TWO_ANCHORS).call(y_true, np.zeros((1, 1, 1, 2, 7), np.float32))


# === Aprendizaje: pérdida y decodificador juntos ===

def _small_detector(size, grid, n_anchors, n_classes):
    """Conv + BN + LeakyReLU + max-pool hasta la rejilla, 1×1 final y Reshape."""
    inputs = keras.Input((size, size, 3))
    x = inputs
    for i, filters in enumerate([16, 32, 64, 128, 128][:int(math.log2(size // grid))]):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                                name=f"conv_{i + 1}")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"norm_{i + 1}")(x)
        x = keras.layers.LeakyReLU(0.1)(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(n_anchors * (5 + n_classes), 1, name="salida")(x)
    # (B, S, S, A·(5 + C)) -> (B, S, S, A, 5 + C)
    outputs = keras.layers.Reshape((grid, grid, n_anchors, 5 + n_classes))(x)
    return keras.Model(inputs, outputs)


@pytest.mark.slow
@pytest.mark.slow
def test_small_detector_overfits_shapes(tmp_path):
    from datos.anotaciones import read_voc
    from datos.sinteticos import make_shapes_dataset
    from modelos.yolo import YoloDataset
    from tareas.deteccion.anclas import boxes_wh
    from tareas.deteccion.anclas import kmeans_anchors
    from informes.metricas import mean_average_precision
    from modelos.yolo.decodificacion import detect_batch

    size, grid, epochs = 128, 4, 45
    labels = ["circulo", "cuadrado"]
    folder = make_shapes_dataset(tmp_path / "figuras", n_images=16, image_size=size,
                                 classes=labels, max_objects=2, seed=1)
    records, _ = read_voc(folder / "annotations", folder / "images", labels)
    anchors, _ = kmeans_anchors(boxes_wh(records, image_size=size, grid=grid), k=2, seed=0)
    batches = YoloDataset(records, labels, image_size=size, anchors=anchors, max_boxes=3,
                          batch_size=4, augmenter=None, seed=0)
    keras.utils.set_random_seed(0)
    model = _small_detector(size, grid, len(anchors), len(labels))
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, epochs * len(batches))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=YoloLoss(anchors))
    history = model.fit(batches, epochs=epochs, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]

    # Detecciones en píxeles de cada imagen original frente a sus cajas anotadas.
    detections = detect_batch(model, [r.path for r in records], anchors, obj_threshold=0.1)
    truths = [np.column_stack([r.boxes, [labels.index(n) for n in r.labels]])
              for r in records]
    score, _ = mean_average_precision(detections, truths, 0.5, num_classes=len(labels))
    assert score >= 0.8
