"""Comprobaciones de argumentos compartidas por los constructores."""

from __future__ import annotations

from typing import Any, Sequence

from datos.errores import ArgumentError


def positive_int(builder: str, name: str, value: Any) -> int:
    """Devuelve ``value`` si es un entero > 0; si no, ``ArgumentError`` que lo nombra."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ArgumentError(f"{builder}: «{name}» debe ser un entero positivo; recibido {value!r}.")
    return value


def fraction(builder: str, name: str, value: Any) -> float:
    """Devuelve ``value`` si es un número en [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ArgumentError(f"{builder}: «{name}» debe estar en [0, 1); recibido {value!r}.")
    return float(value)


def int_tuple(builder: str, name: str, value: Any, length: int | None = None) -> tuple[int, ...]:
    """Convierte una lista/tupla de enteros positivos en tupla, comprobando su longitud."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ArgumentError(f"{builder}: «{name}» debe ser una tupla de enteros; recibido {value!r}.")
    items = tuple(value)
    if length is not None and len(items) != length:
        raise ArgumentError(
            f"{builder}: «{name}» debe tener {length} elementos; recibido {value!r}."
        )
    for item in items:
        positive_int(builder, name, item)
    return items
