"""Objetivos de entrenamiento de YOLOv2: cajas → rejilla + búfer de cajas verdaderas.

Disposición del objetivo (lo que recibe la pérdida como ``y_true``)
-------------------------------------------------------------------
YOLOv2 necesita dos cosas por imagen: la rejilla ``(S_h, S_w, A, 5 + C)`` y el
búfer de cajas verdaderas ``(max_boxes, 4)`` (para no castigar como «sin objeto» una
predicción que ya solapa una caja real). keras-yolo2 pasaba el búfer como segunda
*entrada* del modelo; aquí viaja dentro del objetivo, así la pérdida no depende de
entradas extra ni de atributos del modelo. :func:`pack_target` apila ambas cosas en
un solo arreglo ``float32`` de forma ``(S_h·S_w·A + max_boxes, 5 + C)``:

- filas ``[0, S_h·S_w·A)``: la rejilla aplanada en orden C (fila, columna, ancla);
- filas siguientes: una caja verdadera por fila en las columnas 0..3
  (``cx, cy, w, h`` en unidades de celda), resto de columnas a 0; las filas de
  relleno son todo ceros (área 0, IoU 0 con cualquier predicción).

:func:`unpack_target` deshace el apilado con ``keras.ops`` (sirve dentro de una
pérdida de Keras y con arreglos numpy). ``5 + C ≥ 4`` siempre, así que cabe.

Este módulo vive junto al constructor, la pérdida y la decodificación: todos leen
las mismas anclas y el mismo formato. Los lotes para ``fit`` están en
:mod:`modelos.yolo.lotes`.

Referencia:
    Redmon y Farhadi, «YOLO9000: Better, Faster, Stronger» (2016);
    experiencor/keras-yolo2 (``preprocessing.BatchGenerator``);
    «Detección de objetos con Python y YOLO», Aprende Machine Learning.
"""

from __future__ import annotations

import logging

import numpy as np

from datos.cajas import as_size
from datos.cajas import scale_boxes
from datos.cajas import wh_iou
from datos.cajas import xyxy_to_cxcywh
from nucleo.errores import ArgumentError
from nucleo.validacion import check_int
from modelos.yolo.darknet import DOWNSAMPLING

logger = logging.getLogger("redes")

# Anclas de darknet ``yolov2-voc.cfg`` (w, h) en unidades de celda (rejilla 13×13).
VOC_ANCHORS = ((1.3221, 1.73145), (3.19275, 4.00944), (5.05587, 8.09892),
               (9.47112, 4.84053), (11.2364, 10.0071))
# Lado de una celda en píxeles de la entrada: la reducción total del extractor.
STRIDE = DOWNSAMPLING
# Límite de |tw|, |th| antes de exp() al pasar a ancho y alto (pérdida y decodificación):
# exp(16) ≈ 9·10⁶ celdas ya es «infinito» para una IoU y evita inf − inf = NaN con
# logits enormes (en la pérdida no afecta al gradiente: la IoU no lo propaga).
LOG_WH_LIMIT = 16.0


def grid_size(image_size, grid=None) -> tuple[int, int]:
    """Rejilla ``(S_h, S_w)`` de YOLOv2: ``grid`` si se da, si no ``image_size / 32``.

    Raises:
        ArgumentError: si ``image_size`` no es múltiplo de 32 y no se da ``grid``.
    """
    if grid is not None:
        return as_size(grid, "grid")
    height, width = as_size(image_size)
    if height % STRIDE or width % STRIDE:
        raise ArgumentError(f"«image_size» ({height}, {width}) debe ser múltiplo de "
                            f"{STRIDE} (o indique «grid»).")
    return height // STRIDE, width // STRIDE


def as_anchors(anchors) -> np.ndarray:
    """Anclas como ``float64`` (A, 2) ``w, h``; acepta la lista plana de keras-yolo2.

    Raises:
        ArgumentError: si no son pares positivos.
    """
    array = np.asarray(anchors, dtype=np.float64)
    if array.ndim == 1 and array.size % 2 == 0:
        array = array.reshape(-1, 2)
    if array.ndim != 2 or array.shape[1] != 2 or len(array) == 0 \
            or not np.isfinite(array).all() or (array <= 0).any():
        raise ArgumentError(
            f"«anchors» debe ser una lista de pares (ancho, alto) positivos en unidades "
            f"de celda; recibido {np.asarray(anchors).tolist()!r}."
        )
    return array


def encode_targets(boxes, labels, image_size, grid, anchors, num_classes: int,
                   max_boxes: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Codifica las cajas de una imagen como objetivo de entrenamiento de YOLOv2.

    Regla de YOLOv2: cada objeto va a la celda que contiene su centro y, dentro de
    ella, al ancla cuyo ancho/alto tiene mayor IoU con el suyo (centros alineados;
    en caso de empate, la primera ancla). En esa posición se escribe
    ``(cx, cy, w, h, 1, one-hot de la clase)``, con ``cx, cy`` en unidades de celda
    desde el borde izquierdo/superior de la imagen (p. ej. 6.5 = centro de la
    séptima columna) y ``w, h`` en unidades de celda, como keras-yolo2.

    Colisiones: si dos objetos caen en la misma celda y la misma ancla, gana el
    último en el orden de ``boxes`` (como en darknet y keras-yolo2, donde el
    segundo sobrescribe al primero). El perdido no se entrena como objeto, pero
    sigue en el búfer de cajas verdaderas, así que las predicciones que lo
    solapen no se castigan como fondo.

    Las cajas sin área (ancho o alto ≤ 0) se ignoran. Un centro justo en el borde
    derecho o inferior va a la última celda.

    Args:
        boxes: (N, 4) ``xmin, ymin, xmax, ymax`` en píxeles de una imagen de
            tamaño ``image_size``.
        labels: (N,) índices de clase enteros en ``[0, num_classes)``.
        image_size: ``(alto, ancho)`` de la imagen, o un entero si es cuadrada.
        grid: ``(S_h, S_w)`` de la rejilla, o un entero (13 a 416 píxeles).
        anchors: (A, 2) ``w, h`` en unidades de celda, o la lista plana
            ``[w0, h0, w1, h1, ...]`` de keras-yolo2.
        num_classes: número de clases C.
        max_boxes: tamaño del búfer de cajas verdaderas. Si hay más cajas, el tamaño
            no decide cuáles se quedan: primero una por cada celda y ancla ocupadas (las
            que se entrenan como objeto) y después las demás, cada grupo en un orden
            barajado con ``seed`` (:func:`buffer_choice`).
        seed: semilla de esa elección (la del lote, en
            :class:`modelos.yolo.lotes.YoloDataset`).

    Returns:
        ``(y, true_boxes)``: ``float32`` ``(S_h, S_w, A, 4 + 1 + C)`` y ``float32``
        ``(max_boxes, 4)`` con ``cx, cy, w, h`` en unidades de celda (filas de
        relleno a 0).

    Raises:
        ArgumentError: si alguna forma o valor no es válido (el mensaje lo nombra).

    Example:
        >>> y, true_boxes = encode_targets([[0, 0, 64, 64]], [0], 416, 13,
        ...                                VOC_ANCHORS, num_classes=1, max_boxes=5)
        >>> y.shape, true_boxes[0]
        ((13, 13, 5, 6), array([1., 1., 2., 2.], dtype=float32))
    """
    height, width = as_size(image_size)
    grid_h, grid_w = as_size(grid, "grid")
    anchors = as_anchors(anchors)
    num_classes = check_int(num_classes, "num_classes", where="encode_targets")
    max_boxes = check_int(max_boxes, "max_boxes", where="encode_targets")
    boxes, labels = _check_boxes_and_labels(boxes, labels, num_classes)

    y = np.zeros((grid_h, grid_w, len(anchors), 5 + num_classes), np.float32)
    true_boxes = np.zeros((max_boxes, 4), np.float32)
    # (N, 4) cx, cy, w, h en unidades de celda
    cells = xyxy_to_cxcywh(scale_boxes(boxes, grid_w / width, grid_h / height))
    valid = (cells[:, 2] > 0) & (cells[:, 3] > 0)
    cells, labels = cells[valid], labels[valid]
    if len(cells) == 0:
        return y, true_boxes

    winners = _assign_to_grid(y, cells, labels, anchors)
    if len(cells) > max_boxes:
        cells = cells[buffer_choice(len(cells), winners, max_boxes, seed)]
    true_boxes[:len(cells)] = cells
    return y, true_boxes


def buffer_choice(count: int, winners, max_boxes: int, seed: int = 0) -> np.ndarray:
    """Qué ``max_boxes`` de ``count`` cajas van al búfer de la pérdida (índices en orden).

    Primero las ``winners`` (una por celda y ancla ocupadas), después las demás; dentro de
    cada grupo, en un orden barajado por ``seed``. Así el tamaño no decide quién se
    ignora: con el criterio de keras-yolo2 (las de mayor área) los objetos pequeños de una
    foto llena eran siempre los que se quedaban fuera.
    """
    rng = np.random.default_rng([int(seed), count, 7])
    winners = np.asarray(winners, np.int64)
    rest = np.setdiff1d(np.arange(count), winners)
    order = np.concatenate([rng.permutation(winners), rng.permutation(rest)])
    return np.sort(order[:max_boxes])


def cell_anchor_keys(cells: np.ndarray, grid, anchors) -> np.ndarray:
    """La (celda, ancla) de cada caja ``cx, cy, w, h`` en unidades de celda, como un entero
    (la regla de YOLOv2: la celda de su centro y el ancla de mayor IoU de forma)."""
    grid_h, grid_w = as_size(grid, "grid")
    anchors = as_anchors(anchors)
    col = np.clip(np.floor(cells[:, 0]), 0, grid_w - 1).astype(np.int64)
    row = np.clip(np.floor(cells[:, 1]), 0, grid_h - 1).astype(np.int64)
    best = wh_iou(cells[:, 2:], anchors).argmax(axis=1)
    return (row * grid_w + col) * len(anchors) + best


def shared_cells(boxes, image_size, grid, anchors) -> int:
    """Cuántas cajas (``xmin, ymin, xmax, ymax`` en píxeles de una imagen de tamaño
    ``image_size``) comparten celda y ancla con otra y pierden su sitio en el objetivo
    (gana la última)."""
    height, width = as_size(image_size)
    grid_h, grid_w = as_size(grid, "grid")
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    cells = xyxy_to_cxcywh(scale_boxes(boxes, grid_w / width, grid_h / height))
    cells = cells[(cells[:, 2] > 0) & (cells[:, 3] > 0)]
    return int(len(cells) - len(np.unique(cell_anchor_keys(cells, (grid_h, grid_w), anchors))))


def _check_boxes_and_labels(boxes, labels, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Cajas ``float64`` (N, 4) finitas y N etiquetas enteras en ``[0, num_classes)``.

    Raises:
        ArgumentError: si las formas no casan, una etiqueta se sale o hay no finitos.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    boxes = boxes.reshape(0, 4) if boxes.size == 0 else boxes
    labels = np.asarray(labels).reshape(-1)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or len(labels) != len(boxes):
        raise ArgumentError(
            f"encode_targets: se esperaban cajas (N, 4) y N etiquetas; llegaron cajas "
            f"{boxes.shape} y {len(labels)} etiquetas."
        )
    if len(labels) and (not np.issubdtype(labels.dtype, np.integer)
                        or labels.min() < 0 or labels.max() >= num_classes):
        raise ArgumentError(
            f"encode_targets: las etiquetas deben ser índices enteros en [0, "
            f"{num_classes}); recibidas {labels.tolist()}."
        )
    if not np.isfinite(boxes).all():
        raise ArgumentError("encode_targets: las cajas contienen valores no finitos.")
    return boxes, labels


def _assign_to_grid(y: np.ndarray, cells: np.ndarray, labels: np.ndarray,
                    anchors: np.ndarray) -> np.ndarray:
    """Escribe en ``y`` cada caja en su celda y su mejor ancla (gana la última); devuelve
    los índices de las que quedaron escritas."""
    grid_h, grid_w = y.shape[:2]
    keys = cell_anchor_keys(cells, (grid_h, grid_w), anchors)
    best = keys % len(anchors)
    col = (keys // len(anchors)) % grid_w
    row = (keys // len(anchors)) // grid_w
    # La última de cada (fila, columna, ancla) gana: se busca en orden inverso. (Cuántas
    # se pierden lo dice al empezar redes deteccion entrenar: shared_cells.)
    _, first_in_reversed = np.unique(keys[::-1], return_index=True)
    winners = len(keys) - 1 - first_in_reversed
    y[row[winners], col[winners], best[winners], :4] = cells[winners]
    y[row[winners], col[winners], best[winners], 4] = 1.0
    y[row[winners], col[winners], best[winners], 5 + labels[winners]] = 1.0
    return winners


def pack_target(y: np.ndarray, true_boxes: np.ndarray) -> np.ndarray:
    """Apila rejilla y búfer en un solo objetivo (ver la docstring del módulo).

    Args:
        y: ``(S_h, S_w, A, 5 + C)`` de :func:`encode_targets`.
        true_boxes: ``(max_boxes, 4)``.

    Returns:
        ``float32`` ``(S_h·S_w·A + max_boxes, 5 + C)``.
    """
    depth = y.shape[-1]
    cells = int(np.prod(y.shape[:3]))
    packed = np.zeros((cells + len(true_boxes), depth), np.float32)
    packed[:cells] = y.reshape(cells, depth)
    packed[cells:, :4] = true_boxes
    return packed


def unpack_target(target, grid, n_anchors: int):
    """Separa un lote de objetivos apilados en rejilla y búfer de cajas verdaderas.

    Usa ``keras.ops``: sirve dentro de una pérdida de Keras (tensores) y con
    arreglos numpy.

    Args:
        target: ``(B, S_h·S_w·A + max_boxes, 5 + C)``, lotes de
            :class:`modelos.yolo.lotes.YoloDataset`.
        grid: ``(S_h, S_w)`` o un entero; dentro de un grafo, también dos tensores
            escalares (la rejilla del entrenamiento multiescala, que solo se conoce al
            ejecutar).
        n_anchors: A.

    Returns:
        ``(y, true_boxes)``: ``(B, S_h, S_w, A, 5 + C)`` y ``(B, max_boxes, 4)``.

    Example:
        >>> y_true, true_boxes = unpack_target(y_batch, grid=13, n_anchors=5)
    """
    from nucleo.keras_listo import ops

    if isinstance(grid, (tuple, list)) and not all(isinstance(g, (int, np.integer))
                                                   for g in grid):
        grid_h, grid_w = grid  # tensores: la forma la comprueba el reshape
    else:
        grid_h, grid_w = as_size(grid, "grid")
    cells = grid_h * grid_w * n_anchors
    depth = ops.shape(target)[-1]
    y = ops.reshape(target[:, :cells, :], (-1, grid_h, grid_w, n_anchors, depth))
    return y, target[:, cells:, :4]
