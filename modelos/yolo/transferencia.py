"""Puntos de partida preentrenados para YOLOv2: cargar un extractor y congelarlo.

:func:`load_backbone_weights` llena las capas ``conv_N`` / ``norm_N`` de un modelo de
:func:`modelos.yolo.build_yolo` (todas salvo la convolución final, la de detección, que
depende de las clases y las anclas) desde uno de tres tipos de archivo, que se
reconocen por su contenido y no por la extensión:

- ``"darknet"``: un ``.weights`` de darknet, completo o con solo las primeras
  convoluciones (``darknet19_448.conv.23``: las 18 de Darknet-19 preentrenadas en
  ImageNet; ``yolov2-tiny.conv.13``: las 7 primeras de tiny). Se lee con
  :func:`modelos.yolo.darknet_pesos.load_darknet_weights`, que dice cuántas llenó.
- ``"keras-yolo2"``: los ``full_yolo_backend.h5`` / ``tiny_yolo_backend.h5`` del
  artículo (HDF5 de Keras 2: atributo ``layer_names``, en la raíz o en el grupo
  ``model_weights``, y por capa ``weight_names`` como ``conv_1/kernel:0`` o
  ``norm_1/moving_mean:0``). Se leen con h5py, sin deserializar ningún modelo, y se
  asignan por nombre de capa comprobando cada forma.
- ``"redes"``: un archivo de :func:`modelos.save` de otro modelo YOLO (p. ej. de otras
  clases): se transfiere todo salvo la última convolución; con ``backbone="mobilenetv2"``,
  también el ``.h5`` de ``redes pesos convertir`` (una MobileNetV2 de ImageNet).
- ``"keras-aplicaciones"``: el archivo de ImageNet de ``keras.applications.MobileNetV2``
  (``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5``, el de ``redes
  pesos descargar mobilenetv2``), tal cual: :mod:`modelos.mobilenet.keras_aplicaciones`.
- ``"torchvision"``: el ``.pth`` de la MobileNetV2 de ImageNet de torchvision, solo para
  ``backbone="mobilenetv2"`` (se lee sin ejecutar nada:
  :mod:`modelos.mobilenet.torchvision`).

:func:`backbone_layers` devuelve las capas del extractor (las que ``--congelar`` deja
fijas mientras se entrena la cabeza).

Referencias:
    - experiencor/keras-yolo2, ``backend.py`` (``FullYoloFeature``, ``TinyYoloFeature``).
    - darknet: ``darknet partial`` y ``load_weights_upto`` (``src/parser.c``).
    - «Detección de objetos con Python y YOLO», Aprende Machine Learning.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any


import numpy as np
from nucleo.keras_listo import layers

from nucleo.errores import ArgumentError
from nucleo.errores import ModelFileError
from nucleo.errores import WeightsMismatchError
from modelos.archivo_h5 import declared_weights
from modelos.archivo_h5 import open_model_file
from modelos.archivo_h5 import read_weights
from modelos.archivo_h5 import reading
from modelos.keras2_h5 import MAX_LAYERS
from modelos.keras2_h5 import decode_names
from modelos.keras2_h5 import keras2_root
from modelos.keras2_h5 import read_keras2_weights
from modelos.yolo.darknet import Reorg
from modelos.yolo.darknet_pesos import load_darknet_weights
from modelos.registro import builder_spec

logger = logging.getLogger("redes")

#: Tipos de archivo que acepta :func:`load_backbone_weights`.
KINDS = ("darknet", "keras-yolo2", "keras-aplicaciones", "redes", "torchvision")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Un .pth de PyTorch es un ZIP (desde la 1.6) o, en el formato antiguo (el del archivo de
# torchvision), un pickle de protocolo 2 que empieza por su número mágico.
_TORCH_SIGNATURES = (b"PK\x03\x04", b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")
# Las capas de la MobileNetV2 (modelos.mobilenet): features_N, features_N_expand_bn...
_FEATURES_PREFIX = "features_"
# HDF5 admite un bloque de usuario delante: la firma va en 0, 512, 1024, 2048...
_HDF5_OFFSETS = (0, *(512 * 2**i for i in range(8)))
_LAYER = re.compile(r"^(conv|norm)_(\d+)$")
# Nombre de cada peso de Keras 2 (``conv_1/kernel:0`` → ``kernel``) → variable de Keras 3.
_CONV_WEIGHTS = ("kernel", "bias")
_NORM_WEIGHTS = ("gamma", "beta", "moving_mean", "moving_variance")


# === Las capas del modelo ===
def _layers_by_name(model) -> dict[str, Any]:
    found = {}
    for layer in model.layers:
        for sub in (layer, *getattr(layer, "layers", ())):
            if _LAYER.match(sub.name) or (sub.name.startswith(_FEATURES_PREFIX)
                                         and sub.weights):
                found[sub.name] = sub
    return found


def _layer_order(name: str) -> tuple[int, str]:
    """``conv_3`` → ``(3, ...)``, ``features_12_expand_bn`` → ``(12, ...)``."""
    return int(name.split("_")[1]), name


def _is_mobilenet(model) -> bool:
    return _model_backbone(model).get("backbone") == "mobilenetv2" or any(
        layer.name == "features_0" for layer in model.layers)


def _count_convs(names) -> int:
    """Las convoluciones entre los nombres de capa (conv_N, y las features_* sin _bn)."""
    return sum(name.startswith("conv_") or (name.startswith(_FEATURES_PREFIX)
                                            and not name.endswith("_bn")) for name in names)


def _head(model, named: dict[str, Any]):
    """La convolución final (la de mayor N): 1×1, con sesgo y sin ``norm_N``."""
    convs = {int(name[5:]): layer for name, layer in named.items() if name.startswith("conv_")}
    if not convs:
        raise ArgumentError(
            f"El modelo «{model.name}» no tiene capas conv_1, conv_2...: los extractores "
            "preentrenados se asignan por esos nombres (usa build_yolo).")
    number = max(convs)
    head = convs[number]
    if (not isinstance(head, layers.Conv2D) or not head.use_bias
            or f"norm_{number}" in named):
        raise ArgumentError(
            f"El modelo «{model.name}» no acaba en una convolución de detección (conv_N con "
            "sesgo y sin norm_N): no parece un modelo de build_yolo.")
    return head, number


def backbone_layers(model) -> list:
    """Las capas del extractor: todas las ``conv_N`` / ``norm_N`` salvo la convolución
    final (y, con ``backbone="mobilenetv2"``, las ``features_*``).

    Raises:
        ArgumentError: si el modelo no tiene las capas de :func:`build_yolo`.
    """
    named = _layers_by_name(model)
    head, _ = _head(model, named)
    return [layer for name, layer in named.items() if layer is not head]


def _reorg_order(model) -> str | None:
    for layer in model.layers:
        if isinstance(layer, Reorg):
            return layer.order
    return None


def _model_backbone(model) -> dict[str, Any]:
    """``backbone``, ``width_multiplier``, ``labels`` y ``anchors`` de un modelo de build_yolo
    (vacío si no viene de un constructor registrado)."""
    spec = builder_spec(model)
    return dict(spec.kwargs) if spec is not None and spec.name == "yolo" else {}


# === Qué tipo de archivo es ===
def weights_kind(path) -> str:
    """Reconoce el tipo de archivo por su contenido: ``"darknet"``, ``"keras-yolo2"`` o
    ``"redes"`` (:func:`modelos.save`).

    Raises:
        ModelFileError: si no existe, está truncado o no es ninguno de los tres.
    """
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"«{path}» es una carpeta; se esperaba un archivo de pesos.")
    if not path.is_file():
        raise ModelFileError(f"No existe el archivo de pesos «{path}».")
    with path.open("rb") as handle:
        is_hdf5 = False
        for offset in _HDF5_OFFSETS:
            handle.seek(offset)
            if handle.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE:
                is_hdf5 = True
                break
        handle.seek(0)
        start = handle.read(16)
    if not is_hdf5:
        if start.startswith(_TORCH_SIGNATURES) or (
                path.suffix.lower() in (".pth", ".pt") and start.startswith(b"\x80")):
            return "torchvision"  # torch.load(weights_only=True) rechaza un pickle con código
        return _darknet_kind(path, start)
    with open_model_file(path) as handle, reading(path, "los atributos del archivo"):
        if handle.attrs.get("format") in ("redes-keras", b"redes-keras"):
            return "redes"
        root = keras2_root(handle)
        if root is not None:
            from modelos.mobilenet.keras_aplicaciones import is_keras_mobilenetv2

            if is_keras_mobilenetv2(decode_names(root.attrs["layer_names"])[:MAX_LAYERS]):
                return "keras-aplicaciones"
            return "keras-yolo2"
        if "layers" in handle and "vars" not in handle:
            raise ModelFileError(
                f"«{path}» es un archivo de pesos de Keras 3 (.weights.h5), que no guarda los "
                "nombres de capa: guarda el modelo con modelos.save o usa un backend de "
                "keras-yolo2 (HDF5 de Keras 2).")
    raise ModelFileError(
        f"«{path}» es HDF5 pero no es de modelos.save ni de Keras 2 (falta el atributo "
        "«layer_names»): se esperaba full_yolo_backend.h5 / tiny_yolo_backend.h5, un .h5 "
        "de «redes deteccion entrenar» o un .weights de darknet.")


def _darknet_kind(path: Path, start: bytes) -> str:
    if len(start) < 16:
        raise ModelFileError(
            f"«{path}» tiene {len(start)} bytes: no es un HDF5 y es demasiado corto para un "
            ".weights de darknet (cabecera de 16 o 20 bytes); ¿descarga incompleta?")
    major, minor, revision = np.frombuffer(start[:12], "<i4")
    if not all(0 <= v < 1000 for v in (major, minor, revision)):
        raise ModelFileError(
            f"«{path}» no es un archivo de pesos reconocible: no es HDF5 (Keras 2 o "
            "modelos.save) y su cabecera no es la de darknet (versión "
            f"{major}.{minor}.{revision}).")
    return "darknet"


def _load_keras_applications(model, path: Path, named: dict[str, Any]) -> list[str]:
    """El archivo de ImageNet de ``keras.applications.MobileNetV2`` (ver
    :mod:`modelos.mobilenet.keras_aplicaciones`): todo se comprueba antes de asignar."""
    from modelos.mobilenet.keras_aplicaciones import load_keras_applications

    return sorted(load_keras_applications(model, path), key=_layer_order)


# === Cargar ===
def load_backbone_weights(model, path, *, head: bool = False) -> dict[str, Any]:
    """Llena el extractor de un modelo YOLO desde un archivo preentrenado (3 tipos).

    El tipo se reconoce por el contenido (:func:`weights_kind`). Todo se lee y se
    comprueba (nombre y forma de cada peso) antes de asignar nada: si algo falla, el
    modelo queda como estaba. La convolución final (detección) no se toca salvo con
    ``head=True``.

    Args:
        model: un modelo de :func:`modelos.yolo.build_yolo`.
        path: ``darknet19_448.conv.23``, ``full_yolo_backend.h5``, ``tiny_yolo_backend.h5``,
            un ``.weights`` de darknet, o un ``.h5`` de ``redes deteccion entrenar``.
        head: transferir también la convolución final; entonces el archivo debe tener
            el mismo número de salidas (clases y anclas) y, si es de ``modelos.save``,
            las mismas clases.

    Returns:
        ``{"archivo", "tipo", "capas": nombres llenos, "convoluciones": cuántas,
        "convoluciones_extractor": cuántas tiene el extractor del modelo, "cabeza": bool}``.

    Raises:
        ModelFileError: archivo inexistente, truncado o de tipo desconocido.
        WeightsMismatchError: otra arquitectura (darknet19 frente a tiny, otro ancho,
            otro reorg) o, con ``head=True``, otro número de clases.
        ArgumentError: el modelo no es de ``build_yolo``.

    Example:
        >>> modelo = build_yolo(["mapache"], input_size=320, backbone="tiny")
        >>> load_backbone_weights(modelo, "tiny_yolo_backend.h5")["convoluciones"]  # doctest: +SKIP
        8
    """
    path = Path(path)
    named = _layers_by_name(model)
    head_layer, head_number = _head(model, named)
    kind = weights_kind(path)
    mobilenet = _is_mobilenet(model)
    _check_kind_fits(path, kind, mobilenet)
    if kind == "darknet":
        filled = _load_darknet(model, path, head, head_number)
    elif kind == "keras-yolo2":
        filled = _load_keras2(model, path, named, head_layer if not head else None)
    elif kind == "keras-aplicaciones":
        filled = _load_keras_applications(model, path, named)
    elif kind == "torchvision" or (mobilenet and _saved_builder(path) == "mobilenetv2"):
        filled = _load_mobilenet_features(model, path, named)
    else:
        filled = _load_redes(model, path, named, head_layer, head)
    convs = _count_convs(filled)
    extractor = _count_convs(name for name, layer in named.items() if layer is not head_layer)
    report = {"archivo": str(path), "tipo": kind, "capas": filled, "convoluciones": convs,
              "convoluciones_extractor": extractor,
              "cabeza": head_layer.name in filled}
    logger.info("Punto de partida «%s» (%s): %d de %d convoluciones del extractor%s.", path,
                kind, convs - report["cabeza"], extractor,
                " y la cabeza" if report["cabeza"] else "")
    return report


def _check_kind_fits(path: Path, kind: str, mobilenet: bool) -> None:
    """Los archivos de darknet no sirven a una MobileNetV2, ni los de torchvision a darknet."""
    if not mobilenet and kind == "keras-aplicaciones":
        raise WeightsMismatchError(
            f"«{path}» es la MobileNetV2 de keras.applications y el modelo usa un extractor "
            "de darknet: entrene con --backbone mobilenetv2.")
    if mobilenet and kind in ("darknet", "keras-yolo2"):
        raise WeightsMismatchError(
            f"«{path}» es un archivo de darknet ({kind}) y el modelo usa el extractor "
            "MobileNetV2: use el .pth de torchvision, el .h5 de «redes pesos convertir» o el "
            "de otro YOLO con --backbone mobilenetv2.")
    if not mobilenet and kind == "torchvision":
        raise WeightsMismatchError(
            f"«{path}» es un .pth de PyTorch (una MobileNetV2 de torchvision) y el modelo usa "
            "un extractor de darknet: entrene con --backbone mobilenetv2.")
    if not mobilenet and kind == "redes" and _saved_builder(path) == "mobilenetv2":
        raise WeightsMismatchError(
            f"«{path}» es una MobileNetV2 («redes pesos convertir») y el modelo usa un "
            "extractor de darknet: entrene con --backbone mobilenetv2.")


def _saved_builder(path: Path) -> str | None:
    from modelos.guardado import load_metadata

    try:
        return load_metadata(path)["builder"]
    except ModelFileError:
        return None


def _load_mobilenet_features(model, path: Path, named: dict[str, Any]) -> list[str]:
    """El extractor de una MobileNetV2 de ImageNet (.pth o el .h5 de ``redes pesos
    convertir``): las capas ``features_*``, comprobadas antes de asignar nada."""
    from modelos.mobilenet.preentrenado import load_pretrained_features

    load_pretrained_features(model, path)
    return sorted((name for name in named if name.startswith(_FEATURES_PREFIX)),
                  key=_layer_order)


def _post_reorg_conv(model, head_number: int) -> str | None:
    """La convolución que lee la concatenación tras el reorg (conv_22 en Darknet-19)."""
    return f"conv_{head_number - 1}" if _reorg_order(model) is not None else None


def _load_darknet(model, path: Path, head: bool, head_number: int) -> list[str]:
    order = _reorg_order(model)
    saved = None
    if order == "space_to_depth":
        # Darknet entrena conv_22 con su propio reorg: solo se comprueba tras leer, así
        # que se guarda el estado para dejar el modelo como estaba si no encaja.
        saved = [(v, np.array(v.numpy())) for v in model.weights]
    info = load_darknet_weights(model, path, convs=None if head else head_number - 1,
                                partial=not head)
    filled_convs = info["convs"]
    if saved is not None and filled_convs >= head_number - 1:
        for variable, value in saved:
            variable.assign(value)
        raise WeightsMismatchError(
            f"«{path}» trae «conv_{head_number - 1}», entrenada tras el reorg de darknet, y el "
            "modelo usa reorg_order='space_to_depth' (el de keras-yolo2): constrúyelo con "
            "reorg_order='darknet'.")
    names = [f"conv_{n}" for n in range(1, filled_convs + 1)]
    norms = {layer.name for layer in model.layers}
    return names + [f"norm_{n}" for n in range(1, filled_convs + 1) if f"norm_{n}" in norms]


def _load_keras2(model, path: Path, named: dict[str, Any], skip) -> list[str]:
    stored = read_keras2_weights(path, _LAYER)
    if not stored:
        raise WeightsMismatchError(f"«{path}» no tiene capas conv_N / norm_N con pesos "
                                   "(¿no es un backend de keras-yolo2?).")
    post_reorg = _post_reorg_conv(model, int(_head(model, named)[0].name[5:]))
    if post_reorg in stored and _reorg_order(model) == "darknet":
        raise WeightsMismatchError(
            f"«{path}» es de keras-yolo2, cuyo «{post_reorg}» se entrenó tras el reorg de "
            "tf.space_to_depth, y el modelo usa el de darknet: constrúyelo con "
            "build_yolo(..., reorg_order='space_to_depth') («redes deteccion entrenar "
            "--backbone-pesos» lo hace solo).")
    plan = []
    for name in sorted(stored, key=lambda n: (int(n.split("_")[1]), n)):
        layer = named.get(name)
        if layer is None:
            raise WeightsMismatchError(
                f"«{path}» trae «{name}» y el modelo «{model.name}» no tiene esa capa: es de "
                "otra arquitectura (¿full_yolo_backend.h5 en un modelo tiny?).")
        if layer is skip:
            logger.info("«%s»: «%s» es la capa de detección del modelo; no se carga.", path,
                        name)
            continue
        expected = _CONV_WEIGHTS[:1 + bool(layer.use_bias)] if name.startswith("conv_") \
            else _NORM_WEIGHTS
        got = stored[name]
        if set(got) != set(expected):
            raise WeightsMismatchError(
                f"«{path}»: «{name}» trae los pesos {sorted(got)} y la capa del modelo "
                f"espera {list(expected)}.")
        for weight in expected:
            variable = getattr(layer, weight)
            if tuple(got[weight].shape) != tuple(variable.shape):
                raise WeightsMismatchError(
                    f"«{path}»: «{name}/{weight}» tiene forma {tuple(got[weight].shape)} en el "
                    f"archivo y el modelo espera {tuple(variable.shape)}: es de otra "
                    "arquitectura (darknet19 frente a tiny, u otro ancho: --ancho 1 para los "
                    "backends de keras-yolo2).")
            plan.append((variable, got[weight]))
        if name.startswith("norm_") and (got["moving_variance"] < 0).any():
            raise WeightsMismatchError(f"«{path}»: «{name}» tiene varianzas negativas.")
    for variable, value in plan:
        variable.assign(value)
    return sorted({variable.path.split("/")[0] for variable, _ in plan},
                  key=lambda n: (int(n.split("_")[1]), n))


def _load_redes(model, path: Path, named: dict[str, Any], head_layer, head: bool) -> list[str]:
    from modelos.guardado import load_metadata

    info = load_metadata(path)
    if info["builder"] != "yolo":
        raise WeightsMismatchError(
            f"«{path}» es un modelo «{info['builder']}» de modelos.save, no de YOLO: como "
            "punto de partida sirve el .h5 de «redes deteccion entrenar».")
    saved, ours = info["kwargs"], _model_backbone(model)
    for key, what in (("backbone", "extractor"), ("width_multiplier", "ancho (--ancho)")):
        if ours and saved.get(key) != ours.get(key):
            raise WeightsMismatchError(
                f"«{path}» es de un YOLO con {what} {saved.get(key)!r} y el modelo tiene "
                f"{ours.get(key)!r}: es otra arquitectura.")
    if ours.get("backbone") == "mobilenetv2" and saved.get(
            "mobilenet_padding", "torchvision") != ours.get("mobilenet_padding", "torchvision"):
        raise WeightsMismatchError(
            f"«{path}» es de una MobileNetV2 con el relleno "
            f"{saved.get('mobilenet_padding', 'torchvision')!r} y el modelo usa "
            f"{ours.get('mobilenet_padding', 'torchvision')!r}: es otra arquitectura.")
    if ours.get("backbone") == "darknet19" and saved.get("reorg_order") != ours.get("reorg_order"):
        raise WeightsMismatchError(
            f"«{path}» usa reorg_order={saved.get('reorg_order')!r} y el modelo "
            f"{ours.get('reorg_order')!r}: la convolución tras el reorg no serviría.")
    if head and ours:
        same = (list(saved.get("labels", [])) == list(ours.get("labels", []))
                and np.allclose(np.asarray(saved.get("anchors"), float).ravel(),
                                np.asarray(ours.get("anchors"), float).ravel()))
        if not same:
            raise WeightsMismatchError(
                f"«{path}» es de las clases {saved.get('labels')} (con sus anclas) y el modelo "
                f"de {ours.get('labels')}: la cabeza solo se transfiere con las mismas clases "
                "y anclas; sin la cabeza (head=False) se transfiere el resto.")
    targets = [layer for layer in named.values() if head or layer is not head_layer]
    variables = [v for layer in targets for v in layer.weights]
    with open_model_file(path) as handle:
        declared = {entry.path: entry for entry in declared_weights(handle, path)}
        entries = []
        for variable in variables:
            entry = declared.get(variable.path)
            if entry is None:
                raise WeightsMismatchError(
                    f"«{path}» no tiene la variable «{variable.path}» del modelo: es de otra "
                    "arquitectura.")
            if entry.shape != tuple(variable.shape):
                raise WeightsMismatchError(
                    f"«{path}»: «{variable.path}» tiene forma {entry.shape} en el archivo y "
                    f"el modelo espera {tuple(variable.shape)}: es de otra arquitectura.")
            entries.append(entry)
        values = read_weights(handle, path, entries, variables)
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)
    return sorted((layer.name for layer in targets), key=_layer_order)
