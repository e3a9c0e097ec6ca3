"""Orden ``redes demo``: XOR, dígitos, ventas, traducción y detección con datos incluidos."""

from __future__ import annotations

from cli.comun import add_common_arguments
from cli.comun import add_family
from cli.comun import check_outputs


def _cmd_demo(args) -> int:
    from tareas.demo import run_demo
    from informes.resultado import report

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    report(run_demo(args.salida, seed=args.semilla), args.json)
    return 0


def add_commands(commands) -> None:
    """Añade ``redes demo``."""
    parser = add_family(commands, "demo",
                        "XOR, dígitos, ventas, traducción y detección con datos incluidos")
    add_common_arguments(parser, run_default="pesos/demo")
    parser.set_defaults(func=_cmd_demo)
