"""Constructores de clasificadores: parámetros del blog, validación y aprendizaje."""

import keras
import numpy as np
import pytest

import modelos
from nucleo.errores import ArgumentError

PARAMETER_COUNTS = {
    "xor": (modelos.build_xor, {}, 65),
    "mlp_100_50": (modelos.build_mlp, {}, 84_060),
    "mlp_128": (modelos.build_mlp, {"hidden": (128,)}, 101_770),
    "deportes": (modelos.build_sports_cnn, {}, 158_954),
    "cifar": (modelos.build_cifar_cnn, {}, 4_210_090),
}


@pytest.mark.parametrize("case", sorted(PARAMETER_COUNTS))
def test_parameter_counts_equal_the_blog(case):
    builder, kwargs, expected = PARAMETER_COUNTS[case]
    assert builder(**kwargs).count_params() == expected


def test_sports_cnn_layers_follow_the_blog():
    model = modelos.build_sports_cnn()
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == [
        "Conv2D", "LeakyReLU", "MaxPooling2D", "Dropout", "Flatten",
        "Dense", "LeakyReLU", "Dropout", "Dense",
    ]
    assert model.get_layer("leaky_1").negative_slope == pytest.approx(0.1)
    assert model.get_layer("pool_1").padding == "same"
    assert model.get_layer("dropout_1").rate == 0.5
    assert model.output_shape == (None, 10)


def test_sports_cnn_optimizer_is_adagrad_with_inverse_time_decay():
    model = modelos.build_sports_cnn()
    assert isinstance(model.optimizer, keras.optimizers.Adagrad)
    schedule = model.optimizer.learning_rate_schedule if hasattr(
        model.optimizer, "learning_rate_schedule") else model.optimizer._learning_rate
    # Keras 2 (blog): lr / (1 + decay · t) con decay = lr / 100.
    assert float(schedule(0)) == pytest.approx(1e-3)
    assert float(schedule(1000)) == pytest.approx(1e-3 / (1 + 1e-5 * 1000))


def test_defaults_are_the_blogs_and_overridable():
    xor = modelos.build_xor()
    assert xor.loss == "mean_squared_error"
    assert isinstance(xor.optimizer, keras.optimizers.Adam)
    cifar = modelos.build_cifar_cnn()
    assert isinstance(cifar.optimizer, keras.optimizers.SGD)
    assert float(cifar.optimizer.momentum) == pytest.approx(0.9)
    custom = modelos.build_cifar_cnn(optimizer="adam", loss="mse")
    assert isinstance(custom.optimizer, keras.optimizers.Adam)
    assert custom.loss == "mse"
    assert getattr(modelos.build_mlp(compile=False), "optimizer", None) is None


def test_outputs_are_probabilities_in_float32_under_mixed_precision():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = modelos.build_sports_cnn(num_classes=4)
    finally:
        keras.config.set_dtype_policy(previous)
    out = model.predict(np.random.default_rng(0).random((3, 21, 28, 3), "float32"), verbose=0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "builder, kwargs, name",
    [
        (modelos.build_xor, {"hidden_units": 0}, "hidden_units"),
        (modelos.build_mlp, {"input_dim": -3}, "input_dim"),
        (modelos.build_mlp, {"hidden": (100, "x")}, "hidden"),
        (modelos.build_mlp, {"hidden": 100}, "hidden"),
        (modelos.build_mlp, {"num_classes": 1.5}, "num_classes"),
        (modelos.build_sports_cnn, {"input_shape": (21, 28)}, "input_shape"),
        (modelos.build_cifar_cnn, {"num_classes": True}, "num_classes"),
    ],
)
def test_invalid_arguments_raise_a_clear_error(builder, kwargs, name):
    with pytest.raises(ArgumentError, match=name):
        builder(**kwargs)


def test_unknown_keyword_is_an_argument_error():
    with pytest.raises(ArgumentError, match="build_xor"):
        modelos.build_xor(capas=3)


@pytest.mark.parametrize(
    "builder, kwargs, name",
    [
        (modelos.build_xor, {"hidden_units": 10**12}, "hidden_units"),
        (modelos.build_mlp, {"hidden": [8] * 65}, "hidden"),
        (modelos.build_mlp, {"input_dim": 2**30}, "input_dim"),
        (modelos.build_sports_cnn, {"input_shape": (30000, 30000, 3)}, "input_shape"),
        (modelos.build_cifar_cnn, {"num_classes": 2**30}, "num_classes"),
    ],
)
def test_sizes_are_bounded_before_allocating(builder, kwargs, name):
    with pytest.raises(ArgumentError, match=name):
        builder(**kwargs)


@pytest.mark.parametrize("kwargs, named", [
    ({"optimizer": "adan"}, "adan"),
    ({"optimizer": {"config": {}}}, "optimizer"),
    ({"loss": "perdida_inventada"}, "perdida_inventada"),
])
def test_unknown_optimizer_or_loss_is_an_argument_error(kwargs, named):
    with pytest.raises(ArgumentError, match=named):
        modelos.build_xor(**kwargs)
    modelos.build_xor(compile=False, **kwargs)  # sin compilar no se usan


def test_check_optimizer_names_the_flag():
    from modelos.clasificacion.constructor import check_optimizer

    assert check_optimizer("adam") == "adam" and check_optimizer(None) is None
    with pytest.raises(ArgumentError, match="«optimizer \\(--optimizador\\)».*adan.*sgd"):
        check_optimizer("adan", "optimizer (--optimizador)")
