"""Lotes de pares de números codificados para entrenar el traductor con *teacher forcing*.

:class:`NumberBatches` sirve los :class:`datos.numeros.EncodedPairs` a ``model.fit``
como ``((origen, destino_entrada), destino_salida)``. Está aparte de
:mod:`datos.numeros` para que el tokenizador y la división no importen Keras.

Ejemplo::

    pares = encode_pairs(division.train, origen, destino)
    lotes = NumberBatches(pares, 64, steps_per_epoch=400, seed=0)
    (x_origen, x_destino), y = lotes[0]
"""

from __future__ import annotations


import numpy as np


from nucleo.keras_listo import keras

from datos.numeros import EncodedPairs
from datos.reparto import ShardedBatches
from nucleo.validacion import check_int


class NumberBatches(ShardedBatches, keras.utils.PyDataset):
    """Lotes ``((origen, destino_entrada), destino_salida)`` de pares codificados.

    Con ``steps_per_epoch`` cada época es una muestra aleatoria (sin repetición) de
    ``steps_per_epoch · batch_size`` pares: con 200.000 números, épocas cortas que
    validan y guardan a menudo. Sin él, una pasada completa. Reproducible con ``seed``.
    Con :meth:`~datos.reparto.ShardedBatches.shard` cada proceso lee solo su parte.

    Args:
        pairs: los pares de :func:`datos.numeros.encode_pairs`.
        batch_size: tamaño de lote; el último de una pasada completa puede ser menor.
        shuffle: barajar el orden al empezar y al terminar cada época.
        steps_per_epoch: lotes por época (``None`` = una pasada completa).
        seed: semilla del barajado.
    """

    def __init__(self, pairs: EncodedPairs, batch_size: int, *, shuffle: bool = True,
                 steps_per_epoch: int | None = None, seed: int = 0):
        super().__init__()
        where = "NumberBatches"
        self.pairs = pairs
        self.batch_size = check_int(batch_size, "batch_size", where=where)
        if steps_per_epoch is not None:
            check_int(steps_per_epoch, "steps_per_epoch", where=where)
        self.shuffle = shuffle
        count = len(pairs.source)
        self.steps_per_epoch = steps_per_epoch
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(count)
        self.on_epoch_end()

    @property
    def example_count(self) -> int:
        """Ejemplos de una época completa (antes de repartir entre procesos)."""
        return len(self.pairs.source)

    def __len__(self) -> int:
        full = self._batch_count(len(self.pairs.source))
        return full if self.steps_per_epoch is None else min(self.steps_per_epoch, full)

    @property
    def steps(self) -> int:
        """Lotes por época."""
        return len(self)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.order = self.rng.permutation(len(self.pairs.source))

    def __getitem__(self, index):
        rows = self._local_rows(self.order[index * self.batch_size:
                                           (index + 1) * self.batch_size])
        pairs = self.pairs
        return (pairs.source[rows], pairs.target_in[rows]), pairs.target_out[rows]
