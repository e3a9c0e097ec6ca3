"""Comprobación de argumentos compartida por todo el proyecto.

Un único formato de mensaje, que nombra el argumento y repite el valor recibido::

    build_mlp: «hidden» debe ser un entero ≥ 1; recibido 'x'.

Los ``bool`` no cuentan como números (``True`` no es un tamaño de lote).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from datos.errores import ArgumentError


def _prefix(where: str | None) -> str:
    return f"{where}: " if where else ""


def check_int(value: Any, name: str, *, minimum: int = 1, maximum: int | None = None,
              where: str | None = None) -> int:
    """Devuelve ``value`` como ``int`` si es un entero en [minimum, maximum].

    Raises:
        ArgumentError: que nombra ``name`` (y ``where``, la función que lo recibe).
    """
    ok = (not isinstance(value, bool) and isinstance(value, (int, np.integer))
          and value >= minimum and (maximum is None or value <= maximum))
    if not ok:
        bound = f"≥ {minimum}" if maximum is None else f"entre {minimum} y {maximum}"
        raise ArgumentError(
            f"{_prefix(where)}«{name}» debe ser un entero {bound}; recibido {value!r}."
        )
    return int(value)


def check_number(value: Any, name: str, *, minimum: float, maximum: float,
                 include_maximum: bool = True, where: str | None = None) -> float:
    """Devuelve ``value`` como ``float`` si es un número en [minimum, maximum] (o [min, max)).

    Raises:
        ArgumentError: que nombra ``name``.
    """
    number = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    inside = number and minimum <= value and (value <= maximum if include_maximum else value < maximum)
    if not inside:
        closing = "]" if include_maximum else ")"
        raise ArgumentError(
            f"{_prefix(where)}«{name}» debe ser un número en [{minimum}, {maximum}{closing}; "
            f"recibido {value!r}."
        )
    return float(value)


def check_int_tuple(value: Any, name: str, *, length: int | None = None,
                    where: str | None = None) -> tuple[int, ...]:
    """Convierte una lista o tupla de enteros positivos en tupla, comprobando su longitud.

    Raises:
        ArgumentError: que nombra ``name``.
    """
    if not isinstance(value, Sequence) or isinstance(value, str) or (
            length is not None and len(value) != length):
        size = f" de {length} elementos" if length is not None else ""
        raise ArgumentError(
            f"{_prefix(where)}«{name}» debe ser una tupla{size} de enteros; recibido {value!r}."
        )
    return tuple(check_int(item, name, where=where) for item in value)
