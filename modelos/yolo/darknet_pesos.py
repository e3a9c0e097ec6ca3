"""Los archivos ``.weights`` de darknet: lectura y escritura con cada forma comprobada.

:func:`load_darknet_weights` / :func:`save_darknet_weights` sirven para cualquier modelo
con capas ``conv_N`` / ``norm_N`` (los de :func:`modelos.yolo.darknet.build_darknet19` y
:func:`modelos.yolo.build_yolo`).

Formato ``.weights`` (little-endian)::

    int32 major, int32 minor, int32 revision
    seen: int64 si major·10 + minor ≥ 2 (cabecera de 20 bytes), si no int32 (16 bytes)
    por cada convolución, en orden:
        float32 sesgos[n]                  (= beta de la BatchNorm si la hay)
        float32 gamma[n], media[n], varianza[n]   (solo con BatchNorm)
        float32 núcleo[n, c, h, w]         (Keras lo guarda como (h, w, c, n))

Referencias:
    - darknet: ``src/parser.c`` (``load_weights_upto``, ``save_weights_upto``).
    - «Detección de Objetos con Python», Aprende Machine Learning (keras-yolo2).
"""

from __future__ import annotations

import logging
import re
import struct
from pathlib import Path
from typing import Any
from typing import NamedTuple


import numpy as np
from nucleo.keras_listo import layers
from nucleo.keras_listo import ops

from nucleo.archivos import atomic_write
from nucleo.errores import ArgumentError
from nucleo.errores import ModelFileError
from nucleo.errores import WeightsMismatchError
from nucleo.validacion import check_int
from modelos.yolo.darknet import DARKNET_BN_EPSILON

logger = logging.getLogger("redes")

_CONV_NAME = re.compile(r"^conv_(\d+)$")
_NORM_NAME = re.compile(r"^norm_(\d+)$")
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


def _by_conv(plan: list[_Tensor]) -> list[list[_Tensor]]:
    """Los bloques del plan agrupados por convolución (el núcleo cierra cada grupo)."""
    groups, current = [], []
    for tensor in plan:
        current.append(tensor)
        if tensor.is_kernel:
            groups.append(current)
            current = []
    return groups


def _head_outputs(rest: int, inputs: int) -> int | None:
    """Salidas de una convolución final 1×1 con sesgo que ocupe ``rest`` floats, o None."""
    if rest > 0 and rest % (inputs + 1) == 0:
        return rest // (inputs + 1)
    return None


class _WeightsData(NamedTuple):
    """El contenido de un ``.weights``: cabecera, floats y bytes sueltos al final."""

    version: tuple[int, int, int]
    seen: int
    header_bytes: int
    floats: np.ndarray
    leftover_bytes: int


def _planned_groups(model, path: Path, convs: int | None
                    ) -> tuple[list[_Tensor], list[list[_Tensor]], int]:
    """El plan del modelo (recortado a ``convs`` convoluciones), sus grupos y cuántas tiene."""
    plan = _weight_plan(model, path)
    groups = _by_conv(plan)
    model_convs = len(groups)
    if convs is not None:
        convs = check_int(convs, "convs", minimum=1, maximum=model_convs,
                          where="load_darknet_weights")
        groups = groups[:convs]
        plan = [tensor for group in groups for tensor in group]
    return plan, groups, model_convs


def _read_weights_file(path: Path) -> _WeightsData:
    """Lee el archivo: cabecera y floats little-endian (los bytes sueltos se cuentan aparte)."""
    if not path.is_file():
        raise ModelFileError(f"No existe el archivo de pesos de darknet «{path}».")
    data = path.read_bytes()
    version, seen, header_bytes = _read_header(data, path)
    available, leftover_bytes = divmod(len(data) - header_bytes, _FLOAT.itemsize)
    floats = np.frombuffer(data, dtype=_FLOAT, count=available, offset=header_bytes)
    return _WeightsData(version, seen, header_bytes, floats, leftover_bytes)


def _check_head_outputs(model, path: Path, groups: list[list[_Tensor]], expected: int,
                        weights: _WeightsData) -> None:
    """Error claro si todo encaja salvo la convolución final (otras clases u otras anclas)."""
    available, last = len(weights.floats), groups[-1][-1]
    if available == expected or last.shape[2:] != (1, 1) or len(groups[-1]) != 2 \
            or weights.leftover_bytes:
        return
    # Todo encaja salvo la convolución final 1×1 con sesgo: otro número de salidas
    # (= anclas · (5 + clases)), es decir, otras clases u otras anclas.
    outputs = _head_outputs(available - (expected - sum(t.size for t in groups[-1])),
                            last.shape[1])
    if outputs is not None:
        raise WeightsMismatchError(
            f"«{path}»: su última convolución tiene {outputs} salidas y «{last.layer}» "
            f"del modelo «{model.name}» tiene {last.shape[0]}: el archivo es de otro "
            "número de clases o de anclas (salidas = anclas × (5 + clases); 125 = "
            "5 × (5 + 20) en VOC). Para empezar de él con tus clases, cárgalo como "
            "extractor (convs = todas menos la última; en la CLI, --backbone-pesos).")


def _slice_values(path: Path, groups: list[list[_Tensor]], weights: _WeightsData,
                  partial: bool, totals: str) -> tuple[list[np.ndarray], int, int]:
    """Corta los floats en los bloques del plan: (valores en forma Keras, offset, llenas).

    Con ``partial`` se para al final de la convolución en la que acabe el archivo.
    """
    floats, available = weights.floats, len(weights.floats)
    values, offset, filled = [], 0, 0
    for group in groups:
        if partial and filled and offset == available and not weights.leftover_bytes:
            break                            # el archivo acaba al final de una convolución
        for tensor in group:
            if offset + tensor.size > available:
                missing = offset + tensor.size - available
                raise ModelFileError(
                    f"«{path}» está truncado: en «{tensor.layer}» ({tensor.label}, forma "
                    f"{tensor.shape}) faltan {_count(missing)} de {_count(tensor.size)} "
                    f"floats; {totals} (¿descarga incompleta u otra arquitectura?)."
                )
            values.append(tensor.to_keras(floats[offset:offset + tensor.size]))
            offset += tensor.size
        filled += 1
    return values, offset, filled


def _check_leftover(path: Path, plan: list[_Tensor], groups: list[list[_Tensor]],
                    weights: _WeightsData, *, read: int, offset: int, filled: int,
                    skip_head: bool, totals: str) -> int | None:
    """Salidas de la convolución final saltada (o None); error si sobra cualquier otra cosa."""
    available, leftover_bytes = len(weights.floats), weights.leftover_bytes
    skipped = None
    if offset != available or leftover_bytes:
        if skip_head and not leftover_bytes and filled == len(groups):
            skipped = _head_outputs(available - offset, groups[-1][-1].shape[0])
        if skipped is None:
            loose = f" y {leftover_bytes} bytes sueltos" if leftover_bytes else ""
            read_layer = plan[read - 1].layer
            raise WeightsMismatchError(
                f"«{path}» tiene {_count(available - offset)} floats de más{loose} tras la "
                f"última capa leída ({read_layer}): {totals}. Probablemente es de otra "
                "arquitectura (darknet19 frente a tiny, otro ancho, otro número de clases "
                "o de anclas)."
            )
    return skipped


def _check_values(model, path: Path, used: list[_Tensor], values: list[np.ndarray],
                  check_variances: bool) -> None:
    """Comprueba formas (y varianzas si se pide) antes de asignar nada al modelo."""
    for tensor, value in zip(used, values, strict=True):
        if not np.isfinite(value).all():
            # Un solo NaN o infinito envenena todo el entrenamiento (y el error llegaría
            # después, con el nombre del modelo de salida): se para aquí, con el archivo.
            raise WeightsMismatchError(
                f"«{path}»: «{tensor.layer}» ({tensor.label}) trae "
                f"{int((~np.isfinite(value)).sum())} valores no finitos (NaN o infinito): "
                "el archivo está dañado; no se ha cargado nada.")
        if tuple(value.shape) != tuple(tensor.variable.shape):  # no debería pasar nunca
            raise WeightsMismatchError(
                f"«{path}»: «{tensor.layer}» ({tensor.label}) tiene forma {value.shape} en el "
                f"archivo y el modelo espera {tuple(tensor.variable.shape)}."
            )
        if check_variances and tensor.label == "varianza" \
                and not (np.isfinite(value).all() and (value >= 0).all()):
            raise WeightsMismatchError(
                f"«{path}»: las varianzas de «{tensor.layer}» leídas del archivo son "
                "negativas o no finitas: sus floats no encajan con las capas del modelo "
                f"«{model.name}» (¿otra arquitectura: darknet19 frente a tiny, u otro ancho?)."
            )


def _log_load(model, path: Path, starting_point: bool, filled: int, model_convs: int,
              skipped: int | None) -> None:
    """Avisa del épsilon de las norm_N o informa de cuántas convoluciones se llenaron."""
    other_eps = sorted({layer.epsilon for layer in _walk(model)
                        if isinstance(layer, layers.BatchNormalization)
                        and layer.epsilon != DARKNET_BN_EPSILON})
    if other_eps and not starting_point:
        logger.warning("«%s» cargado, pero las capas norm_N usan épsilon %s y darknet "
                       "normaliza con %g: construye el modelo con bn_epsilon=%g para "
                       "reproducir sus salidas.", path, other_eps[0], DARKNET_BN_EPSILON,
                       DARKNET_BN_EPSILON)
    if starting_point:
        logger.info("«%s»: %d de %d convoluciones del modelo llenas (conv_1 … conv_%d)%s.",
                    path, filled, model_convs, filled,
                    "" if skipped is None else
                    f"; se salta su convolución final de {skipped} salidas")


def load_darknet_weights(model, path, *, convs: int | None = None,
                         partial: bool = False) -> dict[str, Any]:
    """Carga un ``.weights`` de darknet en un modelo con capas ``conv_N`` / ``norm_N``.

    Las convoluciones se buscan por nombre (también dentro de submodelos) y se leen en
    orden numérico: por cada ``conv_N``, sus sesgos (la beta de ``norm_N`` si la hay),
    gamma, media y varianza de ``norm_N``, y el núcleo (n, c, h, w) traspuesto a Keras
    (h, w, c, n). Sin ``convs`` ni ``partial`` el archivo debe consumirse exactamente.
    Se lee y comprueba todo antes de asignar nada: si hay un error, el modelo queda
    como estaba.

    Para reproducir las salidas de darknet construye el modelo con
    ``bn_epsilon=DARKNET_BN_EPSILON`` (ver :func:`build_darknet19`).

    Args:
        model: p. ej. ``build_darknet19(num_outputs=125)`` o un modelo de ``build_yolo``.
        path: archivo ``.weights``.
        convs: llena solo las ``convs`` primeras convoluciones del modelo (el extractor,
            sin la convolución final). Si tras ellas el archivo trae una convolución
            final 1×1 con sesgo (la capa de detección de un ``.weights`` completo, de
            cualquier número de clases), se salta; cualquier otro resto es un error.
        partial: el archivo puede traer solo las primeras convoluciones, como los
            ``darknet19_448.conv.23`` que escribe ``darknet partial``; debe acabar justo
            al final de una. Con ``convs`` o ``partial`` se comprueba además que las
            varianzas leídas sean positivas y finitas (si no, los floats no encajan con
            esta arquitectura) y no se avisa del épsilon (es un punto de partida).

    Returns:
        ``{"version": (major, minor, revision), "seen": imágenes vistas al entrenar,
        "header_bytes": 16 o 20, "floats": floats del archivo, "convs": convoluciones
        llenas}``; con ``convs`` o ``partial``, además ``"model_convs"`` (convoluciones
        del modelo) y ``"skipped_outputs"`` (salidas de la convolución final saltada, o
        None).

    Raises:
        ModelFileError: archivo inexistente, cabecera truncada o archivo truncado.
        WeightsMismatchError: sobran floats (otra arquitectura), la última convolución
            es de otro número de clases o anclas, o el modelo no tiene capas ``conv_N``
            que encajen con el formato.

    Example:
        >>> red = build_darknet19(num_outputs=125, bn_epsilon=DARKNET_BN_EPSILON)
        >>> load_darknet_weights(red, "yolov2-voc.weights")["seen"]  # doctest: +SKIP
        5120000
        >>> yolo = build_yolo(["mapache"])       # el extractor de ImageNet, sin la cabeza
        >>> load_darknet_weights(yolo, "darknet19_448.conv.23", convs=22,
        ...                      partial=True)["convs"]  # doctest: +SKIP
        18
    """
    path = Path(path)
    plan, groups, model_convs = _planned_groups(model, path, convs)
    weights = _read_weights_file(path)
    available = len(weights.floats)
    expected = sum(tensor.size for tensor in plan)
    totals = (f"el modelo «{model.name}» espera {_count(expected)} floats y el archivo trae "
              f"{_count(available)} tras la cabecera")
    if convs is None and not partial:
        _check_head_outputs(model, path, groups, expected, weights)
    values, offset, filled = _slice_values(path, groups, weights, partial, totals)
    skipped = _check_leftover(path, plan, groups, weights, read=len(values), offset=offset,
                              filled=filled, skip_head=convs is not None, totals=totals)
    starting_point = convs is not None or partial
    used = plan[:len(values)]
    _check_values(model, path, used, values, check_variances=starting_point)
    for tensor, value in zip(used, values, strict=True):
        tensor.variable.assign(value)
    _log_load(model, path, starting_point, filled, model_convs, skipped)
    info = {"version": tuple(weights.version), "seen": int(weights.seen),
            "header_bytes": weights.header_bytes, "floats": int(available), "convs": filled}
    if starting_point:
        info.update(model_convs=model_convs, skipped_outputs=skipped)
    return info


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
