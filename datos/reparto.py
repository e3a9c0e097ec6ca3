"""Reparto de cada lote entre procesos (entrenamiento en varios procesos o máquinas).

Con ``keras.distribution.DataParallel`` en JAX, ``fit`` espera que cada proceso le dé
solo **su parte** de cada lote global: con 2 procesos y ``--lote 16``, el proceso 0 da
las filas 0-7 y el proceso 1 las filas 8-15 del mismo lote, y JAX las junta en un lote
de 16 repartido entre los dos. Keras 3.15 solo reparte así los ``tf.data``; nuestros
``PyDataset`` lo hacen con :class:`ShardedBatches`:

- el orden de los ejemplos (barajado con la semilla y la época) es el mismo en todos
  los procesos, así que el lote global es el mismo que con un solo proceso;
- cada proceso lee y prepara (decodifica, aumenta, codifica) solo sus filas;
- el lote debe ser múltiplo del número de procesos, y el último lote incompleto de
  cada época se descarta (todos los procesos deben dar partes de la misma forma).

:class:`ArrayBatches` hace lo mismo con arreglos de numpy ``(x, y)`` en memoria.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


from nucleo.keras_listo import keras

from nucleo.errores import ArgumentError, DataError
from nucleo.validacion import check_int


class ShardedBatches:
    """Mezcla para ``PyDataset`` con ``batch_size`` que pueden repartirse entre procesos.

    La clase que la usa elige las filas de cada lote global con su propio orden y llama a
    :meth:`_local_rows` para quedarse con las de este proceso, y cuenta sus lotes con
    :meth:`_batch_count`.
    """

    shard_index: int = 0
    shard_count: int = 1

    def shard(self, index: int, count: int, *, fit_batch: bool = False):
        """Lee solo la parte ``index`` de ``count`` de cada lote; devuelve ``self``.

        Args:
            index: este proceso, de 0 a ``count - 1``.
            count: procesos.
            fit_batch: ajustar el lote (validación): el múltiplo de ``count`` no mayor que
                el actual que deja fuera menos ejemplos, así ningún proceso se queda sin
                ejemplos con pocos datos.

        Raises:
            ArgumentError: si el lote no es múltiplo de ``count`` o no hay ni un lote
                completo.
        """
        name = type(self).__name__
        check_int(count, "count", where=f"{name}.shard")
        check_int(index, "index", minimum=0, maximum=count - 1, where=f"{name}.shard")
        if fit_batch:
            self.batch_size = fitted_batch(self.example_count, self.batch_size, count)
        if self.batch_size % count:
            raise ArgumentError(
                f"{name}: el lote ({self.batch_size}) debe ser múltiplo del número de "
                f"procesos ({count}), para que cada uno lea la misma cantidad de ejemplos.")
        self.shard_index, self.shard_count = int(index), int(count)
        if count > 1 and len(self) == 0:
            raise DataError(
                f"{name}: con {count} procesos se descarta el último lote incompleto de cada "
                f"época y no queda ninguno completo de {self.batch_size} ejemplos; use un "
                "lote menor o más datos.")
        return self

    @property
    def example_count(self) -> int:
        """Ejemplos de una época (antes de repartir)."""
        raise NotImplementedError

    @property
    def local_batch_size(self) -> int:
        """Ejemplos que lee este proceso en cada lote."""
        return self.batch_size // self.shard_count

    def _batch_count(self, rows: int) -> int:
        """Lotes de una época de ``rows`` filas (sin el incompleto si hay reparto)."""
        if self.shard_count == 1:
            return math.ceil(rows / self.batch_size)
        return rows // self.batch_size

    def _local_rows(self, rows: np.ndarray) -> np.ndarray:
        """Las filas de este proceso dentro de las de un lote global."""
        if self.shard_count == 1:
            return rows
        part = len(rows) // self.shard_count
        return rows[self.shard_index * part:(self.shard_index + 1) * part]

    def dropped_rows(self, rows: int) -> int:
        """Ejemplos que quedan fuera de cada época por el reparto (el lote incompleto)."""
        return 0 if self.shard_count == 1 else rows % self.batch_size


def fitted_batch(count: int, batch_size: int, processes: int) -> int:
    """El lote múltiplo de ``processes``, ≤ ``batch_size``, que deja fuera menos de
    ``count`` ejemplos (el mayor, a igualdad)."""
    sizes = range(processes, max(processes, min(batch_size, count)) + 1, processes)
    return min(sizes, key=lambda size: (count % size, -size))


def _take(data: Any, rows: np.ndarray) -> Any:
    """``data[rows]`` de un arreglo o de una lista, tupla o diccionario de arreglos."""
    if isinstance(data, dict):
        return {key: _take(value, rows) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(_take(value, rows) for value in data)
    return data[rows]


def _length(data: Any, name: str) -> int:
    """Número de ejemplos de ``data`` (el mismo en todas sus partes)."""
    if isinstance(data, dict):
        parts = list(data.values())
    elif isinstance(data, (list, tuple)):
        parts = list(data)
    else:
        parts = [data]
    if not parts:
        raise ArgumentError(f"ArrayBatches: «{name}» está vacío.")
    lengths = {len(part) for part in parts}
    if len(lengths) != 1:
        raise DataError(f"ArrayBatches: las partes de «{name}» tienen longitudes distintas: "
                        f"{sorted(lengths)}.")
    return lengths.pop()


class ArrayBatches(ShardedBatches, keras.utils.PyDataset):
    """Lotes ``(x, y)`` de arreglos en memoria, barajados por época y repartibles.

    ``x`` e ``y`` pueden ser arreglos o listas/diccionarios de arreglos (modelos de varias
    entradas). El orden de cada época depende solo de ``(seed, época)``.

    Args:
        x: entradas.
        y: objetivos.
        batch_size: lote global.
        shuffle: barajar en cada época.
        seed: semilla del barajado.

    Example:
        >>> lotes = ArrayBatches(x, y, 32, seed=0).shard(proceso, procesos)
    """

    def __init__(self, x, y, batch_size: int, *, shuffle: bool = True, seed: int = 0):
        super().__init__()
        self.x, self.y = x, y
        self.count = _length(x, "x")
        if _length(y, "y") != self.count:
            raise DataError(f"ArrayBatches: x tiene {self.count} ejemplos e y "
                            f"{_length(y, 'y')}.")
        self.batch_size = check_int(batch_size, "batch_size", where="ArrayBatches")
        self.seed = check_int(seed, "seed", minimum=0, where="ArrayBatches")
        self.shuffle = bool(shuffle)
        self.epoch = 0
        self._order = self._make_order()

    @property
    def example_count(self) -> int:
        return self.count

    def __len__(self) -> int:
        return self._batch_count(self.count)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"Índice de lote {index} fuera de rango [0, {len(self)})")
        rows = self._local_rows(self._order[index * self.batch_size:
                                            (index + 1) * self.batch_size])
        return _take(self.x, rows), _take(self.y, rows)

    def on_epoch_end(self):
        """Pasa a la época siguiente con un orden nuevo (determinista por semilla)."""
        self.epoch += 1
        self._order = self._make_order()

    def _make_order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.count)
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.count)
