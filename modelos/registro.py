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
# Por constructor: la familia que lo declara (tarea y preprocesado).
_FAMILIES: dict[str, Family] = {}
# Por constructor: argumento → {valor antiguo: valor actual}, para archivos antiguos.
_LEGACY_VALUES: dict[str, dict[str, dict[Any, Any]]] = {}


@dataclasses.dataclass(frozen=True)
class Family:
    """Lo que una familia declara de sus constructores.

    Attributes:
        task: la tarea de ``redes`` que sirven sus modelos (una de
            :data:`nucleo.vocabulario.TASKS`), o ``None`` si ninguna.
        preprocessor: cómo se prepara su entrada y se lee su salida
            (:class:`modelos.preprocesado.Preprocessor`).
    """

    task: str | None
    preprocessor: Any


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


def declare_family(*names: str, task: str | None, preprocessor) -> None:
    """Declara la tarea y el preprocesado de los constructores ``names`` (su familia).

    Cada familia lo hace en su paquete (``modelos/<familia>/__init__.py``); los motores,
    la exportación, la cuantización y el servicio lo leen con :func:`family_of`.

    Raises:
        ArgumentError: si la tarea no es una de :data:`nucleo.vocabulario.TASKS`.
    """
    from nucleo.vocabulario import TASKS

    if task is not None and task not in TASKS:
        raise ArgumentError(f"declare_family: tarea «{task}» desconocida; se esperaba una "
                            f"de {', '.join(TASKS)}.")
    for name in names:
        _FAMILIES[name] = Family(task, preprocessor)


def family_of(model_or_name) -> Family | None:
    """La familia de un modelo (de Keras o un motor), de su ``BuilderSpec`` o de un nombre.

    ``None`` si el constructor no pertenece a ninguna familia declarada.
    """
    if isinstance(model_or_name, str):
        name = model_or_name
    elif isinstance(model_or_name, BuilderSpec):
        name = model_or_name.name
    else:
        spec = builder_spec(model_or_name)
        name = spec.name if spec else None
    return _FAMILIES.get(name)


def preprocessor_of(model_or_name):
    """El preprocesado que declara la familia del modelo, o ``None``."""
    family = family_of(model_or_name)
    return family.preprocessor if family else None
