"""Cada capa, pérdida, métrica y esquema registrado bajo ``redes>`` pasa su prueba común.

La lista de casos está aquí; si alguien registra un objeto nuevo sin añadir su caso,
``test_every_registered_object_has_a_case`` falla.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import modelos  # noqa: F401 - registra todos los objetos de redes
from tests.helpers import run_layer_test
from tests.helpers import run_loss_test
from tests.helpers import run_metric_test
from tests.helpers import run_schedule_test

pytestmark = pytest.mark.neutral

RNG = np.random.default_rng(0)


def _floats(*shape):
    return RNG.normal(size=shape).astype("float32")


def _registered(name):
    return keras.saving.get_custom_objects()[f"redes>{name}"]


# Capa → (argumentos, entradas, forma de salida).
LAYER_CASES = {
    "Reorg": ({"stride": 2}, _floats(2, 4, 6, 8), (2, 2, 3, 32)),
    "GridReshape": ({"anchors": 2, "depth": 6}, _floats(2, 3, 4, 12), (2, 3, 4, 2, 6)),
    "FusedBatchNormalization": ({"epsilon": 1e-3}, _floats(2, 4, 6, 8), (2, 4, 6, 8)),
    "PositionalEncoding": ({"max_len": 16}, _floats(2, 5, 8), (2, 5, 8)),
    "TokenAndPositionEmbedding": ({"vocab_size": 11, "d_model": 8, "max_len": 16},
                                  RNG.integers(1, 11, (2, 5)).astype("int32"), (2, 5, 8)),
    "MultiHeadAttention": ({"num_heads": 2, "key_dim": 4},
                           [_floats(2, 5, 8), _floats(2, 6, 8)], (2, 5, 8)),
    "FeedForward": ({"d_ff": 16}, _floats(2, 5, 8), (2, 5, 8)),
    "EncoderLayer": ({"num_heads": 2, "d_ff": 16, "dropout": 0.0}, _floats(2, 5, 8),
                     (2, 5, 8)),
    "DecoderLayer": ({"num_heads": 2, "d_ff": 16, "dropout": 0.0},
                     [_floats(2, 5, 8), _floats(2, 6, 8)], (2, 5, 8)),
    "Encoder": ({"num_layers": 2, "num_heads": 2, "d_ff": 16, "dropout": 0.0},
                _floats(2, 5, 8), (2, 5, 8)),
    "Decoder": ({"num_layers": 2, "num_heads": 2, "d_ff": 16, "dropout": 0.0},
                [_floats(2, 5, 8), _floats(2, 6, 8)], (2, 5, 8)),
    "SequenceAttention": ({"units": 4, "score": "additive"}, [_floats(2, 5, 8), _floats(2, 6, 6)],
                          (2, 5, 6)),
}


def _yolo_case():
    # 2 anclas, 2 clases, rejilla 3×3 y un búfer de 4 cajas; un objeto en la celda (1, 1).
    y_pred = _floats(2, 3, 3, 2, 7)
    y_true = np.zeros((2, 3 * 3 * 2 + 4, 7), "float32")
    cell = (1 * 3 + 1) * 2  # fila 1, columna 1, ancla 0
    y_true[:, cell, :5] = (1.5, 1.5, 1.0, 1.2, 1.0)
    y_true[:, cell, 5] = 1.0
    y_true[:, 18, :4] = (1.5, 1.5, 1.0, 1.2)
    return _registered("YoloLoss")(anchors=[[1.0, 1.0], [2.0, 2.0]]), y_true, y_pred


def _masked_loss_case():
    y_true = np.array([[3, 2, 0, 0], [5, 1, 4, 0]], "int32")
    return _registered("MaskedSparseCrossEntropy")(label_smoothing=0.1), y_true, _floats(2, 4, 6)


def _pinball_case():
    # Mediana y el intervalo del 80 %: (B, H) reales frente a (B, H, 3) cuantiles.
    loss = _registered("PinballLoss")(quantiles=[0.5, 0.1, 0.9])
    return loss, _floats(2, 4), _floats(2, 4, 3)


LOSS_CASES = {"YoloLoss": _yolo_case, "MaskedSparseCrossEntropy": _masked_loss_case,
              "PinballLoss": _pinball_case}


def _logits(tokens, vocab=6):
    """Logits (con ruido) cuyo argmax es ``tokens``."""
    tokens = np.asarray(tokens)
    return (3.0 * np.eye(vocab)[tokens] + 0.1 * _floats(*tokens.shape, vocab)).astype("float32")


# Métrica → (argumentos, y_true, y_pred, valor calculado a mano).
# MaskedAccuracy: 2 de los 3 tokens reales aciertan (2/3); contando el relleno, 5/6.
METRIC_CASES = {"MaskedAccuracy": ({}, np.array([[3, 2, 0], [5, 0, 0]], "int32"),
                                   _logits([[3, 4, 0], [5, 0, 0]]), 2 / 3)}
SCHEDULE_CASES = {"WarmupSchedule": ({"d_model": 16, "warmup_steps": 10}, [0, 4, 8, 200])}
OPTIMIZER_CASES = {"FusedAdam": {"learning_rate": 0.05, "beta_1": 0.8}}


def test_every_registered_object_has_a_case():
    registered = {name.split(">", 1)[1] for name in keras.saving.get_custom_objects()
                  if name.startswith("redes>")}
    covered = (set(LAYER_CASES) | set(LOSS_CASES) | set(METRIC_CASES) | set(SCHEDULE_CASES)
               | set(OPTIMIZER_CASES))
    assert registered == covered


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer(name, tmp_path):
    kwargs, inputs, shape = LAYER_CASES[name]
    run_layer_test(_registered(name), kwargs, inputs, expected_output_shape=shape,
                   tmp_path=tmp_path)


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss(name, tmp_path):
    loss, y_true, y_pred = LOSS_CASES[name]()
    value = run_loss_test(loss, y_true, y_pred, tmp_path=tmp_path)
    assert value > 0  # predicciones al azar frente a un objetivo real: hay error que pagar


@pytest.mark.parametrize("name", sorted(METRIC_CASES))
def test_metric(name):
    kwargs, y_true, y_pred, expected = METRIC_CASES[name]
    value = run_metric_test(_registered(name)(**kwargs), y_true, y_pred)
    assert value == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", sorted(SCHEDULE_CASES))
def test_schedule(name):
    kwargs, steps = SCHEDULE_CASES[name]
    values = run_schedule_test(_registered(name)(**kwargs), steps)
    assert values[0] < values[1] < values[2]  # sube durante el calentamiento
    assert values[3] < values[2]  # y luego baja


@pytest.mark.parametrize("name", sorted(OPTIMIZER_CASES))
def test_optimizer(name):
    cls = _registered(name)
    optimizer = cls(**OPTIMIZER_CASES[name])
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(optimizer), safe_mode=True)
    assert type(restored) is cls and restored.get_config() == optimizer.get_config()
    # Minimiza (w − 3)² partiendo de w = 0.
    model = keras.Sequential([keras.Input((1,)),
                              keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=restored, loss="mse")
    x, y = np.ones((8, 1), "float32"), np.full((8, 1), 3.0, "float32")
    model.fit(x, y, epochs=100, batch_size=8, verbose=0)
    assert abs(float(keras.ops.convert_to_numpy(model.weights[0])[0, 0]) - 3.0) < 0.3


def test_layer_test_catches_a_broken_config(tmp_path):
    """La ayuda no es un sello: una capa cuya configuración pierde un argumento falla."""

    class Forgetful(keras.layers.Layer):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.dense = keras.layers.Dense(units)

        def call(self, inputs):
            return self.dense(inputs)

        def get_config(self):  # olvida «units»
            return {k: v for k, v in super().get_config().items() if k != "units"}

    objects = keras.saving.get_custom_objects()
    keras.saving.register_keras_serializable(package="redes")(Forgetful)
    try:
        with pytest.raises(AssertionError, match="from_config da otra forma"):
            run_layer_test(Forgetful, {"units": 4}, _floats(2, 3),
                           expected_output_shape=(2, 4), tmp_path=tmp_path)
    finally:
        objects.pop("redes>Forgetful", None)
