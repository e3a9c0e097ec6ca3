"""Comprobación de argumentos compartida por todo el proyecto.

Un único formato de mensaje, que nombra el argumento y repite el valor recibido::

    build_mlp: «hidden» debe ser un entero ≥ 1; recibido 'x'.

Los ``bool`` no cuentan como números (``True`` no es un tamaño de lote).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError


def _prefix(where: str | None) -> str:
    return f"{where}: " if where else ""


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` recortado a ``limit`` caracteres, para repetir un valor en un error."""
    try:
        text = repr(value)
    except ValueError:  # un entero de miles de cifras
        text = f"<{type(value).__name__} enorme>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # un entero demasiado grande para float
        return False


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
            f"{_prefix(where)}«{name}» debe ser un entero {bound}; recibido {shown(value)}."
        )
    return int(value)


def check_number(value: Any, name: str, *, minimum: float, maximum: float,
                 include_minimum: bool = True, include_maximum: bool = True,
                 where: str | None = None) -> float:
    """Devuelve ``value`` como ``float`` si es un número finito entre ``minimum`` y ``maximum``.

    Args:
        include_minimum: admitir ``minimum`` (``[``) o no (``(``, p. ej. una tasa > 0).
        include_maximum: admitir ``maximum`` (``]``) o no (``)``).

    Raises:
        ArgumentError: que nombra ``name`` (NaN e infinito nunca se admiten).
    """
    number = (not isinstance(value, bool)
              and isinstance(value, (int, float, np.integer, np.floating)))
    inside = (number and _finite(value)
              and (minimum <= value if include_minimum else minimum < value)
              and (value <= maximum if include_maximum else value < maximum))
    if not inside:
        opening = "[" if include_minimum else "("
        closing = "]" if include_maximum else ")"
        raise ArgumentError(
            f"{_prefix(where)}«{name}» debe ser un número en {opening}{minimum}, {maximum}"
            f"{closing}; recibido {shown(value)}."
        )
    return float(value)


def check_int_tuple(value: Any, name: str, *, length: int | None = None,
                    maximum: int | None = None, max_length: int | None = None,
                    where: str | None = None) -> tuple[int, ...]:
    """Convierte una lista o tupla de enteros positivos en tupla, comprobando su longitud.

    Args:
        length: longitud exacta (``None``: cualquiera).
        maximum: valor máximo de cada elemento.
        max_length: longitud máxima (con ``length=None``).

    Raises:
        ArgumentError: que nombra ``name``.
    """
    if not isinstance(value, Sequence) or isinstance(value, str) or (
            length is not None and len(value) != length) or (
            max_length is not None and len(value) > max_length):
        if length is not None:
            size = f" de {length} elementos"
        elif max_length is not None:
            size = f" de como mucho {max_length} elementos"
        else:
            size = ""
        raise ArgumentError(f"{_prefix(where)}«{name}» debe ser una tupla{size} de enteros; "
                            f"recibido {shown(value)}.")
    return tuple(check_int(item, name, maximum=maximum, where=where) for item in value)
