"""Lotes de imágenes para ``model.fit`` con barajado reproducible y aumento opcional.

Sustituye al ``ImageDataGenerator`` de los artículos del blog (eliminado en Keras 3)
por un ``keras.utils.PyDataset``: funciona con ``workers`` (hilos o procesos) y el
contenido de cada lote depende solo de la semilla, la época y el índice del lote,
no del orden en que los pidan los hilos.
"""

from __future__ import annotations

import numpy as np


from nucleo.keras_listo import keras

from nucleo.errores import ArgumentError
from datos.reparto import ShardedBatches
from nucleo.validacion import check_int


class ImageBatches(ShardedBatches, keras.utils.PyDataset):
    """Lotes ``(x, y)`` de un arreglo de imágenes en memoria.

    Args:
        x: imágenes (N, alto, ancho, canales), ``float`` en [0, 1] o ``uint8``
            (se pasa a ``float32`` en [0, 1]).
        y: etiquetas (N, ...), p. ej. enteras (N,) o *one-hot* (N, clases); ``None``
            para predecir (los lotes son entonces solo ``x``).
        batch_size: tamaño de lote; el último puede ser menor.
        shuffle: si se baraja el orden en cada época.
        augmenter: objeto con ``augment_batch(images, seed=...)``, p. ej. el de
            :func:`datos.aumento.make_augmenter`; ``None`` para no aumentar.
        seed: semilla del barajado y del aumento.
        **kwargs: ``workers``, ``use_multiprocessing`` y ``max_queue_size`` de
            ``keras.utils.PyDataset``.

    Con :meth:`~datos.reparto.ShardedBatches.shard` cada proceso lee solo su parte de
    cada lote (entrenamiento en varios procesos).

    Example:
        >>> lotes = ImageBatches(x[train], y[train], batch_size=64,
        ...                      augmenter=make_augmenter(seed=0), seed=0)
        >>> model.fit(lotes, epochs=20, validation_data=ImageBatches(
        ...     x[val], y[val], shuffle=False))
    """

    def __init__(self, x, y, batch_size=32, shuffle=True, augmenter=None, seed=0,
                 **kwargs):
        super().__init__(**kwargs)
        x = np.asarray(x)
        if x.ndim != 4:
            raise ArgumentError(
                f"ImageBatches(x): se esperaba forma (N, alto, ancho, canales), "
                f"llegó {x.shape}"
            )
        if len(x) == 0:
            raise ArgumentError("ImageBatches(x): no hay ninguna imagen (N = 0)")
        if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
            raise ArgumentError(
                f"ImageBatches(x): se esperaba float en [0, 1] o uint8, llegó {x.dtype}"
            )
        if y is not None:
            y = np.asarray(y)
            if len(y) != len(x):
                raise ArgumentError(
                    f"ImageBatches: x tiene {len(x)} imágenes pero y tiene {len(y)} "
                    "etiquetas"
                )
        check_int(batch_size, "batch_size", where="ImageBatches")
        check_int(seed, "seed", minimum=0, where="ImageBatches")
        if augmenter is not None and not callable(getattr(augmenter, "augment_batch", None)):
            raise ArgumentError(
                f"augmenter debe tener un método augment_batch, llegó {augmenter!r}"
            )
        self.x = x
        self.y = y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.augmenter = augmenter
        self.seed = int(seed)
        self.epoch = 0
        self._order = self._make_order()

    @property
    def example_count(self) -> int:
        """Ejemplos de una época completa (antes de repartir entre procesos)."""
        return len(self.x)

    def __len__(self) -> int:
        return self._batch_count(len(self.x))

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"Índice de lote {index} fuera de rango [0, {len(self)})")
        rows = self._local_rows(self._order[index * self.batch_size:
                                            (index + 1) * self.batch_size])
        batch = self.x[rows]
        if batch.dtype == np.uint8:
            batch = batch.astype(np.float32) / 255.0
        else:
            batch = batch.astype(np.float32, copy=False)
        if self.augmenter is not None:
            batch = self.augmenter.augment_batch(batch, seed=self._batch_seed(index))
        if self.y is None:
            return batch
        return batch, self.y[rows]

    def on_epoch_end(self):
        """Pasa a la época siguiente con un orden nuevo (determinista por semilla)."""
        self.epoch += 1
        self._order = self._make_order()

    def _make_order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.x))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.x))

    def _batch_seed(self, index: int) -> int:
        # Semilla propia de (semilla, época, lote) en [0, 2**31 - 1], el rango de imgaug.
        state = np.random.SeedSequence([self.seed, self.epoch, int(index)])
        return int(state.generate_state(1)[0] >> 1)
