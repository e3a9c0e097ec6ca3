"""Darknet-19, el extractor de YOLOv2, y los archivos ``.weights`` de darknet.

- :func:`build_darknet19`: la red de ``yolov2-voc.cfg`` de darknet (``variant="full"``,
  22 convoluciones con el *passthrough*) o de ``yolov2-tiny-voc.cfg``
  (``variant="tiny"``, 8 convoluciones), capa a capa y con los nombres de darknet
  (``conv_1``, ``norm_1``...), de modo que los pesos se asignan por nombre.
- :class:`Reorg`: la capa ``[reorg]`` de darknet, con su orden exacto de canales (que
  no es el de ``tf.nn.space_to_depth``) o, como opción, el de ``space_to_depth``.
- :func:`load_darknet_weights` / :func:`save_darknet_weights`: leen y escriben el
  formato binario ``.weights`` de darknet, comprobando cada forma.

Formato ``.weights`` (little-endian)::

    int32 major, int32 minor, int32 revision
    seen: int64 si major·10 + minor ≥ 2 (cabecera de 20 bytes), si no int32 (16 bytes)
    por cada convolución, en orden:
        float32 sesgos[n]                  (= beta de la BatchNorm si la hay)
        float32 gamma[n], media[n], varianza[n]   (solo con BatchNorm)
        float32 núcleo[n, c, h, w]         (Keras lo guarda como (h, w, c, n))

Referencias:
    - Redmon y Farhadi (2017), «YOLO9000: Better, Faster, Stronger»,
      https://arxiv.org/abs/1612.08242.
    - darknet: ``cfg/yolov2-voc.cfg``, ``cfg/yolov2-tiny-voc.cfg``, ``src/reorg_layer.c``,
      ``src/blas.c`` (``reorg_cpu``), ``src/parser.c`` (``load_weights_upto``).
    - El orden del *reorg*: opencv/opencv PR #12403 y pjreddie/darknet#344.
    - «Detección de Objetos con Python», Aprende Machine Learning (keras-yolo2).
"""

from __future__ import annotations

import logging
import re
import struct
from pathlib import Path
from typing import Any

from datos.entorno import import_tensorflow

import_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402
from keras import ops  # noqa: E402

from datos.archivos import atomic_write  # noqa: E402
from datos.errores import ArgumentError  # noqa: E402
from datos.errores import ModelFileError  # noqa: E402
from datos.errores import WeightsMismatchError  # noqa: E402
from datos.validacion import check_int  # noqa: E402
from datos.validacion import check_int_tuple  # noqa: E402
from datos.validacion import check_number  # noqa: E402

logger = logging.getLogger("redes")

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
VARIANTS = ("full", "tiny")
REORG_ORDERS = ("darknet", "space_to_depth")
DARKNET_BN_EPSILON = 1e-6     # darknet divide entre sqrt(var) + 1e-6 (blas.c, normalize_cpu)
LEAKY_SLOPE = 0.1
DOWNSAMPLING = 32             # cinco max-pools de paso 2

_CONV_NAME = re.compile(r"^conv_(\d+)$")
_NORM_NAME = re.compile(r"^norm_(\d+)$")


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
        if None in (height, width, channels) or height % s or width % s:
            raise ArgumentError(
                f"Reorg: el alto y el ancho de la entrada deben ser múltiplos de {s} y "
                f"conocidos; recibida la forma {tuple(input_shape)}."
            )
        if self.order == "darknet" and channels % (s * s):
            raise ArgumentError(
                f"Reorg: con order='darknet' los canales deben ser múltiplo de {s * s}; "
                f"recibidos {channels}."
            )

    def call(self, inputs):
        _, height, width, channels = inputs.shape
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
        return (batch, height // s, width // s, channels * s * s)

    def get_config(self):
        return {**super().get_config(), "stride": self.stride, "order": self.order}


# === Constructores ===
def _scaled(filters: int, width: float) -> int:
    """Filtros multiplicados por ``width`` (al menos 8); con 1.0, los de darknet."""
    return filters if width == 1.0 else max(8, int(round(filters * width)))


def _conv_block(x, index: int, filters: int, size: int, bn_epsilon: float,
                width: float = 1.0):
    """conv_N (sin sesgo, 'same') → norm_N → leaky_N: un [convolutional] con batch_normalize."""
    x = layers.Conv2D(_scaled(filters, width), size, padding="same", use_bias=False, name=f"conv_{index}")(x)
    x = layers.BatchNormalization(epsilon=bn_epsilon, name=f"norm_{index}")(x)
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
    variant: str = "full",
    num_outputs: int | None = None,
    reorg_order: str = "darknet",
    bn_epsilon: float = 1e-3,
    width_multiplier: float = 1.0,
    name: str | None = None,
) -> keras.Model:
    """El extractor de YOLOv2 de darknet, sin compilar: ``yolov2-voc.cfg`` o su versión tiny.

    ``variant="full"`` (Darknet-19 + passthrough, 22 convoluciones)::

        conv_1..conv_18 con 5 max-pools (416 → 13) · conv_19, conv_20 (1024, 3×3)
        route → salida de conv_13 (26×26×512) → conv_21 (64, 1×1) → Reorg(2) (13×13×256)
        concatenar [reorg, conv_20] (13×13×1280) → conv_22 (1024, 3×3)

    ``variant="tiny"``: 6 convoluciones 3×3 con max-pools de paso 2, el max-pool 2×2
    de paso 1, y conv_7, conv_8 (1024, 3×3). Cada convolución va sin sesgo, seguida de
    ``norm_N`` (BatchNormalization) y LeakyReLU(0.1). Con ``num_outputs`` se añade la
    convolución final 1×1 con sesgo y activación lineal (``conv_23`` o ``conv_9``),
    cuyos canales son la salida cruda de darknet antes de ``[region]`` (125 = 5·(5+20)
    en VOC). Con 125 salidas hay 50.676.061 parámetros (full) y 15.867.885 (tiny),
    contando las medias y varianzas de BatchNorm: los mismos números que floats hay
    en los ``.weights`` de darknet.

    Sobre ``bn_epsilon``: darknet normaliza con ``(x - media) / (sqrt(var) + 1e-6)`` y
    Keras con ``(x - media) / sqrt(var + eps)``. Con varianzas del orden de 1, los
    dos coinciden a ~1e-6 relativo si ``bn_epsilon=DARKNET_BN_EPSILON`` (1e-6); úsalo
    para reproducir una red de darknet importada con :func:`load_darknet_weights`. El
    valor por defecto, 1e-3, es el de Keras y keras-yolo2 (más estable al entrenar).

    Args:
        input_shape: (alto, ancho, canales); alto y ancho múltiplos de 32. La rejilla
            de salida es (alto/32, ancho/32): 13×13 a 416.
        variant: ``"full"`` (yolov2-voc) o ``"tiny"`` (yolov2-tiny-voc).
        num_outputs: filtros de la convolución final; ``None`` para no añadirla.
        reorg_order: orden de canales del reorg, ``"darknet"`` (exacto, necesario para
            sus pesos) o ``"space_to_depth"`` (el de keras-yolo2). Solo en full.
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
    if variant not in VARIANTS:
        raise ArgumentError(
            f"{where}: «variant» debe ser uno de {', '.join(VARIANTS)}; recibido {variant!r}."
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
    if variant == "tiny":
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
    default_name = "darknet19" if variant == "full" else "darknet19_tiny"
    return keras.Model(inputs, x, name=name or default_name)


# === Archivos .weights de darknet ===
# Una cabecera de versión ≥ 0.2 lleva «seen» en 64 bits (parser.c, load_weights_upto).
_VERSION = struct.Struct("<3i")
_SEEN_32 = struct.Struct("<i")
_SEEN_64 = struct.Struct("<q")
_FLOAT = np.dtype("<f4")
_KERNEL_TO_KERAS = (2, 3, 1, 0)    # darknet (n, c, h, w) → Keras (h, w, c, n)
_KERNEL_TO_DARKNET = (3, 2, 0, 1)  # Keras (h, w, c, n) → darknet (n, c, h, w)


def _count(number: int) -> str:
    """Entero con separador de miles a la española: 50.676.061."""
    return f"{number:,}".replace(",", ".")


def _long_seen(major: int, minor: int) -> bool:
    return major * 10 + minor >= 2 and major < 1000 and minor < 1000


class _Tensor:
    """Un bloque de floats del archivo: a qué variable va y con qué forma está en disco."""

    __slots__ = ("layer", "label", "variable", "shape", "is_kernel")

    def __init__(self, layer: str, label: str, variable, is_kernel: bool = False):
        self.layer, self.label, self.variable, self.is_kernel = layer, label, variable, is_kernel
        shape = tuple(int(d) for d in variable.shape)
        self.shape = tuple(shape[i] for i in _KERNEL_TO_DARKNET) if is_kernel else shape

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def to_keras(self, floats: np.ndarray) -> np.ndarray:
        array = floats.reshape(self.shape)
        return array.transpose(_KERNEL_TO_KERAS) if self.is_kernel else array

    def to_darknet(self) -> np.ndarray:
        array = np.asarray(ops.convert_to_numpy(self.variable), dtype=np.float32)
        return array.transpose(_KERNEL_TO_DARKNET) if self.is_kernel else array


def _walk(layer):
    """Todas las capas de ``layer``, entrando en los submodelos."""
    for sub in getattr(layer, "layers", ()):
        yield sub
        yield from _walk(sub)


def _numbered(model, pattern, kind, what: str, path) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for layer in _walk(model):
        match = pattern.match(layer.name)
        if match is None:
            continue
        if not isinstance(layer, kind):
            raise WeightsMismatchError(
                f"«{path}»: la capa «{layer.name}» del modelo «{model.name}» debería ser "
                f"{what} y es {type(layer).__name__}."
            )
        number = int(match.group(1))
        if number in found and found[number] is not layer:
            raise WeightsMismatchError(
                f"«{path}»: el modelo «{model.name}» tiene dos capas llamadas «{layer.name}»."
            )
        found[number] = layer
    return found


def _weight_plan(model, path) -> list[_Tensor]:
    """Los bloques del archivo en el orden de darknet: conv_1, conv_2... con su norm_N.

    Raises:
        WeightsMismatchError: si el modelo no tiene capas ``conv_N`` consecutivas o
            alguna no se puede expresar en el formato de darknet.
    """
    convs = _numbered(model, _CONV_NAME, layers.Conv2D, "una Conv2D", path)
    norms = _numbered(model, _NORM_NAME, layers.BatchNormalization, "una BatchNormalization", path)
    if not convs:
        raise WeightsMismatchError(
            f"«{path}»: el modelo «{model.name}» no tiene capas conv_1, conv_2... (los pesos "
            "de darknet se asignan por esos nombres; usa build_darknet19 o build_yolo)."
        )
    expected = list(range(1, len(convs) + 1))
    if sorted(convs) != expected or not set(norms) <= set(convs):
        raise WeightsMismatchError(
            f"«{path}»: las capas conv_N del modelo «{model.name}» deben ir de conv_1 a "
            f"conv_{len(convs)} sin huecos y cada norm_N tener su conv_N; hay conv "
            f"{sorted(convs)} y norm {sorted(norms)}."
        )
    plan = []
    for number in expected:
        conv, norm = convs[number], norms.get(number)
        name = conv.name
        if conv.groups != 1 or not conv.built:
            raise WeightsMismatchError(f"«{path}»: «{name}» usa grupos o no está construida.")
        if norm is not None:
            if conv.use_bias or not (norm.center and norm.scale):
                raise WeightsMismatchError(
                    f"«{path}»: «{name}» va seguida de «{norm.name}», así que debe ir sin "
                    "sesgo y la BatchNormalization con center y scale (como en darknet)."
                )
            plan += [_Tensor(name, "sesgos (beta)", norm.beta),
                     _Tensor(norm.name, "gamma", norm.gamma),
                     _Tensor(norm.name, "media", norm.moving_mean),
                     _Tensor(norm.name, "varianza", norm.moving_variance)]
        elif conv.use_bias:
            plan.append(_Tensor(name, "sesgos", conv.bias))
        else:
            raise WeightsMismatchError(
                f"«{path}»: «{name}» no tiene sesgo ni norm_{number}; darknet guarda siempre "
                "uno de los dos."
            )
        plan.append(_Tensor(name, "núcleo", conv.kernel, is_kernel=True))
    return plan


def _read_header(data: bytes, path: Path) -> tuple[tuple[int, int, int], int, int]:
    """Devuelve ((major, minor, revision), seen, bytes de cabecera)."""
    if len(data) < _VERSION.size + _SEEN_32.size:
        raise ModelFileError(
            f"«{path}»: la cabecera de darknet está truncada: el archivo tiene {len(data)} "
            "bytes y la cabecera ocupa 16 o 20 (major, minor, revision, seen)."
        )
    version = _VERSION.unpack_from(data)
    seen_format = _SEEN_64 if _long_seen(version[0], version[1]) else _SEEN_32
    size = _VERSION.size + seen_format.size
    if len(data) < size:
        raise ModelFileError(
            f"«{path}»: la cabecera de darknet está truncada: la versión "
            f"{'.'.join(map(str, version))} lleva «seen» de 64 bits (20 bytes) y el archivo "
            f"tiene {len(data)} bytes."
        )
    (seen,) = seen_format.unpack_from(data, _VERSION.size)
    return version, seen, size


def load_darknet_weights(model, path) -> dict[str, Any]:
    """Carga un ``.weights`` de darknet en un modelo con capas ``conv_N`` / ``norm_N``.

    Las convoluciones se buscan por nombre (también dentro de submodelos) y se leen en
    orden numérico: por cada ``conv_N``, sus sesgos (la beta de ``norm_N`` si la hay),
    gamma, media y varianza de ``norm_N``, y el núcleo (n, c, h, w) traspuesto a Keras
    (h, w, c, n). El archivo debe consumirse exactamente. Se lee y comprueba todo antes
    de asignar nada: si hay un error, el modelo queda como estaba.

    Para reproducir las salidas de darknet construye el modelo con
    ``bn_epsilon=DARKNET_BN_EPSILON`` (ver :func:`build_darknet19`).

    Args:
        model: p. ej. ``build_darknet19(num_outputs=125)`` o un modelo de ``build_yolo``.
        path: archivo ``.weights``.

    Returns:
        ``{"version": (major, minor, revision), "seen": imágenes vistas al entrenar,
        "header_bytes": 16 o 20, "floats": floats leídos, "convs": convoluciones}``.

    Raises:
        ModelFileError: archivo inexistente, cabecera truncada o archivo truncado.
        WeightsMismatchError: sobran floats (otra arquitectura) o el modelo no tiene
            capas ``conv_N`` que encajen con el formato.

    Example:
        >>> red = build_darknet19(num_outputs=125, bn_epsilon=DARKNET_BN_EPSILON)
        >>> load_darknet_weights(red, "yolov2-voc.weights")["seen"]  # doctest: +SKIP
        5120000
    """
    path = Path(path)
    plan = _weight_plan(model, path)
    if not path.is_file():
        raise ModelFileError(f"No existe el archivo de pesos de darknet «{path}».")
    data = path.read_bytes()
    version, seen, header_bytes = _read_header(data, path)
    available, leftover_bytes = divmod(len(data) - header_bytes, _FLOAT.itemsize)
    floats = np.frombuffer(data, dtype=_FLOAT, count=available, offset=header_bytes)
    expected = sum(tensor.size for tensor in plan)

    values, offset = [], 0
    totals = (f"el modelo «{model.name}» espera {_count(expected)} floats y el archivo trae "
              f"{_count(available)} tras la cabecera")
    for tensor in plan:
        if offset + tensor.size > available:
            missing = offset + tensor.size - available
            raise ModelFileError(
                f"«{path}» está truncado: en «{tensor.layer}» ({tensor.label}, forma "
                f"{tensor.shape}) faltan {_count(missing)} de {_count(tensor.size)} floats; "
                f"{totals} (¿descarga incompleta u otra arquitectura?)."
            )
        values.append(tensor.to_keras(floats[offset:offset + tensor.size]))
        offset += tensor.size
    if available != expected or leftover_bytes:
        loose = f" y {leftover_bytes} bytes sueltos" if leftover_bytes else ""
        raise WeightsMismatchError(
            f"«{path}» tiene {_count(available - expected)} floats de más{loose} tras la "
            f"última capa ({plan[-1].layer}): {totals}. Probablemente es de otra "
            "arquitectura (full frente a tiny, otro número de clases o de anclas)."
        )
    for tensor, value in zip(plan, values):
        if tuple(value.shape) != tuple(tensor.variable.shape):  # no debería pasar nunca
            raise WeightsMismatchError(
                f"«{path}»: «{tensor.layer}» ({tensor.label}) tiene forma {value.shape} en el "
                f"archivo y el modelo espera {tuple(tensor.variable.shape)}."
            )
    for tensor, value in zip(plan, values):
        tensor.variable.assign(value)
    other_eps = sorted({layer.epsilon for layer in _walk(model)
                        if isinstance(layer, layers.BatchNormalization)
                        and layer.epsilon != DARKNET_BN_EPSILON})
    if other_eps:
        logger.warning("«%s» cargado, pero las capas norm_N usan épsilon %s y darknet "
                       "normaliza con %g: construye el modelo con bn_epsilon=%g para "
                       "reproducir sus salidas.", path, other_eps[0], DARKNET_BN_EPSILON,
                       DARKNET_BN_EPSILON)
    return {"version": tuple(version), "seen": int(seen), "header_bytes": header_bytes,
            "floats": int(available), "convs": sum(t.is_kernel for t in plan)}


def save_darknet_weights(model, path, version: tuple[int, int, int] = (0, 2, 0),
                         seen: int = 0) -> Path:
    """Escribe los pesos de ``model`` en el formato ``.weights`` de darknet (atómico).

    El inverso de :func:`load_darknet_weights`: sirve para exportar a darknet u
    OpenCV (``cv2.dnn.readNetFromDarknet``) y para las pruebas.

    Args:
        model: modelo con capas ``conv_N`` / ``norm_N``.
        path: destino; se crean las carpetas que falten.
        version: (major, minor, revision); con major·10 + minor ≥ 2 la cabecera
            ocupa 20 bytes (``seen`` de 64 bits), si no 16.
        seen: imágenes vistas en el entrenamiento, como las cuenta darknet.

    Returns:
        La ruta escrita.

    Raises:
        ArgumentError: versión o ``seen`` no válidos.
        WeightsMismatchError: el modelo no tiene capas ``conv_N`` utilizables.
    """
    where = "save_darknet_weights"
    if not isinstance(version, (tuple, list)) or len(version) != 3:
        raise ArgumentError(f"{where}: «version» debe ser (major, minor, revision); "
                            f"recibido {version!r}.")
    version = tuple(check_int(v, "version", minimum=0, maximum=2**31 - 1, where=where)
                    for v in version)
    long_seen = _long_seen(version[0], version[1])
    seen = check_int(seen, "seen", minimum=0, maximum=2**63 - 1 if long_seen else 2**31 - 1,
                     where=where)
    plan = _weight_plan(model, path)

    def write(handle):
        handle.write(_VERSION.pack(*version))
        handle.write((_SEEN_64 if long_seen else _SEEN_32).pack(seen))
        for tensor in plan:
            handle.write(np.ascontiguousarray(tensor.to_darknet(), dtype=_FLOAT).tobytes())

    return atomic_write(path, write)
