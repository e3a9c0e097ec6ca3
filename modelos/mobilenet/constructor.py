"""MobileNetV2 (Sandler et al., 2018) capa a capa como la de torchvision, para sus pesos
de ImageNet.

Por qué no ``keras.applications.MobileNetV2``: su arquitectura es la misma, pero no
calcula lo mismo con los pesos de torchvision, que son los únicos de ImageNet que estas
máquinas pueden tener sin descargar nada (``bench/RESULTS.md``):

- en las convoluciones de paso 2 rellena solo abajo y a la derecha (``correct_pad``); la
  de torchvision rellena un píxel por cada lado, así que la rejilla de salida queda
  desplazada medio paso respecto a la que aprendieron los pesos;
- su BatchNormalization usa ``epsilon=1e-3``; torchvision, ``1e-5``;
- espera la entrada en ``[-1, 1]``; torchvision, normalizada con la media y la desviación
  de ImageNet.

Medido con el archivo de torchvision y las fotos de ``tests/fotos.py``
(``bench/mobilenet_torch.py``, frente a la misma red en PyTorch puro): con la capa de
Keras, los pesos copiados y la entrada normalizada como la de torchvision, los logits se
apartan un 99,6 % de su escala y las cinco fotos cambian de clase (el ``epsilon``); con
``epsilon`` 1e-5, un 29 % y una de cinco cambia (el relleno). Con esta, 6e-7: el redondeo
de float32. Por eso el extractor se construye aquí: relleno simétrico de 1
(``ZeroPadding2D`` + convolución ``valid``) en los pasos 2, ``epsilon`` 1e-5 y la
normalización de ImageNet dentro del modelo, de modo que recibe imágenes en ``[0, 1]``
como todos los de :mod:`modelos` (los motores, la exportación y el servicio no cambian).

Los nombres de las capas siguen las claves de torchvision (``features.3.conv.1.0`` →
``features_3_depthwise``), para :mod:`modelos.mobilenet.torchvision`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nucleo.errores import ArgumentError
from nucleo.errores import ModelFileError
from nucleo.keras_listo import keras
from nucleo.keras_listo import layers
from nucleo.validacion import check_int, check_int_tuple, check_number
from nucleo.vocabulario import MAX_IMAGE_SIDE
from modelos.capas import FusedBatchNormalization
from modelos.clasificacion.constructor import MAX_UNITS
from modelos.clasificacion.constructor import finish_model
from modelos.registro import register_builder

#: Media y desviación por canal (RGB) de ImageNet, sobre píxeles en [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: ``(t, c, n, s)`` de cada grupo de bloques: expansión, canales, repeticiones y paso.
INVERTED_RESIDUAL_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                             (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
#: ``epsilon`` de BatchNormalization de torchvision.
BN_EPSILON = 1e-5
#: Anchos (``alpha``) admitidos: los de los artículos y de torchvision.
MIN_ALPHA, MAX_ALPHA = 0.1, 2.0
#: Relleno de las convoluciones de paso 2: un píxel por lado (torchvision) o solo abajo y
#: a la derecha (``keras.applications``, para leer su archivo de ImageNet tal cual: ver
#: :mod:`modelos.mobilenet.keras_aplicaciones`).
PADDINGS = ("torchvision", "keras")


def _stride_padding(padding: str):
    return 1 if padding == "torchvision" else ((0, 1), (0, 1))


def padding_of(model) -> str:
    """El relleno (:data:`PADDINGS`) con que se construyó la MobileNetV2 de ``model``."""
    try:
        layer = model.get_layer("features_0_pad")
    except ValueError:
        return "torchvision"
    return "keras" if tuple(map(tuple, layer.padding)) == ((0, 1), (0, 1)) else "torchvision"


def make_divisible(value: float, divisor: int = 8) -> int:
    """Los canales redondeados a un múltiplo de ``divisor`` sin bajar más de un 10 %
    (``_make_divisible`` de torchvision y del artículo)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def block_plan(alpha: float = 1.0) -> list[dict[str, int]]:
    """Los 17 bloques residuales invertidos: ``{"index", "inp", "out", "stride",
    "expand"}`` (``index`` es el de ``features`` en torchvision, de 1 a 17)."""
    plan, inp, index = [], make_divisible(32 * alpha), 1
    for expand, channels, repeats, stride in INVERTED_RESIDUAL_SETTING:
        out = make_divisible(channels * alpha)
        for i in range(repeats):
            plan.append({"index": index, "inp": inp, "out": out,
                         "stride": stride if i == 0 else 1, "expand": expand})
            inp, index = out, index + 1
    return plan


def last_channels(alpha: float = 1.0) -> int:
    """Canales de la última convolución 1×1 (1280 con ``alpha ≤ 1``)."""
    return make_divisible(1280 * max(1.0, alpha))


def _kaiming_fan_out():
    # La inicialización de torchvision (kaiming_normal_, mode="fan_out"): con la de Keras
    # (glorot_uniform) la señal de una red nueva se apaga a lo largo de sus 52 capas.
    return keras.initializers.VarianceScaling(2.0, mode="fan_out",
                                              distribution="untruncated_normal")


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, *, relu: bool = True,
             depthwise: bool = False, style: str = "torchvision"):
    """Convolución sin sesgo → BatchNorm → ReLU6, con el relleno de torchvision (o el de
    ``keras.applications``, ``style="keras"``)."""
    padding = "same"
    if stride == 2 and kernel > 1:
        x = layers.ZeroPadding2D(_stride_padding(style), name=f"{name}_pad")(x)
        padding = "valid"
    if depthwise:
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding=padding, use_bias=False,
                                   depthwise_initializer=_kaiming_fan_out(), name=name)(x)
    else:
        x = layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False,
                          kernel_initializer=_kaiming_fan_out(), name=name)(x)
    # La de Keras con FusedBatchNormV3 en TensorFlow (mismos pesos y cuentas).
    x = FusedBatchNormalization(epsilon=BN_EPSILON, momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(max_value=6.0, name=f"{name}_relu")(x) if relu else x


def _inverted_residual(x, block: dict[str, int], style: str):
    prefix, y = f"features_{block['index']}", x
    hidden = int(round(block["inp"] * block["expand"]))
    if block["expand"] != 1:
        y = _conv_bn(y, hidden, 1, 1, f"{prefix}_expand")
    y = _conv_bn(y, hidden, 3, block["stride"], f"{prefix}_depthwise", depthwise=True,
                 style=style)
    y = _conv_bn(y, block["out"], 1, 1, f"{prefix}_project", relu=False)
    if block["stride"] == 1 and block["inp"] == block["out"]:
        y = layers.Add(name=f"{prefix}_add")([x, y])
    return y


def mobilenetv2_features(inputs, alpha: float = 1.0, padding: str = "torchvision"):
    """El extractor sobre ``inputs`` (``[0, 1]``, RGB): ``(B, alto/32, ancho/32, 1280)``.

    ``padding``: el de las convoluciones de paso 2 (:data:`PADDINGS`)."""
    if padding not in PADDINGS:
        raise ArgumentError(f"«padding» de la MobileNetV2 debe ser uno de {list(PADDINGS)}; "
                            f"recibido {padding!r}.")
    # (x − media) / desviación como x · (1/desviación) − media/desviación: Rescaling crea
    # las constantes dentro de call (Normalization las guarda como tensores capturados,
    # que la exportación a ONNX convierte en entradas).
    x = layers.Rescaling(scale=[1.0 / s for s in IMAGENET_STD],
                         offset=[-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)],
                         name="normalizacion_imagenet")(inputs)
    x = _conv_bn(x, make_divisible(32 * alpha), 3, 2, "features_0", style=padding)
    for block in block_plan(alpha):
        x = _inverted_residual(x, block, padding)
    return _conv_bn(x, last_channels(alpha), 1, 1, "features_18")


@register_builder("mobilenetv2")
def build_mobilenetv2(
    num_classes: int = 1000,
    input_size: tuple[int, int] = (224, 224),
    alpha: float = 1.0,
    *,
    padding: str = "torchvision",
    dropout: float = 0.2,
    learning_rate: float = 1e-3,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """MobileNetV2 de ImageNet (la de torchvision, ver el módulo) como clasificador.

    Imagen RGB en ``[0, 1]`` → normalización de ImageNet → extractor (32 × menos de
    resolución, ``last_channels(alpha)`` canales) → media global → Dropout → Dense de
    ``num_classes`` (la capa ``classifier``, logits) → softmax en float32 (``salida``).
    Con 1000 clases y ``alpha=1`` tiene 3.504.872 parámetros entrenables, los de
    torchvision (``count_params``, 3.538.984, suma además las medias y varianzas de
    BatchNorm).

    Args:
        num_classes: clases de la cabeza (1000 las de ImageNet).
        input_size: ``(alto, ancho)``, cada uno múltiplo de 32 (224 en ImageNet).
        alpha: multiplicador de anchura (1.0; 0.35-1.4 en el artículo).
        padding: relleno de los pasos 2: ``"torchvision"`` o ``"keras"`` (para el archivo
            de ImageNet de ``keras.applications``; ver :data:`PADDINGS`).
        dropout: el de antes de la cabeza (0.2 en torchvision).
        learning_rate: tasa de Adam si se compila con los valores por defecto.
        compile: compilar (entropía cruzada categórica, Adam, ``accuracy``).
        optimizer, loss, metrics: sustituyen a los de por defecto.

    Returns:
        ``keras.Model`` de salida ``(None, num_classes)`` (probabilidades).
    """
    where = "build_mobilenetv2"
    check_int(num_classes, "num_classes", maximum=MAX_UNITS, where=where)
    size = check_int_tuple(input_size, "input_size", length=2, maximum=MAX_IMAGE_SIDE,
                           where=where)
    if any(side % 32 for side in size):
        raise ArgumentError(f"{where}: «input_size» debe ser múltiplo de 32 (la red reduce "
                            f"32 veces); recibido {tuple(size)}.")
    check_number(alpha, "alpha", minimum=MIN_ALPHA, maximum=MAX_ALPHA, where=where)
    check_number(dropout, "dropout", minimum=0.0, maximum=1.0, include_maximum=False,
                 where=where)
    inputs = keras.Input(shape=(*size, 3), name="entrada")
    x = mobilenetv2_features(inputs, alpha, padding)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(dropout, name="classifier_dropout")(x)
    logits = layers.Dense(num_classes, kernel_initializer=keras.initializers.RandomNormal(
        0.0, 0.01), name="classifier")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="salida")(logits)
    return finish_model(
        inputs, outputs, name="mobilenetv2", compile=compile, optimizer=optimizer, loss=loss,
        metrics=metrics,
        default_optimizer=lambda: keras.optimizers.Adam(learning_rate),
        default_loss="categorical_crossentropy", default_metrics=["accuracy"])


def logits_model(model: keras.Model) -> keras.Model:
    """El mismo modelo hasta los logits (la capa ``classifier``), sin el softmax."""
    return keras.Model(model.inputs, model.get_layer("classifier").output,
                       name=f"{model.name}_logits")


def imagenet_input(image: np.ndarray, size: int = 224) -> np.ndarray:
    """Una foto ``uint8`` RGB → ``float32`` ``(alto, ancho, 3)`` en ``[0, 1]`` como la
    evaluación de ImageNet: lado menor a ``size · 256/224`` y recorte central."""
    import cv2

    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ArgumentError(f"Se esperaba una foto uint8 RGB (alto, ancho, 3); recibido "
                            f"{array.dtype} de forma {array.shape}.")
    short = round(size * 256 / 224)
    height, width = array.shape[:2]
    scale = short / min(height, width)
    resized = cv2.resize(array, (max(short, round(width * scale)),
                                 max(short, round(height * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top = (resized.shape[0] - size) // 2
    left = (resized.shape[1] - size) // 2
    return resized[top:top + size, left:left + size].astype(np.float32) / 255.0


def assign_checked(layers: dict, weights: dict, path, error=ModelFileError) -> list[str]:
    """Da a cada capa de ``layers`` (nombre → capa) sus ``weights`` (nombre → arrays),
    comprobando antes todas las formas: si una no casa, ``error`` nombra la capa, las dos
    formas y ``path``, y el modelo queda como estaba. Devuelve los nombres llenos."""
    for name, arrays in weights.items():
        expected = [tuple(w.shape) for w in layers[name].get_weights()]
        got = [tuple(a.shape) for a in arrays]
        if got != expected:
            raise error(f"{path}: la capa «{name}» tiene pesos de forma {got} y el modelo "
                        f"espera {expected} (¿otro --ancho?).")
    for name, arrays in weights.items():
        layers[name].set_weights(arrays)
    return list(weights)
