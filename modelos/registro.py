"""Registro de constructores de modelos.

Cada ``build_xxx`` público se registra con un nombre estable. El envoltorio anota en
el modelo devuelto el nombre y los argumentos con que se llamó, para que
:func:`modelos.save` los guarde y :func:`modelos.load` reconstruya la arquitectura
llamando de nuevo al constructor: en el archivo nunca hay código que ejecutar.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from typing import Any, Callable

from datos.errores import ArgumentError, UnknownBuilderError

_BUILDERS: dict[str, Callable[..., Any]] = {}


@dataclasses.dataclass(frozen=True)
class BuilderSpec:
    """Nombre registrado del constructor y argumentos explícitos de la llamada."""

    name: str
    kwargs: dict[str, Any]


def register_builder(name: str):
    """Decorador que registra un constructor bajo ``name``.

    Args:
        name: nombre estable con el que se guarda en los archivos HDF5.

    Returns:
        El decorador; el constructor envuelto anota ``BuilderSpec`` en el modelo.
    """

    def decorator(fn):
        if name in _BUILDERS:
            raise ArgumentError(f"Ya hay un constructor registrado como «{name}».")
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise ArgumentError(f"{fn.__name__}: {exc}") from None
            model = fn(*args, **kwargs)
            # object.__setattr__ evita el rastreo automático de atributos de Keras.
            object.__setattr__(model, "_redes_spec", BuilderSpec(name, dict(bound.arguments)))
            return model

        wrapper.builder_name = name
        _BUILDERS[name] = wrapper
        return wrapper

    return decorator


def get_builder(name: str) -> Callable[..., Any]:
    """Devuelve el constructor registrado como ``name``.

    Raises:
        UnknownBuilderError: si no hay ninguno con ese nombre.
    """
    try:
        return _BUILDERS[name]
    except KeyError:
        known = ", ".join(sorted(_BUILDERS)) or "(ninguno)"
        raise UnknownBuilderError(
            f"No hay ningún constructor registrado como «{name}». Conocidos: {known}."
        ) from None


def builder_names() -> list[str]:
    """Nombres de todos los constructores registrados, en orden alfabético."""
    return sorted(_BUILDERS)


def builder_spec(model) -> BuilderSpec | None:
    """El ``BuilderSpec`` con que se construyó ``model`` (``None`` si no viene del registro)."""
    return getattr(model, "_redes_spec", None)
