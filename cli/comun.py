"""Piezas comunes de las órdenes de ``redes``: registro de familias, argumentos y tipos.

Cada familia de órdenes (``clasificar``, ``ventas``, ``yolo``...) vive en un módulo
``entrenamiento/cli_<familia>.py`` que define ``add_commands(commands)`` y, dentro, llama
a :func:`add_family` con sus tareas. ``cli.principal.COMMAND_MODULES`` los nombra
todos; ninguna orden se registra de otra manera.

Los tipos (:func:`positive_int`, :func:`positive_float`...) validan cada número en el
momento de leer la línea de órdenes, así el error nombra la opción que escribió el
usuario (``--lote``) y no un parámetro interno.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from nucleo.vocabulario import ENGINES
from nucleo.vocabulario import ENGINE_HELP
from nucleo.vocabulario import PRECISION_HELP
from nucleo.vocabulario import DEFAULT_TRAINING_PRECISION
from nucleo.vocabulario import TRAINING_PRECISIONS

Task = Callable[[argparse._SubParsersAction], None]


def add_family(commands, name: str, help: str, tasks: Sequence[Task] = (), *,
               description: str | None = None):
    """Añade la orden ``redes <name>``; con ``tasks``, sus tareas (``redes <name> <tarea>``).

    Args:
        commands: el objeto de ``add_subparsers`` de ``redes``.
        name: nombre de la orden.
        help: una línea de ayuda.
        tasks: funciones ``add(tasks)`` que añaden cada tarea con ``set_defaults(func=...)``,
            en el orden de la ayuda. Sin tareas, la orden es una sola (``redes xor``).
        description: texto largo de ``redes <name> --help``.

    Returns:
        El analizador de la orden (para añadirle argumentos si no tiene tareas).
    """
    parser = commands.add_parser(name, help=help, description=description or help)
    if tasks:
        subparsers = parser.add_subparsers(dest="tarea", metavar="TAREA", required=True)
        for add in tasks:
            add(subparsers)
    return parser


def _number(text: str, kind, what: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"se esperaba {what}; recibido {text!r}") from None


def bounded_int(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """Tipo de argparse: un entero en [minimum, maximum]."""

    def parse(text: str) -> int:
        value = _number(text, int, "un número entero")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"≥ {minimum}" if maximum is None else f"entre {minimum} y {maximum}"
            raise argparse.ArgumentTypeError(f"debe ser un entero {bound}; recibido {text}")
        return value

    parse.__name__ = "entero"
    return parse


def bounded_float(minimum: float, maximum: float | None = None, *,
                  include_minimum: bool = False) -> Callable[[str], float]:
    """Tipo de argparse: un número finito en (minimum, maximum] (o [minimum, ...])."""

    def parse(text: str) -> float:
        value = _number(text, float, "un número")
        low_ok = value >= minimum if include_minimum else value > minimum
        if not (low_ok and value == value and value != float("inf")
                and (maximum is None or value <= maximum)):
            low = "≥" if include_minimum else ">"
            bound = f"{low} {minimum:g}" + ("" if maximum is None else f" y ≤ {maximum:g}")
            raise argparse.ArgumentTypeError(f"debe ser un número {bound}; recibido {text}")
        return value

    parse.__name__ = "número"
    return parse


positive_int = bounded_int(1)
non_negative_int = bounded_int(0)
positive_float = bounded_float(0.0)
fraction = bounded_float(0.0, 1.0)


def add_seed_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--semilla", type=non_negative_int, default=0,
                        help="semilla (por defecto 0)")


def add_engine_argument(parser: argparse.ArgumentParser) -> None:
    """``--motor``: con qué motor de inferencia predecir (:mod:`inferencia.motores`)."""
    parser.add_argument("--motor", choices=ENGINES, default="keras", help=ENGINE_HELP)


def add_json_argument(parser: argparse.ArgumentParser, what: str = "las cifras") -> None:
    parser.add_argument("--json", metavar="RUTA", help=f"escribe también {what} en JSON")


def add_common_arguments(parser: argparse.ArgumentParser, *, run_default: str | None) -> None:
    """``--semilla``, ``--salida`` (carpeta de la ejecución) y ``--json``."""
    add_seed_argument(parser)
    parser.add_argument("--salida", default=run_default,
                        help="carpeta de la ejecución: pesos, registro CSV y gráficos"
                        + (f" (por defecto {run_default})" if run_default else ""))
    add_json_argument(parser)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """``--precision`` con los valores de :data:`nucleo.vocabulario.TRAINING_PRECISIONS`."""
    parser.add_argument("--precision", choices=TRAINING_PRECISIONS,
                        default=DEFAULT_TRAINING_PRECISION, help=PRECISION_HELP)


def add_distributed_arguments(parser: argparse.ArgumentParser) -> None:
    """``--procesos`` o ``--coordinador``/``--num-procesos``/``--proceso`` (JAX)."""
    group = parser.add_argument_group(
        "entrenamiento en varios procesos (keras.distribution sobre JAX; extra «jax»)")
    group.add_argument("--procesos", type=positive_int, metavar="N",
                       help="entrena con N procesos en esta máquina (coordinador en "
                       "127.0.0.1 con un puerto libre); el lote global es --lote")
    group.add_argument("--coordinador", metavar="HOST:PUERTO",
                       help="un proceso por máquina: dirección del proceso 0, que la abre")
    group.add_argument("--num-procesos", type=positive_int, metavar="N",
                       help="con --coordinador: procesos (máquinas) en total")
    group.add_argument("--proceso", type=non_negative_int, metavar="I",
                       help="con --coordinador: el número de este proceso, de 0 a N-1 "
                       "(el 0 escribe los resultados)")
    group.add_argument("--espera-coordinador", type=bounded_float(0.0, 86400.0),
                       default=60.0, metavar="S",
                       help="segundos que cada proceso espera a que estén todos (60)")


def check_outputs(*, files: Sequence[tuple[str, object]] = (),
                  folders: Sequence[tuple[str, object]] = ()) -> None:
    """Comprueba las rutas de salida antes de empezar un trabajo largo.

    Args:
        files: pares ``(opción, ruta)`` de archivos a escribir (``("--json", args.json)``);
            las rutas ``None`` se omiten.
        folders: pares ``(opción, ruta)`` de carpetas a crear o usar.

    Raises:
        ArgumentError: la primera ruta que no se podrá escribir, con la opción que la dio.
    """
    from nucleo.archivos import check_output_path

    for flag, path in files:
        if path is not None:
            check_output_path(path, flag)
    for flag, path in folders:
        if path is not None:
            check_output_path(path, flag, folder=True)
