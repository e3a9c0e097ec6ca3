"""Particiones estratificadas de entrenamiento, validación y prueba (80/20 y 80/20, como
el blog), reproducibles con su semilla."""

from __future__ import annotations

import logging
import math

import numpy as np

from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.validacion import check_int, check_number

logger = logging.getLogger("redes")


def split_indices(
    labels,
    seed: int = 0,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.2,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Divide los índices en entrenamiento, validación y prueba, como el blog.

    Primero se separa ``test_fraction`` para prueba (80/20) y del resto se separa
    ``validation_fraction`` para validación (otra vez 80/20), estratificando por
    clase. Si alguna clase es demasiado pequeña para estratificar se hace una
    división aleatoria sin estratificar (con la misma semilla) y se avisa.

    Args:
        labels: etiquetas (N,), enteras o de cualquier tipo comparable.
        seed: semilla; la misma semilla da la misma división.
        test_fraction: fracción de prueba, en [0, 1).
        validation_fraction: fracción de validación sobre lo que queda, en [0, 1).

    Returns:
        ``(train_idx, val_idx, test_idx)``: arreglos ``int64`` ordenados, disjuntos,
        que juntos cubren ``range(N)``.

    Raises:
        ArgumentError: si las fracciones o la semilla no son válidas.
        DataError: si hay tan pocas muestras que el entrenamiento quedaría vacío.

    Example:
        >>> train, val, test = split_indices(datos.labels, seed=13)
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ArgumentError(f"labels debe ser un vector (N,), llegó la forma {labels.shape}")
    check_number(test_fraction, "test_fraction", minimum=0, maximum=1, include_maximum=False)
    check_number(validation_fraction, "validation_fraction", minimum=0, maximum=1,
                 include_maximum=False)
    check_int(seed, "seed", minimum=0)

    n = len(labels)
    n_test = math.ceil(test_fraction * n)
    n_val = math.ceil(validation_fraction * (n - n_test))
    if n - n_test - n_val < 1:
        raise DataError(
            f"Hay solo {n} muestras: con test_fraction={test_fraction} y "
            f"validation_fraction={validation_fraction} el entrenamiento quedaría vacío"
        )
    indices = np.arange(n, dtype=np.int64)
    train_full, test = _split(indices, labels, test_fraction, seed, "prueba")
    train, val = _split(train_full, labels[train_full], validation_fraction, seed,
                        "validación")
    return np.sort(train), np.sort(val), np.sort(test)


def _split(indices, labels, fraction, seed, what):
    """Separa ``fraction`` de ``indices``, estratificado si se puede."""
    if fraction == 0:
        return indices, indices[:0]
    from sklearn.model_selection import train_test_split

    try:
        kept, held = train_test_split(indices, test_size=fraction, random_state=seed,
                                      stratify=labels)
    except ValueError as exc:
        values, counts = np.unique(labels, return_counts=True)
        smallest = values[np.argmin(counts)]
        logger.warning(
            "No se puede estratificar la división de %s (la clase %r tiene %d "
            "muestras de %d; sklearn: %s); se usa una división aleatoria sin "
            "estratificar con semilla %d",
            what, smallest.item(), counts.min(), len(labels), exc, seed,
        )
        kept, held = train_test_split(indices, test_size=fraction, random_state=seed)
    return np.asarray(kept, dtype=np.int64), np.asarray(held, dtype=np.int64)
