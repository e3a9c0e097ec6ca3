"""Lotes ``(imagen, objetivo)`` de YOLOv2 para ``fit``: :class:`YoloDataset`.

Flujo: registros de :func:`datos.anotaciones.read_voc` → imagen leída y redimensionada
al tamaño de la red (:mod:`modelos.yolo.preprocesado`, cajas reescaladas) → aumento
opcional (imagen y cajas en una llamada a imgaug, :mod:`datos.aumento`) →
:func:`modelos.yolo.objetivos.encode_targets` → :func:`modelos.yolo.objetivos.pack_target`
→ lote.

Vive junto al modelo porque codifica sus objetivos; de ``datos`` usa solo la lectura
y el aumento (las capas van en un sentido: ``modelos`` → ``datos``).

Referencia:
    experiencor/keras-yolo2 (``preprocessing.BatchGenerator``);
    «Detección de objetos con Python y YOLO», Aprende Machine Learning.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


from nucleo.keras_listo import keras

from datos.cajas import as_size
from datos.cajas import scale_boxes
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from datos.reparto import ShardedBatches
from nucleo.validacion import check_int
from modelos.yolo.objetivos import STRIDE
from modelos.yolo.objetivos import VOC_ANCHORS
from modelos.yolo.objetivos import as_anchors
from modelos.yolo.objetivos import encode_targets
from modelos.yolo.objetivos import grid_size
from modelos.yolo.objetivos import pack_target
from modelos.yolo.preprocesado import read_record
from modelos.yolo.preprocesado import to_input

# Pasos de 32 píxeles a cada lado del tamaño base en el entrenamiento multiescala.
MULTISCALE_STEPS = 3


def multiscale_sizes(image_size, steps: int = MULTISCALE_STEPS) -> list[tuple[int, int]]:
    """Tamaños del entrenamiento multiescala alrededor de ``image_size``.

    Como darknet (``random=1``, que a 416 elige entre 320 y 608): ``steps`` pasos de 32
    píxeles a cada lado del alto, y el ancho en la misma proporción redondeado a 32;
    nunca por debajo de 96 (ni del propio ``image_size``, si es menor). A 320 con 3
    pasos: 224, 256, ..., 416 (el área media es la de ~330, así que un paso cuesta de
    media lo mismo que a 320).

    Example:
        >>> multiscale_sizes(320)[:2]
        [(224, 224), (256, 256)]
    """
    grid_h, grid_w = grid_size(image_size)  # también comprueba que sea múltiplo de 32
    height, width = grid_h * STRIDE, grid_w * STRIDE
    steps = check_int(steps, "steps", where="multiscale_sizes")
    sizes = []
    for k in range(-steps, steps + 1):
        side = height + k * STRIDE
        other = max(1, round(width * side / height / STRIDE))
        if side >= min(height, 3 * STRIDE) and other * STRIDE >= min(width, 3 * STRIDE):
            sizes.append((side, other * STRIDE))
    return list(dict.fromkeys(sizes))


class YoloDataset(ShardedBatches, keras.utils.PyDataset):
    """Lotes ``(imagen, objetivo)`` de YOLOv2 a partir de registros de ``read_voc``.

    Cada imagen se decodifica con :func:`modelos.yolo.preprocesado.read_record` (el
    mismo decodificador, con la orientación EXIF aplicada, que usan la evaluación y
    ``detect``), se redimensiona al tamaño de la red con sus cajas reescaladas, se
    aumenta si hay aumentador (imagen y cajas en una sola llamada a imgaug, con una
    semilla propia de cada (semilla, época, lote)) y se codifica con
    :func:`modelos.yolo.objetivos.encode_targets` y ``pack_target``. Cada época recorre
    cada imagen ``train_times`` veces (el artículo usa 5) en un orden barajado nuevo. El
    contenido de cada lote depende solo de la semilla, la época y el índice: el mismo
    con 1 o varios ``workers``. Con :meth:`~datos.reparto.ShardedBatches.shard` cada
    proceso lee, aumenta y codifica solo su parte de cada lote.

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
        sizes: entrenamiento multiescala (YOLOv2, sección 2): tamaños de entrada, cada
            uno un entero o ``(alto, ancho)`` múltiplo de 32, al menos dos distintos.
            Cada lote va a uno de ellos, con la rejilla de ese tamaño en su objetivo:
            los lotes recorren los tamaños en un orden barajado por (semilla, época,
            vuelta), así que dos lotes seguidos de una misma vuelta nunca tienen el
            mismo (ver :meth:`batch_image_size`). El modelo debe aceptarlos:
            :func:`modelos.yolo.constructor.allow_multiscale`. ``None``: todos a
            ``image_size``.
        **kwargs: ``workers``, ``use_multiprocessing`` y ``max_queue_size`` de
            ``keras.utils.PyDataset``.

    Raises:
        ArgumentError: si algún argumento no es válido.
        DataError: si un registro tiene una etiqueta que no está en ``labels``
            (se comprueba aquí, no a mitad de una época).

    Example:
        >>> from modelos.yolo import YoloDataset
        >>> images, counts = read_voc("lego/annotations", "lego/images", ["lego"])
        >>> lotes = YoloDataset(images, ["lego"], augmenter=True, train_times=5)
        >>> x, y = lotes[0]   # (8, 416, 416, 3) y (8, 13·13·5 + 5, 6)
    """

    def __init__(self, records, labels: Sequence[str], *, image_size=416, grid=None,
                 anchors=VOC_ANCHORS, max_boxes: int = 5, batch_size: int = 8,
                 shuffle: bool = True, augmenter=None, train_times: int = 1,
                 seed: int = 0, sizes=None, **kwargs):
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
        self.sizes = self._check_sizes(sizes, grid)
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
        if self.sizes and len(self) < 2:
            raise ArgumentError(
                f"YoloDataset: el entrenamiento multiescala («sizes») necesita al menos 2 "
                f"lotes por época; hay {len(self)} ({len(self.records)} imágenes × "
                f"{self.train_times}, lotes de {self.batch_size}).")
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

    @property
    def example_count(self) -> int:
        """Ejemplos de una época completa (antes de repartir entre procesos)."""
        return len(self.records) * self.train_times

    def __len__(self) -> int:
        return self._batch_count(len(self.records) * self.train_times)

    def batch_image_size(self, index: int) -> tuple[int, int]:
        """``(alto, ancho)`` de las imágenes del lote ``index`` en la época actual.

        Sin ``sizes``, ``image_size``. Con ``sizes``, los lotes van por vueltas de
        ``len(sizes)``: en cada vuelta, cada tamaño una vez, en un orden que depende solo
        de (semilla, época, vuelta), el mismo en todos los procesos y con cualquier
        número de ``workers``.
        """
        if not self.sizes:
            return self.image_size
        # Los lotes 0 y 1 tienen siempre tamaños distintos: Keras deduce la forma de los
        # datos para TensorFlow de esos dos, y así deja alto y ancho sin fijar.
        turn, position = divmod(int(index), len(self.sizes))
        order = np.random.default_rng([self.seed, self.epoch, turn, 32]).permutation(
            len(self.sizes))
        return self.sizes[order[position]]

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"Índice de lote {index} fuera de rango [0, {len(self)})")
        rows = self._local_rows(self._order[index * self.batch_size:
                                            (index + 1) * self.batch_size])
        height, width = self.batch_image_size(index)
        grid = self.grid if not self.sizes else grid_size((height, width))
        images = np.empty((len(rows), height, width, 3), np.uint8)
        boxes, class_ids = [], []
        for i, row in enumerate(rows):
            record = self.records[row]
            images[i] = read_record(record, (height, width))
            boxes.append(scale_boxes(record.boxes, width / record.width,
                                     height / record.height))
            class_ids.append(self._class_ids[row])
        if self.augmenter is not None:
            images, boxes, class_ids = self.augmenter.augment_with_boxes(
                images, boxes, class_ids, seed=self._batch_seed(index))
        seed = self._batch_seed(index)
        targets = np.stack([
            pack_target(*encode_targets(b, np.asarray(c, np.int64), (height, width),
                                        grid, self.anchors, self.num_classes,
                                        self.max_boxes, seed=seed + i))
            for i, (b, c) in enumerate(zip(boxes, class_ids, strict=True))
        ])
        return to_input(images), targets

    def on_epoch_end(self):
        """Pasa a la época siguiente con un orden nuevo (determinista por semilla)."""
        self.epoch += 1
        self._order = self._make_order()

    @staticmethod
    def _check_sizes(sizes, grid) -> list[tuple[int, int]]:
        if sizes is None:
            return []
        if grid is not None:
            raise ArgumentError("YoloDataset: «sizes» (multiescala) y «grid» no van juntos: "
                                "la rejilla de cada lote es su tamaño / 32.")
        try:
            checked = list(dict.fromkeys(as_size(size, "sizes") for size in sizes))
        except TypeError:
            raise ArgumentError(f"YoloDataset: «sizes» debe ser una lista de tamaños; "
                                f"recibido {sizes!r}.") from None
        odd = [size for size in checked if size[0] % STRIDE or size[1] % STRIDE]
        if odd:
            raise ArgumentError(f"YoloDataset: cada tamaño de «sizes» debe ser múltiplo de "
                                f"{STRIDE}; no lo son {odd}.")
        if len(checked) < 2:
            raise ArgumentError(f"YoloDataset: «sizes» necesita al menos dos tamaños "
                                f"distintos para el entrenamiento multiescala; recibido "
                                f"{sizes!r}.")
        return checked

    def _make_order(self) -> np.ndarray:
        order = np.tile(np.arange(len(self.records)), self.train_times)
        if not self.shuffle:
            return order
        return np.random.default_rng([self.seed, self.epoch]).permutation(order)

    def _batch_seed(self, index: int) -> int:
        # Semilla en [0, 2**31 - 1] (rango de imgaug) propia de (semilla, época, lote).
        state = np.random.SeedSequence([self.seed, self.epoch, int(index)])
        return int(state.generate_state(1)[0] >> 1)
