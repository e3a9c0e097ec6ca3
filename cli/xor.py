"""Orden ``redes xor``: la red XOR del blog."""

from __future__ import annotations

from cli.comun import add_common_arguments
from cli.comun import add_family
from cli.comun import add_training_arguments
from cli.comun import check_outputs
from cli.comun import positive_int


def _cmd_xor(args) -> int:
    from informes.resultado import report
    from tareas.xor import train_xor

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    result = train_xor(epochs=args.epocas, seed=args.semilla, run_dir=args.salida,
                       precision=args.precision)
    report(result, args.json)
    return 0


def add_commands(commands) -> None:
    """Añade ``redes xor``."""
    parser = add_family(commands, "xor", "entrena la red XOR del blog (1000 épocas)",
                        description="Entrena la red XOR del blog. No se reanuda: volver a "
                        "ejecutarla entrena de nuevo y solo sustituye el modelo guardado si "
                        "lo mejora.")
    parser.add_argument("--epocas", type=positive_int, default=1000,
                        help="épocas (por defecto 1000)")
    add_common_arguments(parser, run_default="pesos/xor")
    add_training_arguments(parser)
    # Sin respaldo por época: Ctrl-C no deja nada que reanudar.
    parser.set_defaults(func=_cmd_xor, resumable=False)
