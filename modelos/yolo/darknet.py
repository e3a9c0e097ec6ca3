"""Darknet-19, el extractor de YOLOv2, capa a capa como en darknet.

- :func:`build_darknet19`: la red de ``yolov2-voc.cfg`` de darknet
  (``backbone="darknet19"``, 22 convoluciones con el *passthrough*) o de
  ``yolov2-tiny-voc.cfg`` (``backbone="tiny"``, 8 convoluciones), con los nombres de
  darknet (``conv_1``, ``norm_1``...), de modo que los pesos se asignan por nombre.
- :class:`Reorg`: la capa ``[reorg]`` de darknet, con su orden exacto de canales (que
  no es el de ``tf.nn.space_to_depth``) o, como opción, el de ``space_to_depth``.
- Sus BatchNorm son :class:`modelos.capas.FusedBatchNormalization` (la de Keras con
  ``FusedBatchNormV3`` en TensorFlow), que también usa la MobileNetV2.

Los archivos ``.weights`` de darknet se leen y escriben en :mod:`modelos.yolo.darknet_pesos`.

Referencias:
    - Redmon y Farhadi (2017), «YOLO9000: Better, Faster, Stronger»,
      https://arxiv.org/abs/1612.08242.
    - darknet: ``cfg/yolov2-voc.cfg``, ``cfg/yolov2-tiny-voc.cfg``, ``src/reorg_layer.c``,
      ``src/blas.c`` (``reorg_cpu``).
    - El orden del *reorg*: opencv/opencv PR #12403 y pjreddie/darknet#344.
    - «Detección de Objetos con Python», Aprende Machine Learning (keras-yolo2).
"""

from __future__ import annotations


from nucleo.keras_listo import keras
from nucleo.keras_listo import layers
from nucleo.keras_listo import ops

from modelos.capas import FusedBatchNormalization
from nucleo.errores import ArgumentError
from nucleo.validacion import check_int
from nucleo.validacion import check_int_tuple
from nucleo.validacion import check_number
# Extractores: el de yolov2-voc.cfg y el de yolov2-tiny-voc.cfg.
from nucleo.vocabulario import DARKNET_BACKBONES as BACKBONES
from nucleo.vocabulario import YOLO_STRIDE

# === Tablas de la arquitectura (copiar antes de modificar) ===
# (filtros, lado del núcleo) de cada convolución con BatchNorm + LeakyReLU(0.1), en el
# orden de la cfg; "M" es un max-pool 2×2 de paso 2 y "M1" el 2×2 de paso 1 de tiny.
DARKNET19_LAYERS = (
    (32, 3), "M",
    (64, 3), "M",
    (128, 3), (64, 1), (128, 3), "M",
    (256, 3), (128, 1), (256, 3), "M",
    (512, 3), (256, 1), (512, 3), (256, 1), (512, 3),  # conv_13: origen del passthrough
    "M",
    (1024, 3), (512, 1), (1024, 3), (512, 1), (1024, 3),
    (1024, 3), (1024, 3),  # conv_19 y conv_20: la cabeza de detección
)
PASSTHROUGH_SOURCE = 13       # [route] layers=-9 apunta a la salida de conv_13 (26×26×512)
PASSTHROUGH_FILTERS = 64      # conv_21: 1×1, 64 filtros, antes del reorg
FINAL_FILTERS = 1024          # conv_22: 3×3 tras concatenar [passthrough, principal]
TINY_LAYERS = (
    (16, 3), "M",
    (32, 3), "M",
    (64, 3), "M",
    (128, 3), "M",
    (256, 3), "M",
    (512, 3), "M1",
    (1024, 3),
    (1024, 3),
)
REORG_ORDERS = ("darknet", "space_to_depth")
DARKNET_BN_EPSILON = 1e-6     # darknet divide entre sqrt(var) + 1e-6 (blas.c, normalize_cpu)
LEAKY_SLOPE = 0.1
DOWNSAMPLING = YOLO_STRIDE    # cinco max-pools de paso 2

def _register(cls):
    return keras.saving.register_keras_serializable(package="redes")(cls)


# === La capa reorg ===
@_register
class Reorg(layers.Layer):
    """La capa ``[reorg]`` de darknet: (B, H, W, C) → (B, H/s, W/s, C·s²).

    Con ``order="space_to_depth"`` el canal de salida ``(dy·s + dx)·C + c`` toma el
    píxel ``(s·i + dy, s·j + dx)`` del canal ``c``, como ``tf.nn.space_to_depth`` (lo
    que usaba keras-yolo2). Con ``order="darknet"`` reproduce ``reorg_cpu`` de darknet
    llamado con ``forward=0``, como hace ``yolov2-voc.cfg``: darknet recorre la memoria
    (C, H, W) de la entrada como si fuera (C/s², s·H, s·W) y escribe el resultado como
    (C, H, W) que luego se lee como (C·s², H/s, W/s). El resultado mezcla canales y
    posiciones de otra forma que ``space_to_depth`` (ver pjreddie/darknet#344 y
    opencv/opencv PR #12403); solo con este orden sirven los pesos de darknet
    (pjreddie). El fork de AlexeyAB cambió su ``[reorg]`` al orden de
    ``space_to_depth`` y guarda el original como ``[reorg_old]``.

    Args:
        stride: lado del bloque ``s`` (2 en YOLOv2).
        order: ``"darknet"`` o ``"space_to_depth"``.
        **kwargs: argumentos de ``keras.layers.Layer`` (``name``, ``dtype``...).

    Example:
        >>> Reorg(2)(np.zeros((1, 26, 26, 64), "float32")).shape
        (1, 13, 13, 256)
    """

    def __init__(self, stride: int = 2, order: str = "darknet", **kwargs):
        super().__init__(**kwargs)
        self.stride = check_int(stride, "stride", where="Reorg")
        if order not in REORG_ORDERS:
            raise ArgumentError(
                f"Reorg: «order» debe ser uno de {', '.join(REORG_ORDERS)}; recibido {order!r}."
            )
        self.order = order

    def build(self, input_shape):
        _, height, width, channels = input_shape
        s = self.stride
        # Alto y ancho pueden ser desconocidos (entrenamiento multiescala); los canales no.
        if channels is None or any(d is not None and d % s for d in (height, width)):
            raise ArgumentError(
                f"Reorg: el alto y el ancho de la entrada deben ser múltiplos de {s} y los "
                f"canales conocidos; recibida la forma {tuple(input_shape)}."
            )
        if self.order == "darknet" and channels % (s * s):
            raise ArgumentError(
                f"Reorg: con order='darknet' los canales deben ser múltiplo de {s * s}; "
                f"recibidos {channels}."
            )

    def call(self, inputs):
        # Alto y ancho estáticos si se conocen (el grafo exportado no cambia); dinámicos
        # en el entrenamiento multiescala, donde cada lote trae su tamaño.
        _, height, width, channels = inputs.shape
        if height is None or width is None:
            height, width = ops.shape(inputs)[1], ops.shape(inputs)[2]
        s = self.stride
        if self.order == "space_to_depth":
            x = ops.reshape(inputs, (-1, height // s, s, width // s, s, channels))
            x = ops.transpose(x, (0, 1, 3, 2, 4, 5))            # (B, H/s, W/s, dy, dx, C)
            return ops.reshape(x, (-1, height // s, width // s, s * s * channels))
        # Darknet trabaja en memoria (C, H, W): la misma memoria leída como
        # (C/s², s·H, s·W) se parte en (c2, j, dy, i, dx) con fila s·j + dy, columna s·i + dx.
        x = ops.transpose(inputs, (0, 3, 1, 2))                  # (B, C, H, W)
        x = ops.reshape(x, (-1, channels // (s * s), height, s, width, s))
        # out[(dy·s + dx)·C/s² + c2, j, i] = x[c2, s·j + dy, s·i + dx]: (B, dy, dx, c2, j, i)
        x = ops.transpose(x, (0, 3, 5, 1, 2, 4))
        # Ese bloque (C, H, W) se lee como la salida (C·s², H/s, W/s).
        x = ops.reshape(x, (-1, channels * s * s, height // s, width // s))
        return ops.transpose(x, (0, 2, 3, 1))                    # (B, H/s, W/s, C·s²)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        s = self.stride
        return (batch, None if height is None else height // s,
                None if width is None else width // s, channels * s * s)

    def get_config(self):
        return {**super().get_config(), "stride": self.stride, "order": self.order}


# === Constructores ===
def _scaled(filters: int, width: float) -> int:
    """Filtros multiplicados por ``width`` (al menos 8); con 1.0, los de darknet."""
    return filters if width == 1.0 else max(8, int(round(filters * width)))


def _conv_block(x, index: int, filters: int, size: int, bn_epsilon: float,
                width: float = 1.0):
    """conv_N (sin sesgo, 'same') → norm_N → leaky_N: un [convolutional] con batch_normalize."""
    x = layers.Conv2D(_scaled(filters, width), size, padding="same", use_bias=False,
                      name=f"conv_{index}")(x)
    x = FusedBatchNormalization(epsilon=bn_epsilon, name=f"norm_{index}")(x)
    return layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=f"leaky_{index}")(x)


def _stack(x, table, bn_epsilon: float, keep: int | None = None, width: float = 1.0):
    """Aplica una tabla de capas; devuelve la salida, el último índice y la salida ``keep``."""
    index, pools, kept = 0, 0, None
    for entry in table:
        if entry in ("M", "M1"):
            pools += 1
            # En darknet un max-pool 2×2 de paso 1 rellena una fila y una columna al
            # final con -inf: justo lo que hace padding='same' de Keras.
            stride = 2 if entry == "M" else 1
            x = layers.MaxPooling2D(2, strides=stride, padding="same", name=f"pool_{pools}")(x)
            continue
        index += 1
        x = _conv_block(x, index, *entry, bn_epsilon, width)
        if index == keep:
            kept = x
    return x, index, kept


def build_darknet19(
    input_shape: tuple[int, int, int] = (416, 416, 3),
    *,
    backbone: str = "darknet19",
    num_outputs: int | None = None,
    reorg_order: str = "darknet",
    bn_epsilon: float = 1e-3,
    width_multiplier: float = 1.0,
    name: str | None = None,
) -> keras.Model:
    """El extractor de YOLOv2 de darknet, sin compilar: ``yolov2-voc.cfg`` o su versión tiny.

    ``backbone="darknet19"`` (Darknet-19 + passthrough, 22 convoluciones)::

        conv_1..conv_18 con 5 max-pools (416 → 13) · conv_19, conv_20 (1024, 3×3)
        route → salida de conv_13 (26×26×512) → conv_21 (64, 1×1) → Reorg(2) (13×13×256)
        concatenar [reorg, conv_20] (13×13×1280) → conv_22 (1024, 3×3)

    ``backbone="tiny"``: 6 convoluciones 3×3 con max-pools de paso 2, el max-pool 2×2
    de paso 1, y conv_7, conv_8 (1024, 3×3). Cada convolución va sin sesgo, seguida de
    ``norm_N`` (BatchNormalization) y LeakyReLU(0.1). Con ``num_outputs`` se añade la
    convolución final 1×1 con sesgo y activación lineal (``conv_23`` o ``conv_9``),
    cuyos canales son la salida cruda de darknet antes de ``[region]`` (125 = 5·(5+20)
    en VOC). Con 125 salidas hay 50.676.061 parámetros (darknet19) y 15.867.885 (tiny),
    contando las medias y varianzas de BatchNorm: los mismos números que floats hay
    en los ``.weights`` de darknet.

    Sobre ``bn_epsilon``: darknet normaliza con ``(x - media) / (sqrt(var) + 1e-6)`` y
    Keras con ``(x - media) / sqrt(var + eps)``. Con varianzas del orden de 1, los
    dos coinciden a ~1e-6 relativo si ``bn_epsilon=DARKNET_BN_EPSILON`` (1e-6); úsalo
    para reproducir una red de darknet importada con
    :func:`modelos.yolo.darknet_pesos.load_darknet_weights`. El valor por defecto, 1e-3, es el
    de Keras y keras-yolo2 (más estable al entrenar).

    Args:
        input_shape: (alto, ancho, canales); alto y ancho múltiplos de 32. La rejilla
            de salida es (alto/32, ancho/32): 13×13 a 416.
        backbone: ``"darknet19"`` (yolov2-voc) o ``"tiny"`` (yolov2-tiny-voc).
        num_outputs: filtros de la convolución final; ``None`` para no añadirla.
        reorg_order: orden de canales del reorg, ``"darknet"`` (exacto, necesario para
            sus pesos) o ``"space_to_depth"`` (el de keras-yolo2). Solo en darknet19.
        bn_epsilon: epsilon de cada BatchNormalization.
        width_multiplier: multiplica los filtros de cada convolución (como el ``alpha``
            de MobileNet; mínimo 8). 1.0 es la red de darknet; p. ej. 0.25 da una red
            ~16 veces más barata para pruebas rápidas (sus pesos ya no son los de darknet).
        name: nombre del modelo (``darknet19`` / ``darknet19_tiny`` por defecto).

    Returns:
        ``keras.Model`` sin compilar, de salida (None, alto/32, ancho/32, 1024) o
        ``num_outputs`` canales. La política de tipos global (p. ej.
        ``mixed_bfloat16``) se aplica a todas las capas.

    Raises:
        ArgumentError: argumentos no válidos (p. ej. un lado que no es múltiplo de 32).

    Example:
        >>> red = build_darknet19(num_outputs=125)
        >>> red.output_shape, red.count_params()
        ((None, 13, 13, 125), 50676061)
    """
    where = "build_darknet19"
    input_shape = check_int_tuple(input_shape, "input_shape", length=3, where=where)
    if input_shape[0] % DOWNSAMPLING or input_shape[1] % DOWNSAMPLING:
        raise ArgumentError(
            f"{where}: el alto y el ancho de «input_shape» deben ser múltiplos de "
            f"{DOWNSAMPLING} (la red reduce 32 veces); recibido {input_shape}."
        )
    if backbone not in BACKBONES:
        raise ArgumentError(
            f"{where}: «backbone» debe ser uno de {', '.join(BACKBONES)}; recibido "
            f"{backbone!r}."
        )
    if num_outputs is not None:
        check_int(num_outputs, "num_outputs", where=where)
    if reorg_order not in REORG_ORDERS:
        raise ArgumentError(
            f"{where}: «reorg_order» debe ser uno de {', '.join(REORG_ORDERS)}; "
            f"recibido {reorg_order!r}."
        )
    bn_epsilon = check_number(bn_epsilon, "bn_epsilon", minimum=1e-12, maximum=1.0, where=where)
    width = check_number(width_multiplier, "width_multiplier", minimum=0.01, maximum=4.0,
                         where=where)

    inputs = keras.Input(shape=input_shape, name="entrada")
    if backbone == "tiny":
        x, last, _ = _stack(inputs, TINY_LAYERS, bn_epsilon, width=width)
    else:
        # === Darknet-19 y cabeza ===
        x, last, skip = _stack(inputs, DARKNET19_LAYERS, bn_epsilon, keep=PASSTHROUGH_SOURCE,
                               width=width)
        # === Passthrough: rasgos finos de 26×26 apilados en 13×13 ===
        last += 1
        # (B, 26, 26, 64)
        skip = _conv_block(skip, last, PASSTHROUGH_FILTERS, 1, bn_epsilon, width)
        skip = Reorg(2, order=reorg_order, name="reorg")(skip)              # (B, 13, 13, 256)
        x = layers.Concatenate(name="concat")([skip, x])                     # (B, 13, 13, 1280)
        last += 1
        x = _conv_block(x, last, FINAL_FILTERS, 3, bn_epsilon, width)
    if num_outputs is not None:
        x = layers.Conv2D(num_outputs, 1, padding="same", name=f"conv_{last + 1}")(x)
    default_name = "darknet19" if backbone == "darknet19" else "darknet19_tiny"
    return keras.Model(inputs, x, name=name or default_name)
