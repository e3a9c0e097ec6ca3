"""Objetivos de entrenamiento de YOLOv2 y lotes ``(imagen, objetivo)`` para ``fit``.

Flujo: registros de :func:`datos.anotaciones.read_voc` → imagen redimensionada al
tamaño de la red (cajas reescaladas) → aumento opcional (imagen y cajas en una
llamada a imgaug) → :func:`encode_targets` → :func:`pack_target` → lote.

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

Referencia:
    Redmon y Farhadi, «YOLO9000: Better, Faster, Stronger» (2016);
    experiencor/keras-yolo2 (``preprocessing.BatchGenerator``);
    «Detección de objetos con Python y YOLO», Aprende Machine Learning.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from datos.entorno import import_tensorflow

import_tensorflow()

import keras  # noqa: E402

from datos.cajas import as_size  # noqa: E402
from datos.cajas import grid_size  # noqa: E402
from datos.cajas import scale_boxes  # noqa: E402
from datos.cajas import wh_iou  # noqa: E402
from datos.cajas import xyxy_to_cxcywh  # noqa: E402
from datos.errores import ArgumentError  # noqa: E402
from datos.errores import DataError  # noqa: E402
from datos.validacion import check_int  # noqa: E402

logger = logging.getLogger("redes")

# Anclas de darknet ``yolov2-voc.cfg`` (w, h) en unidades de celda (rejilla 13×13).
VOC_ANCHORS = ((1.3221, 1.73145), (3.19275, 4.00944), (5.05587, 8.09892),
               (9.47112, 4.84053), (11.2364, 10.0071))


def encode_targets(boxes, labels, image_size, grid, anchors, num_classes: int,
                   max_boxes: int) -> tuple[np.ndarray, np.ndarray]:
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
        max_boxes: tamaño del búfer de cajas verdaderas. Si hay más cajas, se
            guardan las ``max_boxes`` de mayor área.

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

    y = np.zeros((grid_h, grid_w, len(anchors), 5 + num_classes), np.float32)
    true_boxes = np.zeros((max_boxes, 4), np.float32)
    # (N, 4) cx, cy, w, h en unidades de celda
    cells = xyxy_to_cxcywh(scale_boxes(boxes, grid_w / width, grid_h / height))
    valid = (cells[:, 2] > 0) & (cells[:, 3] > 0)
    cells, labels = cells[valid], labels[valid]
    if len(cells) == 0:
        return y, true_boxes

    col = np.clip(np.floor(cells[:, 0]), 0, grid_w - 1).astype(np.int64)
    row = np.clip(np.floor(cells[:, 1]), 0, grid_h - 1).astype(np.int64)
    best = wh_iou(cells[:, 2:], anchors).argmax(axis=1)  # (N,) primera ancla máxima
    # La última de cada (fila, columna, ancla) gana: se busca en orden inverso.
    keys = (row * grid_w + col) * len(anchors) + best
    _, first_in_reversed = np.unique(keys[::-1], return_index=True)
    winners = len(keys) - 1 - first_in_reversed
    if len(winners) < len(keys):
        logger.debug("encode_targets: %d objetos comparten celda y ancla con otro",
                     len(keys) - len(winners))
    y[row[winners], col[winners], best[winners], :4] = cells[winners]
    y[row[winners], col[winners], best[winners], 4] = 1.0
    y[row[winners], col[winners], best[winners], 5 + labels[winners]] = 1.0

    if len(cells) > max_boxes:  # las de mayor área (orden estable)
        order = np.argsort(-(cells[:, 2] * cells[:, 3]), kind="stable")[:max_boxes]
        cells = cells[np.sort(order)]
    true_boxes[:len(cells)] = cells
    return y, true_boxes


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
        target: ``(B, S_h·S_w·A + max_boxes, 5 + C)``, lotes de :class:`YoloDataset`.
        grid: ``(S_h, S_w)`` o un entero.
        n_anchors: A.

    Returns:
        ``(y, true_boxes)``: ``(B, S_h, S_w, A, 5 + C)`` y ``(B, max_boxes, 4)``.

    Example:
        >>> y_true, true_boxes = unpack_target(y_batch, grid=13, n_anchors=5)
    """
    from keras import ops

    grid_h, grid_w = as_size(grid, "grid")
    cells = grid_h * grid_w * n_anchors
    depth = ops.shape(target)[-1]
    y = ops.reshape(target[:, :cells, :], (-1, grid_h, grid_w, n_anchors, depth))
    return y, target[:, cells:, :4]


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


class YoloDataset(keras.utils.PyDataset):
    """Lotes ``(imagen, objetivo)`` de YOLOv2 a partir de registros de ``read_voc``.

    Cada imagen se decodifica (los JPEG grandes, a escala reducida por Pillow), se
    redimensiona al tamaño de la red con sus cajas reescaladas, se aumenta si hay
    aumentador (imagen y cajas en una sola llamada a imgaug, con una semilla propia
    de cada (semilla, época, lote)) y se codifica con :func:`encode_targets` y
    :func:`pack_target`. Cada época recorre cada imagen ``train_times`` veces (el
    artículo usa 5) en un orden barajado nuevo. El contenido de cada lote depende
    solo de la semilla, la época y el índice: el mismo con 1 o varios ``workers``.

    Args:
        records: registros con ``path, width, height, boxes, labels`` (los
            :class:`datos.anotaciones.VocImage` de ``read_voc``).
        labels: nombres de las clases, en el orden de sus índices.
        image_size: tamaño de entrada de la red, ``(alto, ancho)`` o un entero.
        grid: rejilla ``(S_h, S_w)``; por defecto ``image_size / 32``.
        anchors: (A, 2) en unidades de celda; por defecto las de VOC.
        max_boxes: tamaño del búfer de cajas verdaderas (el artículo: 5).
        batch_size: imágenes por lote (el último puede tener menos).
        shuffle: barajar en cada época.
        augmenter: ``None``/``False`` sin aumento, ``True`` para
            ``make_augmenter(seed=seed)``, o un objeto con ``augment_with_boxes``.
        train_times: repeticiones de cada imagen por época.
        seed: semilla del barajado y del aumento.
        **kwargs: ``workers``, ``use_multiprocessing`` y ``max_queue_size`` de
            ``keras.utils.PyDataset``.

    Raises:
        ArgumentError: si algún argumento no es válido.
        DataError: si un registro tiene una etiqueta que no está en ``labels``
            (se comprueba aquí, no a mitad de una época).

    Example:
        >>> images, counts = read_voc("lego/annotations", "lego/images", ["lego"])
        >>> lotes = YoloDataset(images, ["lego"], augmenter=True, train_times=5)
        >>> x, y = lotes[0]   # (8, 416, 416, 3) y (8, 13·13·5 + 5, 6)
    """

    def __init__(self, records, labels: Sequence[str], *, image_size=416, grid=None,
                 anchors=VOC_ANCHORS, max_boxes: int = 5, batch_size: int = 8,
                 shuffle: bool = True, augmenter=None, train_times: int = 1,
                 seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.records = list(records)
        if not self.records:
            raise ArgumentError("YoloDataset: no hay ningún registro (imagen anotada).")
        names = [] if isinstance(labels, str) else list(labels)
        if not names or len(set(names)) != len(names) \
                or not all(isinstance(n, str) for n in names):
            raise ArgumentError(f"YoloDataset: «labels» debe ser una lista de nombres de "
                                f"clase distintos; recibido {labels!r}.")
        self.labels = names
        self.image_size = as_size(image_size)
        self.grid = grid_size(self.image_size, grid)
        self.anchors = as_anchors(anchors)
        self.max_boxes = check_int(max_boxes, "max_boxes", where="YoloDataset")
        self.batch_size = check_int(batch_size, "batch_size", where="YoloDataset")
        self.train_times = check_int(train_times, "train_times", where="YoloDataset")
        self.seed = check_int(seed, "seed", minimum=0, where="YoloDataset")
        self.shuffle = bool(shuffle)
        if augmenter is True:
            from datos.aumento import make_augmenter

            augmenter = make_augmenter(seed=self.seed)
        elif augmenter is False:
            augmenter = None
        if augmenter is not None and not callable(getattr(augmenter, "augment_with_boxes",
                                                          None)):
            raise ArgumentError(f"YoloDataset: «augmenter» debe tener un método "
                                f"augment_with_boxes; recibido {augmenter!r}.")
        self.augmenter = augmenter
        index = {name: i for i, name in enumerate(self.labels)}
        self._class_ids = []
        for record in self.records:
            unknown = [name for name in record.labels if name not in index]
            if unknown:
                raise DataError(
                    f"YoloDataset: {record.path} tiene las etiquetas {unknown}, que no "
                    f"están en {self.labels}; léalo con read_voc(..., labels={self.labels})")
            self._class_ids.append(np.array([index[n] for n in record.labels], np.int64))
        self.epoch = 0
        self._order = self._make_order()

    @property
    def num_classes(self) -> int:
        """Número de clases."""
        return len(self.labels)

    @property
    def target_shape(self) -> tuple[int, int]:
        """Forma de un objetivo apilado: ``(S_h·S_w·A + max_boxes, 5 + C)``."""
        return (self.grid[0] * self.grid[1] * len(self.anchors) + self.max_boxes,
                5 + self.num_classes)

    def __len__(self) -> int:
        return math.ceil(len(self.records) * self.train_times / self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"Índice de lote {index} fuera de rango [0, {len(self)})")
        rows = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        height, width = self.image_size
        images = np.empty((len(rows), height, width, 3), np.uint8)
        boxes, class_ids = [], []
        for i, row in enumerate(rows):
            record = self.records[row]
            images[i] = load_resized(record, (height, width))
            boxes.append(scale_boxes(record.boxes, width / record.width,
                                     height / record.height))
            class_ids.append(self._class_ids[row])
        if self.augmenter is not None:
            images, boxes, class_ids = self.augmenter.augment_with_boxes(
                images, boxes, class_ids, seed=self._batch_seed(index))
        targets = np.stack([
            pack_target(*encode_targets(b, np.asarray(c, np.int64), self.image_size,
                                        self.grid, self.anchors, self.num_classes,
                                        self.max_boxes))
            for b, c in zip(boxes, class_ids)
        ])
        return images.astype(np.float32) / 255.0, targets

    def on_epoch_end(self):
        """Pasa a la época siguiente con un orden nuevo (determinista por semilla)."""
        self.epoch += 1
        self._order = self._make_order()

    def _make_order(self) -> np.ndarray:
        order = np.tile(np.arange(len(self.records)), self.train_times)
        if not self.shuffle:
            return order
        return np.random.default_rng([self.seed, self.epoch]).permutation(order)

    def _batch_seed(self, index: int) -> int:
        # Semilla en [0, 2**31 - 1] (rango de imgaug) propia de (semilla, época, lote).
        state = np.random.SeedSequence([self.seed, self.epoch, int(index)])
        return int(state.generate_state(1)[0] >> 1)


def load_resized(record, image_size) -> np.ndarray:
    """Decodifica la imagen de un registro y la redimensiona a ``(alto, ancho)``.

    Usa la orientación guardada (sin EXIF), la misma que :func:`read_voc` comprobó.

    Args:
        record: con ``path``, ``width`` y ``height``.
        image_size: ``(alto, ancho)``.

    Returns:
        ``uint8`` (alto, ancho, 3) RGB.

    Raises:
        DataError: si la imagen ya no se puede leer o cambió de tamaño (la nombra).
    """
    from PIL import Image

    height, width = image_size
    pixels = None
    try:
        with Image.open(record.path) as img:
            size = img.size
            if size == (record.width, record.height):
                if img.format == "JPEG":  # decodifica a escala reducida si sobra resolución
                    img.draft("RGB", (width, height))
                pixels = np.asarray(img.convert("RGB"))
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DataError(f"No se puede leer la imagen {record.path}: {exc}") from exc
    if pixels is None:
        raise DataError(f"La imagen {record.path} mide {size[0]}×{size[1]} pero se leyó "
                        f"como {record.width}×{record.height}: ¿cambió el archivo?")
    return resize_image(pixels, (height, width))


def resize_image(pixels: np.ndarray, image_size) -> np.ndarray:
    """Redimensiona (H, W, 3) a ``(alto, ancho)``: área al reducir, bilineal al ampliar.

    Es el del entrenamiento; :func:`modelos.yolo.decodificacion.detect` usa el mismo.
    """
    import cv2

    height, width = image_size
    if pixels.shape[:2] == (height, width):
        return pixels
    shrink = pixels.shape[0] > height
    return cv2.resize(pixels, (width, height),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
