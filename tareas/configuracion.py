"""La configuración de un entrenamiento: un objeto tipado e inmutable por entrenador.

Cada entrenador (:func:`tareas.xor.train_xor`, :func:`tareas.clasificacion.train_classifier`,
:func:`tareas.ventas.train_sales`, :func:`tareas.traduccion.train_numbers`,
:func:`tareas.deteccion.train_yolo`) recibe una configuración: una *dataclass* congelada
que deriva de :class:`TrainingConfig`. Cada campo lleva su tipo y, en sus metadatos, la
opción de ``redes`` que lo da (``--epocas``), sus límites y sus valores posibles
(:func:`setting`). De ahí salen:

- :meth:`TrainingConfig.replace`: una copia con otros valores, comprobados (el error
  nombra el campo y su opción).
- :meth:`TrainingConfig.preset`: las configuraciones con nombre de la tarea (los
  modelos del blog del clasificador, las recetas ``blog`` y ``fotos`` de YOLO).
- :func:`save_config`: ``configuracion.json`` en la carpeta de la ejecución, legible,
  con todos los valores (también los que no se tocaron) y lo que se resolvió al entrenar
  (``precision_usada``); sus claves son las opciones sin guiones (``"epocas": 40``).
- :func:`load_config`: lee ese archivo, con límites de tamaño y profundidad; una clave
  desconocida o un valor de otro tipo es un error que nombra el archivo y la clave.
- :func:`overrides_from_args`: los campos cuya opción se dio en la línea de órdenes.

La línea de órdenes (:func:`cli.comun.training_config`) hace
``Cls.build(load_config(Cls, args.config) o None, **overrides_from_args(Cls, args))``.

Este módulo no importa Keras: la CLI lo usa sin cargar un backend.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import numbers
import os
import types
import typing
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from typing import ClassVar
from typing import Self

from nucleo.archivos import atomic_write
from nucleo.archivos import read_json
from nucleo.entorno import check_tensorboard_installed
from nucleo.entorno import resolve_training_precision
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.validacion import check_int
from nucleo.validacion import check_number
from nucleo.validacion import shown
from nucleo.vocabulario import check_choice

#: El archivo que cada ejecución escribe en su carpeta.
CONFIG_NAME = "configuracion.json"
#: Límites de un ``configuracion.json`` que se lee (viene de fuera: puede ser cualquier cosa).
MAX_CONFIG_BYTES = 1 * 2**20
MAX_CONFIG_DEPTH = 8
#: Clave que nombra la tarea de la configuración (no es un campo).
TASK_KEY = "tarea"
#: Clave que registra la precisión que se usó de verdad (``auto`` ya resuelta).
USED_PRECISION_KEY = "precision_usada"

# Metadatos de cada campo (en castellano: los lee quien escribe una configuración).
OPTION = "opcion"
_MINIMUM, _MAXIMUM, _ABOVE, _BELOW = "minimo", "maximo", "mayor_que", "menor_que"
_CHOICES, _CHECK, _ZERO_IS_NONE = "opciones", "comprobar", "cero_es_ninguno"


def setting(option: str, default: Any = dataclasses.MISSING, *, minimum: float | None = None,
            maximum: float | None = None, above: float | None = None,
            below: float | None = None, choices: Sequence[Any] | None = None,
            check=None, zero_is_none: bool = False, kw_only: bool = False):
    """Un campo de configuración: su opción de la CLI, su valor por defecto y sus límites.

    Args:
        option: la opción de ``redes`` (``"--epocas"``); sin guiones es la clave en
            ``configuracion.json`` y el ``dest`` de argparse (``-`` → ``_``).
        default: valor por defecto (un diccionario se guarda como copia de solo lectura).
        minimum, maximum: límites incluidos.
        above, below: límites excluidos (una tasa > 0, una fracción < 1).
        choices: valores posibles (de :mod:`nucleo.vocabulario`).
        check: ``función(valor, nombre, where) -> valor`` para lo que el tipo no dice
            (p. ej. las anclas de YOLO); se llama tras comprobar el tipo.
        zero_is_none: en la línea de órdenes, ``0`` significa ``None`` (``--paciencia 0``:
            sin parada temprana).
        kw_only: solo por nombre al construir (los campos comunes de TrainingConfig).
    """
    metadata = {OPTION: option, _MINIMUM: minimum, _MAXIMUM: maximum, _ABOVE: above,
                _BELOW: below, _CHOICES: tuple(choices) if choices is not None else None,
                _CHECK: check, _ZERO_IS_NONE: zero_is_none}
    extra = {"metadata": metadata, "kw_only": kw_only}
    if isinstance(default, Mapping):
        frozen = types.MappingProxyType(dict(default))
        return dataclasses.field(default_factory=lambda: frozen, **extra)
    return dataclasses.field(default=default, **extra)


def config_fields(cls) -> list[dataclasses.Field]:
    """Los campos de ``cls`` (clase o configuración): los de la tarea y al final los comunes."""
    common = {field.name for field in dataclasses.fields(TrainingConfig)}
    fields = dataclasses.fields(cls)
    return [f for f in fields if f.name not in common] + [f for f in fields if f.name in common]


def option_key(field: dataclasses.Field) -> str:
    """La clave de ``field`` en ``configuracion.json``: la opción sin guiones (``epocas``)."""
    return field.metadata[OPTION].lstrip("-").replace("-", "_")


class _WrongType(Exception):
    """Un valor no es del tipo del campo; ``args[0]`` dice qué se esperaba."""


_SIMPLE_TYPES = {bool: "True o False", int: "un entero", float: "un número",
                 str: "un texto", Path: "una ruta"}


def _describe(hint) -> str:
    """Cómo se llama en un mensaje el tipo ``hint``."""
    if hint in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[hint]
    if hint is type(None):
        return "None (null en JSON)"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return " o ".join(_describe(arg) for arg in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"una lista de {_describe(args[0]).split(' ', 1)[-1]}s"
        if len(set(args)) == 1:
            return f"una lista de {len(args)} {_describe(args[0]).split(' ', 1)[-1]}s"
        return f"una lista de {len(args)} elementos"
    if origin is Mapping or hint is Mapping:
        return "un diccionario de ajustes (textos → números, textos o listas de números)"
    return getattr(hint, "__name__", str(hint))


def _json_scalar(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _convert(value, hint):
    """``value`` convertido al tipo ``hint`` (listas → tuplas, textos → rutas...).

    Raises:
        _WrongType: si no es de ese tipo.
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        for arg in args:
            try:
                return _convert(value, arg)
            except _WrongType:
                continue
        raise _WrongType(_describe(hint))
    if hint is type(None):
        if value is None:
            return None
    elif hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
    elif hint is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool) \
                and math.isfinite(value):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif hint is Path:
        if isinstance(value, (str, os.PathLike)) and str(os.fspath(value)).strip():
            return Path(value)
    elif origin is tuple:
        if isinstance(value, (list, tuple)):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_convert(item, args[0]) for item in value)
            if len(value) == len(args):
                return tuple(_convert(item, arg) for item, arg in zip(value, args, strict=True))
    elif origin is Mapping or hint is Mapping:
        if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
            out = {}
            for key, item in value.items():
                if isinstance(item, (list, tuple)) and all(
                        _json_scalar(x) and not isinstance(x, str) for x in item):
                    item = tuple(item)  # imgaug: una tupla es un rango, una lista no
                elif not _json_scalar(item):
                    raise _WrongType(_describe(hint))
                out[key] = item
            return types.MappingProxyType(out)
    raise _WrongType(_describe(hint))


def _check_limits(value, field: dataclasses.Field, name: str, where: str):
    """Límites y valores posibles de ``field`` (el tipo ya está comprobado)."""
    meta = field.metadata
    if meta[_CHOICES] is not None:
        check_choice(value, name, meta[_CHOICES], where=where)
    for number in value if isinstance(value, tuple) else (value,):
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            _check_bounds(number, meta, name, where)
    if meta[_CHECK] is not None:
        value = meta[_CHECK](value, name, where)
    return value


def _check_bounds(number, meta, name: str, where: str) -> None:
    low_open, high_open = meta[_ABOVE] is not None, meta[_BELOW] is not None
    low = meta[_ABOVE] if low_open else meta[_MINIMUM]
    high = meta[_BELOW] if high_open else meta[_MAXIMUM]
    if low is None and high is None:
        return
    if isinstance(number, int) and not (low_open or high_open) and low is not None:
        check_int(number, name, minimum=low, maximum=high, where=where)
        return
    check_number(number, name, minimum=-math.inf if low is None else low,
                 maximum=math.inf if high is None else high, include_minimum=not low_open,
                 include_maximum=not high_open, where=where)


@functools.cache
def _type_hints(cls) -> dict[str, Any]:
    """Los tipos de los campos de ``cls`` (las anotaciones son textos: ``__future__``)."""
    return typing.get_type_hints(cls)


def field_value(cls, field: dataclasses.Field, value, *, name: str, where: str):
    """``value`` comprobado y convertido para ``field`` de ``cls``.

    Raises:
        ArgumentError: que nombra ``name`` (el campo y su opción, o la clave del archivo).
    """
    hint = _type_hints(cls)[field.name]
    try:
        value = _convert(value, hint)
    except _WrongType as wrong:
        raise ArgumentError(f"{where}: «{name}» debe ser {wrong.args[0]}; recibido "
                            f"{shown(value)}.") from None
    if value is None:
        return None
    return _check_limits(value, field, name, where)


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Base de las configuraciones de los entrenadores (ver el módulo).

    Las subclases son ``@dataclasses.dataclass(frozen=True)`` con campos de
    :func:`setting`. Al construirse se comprueba y normaliza cada campo (listas →
    tuplas, textos → rutas) y después :meth:`check` comprueba lo que une a varios.

    Attributes:
        tensorboard: carpeta de registros de TensorBoard (``--tensorboard``; todas las tareas).
    """

    #: La tarea (una de :data:`nucleo.vocabulario.TASKS`), escrita en el archivo.
    TASK: ClassVar[str] = ""
    #: Las configuraciones con nombre (nombre → configuración); vacío si no hay.
    PRESETS: ClassVar[Mapping[str, Any]] = types.MappingProxyType({})
    #: El campo que nombra el preset del que parte (``"model"``, ``"recipe"``), si lo hay.
    PRESET_FIELD: ClassVar[str | None] = None
    #: Claves del archivo que no son campos: lo que se resolvió al entrenar.
    RESOLVED_KEYS: ClassVar[tuple[str, ...]] = ()
    tensorboard: Path | None = setting("--tensorboard", None, kw_only=True)

    def __post_init__(self):
        where = type(self).__name__
        for field in dataclasses.fields(self):
            name = f"{field.name} ({field.metadata[OPTION]})"
            value = field_value(type(self), field, getattr(self, field.name), name=name,
                                where=where)
            object.__setattr__(self, field.name, value)
        self.check()

    def check(self) -> None:
        """Lo que une a varios campos (la subclase lo amplía); lanza ``ArgumentError``."""

    def replace(self, **fields) -> Self:
        """Una copia con ``fields`` cambiados, comprobados como al construir.

        Raises:
            ArgumentError: un campo que no existe (con la lista de los que hay), o un
                valor no válido (nombra el campo y su opción).
        """
        names = [field.name for field in config_fields(self)]
        unknown = [name for name in fields if name not in names]
        if unknown:
            raise ArgumentError(f"{type(self).__name__}: no hay ningún campo «{unknown[0]}»; "
                                f"los campos son: {', '.join(names)}.")
        return dataclasses.replace(self, **fields) if fields else self

    @classmethod
    def preset(cls, name: str | None = None) -> Self:
        """La configuración con nombre ``name`` (``None``: la primera, la del blog).

        Raises:
            ArgumentError: si la tarea no tiene un preset con ese nombre.
        """
        if not cls.PRESETS:
            if name is not None:
                raise ArgumentError(f"{cls.__name__}: esta tarea no tiene configuraciones con "
                                    f"nombre; recibido {name!r}.")
            return cls()
        if name is None:
            return next(iter(cls.PRESETS.values()))
        what = "preset"
        if cls.PRESET_FIELD:
            option = next(f.metadata[OPTION] for f in dataclasses.fields(cls)
                          if f.name == cls.PRESET_FIELD)
            what = f"{cls.PRESET_FIELD} ({option})"
        check_choice(name, what, tuple(cls.PRESETS), where=cls.__name__)
        return cls.PRESETS[name]

    @classmethod
    def build(cls, config: Self | None = None, **overrides) -> Self:
        """La configuración de una llamada: ``config`` (o el preset que nombran los
        ``overrides``, o el primero) con ``overrides`` cambiados.

        ``train_classifier(model="mlp", epochs=1)`` parte del preset ``mlp`` (su tamaño
        de imagen, sus lotes) y cambia las épocas.

        Raises:
            ArgumentError: ``config`` no es de esta clase, o un ``override`` no válido.
            EnvironmentSetupError: ``tensorboard`` sin el paquete ``tensorboard`` instalado.
        """
        if config is None:
            start = cls.preset(overrides.get(cls.PRESET_FIELD)) if cls.PRESET_FIELD else cls()
        elif isinstance(config, cls):
            start = config
        else:
            raise ArgumentError(f"«config» debe ser una {cls.__name__} (o None); recibido "
                                f"{type(config).__name__}.")
        built = start.replace(**overrides)
        if built.tensorboard is not None:
            check_tensorboard_installed(f"{cls.__name__}: «tensorboard (--tensorboard)»")
        return built

    def to_json(self) -> dict[str, Any]:
        """Los campos con sus claves (las opciones sin guiones) y tipos de JSON."""
        return {option_key(field): _jsonable(getattr(self, field.name))
                for field in config_fields(self)}


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


def check_augment_settings(settings: Mapping[str, Any], name: str, *, where: str) -> None:
    """Comprueba que las claves de ``settings`` son argumentos de
    :func:`datos.aumento.make_augmenter` (importa imgaug solo si hay alguna).

    Raises:
        ArgumentError: nombra la clave desconocida y las que hay.
    """
    if not settings:
        return
    import inspect

    from datos.aumento import make_augmenter

    known = [p for p in inspect.signature(make_augmenter).parameters if p != "seed"]
    unknown = [key for key in settings if key not in known]
    if unknown:
        raise ArgumentError(f"{where}: «{name}» no admite la clave «{unknown[0]}»; las claves "
                            f"son las de make_augmenter: {', '.join(known)}.")


def config_path(run_dir) -> Path:
    """``run_dir/configuracion.json``."""
    return Path(run_dir) / CONFIG_NAME


def save_config(config: TrainingConfig, run_dir, *,
                resolved: Mapping[str, Any] | None = None) -> Path:
    """Escribe ``run_dir/configuracion.json`` (atómico, UTF-8 legible, sin escapar tildes).

    Args:
        config: la configuración completa de la ejecución.
        run_dir: la carpeta de la ejecución.
        resolved: lo que se decidió al entrenar (``{"precision_usada": "float32"}``);
            cada clave debe estar en ``RESOLVED_KEYS`` de la clase.

    Returns:
        La ruta escrita.
    """
    resolved = dict(resolved or {})
    unknown = [key for key in resolved if key not in config.RESOLVED_KEYS]
    if unknown:
        raise ArgumentError(f"save_config: «{unknown[0]}» no es una clave resuelta de "
                            f"{type(config).__name__} ({', '.join(config.RESOLVED_KEYS)}).")
    data = {TASK_KEY: config.TASK, **config.to_json(), **resolved}
    # Una clave por línea y cada valor en la suya (las listas y los ajustes, enteros).
    lines = [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False, allow_nan=False)}"
             for key, value in data.items()]
    text = "{\n" + ",\n".join(lines) + "\n}"
    return atomic_write(config_path(run_dir), lambda handle: handle.write(text + "\n"),
                        text=True)


def save_run_config(config: TrainingConfig, run_dir, cluster=None) -> Path | None:
    """:func:`save_config` al empezar un entrenamiento, con la precisión ya resuelta.

    Solo escribe el proceso 0 (o el único: ``cluster`` ``None``) y solo si hay carpeta
    (``run_dir`` ``None`` es un entrenamiento en memoria).

    Returns:
        La ruta escrita, o ``None``.
    """
    if run_dir is None or not (cluster is None or cluster.chief):
        return None
    resolved = {}
    if USED_PRECISION_KEY in config.RESOLVED_KEYS:
        resolved[USED_PRECISION_KEY] = resolve_training_precision(config.precision)
    return save_config(config, run_dir, resolved=resolved)


def load_config(cls: type[TrainingConfig], path) -> TrainingConfig:
    """Lee un ``configuracion.json`` de :func:`save_config` como una configuración ``cls``.

    Los campos que falten toman el valor del preset que nombra el archivo (o el de la
    clase); las claves resueltas (``precision_usada``) se ignoran: se vuelven a resolver.

    Args:
        cls: la clase de configuración de la tarea (``XorConfig``...).
        path: el archivo, o la carpeta de una ejecución.

    Raises:
        DataError: el archivo no existe, ocupa más de :data:`MAX_CONFIG_BYTES`, no es JSON,
            anida más de :data:`MAX_CONFIG_DEPTH` niveles o es de otra tarea.
        ArgumentError: una clave desconocida o un valor no válido (nombra el archivo y la
            clave).
    """
    path = Path(path)
    if path.is_dir():
        path = config_path(path)
    data = read_json(path, max_bytes=MAX_CONFIG_BYTES, max_depth=MAX_CONFIG_DEPTH)
    where = f"«{path}»"
    if not isinstance(data, dict):
        raise DataError(f"{where}: se esperaba un objeto JSON ({{\"clave\": valor, ...}}); "
                        f"es {type(data).__name__}.")
    task = data.pop(TASK_KEY, cls.TASK)
    if task != cls.TASK:
        raise DataError(f"{where}: es la configuración de la tarea {shown(task)}, no de "
                        f"«{cls.TASK}».")
    by_key = {option_key(field): field for field in config_fields(cls)}
    values = {}
    for key, value in data.items():
        if key in cls.RESOLVED_KEYS:
            continue
        if key not in by_key:
            raise ArgumentError(f"{where}: la clave {shown(key)} no es de la configuración de "
                                f"«{cls.TASK}»; las claves son: {', '.join(by_key)}.")
        field = by_key[key]
        values[field.name] = field_value(cls, field, value, name=key, where=where)
    start = cls.preset(values.get(cls.PRESET_FIELD)) if cls.PRESET_FIELD else cls()
    try:
        return start.replace(**values)
    except ArgumentError as exc:  # lo que une a varios campos
        raise ArgumentError(f"{where}: {exc}") from None


def overrides_from_args(cls: type[TrainingConfig], namespace) -> dict[str, Any]:
    """Los campos de ``cls`` cuya opción se dio en la línea de órdenes.

    El ``dest`` de argparse de cada campo es su opción sin ``--`` y con ``_`` por ``-``
    (``--max-cajas`` → ``max_cajas``); ``None`` es «no se dio» (las opciones de la
    configuración tienen ``default=None`` en argparse: el valor por defecto es el de la
    configuración). Con ``zero_is_none``, ``0`` pasa a ``None`` (``--paciencia 0``).

    Returns:
        ``{campo: valor}`` para :meth:`TrainingConfig.replace`.
    """
    overrides = {}
    for field in dataclasses.fields(cls):
        value = getattr(namespace, option_key(field), None)
        if value is None:
            continue
        if field.metadata[_ZERO_IS_NONE] and value == 0 and not isinstance(value, bool):
            value = None
        overrides[field.name] = value
    return overrides


def field_options(cls: type[TrainingConfig]) -> dict[str, str]:
    """``{campo: opción}`` de ``cls`` (para la ayuda de la CLI o un mensaje)."""
    return {field.name: field.metadata[OPTION] for field in config_fields(cls)}


__all__ = ["CONFIG_NAME", "TrainingConfig", "check_augment_settings", "config_fields",
           "config_path", "field_options", "load_config", "overrides_from_args", "save_config",
           "save_run_config", "setting"]
