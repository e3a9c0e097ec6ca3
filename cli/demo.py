"""Orden ``redes demo``: XOR, dígitos, ventas, traducción y detección con datos incluidos."""

from __future__ import annotations

from cli.comun import add_command
from cli.comun import add_json_argument
from cli.comun import add_output_argument
from cli.comun import add_seed_argument
from cli.comun import check_outputs
from cli.comun import report
from nucleo.vocabulario import PRECISION_HELP
from nucleo.vocabulario import TRAINING_PRECISIONS


def _cmd_demo(args) -> int:
    from tareas.demo import run_demo

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    return report(run_demo(args.salida, seed=args.semilla, precision=args.precision), args)


def add_commands(commands) -> None:
    """Añade ``redes demo``."""
    parser = add_command(commands, "demo",
                         "XOR, dígitos, ventas, traducción y detección con datos incluidos")
    add_seed_argument(parser)
    parser.add_argument("--precision", choices=TRAINING_PRECISIONS,
                        help=f"{PRECISION_HELP}. Fija la de todas las partes; sin "
                        "--precision, cada una usa la suya (auto, y float32 en las ventas, "
                        "para que sus cifras no cambien)")
    add_output_argument(parser, "carpeta de la demo: un modelo y sus gráficos por tarea "
                        "(por defecto pesos/demo)", default="pesos/demo")
    add_json_argument(parser)
    parser.set_defaults(func=_cmd_demo)
