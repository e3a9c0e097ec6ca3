"""Los datos de :func:`entrenamiento.entrenar.train`: comprobarlos, repetirlos y repartirlos.

``train`` acepta ``(x, y)`` de numpy, un ``keras.utils.PyDataset`` o un
``tf.data.Dataset`` (:func:`check_data`). Los ``(x, y)`` se entregan a ``fit`` como un
único iterador infinito (:func:`repeated_dataset`) y, con varios procesos, cada uno lee
solo su parte de cada lote (:func:`shard_data`).
"""

from __future__ import annotations

import logging
import math
import sys
from typing import Any

import numpy as np

from nucleo.keras_listo import keras

from entrenamiento.opciones import Run
from nucleo.errores import ArgumentError
from nucleo.errores import DataError

logger = logging.getLogger("redes")


def check_data(name: str, data: Any, required: bool):
    """Acepta ``(x, y)`` de numpy, un ``keras.utils.PyDataset`` o un ``tf.data.Dataset``."""
    if data is None:
        if required:
            raise ArgumentError(f"train: falta «{name}» (una tupla (x, y) o un PyDataset).")
        return None
    if isinstance(data, keras.utils.PyDataset) or is_tf_dataset(data):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
        n_x, n_y = np.shape(x)[:1], np.shape(y)[:1]
        if n_x != n_y:
            raise DataError(
                f"train: en «{name}», x tiene {n_x[0] if n_x else 0} ejemplos e y "
                f"{n_y[0] if n_y else 0}."
            )
        if not n_x or n_x[0] == 0:
            raise DataError(f"train: «{name}» no tiene ningún ejemplo.")
        return (x, y)
    raise ArgumentError(
        f"train: «{name}» debe ser una tupla (x, y) o un keras.utils.PyDataset; "
        f"recibido {type(data).__name__}."
    )


def is_tf_dataset(data) -> bool:
    """``True`` si ``data`` es un ``tf.data.Dataset`` (sin importar TensorFlow)."""
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(data, tf.data.Dataset)


def repeated_dataset(x, y, batch_size: int, shuffle: bool, seed: int) -> dict[str, Any]:
    """``(x, y)`` de numpy como un ``tf.data`` infinito con ``steps_per_epoch``.

    Con arreglos de numpy, ``fit`` vuelve a crear el iterador de datos en cada época, un
    coste fijo que domina cuando la época es de un paso (XOR: ver bench/RESULTS.md). Un
    único iterador infinito, rebarajado en cada pasada con la semilla, da las mismas
    épocas (mismos lotes de ``batch_size``, el último incompleto).

    Con JAX o PyTorch (sin TensorFlow), un :class:`datos.reparto.ArrayBatches` con el
    mismo barajado por (semilla, época) que usan varios procesos: 1 proceso y N procesos
    ven los mismos lotes globales.
    """
    count = len(x)
    steps = math.ceil(count / batch_size)
    if keras.backend.backend() != "tensorflow":
        from datos.reparto import ArrayBatches

        return {"x": ArrayBatches(x, y, batch_size, shuffle=shuffle, seed=seed),
                "steps_per_epoch": steps, "shuffle": False}
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE)
    return {"x": dataset, "steps_per_epoch": steps, "shuffle": False}


def shard_data(train_data, validation_data, run: Run):
    """Con varios procesos: cada uno lee solo su parte de cada lote (:mod:`datos.reparto`).

    Los ``(x, y)`` de numpy pasan a :class:`datos.reparto.ArrayBatches`; los ``PyDataset``
    deben saber repartirse (``shard``), como los de ``datos`` y ``modelos``.
    """
    from datos.reparto import ArrayBatches

    cluster, opts = run.cluster, run.options
    if run.run_dir is None:
        raise ArgumentError("train: con varios procesos hace falta «run_dir» (el proceso 0 "
                            "guarda ahí el mejor modelo y los demás lo cargan de él).")
    shards = []
    for name, data in (("train_data", train_data), ("validation_data", validation_data)):
        training = name == "train_data"
        if isinstance(data, tuple):
            data = ArrayBatches(*data, opts.batch_size, shuffle=opts.shuffle and training,
                                seed=opts.seed)
        if data is not None and not callable(getattr(data, "shard", None)):
            raise ArgumentError(
                f"train: con varios procesos, «{name}» debe ser (x, y) o un PyDataset que "
                f"sepa repartirse entre procesos (método shard, ver datos.reparto); "
                f"recibido {type(data).__name__}.")
        if data is not None:
            # La validación ajusta su lote para no dejar fuera ejemplos (o los menos).
            data.shard(cluster.process_id, cluster.num_processes, fit_batch=not training)
            left_out = data.example_count - len(data) * data.batch_size
            logger.info("«%s»: %d lotes de %d por época (%d por proceso)%s.", name, len(data),
                        data.batch_size, data.local_batch_size,
                        f"; {left_out} ejemplos del último lote incompleto quedan fuera"
                        if left_out else "")
        shards.append(data)
    return shards
