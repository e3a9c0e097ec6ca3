"""Clasificadores de los tutoriales: XOR, MLP de MNIST, CNN de deportes y CNN de CIFAR-10.

Todos devuelven un ``keras.Model`` compilado con los valores del blog (pérdida,
optimizador, métricas), sustituibles por palabra clave, y una salida de
probabilidades en ``float32`` (también bajo ``mixed_bfloat16``).

Referencias:
    - «Programa tu primer red neuronal con Python y Keras» (XOR), Aprende Machine Learning.
    - «Clasificación de Imágenes en Python» (sportsMNIST), Aprende Machine Learning.
    - Tutoriales de PyTorch de MNIST (MLP) y CIFAR-10 (CNN), rehechos en Keras.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


from nucleo.keras_listo import keras
from nucleo.keras_listo import layers

from nucleo.errores import ArgumentError
from nucleo.vocabulario import MAX_IMAGE_SIDE
from nucleo.validacion import check_int, check_int_tuple, shown
from modelos.compilado import build_optimizer
from modelos.registro import register_builder

#: Máximo de neuronas de una capa, de entradas de un vector o de clases.
MAX_UNITS = 1 << 24
#: Máximo de capas ocultas del MLP.
MAX_HIDDEN_LAYERS = 64


def _resolve(kind: str, value: Any, name: str, where: str | None):
    getter = keras.optimizers.get if kind == "optimizer" else keras.losses.get
    try:
        return getter(value)
    except (ValueError, KeyError, TypeError) as exc:
        what = "optimizador" if kind == "optimizer" else "pérdida"
        known = ("adam, adamw, sgd, rmsprop, adagrad, adadelta, adamax, nadam, ftrl, lion"
                 if kind == "optimizer" else
                 "mean_squared_error, categorical_crossentropy, binary_crossentropy...")
        prefix = f"{where}: " if where else ""
        raise ArgumentError(f"{prefix}«{name}»: {what} desconocido {shown(value)} de Keras "
                            f"({type(exc).__name__}); usa uno de: {known}.") from None


def check_optimizer(optimizer: Any, name: str = "optimizer", *, where: str | None = None):
    """Comprueba que Keras conoce el optimizador ``optimizer`` (nombre o configuración).

    Los objetos optimizador se aceptan tal cual; ``None`` es el del blog.

    Raises:
        ArgumentError: con el nombre recibido y algunos de los que conoce Keras.
    """
    if isinstance(optimizer, (str, dict)):
        _resolve("optimizer", optimizer, name, where)
    return optimizer


def _check_loss(loss: Any, where: str) -> None:
    if isinstance(loss, (str, dict)):
        _resolve("loss", loss, "loss", where)


def finish_model(
    inputs,
    outputs,
    *,
    name: str,
    compile: bool,
    optimizer: Any,
    loss: Any,
    metrics: Any,
    default_optimizer: Callable[[], Any],
    default_loss: Any,
    default_metrics: list[Any],
) -> keras.Model:
    """Crea el modelo y lo compila con los valores del blog salvo los que se sustituyan.

    Raises:
        ArgumentError: si ``optimizer`` o ``loss`` nombran algo que Keras no conoce.
    """
    if compile:
        check_optimizer(optimizer, where=name)
        _check_loss(loss, name)
    model = keras.Model(inputs, outputs, name=name)
    if compile:
        model.compile(
            optimizer=default_optimizer() if optimizer is None else optimizer,
            loss=default_loss if loss is None else loss,
            metrics=list(default_metrics) if metrics is None else metrics,
        )
        build_optimizer(model)
    return model


@register_builder("xor")
def build_xor(
    hidden_units: int = 16,
    *,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """La red XOR del blog: Dense(16, relu, input_dim=2) → Dense(1, sigmoid).

    Args:
        hidden_units: neuronas de la capa oculta (16 en el blog, 65 parámetros).
        compile: compilar con ``mean_squared_error``, ``adam`` y ``binary_accuracy``.
        optimizer: sustituye al optimizador del blog.
        loss: sustituye a la pérdida del blog.
        metrics: sustituye a las métricas del blog.

    Returns:
        ``keras.Model`` de entrada (None, 2) y salida (None, 1).

    Example:
        >>> modelo = build_xor()
        >>> modelo.count_params()
        65
    """
    check_int(hidden_units, "hidden_units", maximum=MAX_UNITS, where="build_xor")
    inputs = keras.Input(shape=(2,), name="entrada")
    x = layers.Dense(hidden_units, activation="relu", name="dense_1")(inputs)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32", name="salida")(x)
    return finish_model(
        inputs,
        outputs,
        name="xor",
        compile=compile,
        optimizer=optimizer,
        loss=loss,
        metrics=metrics,
        default_optimizer=lambda: keras.optimizers.Adam(),
        default_loss="mean_squared_error",
        default_metrics=["binary_accuracy"],
    )


@register_builder("mlp")
def build_mlp(
    input_dim: int = 784,
    hidden: tuple[int, ...] = (100, 50),
    num_classes: int = 10,
    *,
    learning_rate: float = 1e-3,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """El perceptrón multicapa de los tutoriales de MNIST en PyTorch, en Keras.

    Capas ``Dense`` con ReLU según ``hidden`` y una salida softmax. Con (100, 50)
    tiene 84.060 parámetros; con (128,), 101.770. El tutorial entrena 3 épocas con
    lotes de 128, Adam (lr 1e-3) y entropía cruzada.

    Args:
        input_dim: tamaño del vector de entrada (784 = 28×28 aplanado).
        hidden: neuronas de cada capa oculta.
        num_classes: número de clases.
        learning_rate: tasa de aprendizaje de Adam.
        compile: compilar con ``categorical_crossentropy``, Adam y ``accuracy``.
        optimizer: sustituye al optimizador.
        loss: sustituye a la pérdida (etiquetas one-hot por defecto).
        metrics: sustituye a las métricas.

    Returns:
        ``keras.Model`` de entrada (None, input_dim) y salida (None, num_classes).
    """
    check_int(input_dim, "input_dim", maximum=MAX_UNITS, where="build_mlp")
    hidden = check_int_tuple(hidden, "hidden", maximum=MAX_UNITS, max_length=MAX_HIDDEN_LAYERS,
                             where="build_mlp")
    check_int(num_classes, "num_classes", maximum=MAX_UNITS, where="build_mlp")
    inputs = keras.Input(shape=(input_dim,), name="entrada")
    x = inputs
    for index, units in enumerate(hidden, start=1):
        x = layers.Dense(units, activation="relu", name=f"dense_{index}")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="salida")(x)
    return finish_model(
        inputs,
        outputs,
        name="mlp",
        compile=compile,
        optimizer=optimizer,
        loss=loss,
        metrics=metrics,
        default_optimizer=lambda: keras.optimizers.Adam(learning_rate),
        default_loss="categorical_crossentropy",
        default_metrics=["accuracy"],
    )


def _check_image_shape(input_shape, where: str) -> tuple[int, int, int]:
    height, width, channels = check_int_tuple(input_shape, "input_shape", length=3,
                                              maximum=MAX_UNITS, where=where)
    if max(height, width) > MAX_IMAGE_SIDE:
        raise ArgumentError(f"{where}: el alto y el ancho de «input_shape» deben ser como mucho "
                            f"{MAX_IMAGE_SIDE}; recibido {shown(input_shape)}.")
    return height, width, channels


@register_builder("deportes")
def build_sports_cnn(
    input_shape: tuple[int, int, int] = (21, 28, 3),
    num_classes: int = 10,
    *,
    learning_rate: float = 1e-3,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """La CNN del blog «Clasificación de Imágenes en Python» (sportsMNIST), exacta.

    Conv2D(32, 3×3, lineal, same) → LeakyReLU(0.1) → MaxPool(2×2, same) →
    Dropout(0.5) → Flatten → Dense(32, lineal) → LeakyReLU(0.1) → Dropout(0.5) →
    Dense(softmax). 158.954 parámetros con la forma por defecto. Se compila con
    entropía cruzada categórica, Adagrad (lr 1e-3 con el decaimiento inverso en el
    tiempo del blog, ``decay = lr / 100`` por paso) y ``accuracy``.

    Args:
        input_shape: (alto, ancho, canales) de las imágenes.
        num_classes: número de deportes (10 en el blog).
        learning_rate: tasa inicial de Adagrad.
        compile: compilar con los valores del blog.
        optimizer: sustituye al optimizador.
        loss: sustituye a la pérdida.
        metrics: sustituye a las métricas.

    Returns:
        ``keras.Model`` de salida (None, num_classes).
    """
    input_shape = _check_image_shape(input_shape, "build_sports_cnn")
    check_int(num_classes, "num_classes", maximum=MAX_UNITS, where="build_sports_cnn")
    inputs = keras.Input(shape=input_shape, name="entrada")
    x = layers.Conv2D(32, 3, padding="same", activation="linear", name="conv_1")(inputs)
    x = layers.LeakyReLU(negative_slope=0.1, name="leaky_1")(x)
    x = layers.MaxPooling2D(2, padding="same", name="pool_1")(x)
    x = layers.Dropout(0.5, name="dropout_1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(32, activation="linear", name="dense_1")(x)
    x = layers.LeakyReLU(negative_slope=0.1, name="leaky_2")(x)
    x = layers.Dropout(0.5, name="dropout_2")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="salida")(x)

    def blog_optimizer():
        # Keras 2: lr_t = lr / (1 + decay · iteraciones) con decay = lr / 100.
        schedule = keras.optimizers.schedules.InverseTimeDecay(
            learning_rate, decay_steps=1, decay_rate=learning_rate / 100
        )
        return keras.optimizers.Adagrad(learning_rate=schedule)

    return finish_model(
        inputs,
        outputs,
        name="deportes_cnn",
        compile=compile,
        optimizer=optimizer,
        loss=loss,
        metrics=metrics,
        default_optimizer=blog_optimizer,
        default_loss="categorical_crossentropy",
        default_metrics=["accuracy"],
    )


@register_builder("cifar")
def build_cifar_cnn(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 10,
    *,
    learning_rate: float = 1e-3,
    momentum: float = 0.9,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """La CNN del tutorial de CIFAR-10 en PyTorch, en Keras.

    Conv(32, 3×3, same)+ReLU → Dropout(0.3) → Conv(32, 3×3, same)+ReLU →
    MaxPool(2) → Flatten → Dense(512)+ReLU → Dropout(0.5) → Dense(10) con softmax.
    4.210.090 parámetros con la forma por defecto. SGD (lr 1e-3, momento 0.9) y
    entropía cruzada, como el tutorial.

    Args:
        input_shape: (alto, ancho, canales).
        num_classes: número de clases.
        learning_rate: tasa de aprendizaje de SGD.
        momentum: momento de SGD.
        compile: compilar con los valores del tutorial.
        optimizer: sustituye al optimizador.
        loss: sustituye a la pérdida.
        metrics: sustituye a las métricas.

    Returns:
        ``keras.Model`` de salida (None, num_classes).
    """
    input_shape = _check_image_shape(input_shape, "build_cifar_cnn")
    check_int(num_classes, "num_classes", maximum=MAX_UNITS, where="build_cifar_cnn")
    inputs = keras.Input(shape=input_shape, name="entrada")
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv_1")(inputs)
    x = layers.Dropout(0.3, name="dropout_1")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(2, name="pool_1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="dense_1")(x)
    x = layers.Dropout(0.5, name="dropout_2")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="salida")(x)
    return finish_model(
        inputs,
        outputs,
        name="cifar_cnn",
        compile=compile,
        optimizer=optimizer,
        loss=loss,
        metrics=metrics,
        default_optimizer=lambda: keras.optimizers.SGD(learning_rate, momentum=momentum),
        default_loss="categorical_crossentropy",
        default_metrics=["accuracy"],
    )
