"""Cuantiles de los intervalos de predicción y su pérdida (*pinball*).

Un intervalo del ``L`` % va del cuantil ``(1 - L/100) / 2`` al ``1 - (1 - L/100) / 2``
(80 % → 0.1 y 0.9). El modelo global da, por día del horizonte, el pronóstico puntual
(el cuantil 0.5) y los dos extremos de cada nivel, en este orden::

    [mediana, inferior_L1, superior_L1, inferior_L2, superior_L2, ...]   (L1 < L2 < ...)

:class:`PinballLoss` es la pérdida cuantílica de Koenker y Bassett (1978): para el
cuantil ``q`` y el error ``e = y - ŷ`` vale ``max(q·e, (q - 1)·e)``; con ``q = 0.5`` es
la mitad del MAE, la pérdida del blog. Está registrada en Keras (``redes>PinballLoss``) y
se serializa con sus cuantiles.
"""

from __future__ import annotations

from collections.abc import Sequence

from nucleo.keras_listo import keras
from nucleo.keras_listo import ops

from nucleo.errores import ArgumentError
from nucleo.vocabulario import MAX_INTERVAL_LEVEL


def check_levels(levels, *, where: str) -> tuple[int, ...]:
    """Los niveles de los intervalos (enteros de 1 a 99, sin repetir), en orden creciente.

    Raises:
        ArgumentError: que nombra el nivel que no vale.
    """
    if isinstance(levels, (str, bytes)) or not isinstance(levels, Sequence):
        raise ArgumentError(f"{where}: «levels» (--intervalos) debe ser una lista de niveles "
                            f"en %, p. ej. [80, 95]; recibido {levels!r}.")
    for level in levels:
        if (isinstance(level, bool) or not isinstance(level, int)
                or not 1 <= level <= MAX_INTERVAL_LEVEL):
            raise ArgumentError(f"{where}: cada nivel de «levels» (--intervalos) debe ser un "
                                f"entero de 1 a {MAX_INTERVAL_LEVEL} (el % de cobertura); "
                                f"recibido {level!r}.")
    if len(set(levels)) != len(levels):
        raise ArgumentError(f"{where}: «levels» (--intervalos) repite un nivel: {list(levels)}.")
    return tuple(sorted(levels))


def quantiles_for(levels: Sequence[int]) -> list[float]:
    """Los cuantiles de la salida: ``[0.5, inferior, superior, ...]`` por nivel creciente.

    Example:
        >>> quantiles_for([80, 95])
        [0.5, 0.1, 0.9, 0.025, 0.975]
    """
    quantiles = [0.5]
    for level in sorted(levels):
        tail = round((1.0 - level / 100.0) / 2.0, 6)
        quantiles += [tail, round(1.0 - tail, 6)]
    return quantiles


@keras.saving.register_keras_serializable(package="redes")
class PinballLoss(keras.losses.Loss):
    """Pérdida cuantílica media sobre los cuantiles de la última dimensión de ``y_pred``.

    ``y_true`` es ``(B, H)`` (un valor por día) o ``(B, H, Q)``; ``y_pred``, ``(B, H, Q)``
    con un cuantil por columna (los de ``quantiles``, en ese orden).

    Args:
        quantiles: un cuantil en (0, 1) por columna de la salida.
        name: nombre de la pérdida.
    """

    def __init__(self, quantiles: Sequence[float] = (0.5,), name: str = "pinball", **kwargs):
        super().__init__(name=name, **kwargs)
        values = [float(q) for q in quantiles] if isinstance(quantiles, Sequence) else []
        if not values or not all(0.0 < q < 1.0 for q in values):
            raise ArgumentError(f"PinballLoss: «quantiles» debe ser una lista de cuantiles en "
                                f"(0, 1); recibido {quantiles!r}.")
        self.quantiles = values

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        y_true = ops.cast(y_true, "float32")
        if len(y_true.shape) == len(y_pred.shape) - 1:
            y_true = ops.expand_dims(y_true, -1)
        error = y_true - y_pred                                   # (B, H, Q)
        q = ops.convert_to_tensor(self.quantiles, "float32")
        return ops.mean(ops.maximum(q * error, (q - 1.0) * error), axis=(-2, -1))

    def get_config(self):
        return {**super().get_config(), "quantiles": list(self.quantiles)}
