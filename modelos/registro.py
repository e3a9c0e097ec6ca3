"""Registro de constructores de modelos.

Cada ``build_xxx`` público se registra con un nombre estable. El envoltorio anota en
el modelo devuelto el nombre y todos sus argumentos (también los que toman el valor por
defecto), para que
:func:`modelos.save` los guarde y :func:`modelos.load` reconstruya la arquitectura
llamando de nuevo al constructor: en el archivo nunca hay código que ejecutar.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any

from nucleo.errores import ArgumentError, UnknownBuilderError

_BUILDERS: dict[str, Callable[..., Any]] = {}
# Por constructor: argumento → {valor antiguo: valor actual}, para archivos antiguos.
_LEGACY_VALUES: dict[str, dict[str, dict[Any, Any]]] = {}


@dataclasses.dataclass(frozen=True)
class BuilderSpec:
    """Nombre registrado del constructor y todos sus argumentos, por defecto incluidos."""

    name: str
    kwargs: dict[str, Any]


def register_builder(name: str, *, legacy_values: dict[str, dict[Any, Any]] | None = None):
    """Decorador que registra un constructor bajo ``name``.

    Args:
        name: nombre estable con el que se guarda en los archivos HDF5.
        legacy_values: valores antiguos de algún argumento que un archivo guardado por
            una versión anterior puede traer, con su nombre actual
            (``{"pooling": {"media": "mean"}}``); :func:`upgrade_kwargs` los traduce al
            cargar. El constructor solo acepta los actuales.

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
            # La configuración completa, valores por defecto incluidos: quien lea el
            # archivo no tiene que volver a escribir los valores por defecto del constructor.
            bound.apply_defaults()
            # object.__setattr__ evita el rastreo automático de atributos de Keras.
            object.__setattr__(model, "_redes_spec", BuilderSpec(name, dict(bound.arguments)))
            return model

        wrapper.builder_name = name
        _BUILDERS[name] = wrapper
        _LEGACY_VALUES[name] = {key: dict(values) for key, values in (legacy_values or {}).items()}
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


def upgrade_kwargs(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Traduce los valores antiguos de los argumentos guardados a los actuales.

    Args:
        name: constructor registrado.
        kwargs: argumentos leídos de un archivo.

    Returns:
        Una copia de ``kwargs`` con los valores antiguos de ``legacy_values``
        (ver :func:`register_builder`) sustituidos por los actuales.
    """
    upgraded = dict(kwargs)
    for key, values in _LEGACY_VALUES.get(name, {}).items():
        value = upgraded.get(key)
        if isinstance(value, (str, int, float, bool)) and value in values:
            upgraded[key] = values[value]
    return upgraded
