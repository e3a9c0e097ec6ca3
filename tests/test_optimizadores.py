"""FusedAdam: la Adam de Keras con ResourceApplyAdam, mismos números."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from modelos.optimizadores import FusedAdam, adam


def _train(optimizer, seed=0):
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(7, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    x = rng.normal(size=(64, 5)).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False)
    return model


@pytest.mark.parametrize("rate", [1e-2, "coseno"])
def test_fused_adam_gives_the_same_weights_and_moments_as_keras_adam(rate):
    def make(cls):
        lr = rate if rate != "coseno" else keras.optimizers.schedules.CosineDecay(1e-2, 12)
        return cls(lr, beta_1=0.8, epsilon=1e-6)

    reference = _train(make(keras.optimizers.Adam))
    fused = _train(make(FusedAdam))
    initial = _train(make(keras.optimizers.Adam), seed=1)   # otra semilla: otros pesos
    for ours, theirs in zip(fused.weights, reference.weights, strict=True):
        assert np.allclose(ours.numpy(), theirs.numpy(), atol=1e-6)
    assert not np.allclose(initial.weights[0].numpy(), reference.weights[0].numpy())
    for ours, theirs in zip(fused.optimizer.variables, reference.optimizer.variables,
                            strict=True):
        assert ours.shape == theirs.shape
        assert np.allclose(np.asarray(ours.numpy()), np.asarray(theirs.numpy()), atol=1e-5)
    assert int(fused.optimizer.iterations.numpy()) == 12


def test_yolo_compiles_with_the_fused_adam_on_tensorflow():
    import modelos

    model = modelos.build_yolo(["a"], input_size=64, backbone="tiny", learning_rate=3e-3)
    expected = FusedAdam if keras.backend.backend() == "tensorflow" else keras.optimizers.Adam
    assert isinstance(model.optimizer, expected)
    assert isinstance(adam(1e-3), keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(3e-3)
