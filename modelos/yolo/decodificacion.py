"""Decodificación de la salida de YOLOv2, supresión de no máximos y detección.

La red devuelve, por imagen, ``netout`` ``(S_h, S_w, A, 5 + C)`` con los valores
crudos de la última convolución 1×1 (orden de la capa ``[region]`` de darknet):
``tx, ty, tw, th, to, logits de clase``. Se decodifican como en darknet y
keras-yolo2, en unidades de celda::

    cx = columna + σ(tx)      cy = fila + σ(ty)
    w  = ancla_w · exp(tw)    h  = ancla_h · exp(th)
    objeto = σ(to)            p(clase) = softmax(logits)

y luego se pasan a coordenadas relativas a la entrada de la red (``x / S_w``,
``y / S_h``). La puntuación de una caja es ``objeto · p(mejor clase)``.

Todo es numpy vectorizado; solo el bucle voraz de la NMS recorre, por clase, las
cajas que se conservan.

Referencia:
    Redmon y Farhadi, «YOLO9000: Better, Faster, Stronger» (2016);
    experiencor/keras-yolo2, ``utils.decode_netout``;
    «Detección de objetos con Python y YOLO», Aprende Machine Learning.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datos.cajas import box_iou
from datos.cajas import clip_boxes
from datos.cajas import cxcywh_to_xyxy
from nucleo.errores import ArgumentError
from nucleo.validacion import check_int
from nucleo.validacion import check_number
from modelos.yolo.objetivos import LOG_WH_LIMIT
from modelos.yolo.objetivos import as_anchors
from modelos.yolo.preprocesado import read_image
from modelos.yolo.preprocesado import resize_image
from modelos.yolo.preprocesado import to_input

# Imágenes por pasada de la red en detect_batch.
DETECT_BATCH_SIZE = 16


def decode(netout, anchors, obj_threshold: float = 0.3,
           nms_threshold: float = 0.3) -> np.ndarray:
    """Cajas detectadas en la salida de la red para **una** imagen.

    Args:
        netout: ``(S_h, S_w, A, 5 + C)`` crudo (numpy o tensor, cualquier dtype real).
        anchors: (A, 2) ``w, h`` en unidades de celda o la lista plana de keras-yolo2.
        obj_threshold: puntuación mínima (``objeto · p(clase)``) para conservar una caja.
        nms_threshold: IoU por encima de la cual una caja de la misma clase con menor
            puntuación se suprime.

    Returns:
        ``float32`` (N, 6): ``xmin, ymin, xmax, ymax, puntuación, clase`` con las
        coordenadas relativas a la entrada de la red (x sobre el ancho, y sobre el
        alto; **sin recortar**, pueden salirse de [0, 1] un poco), ordenadas por
        puntuación descendente. (0, 6) si no hay ninguna.

    Raises:
        ArgumentError: si la forma no encaja con las anclas o un umbral no es válido.

    Example:
        >>> cajas = decode(model(x)[0], VOC_ANCHORS)
        >>> cajas[:, :4] * [ancho, alto, ancho, alto]   # a píxeles
    """
    netout = as_netout(netout, rank=4)
    anchors = as_anchors(anchors)
    obj_threshold = check_number(obj_threshold, "obj_threshold", minimum=0.0, maximum=1.0,
                                 where="decode")
    nms_threshold = check_number(nms_threshold, "nms_threshold", minimum=0.0, maximum=1.0,
                                 where="decode")
    grid_h, grid_w, n_anchors, depth = netout.shape
    if n_anchors != len(anchors) or depth < 6:
        raise ArgumentError(
            f"decode: la salida {netout.shape} no encaja con {len(anchors)} anclas y al "
            f"menos una clase (se esperaba (S_h, S_w, {len(anchors)}, 5 + C)).")

    logits = netout[..., 5:]
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)                  # (S_h, S_w, A, C)
    classes = probs.argmax(axis=-1)                             # (S_h, S_w, A)
    scores = _sigmoid(netout[..., 4]) * np.take_along_axis(
        probs, classes[..., None], axis=-1)[..., 0]             # (S_h, S_w, A)
    rows, cols, anchor = np.nonzero(scores >= obj_threshold)
    if len(rows) == 0:
        return np.zeros((0, 6), np.float32)

    raw = netout[rows, cols, anchor]                            # (N, 5 + C)
    centers = (np.stack([cols, rows], axis=1) + _sigmoid(raw[:, 0:2])) \
        / np.array([grid_w, grid_h])
    sizes = anchors[anchor] * np.exp(np.clip(raw[:, 2:4], -LOG_WH_LIMIT, LOG_WH_LIMIT)) \
        / np.array([grid_w, grid_h])
    boxes = cxcywh_to_xyxy(np.concatenate([centers, sizes], axis=1))  # (N, 4)
    found_scores = scores[rows, cols, anchor]
    found_classes = classes[rows, cols, anchor]
    kept = nms(boxes, found_scores, found_classes, nms_threshold)
    return np.concatenate([boxes[kept], found_scores[kept, None],
                           found_classes[kept, None]], axis=1).astype(np.float32)


def decode_batch(netouts, anchors, obj_threshold: float = 0.3,
                 nms_threshold: float = 0.3) -> list[np.ndarray]:
    """:func:`decode` de cada imagen de un lote ``(B, S_h, S_w, A, 5 + C)``.

    Returns:
        Una lista de B arreglos (N_i, 6) como los de :func:`decode`.
    """
    netouts = as_netout(netouts, rank=5)
    return [decode(netout, anchors, obj_threshold, nms_threshold) for netout in netouts]


def nms(boxes, scores, classes=None, threshold: float = 0.3) -> np.ndarray:
    """Supresión voraz de no máximos por clase.

    Por clase y en orden de puntuación descendente, cada caja que sobrevive suprime
    a las siguientes de su clase con IoU **mayor** que ``threshold``. Cajas de clases
    distintas nunca se suprimen entre sí.

    Args:
        boxes: (N, 4) ``xmin, ymin, xmax, ymax``.
        scores: (N,) puntuaciones.
        classes: (N,) clases; ``None`` = todas de la misma clase.
        threshold: IoU máxima permitida entre dos cajas conservadas de una clase.

    Returns:
        ``int64`` índices de las cajas conservadas, por puntuación descendente (a
        igual puntuación, en el orden de entrada).

    Raises:
        ArgumentError: si las longitudes no coinciden o el umbral no es válido.

    Example:
        >>> nms([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10]], [0.9, 0.8, 0.7],
        ...     [0, 0, 1], threshold=0.5)
        array([0, 2])
    """
    threshold = check_number(threshold, "threshold", minimum=0.0, maximum=1.0, where="nms")
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(scores, np.float64).reshape(-1)
    classes = np.zeros(len(scores), np.int64) if classes is None \
        else np.asarray(classes).reshape(-1)
    if not len(boxes) == len(scores) == len(classes):
        raise ArgumentError(f"nms: hay {len(boxes)} cajas, {len(scores)} puntuaciones y "
                            f"{len(classes)} clases; deben ser tantas como cajas.")
    order = np.argsort(-scores, kind="stable")
    kept = []
    for label in np.unique(classes):
        members = order[classes[order] == label]                # por puntuación
        overlaps = box_iou(boxes[members], boxes[members])      # (n, n)
        remaining = np.arange(len(members))
        while remaining.size:
            best, rest = remaining[0], remaining[1:]
            kept.append(members[best])
            remaining = rest[overlaps[best, rest] <= threshold]
    kept = np.asarray(kept, np.int64)
    return kept[np.argsort(-scores[kept], kind="stable")] if kept.size else kept


def detect(model, image, anchors=None, obj_threshold: float = 0.3,
           nms_threshold: float = 0.3) -> np.ndarray:
    """Detecta objetos en una imagen: redimensiona → red → decodifica → píxeles.

    La imagen se lee y se redimensiona como en el entrenamiento
    (:mod:`modelos.yolo.preprocesado`: una ruta se decodifica con la orientación EXIF
    aplicada) y las cajas vuelven en píxeles de esa imagen.

    Args:
        model: modelo YOLOv2 con entrada ``(alto, ancho, 3)`` fija y salida
            ``(S_h, S_w, A, 5 + C)`` cruda, o un motor de :mod:`inferencia.motores`
            (ONNX Runtime, OpenVINO...) que lo ejecute: la decodificación y la NMS son
            las mismas.
        image: ``uint8`` RGB (H, W, 3) (o gris (H, W)), o la ruta de una imagen.
        anchors: anclas del modelo; ``None`` las toma de ``build_yolo`` (registro
            ``"yolo"``; ``VOC_ANCHORS`` si no se pasaron).
        obj_threshold: puntuación mínima.
        nms_threshold: umbral de IoU de la NMS.

    Returns:
        ``float32`` (N, 6) ``xmin, ymin, xmax, ymax, puntuación, clase`` en píxeles
        de la imagen **original** (con la orientación EXIF aplicada, si es una ruta),
        recortadas a ella, por puntuación descendente.

    Raises:
        ArgumentError: si la imagen no es válida o faltan las anclas.
        DataError: si la ruta no se puede leer como imagen (la nombra).

    Example:
        >>> model = modelos.load("pesos/red_lego.h5")
        >>> for xmin, ymin, xmax, ymax, score, label in detect(model, "foto.jpg"):
        ...     print(labels[int(label)], score)
    """
    return detect_batch(model, [image], anchors, obj_threshold, nms_threshold)[0]


def detect_batch(model, images, anchors=None, obj_threshold: float = 0.3,
                 nms_threshold: float = 0.3,
                 batch_size: int = DETECT_BATCH_SIZE) -> list[np.ndarray]:
    """:func:`detect` para una lista de imágenes de cualquier tamaño.

    Cada imagen se redimensiona a la entrada de la red y se pasan juntas por la red
    en tandas de ``batch_size`` (una sola pasada si son menos).

    Args:
        model: como en :func:`detect`.
        images: lista de imágenes ``uint8`` (H_i, W_i, 3) o rutas.
        anchors: como en :func:`detect`.
        obj_threshold: puntuación mínima.
        nms_threshold: umbral de IoU de la NMS.
        batch_size: imágenes por pasada de la red.

    Returns:
        Una lista de arreglos (N_i, 6) en píxeles de cada imagen original.

    Raises:
        ArgumentError: si alguna imagen no es válida o faltan las anclas.
        DataError: si una ruta no se puede leer como imagen.
    """
    anchors = model_anchors(model) if anchors is None else as_anchors(anchors)
    batch_size = check_int(batch_size, "batch_size", where="detect_batch")
    height, width = input_size(model)
    if isinstance(images, (str, Path, np.ndarray)):
        raise ArgumentError("detect_batch: «images» debe ser una lista de imágenes o rutas "
                            "(para una sola, use detect).")
    images = [read_image(image) for image in images]
    results = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        pixels = np.stack([resize_image(image, (height, width)) for image in chunk])
        for image, netout in zip(chunk, network_outputs(model, pixels), strict=True):
            found = decode(netout, anchors, obj_threshold, nms_threshold)
            results.append(to_pixels(found, image.shape[1], image.shape[0]))
    return results


def network_outputs(model, pixels: np.ndarray) -> np.ndarray:
    """La salida cruda ``(B, S_h, S_w, A, 5 + C)`` de un lote ya redimensionado.

    Args:
        model: el YOLOv2 de Keras o un motor de :mod:`inferencia.motores`.
        pixels: ``uint8`` ``(B, alto, ancho, 3)`` del tamaño de la entrada de la red.
    """
    if hasattr(model, "predict_images"):   # un motor: divide entre 255 a su manera
        return as_netout(model.predict_images(pixels), rank=5)
    # (b, alto, ancho, 3) float32 en [0, 1], como los lotes de entrenamiento
    return as_netout(model.predict_on_batch(to_input(pixels)), rank=5)


def to_pixels(detections: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pasa las cajas relativas de :func:`decode` a píxeles de una imagen y las recorta.

    Args:
        detections: (N, 6) de :func:`decode` (se modifica y se devuelve).
        width, height: tamaño de la imagen original en píxeles.
    """
    detections[:, :4] = clip_boxes(detections[:, :4] * [width, height, width, height],
                                   width, height)
    return detections


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Forma estable con tanh: sin desbordes para |x| grande.
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def as_netout(netout, rank: int) -> np.ndarray:
    """Salida de la red como ``float32`` numpy del rango pedido."""
    if not isinstance(netout, np.ndarray):
        from nucleo.keras_listo import keras

        netout = keras.ops.convert_to_numpy(netout)
    netout = np.asarray(netout, dtype=np.float32)
    if netout.ndim != rank:
        layout = "(S_h, S_w, A, 5 + C)" if rank == 4 else "(B, S_h, S_w, A, 5 + C)"
        raise ArgumentError(f"Se esperaba una salida de YOLO {layout}; recibida forma "
                            f"{netout.shape}.")
    return netout


def model_anchors(model) -> np.ndarray:
    from modelos.yolo.constructor import yolo_config

    try:
        return as_anchors(yolo_config(model)["anchors"])
    except ArgumentError:
        raise ArgumentError("detect: el modelo no viene de build_yolo; indique sus anclas "
                            "con «anchors» ((A, 2) ancho y alto en celdas).") from None


def input_size(model) -> tuple[int, int]:
    shape = tuple(model.input_shape)
    if len(shape) != 4 or shape[1] is None or shape[2] is None or shape[3] != 3:
        raise ArgumentError(f"detect: el modelo debe tener una entrada (alto, ancho, 3) "
                            f"fija; tiene {shape}.")
    return shape[1], shape[2]
