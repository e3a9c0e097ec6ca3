"""La herramienta de línea de órdenes ``redes``: ``redes TAREA MODO [opciones]``.

Se analizan los argumentos antes de importar Keras: ``redes --help`` es inmediato,
``--verbose`` puede decidir si se ve el ruido de arranque de TensorFlow y ``--backend``
elige el backend de Keras (tensorflow, jax o torch) antes de que se importe.

Cada tarea vive en su módulo ``cli/<tarea>.py`` y cada orden general en el suyo; todos
definen ``add_commands(commands)`` y se registran con :func:`cli.comun.add_task` o
:func:`cli.comun.add_command`. :data:`COMMAND_MODULES` los nombra en el orden de la
ayuda: primero las tareas, después las órdenes generales. Las grafías antiguas se
traducen antes de leer la orden (:mod:`cli.alias`), con un aviso de una línea.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from nucleo.entorno import BACKENDS, check_backend_installed, select_backend
from nucleo.errores import ArgumentError, RedesError
from nucleo.vocabulario import GENERAL_COMMANDS
from nucleo.vocabulario import TASKS
from cli import alias
from cli import argparse_es
from cli.comun import subcommand_helps
from cli.comun import subcommands
from cli.lanzador import is_child, launch

logger = logging.getLogger("redes")

COMMAND_MODULES: tuple[str, ...] = (
    "cli.xor",
    "cli.clasificacion",
    "cli.pronostico",
    "cli.traduccion",
    "cli.deteccion",
    "cli.demo",
    "cli.servir",
    "cli.descargas",
    "cli.pesos",
)
USAGE = ("redes [-h] [--verbose] [--backend {tensorflow,jax,torch}] TAREA MODO [opciones]\n"
         "       redes demo | servir | datos descargar | pesos convertir [opciones]")


def build_parser() -> argparse.ArgumentParser:
    """Construye el analizador de argumentos de ``redes`` (ayuda en castellano)."""
    argparse_es.install()
    parser = argparse.ArgumentParser(prog="redes", formatter_class=_GrammarHelp)
    parser.add_argument("--verbose", action="store_true",
                        help="muestra los mensajes internos de TensorFlow y el registro detallado")
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="backend de Keras (lo mismo que la variable KERAS_BACKEND); "
                             "por defecto, KERAS_BACKEND o tensorflow, el más rápido en CPU. "
                             'jax y torch se instalan con pip install ".[jax]" / ".[torch]"')
    # El listado de tareas y órdenes lo escribe _grammar, en dos grupos.
    commands = parser.add_subparsers(dest="orden", metavar="TAREA", required=True,
                                     help=argparse.SUPPRESS)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(commands)
    parser.usage = USAGE
    parser.description = _grammar(parser)
    return parser


class _GrammarHelp(argparse.RawDescriptionHelpFormatter):
    """La descripción de ``redes --help`` (la gramática) tal cual, ya formateada."""


def _grammar(parser: argparse.ArgumentParser) -> str:
    """``redes --help``: las tareas con sus modos y después las órdenes generales."""
    def line(name: str, text: str) -> str:
        return f"  {name:<17}{text}"

    helps, parsers = subcommand_helps(parser), subcommands(parser)
    lines = ["Los modelos clásicos de «Aprende Machine Learning» en Keras 3.", "",
             "tareas (redes TAREA MODO; «redes TAREA --help» explica cada modo):"]
    for task in (task for task in TASKS if task in parsers):
        lines.append(line(task, helps[task]))
        lines.append(line("", "modos: " + ", ".join(subcommands(parsers[task]))))
    lines += ["", "órdenes generales:"]
    for name in (name for name in GENERAL_COMMANDS if name in parsers):
        modes = subcommand_helps(parsers[name])
        for full, text in ([(f"{name} {m}", h) for m, h in modes.items()] if modes
                           else [(name, helps[name])]):
            lines.append(line(full, text))
    return "\n".join(lines)


def _interrupted_message(args) -> str:
    if getattr(args, "resumable", True):
        return ("\ninterrumpido: vuelve a ejecutar la misma orden para reanudar desde la "
                "última época completa.")
    return ("\ninterrumpido: el mejor modelo hasta ahora ya está guardado. Esta orden no se "
            "reanuda: volver a ejecutarla entrena de nuevo y solo sustituye ese modelo si "
            "lo mejora.")


def _distributed(args) -> bool:
    """``True`` si la orden pide varios procesos (``--procesos N`` con N > 1 o
    ``--coordinador``, ``--num-procesos`` o ``--proceso``)."""
    if (getattr(args, "procesos", None) or 1) > 1:
        return True
    return any(getattr(args, name, None) is not None
               for name in ("coordinador", "num_procesos", "proceso"))


def _join_cluster(args) -> None:
    """En un proceso lanzado por el lanzador: backend jax y conexión con los demás."""
    select_backend("jax")
    from entrenamiento.distribuido import initialize

    cluster = initialize(args.coordinador, args.num_procesos, args.proceso,
                         timeout=args.espera_coordinador)
    # El entrenador lo recibe explícitamente (``train_xxx(config, cluster=args.cluster)``).
    args.cluster = cluster
    if not cluster.chief and not args.verbose:
        # Un solo relato: el del proceso 0. Los demás solo avisan de problemas.
        logging.getLogger("redes").setLevel(logging.WARNING)


def _local_devices_backend(args) -> None:
    """``--dispositivos N`` reparte con keras.distribution, que solo existe en JAX."""
    if args.backend not in (None, "jax"):
        raise ArgumentError(
            "--dispositivos reparte cada lote con keras.distribution, que en Keras 3.15 solo "
            f"funciona con el backend jax; se pidió «{args.backend}».")
    select_backend("jax")


def _process_label(args) -> str:
    """`` (proceso I de N)`` en un proceso de un entrenamiento distribuido."""
    if is_child() and getattr(args, "proceso", None) is not None:
        return f" (proceso {args.proceso} de {args.num_procesos})"
    return ""


def _configure_logging(args) -> None:
    if args.verbose:
        os.environ["REDES_VERBOSO"] = "1"
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(message)s", stream=sys.stderr)
    if not args.verbose:
        logging.getLogger("h5py").setLevel(logging.WARNING)
        logging.getLogger("matplotlib").setLevel(logging.WARNING)
        logging.getLogger("jax").setLevel(logging.ERROR)


def _rewrite(raw: list[str]) -> list[str]:
    """Las grafías antiguas → la gramática nueva, con un aviso por cada una (stderr).

    ``redes exportar`` (antiguo) lee los metadatos de ``--pesos`` para saber la tarea:
    antes se eligen el backend y el ruido de ``--backend`` y ``--verbose``.
    """
    def task_of(weights: str) -> str:
        if "--verbose" in raw[:alias.command_start(raw)]:
            os.environ["REDES_VERBOSO"] = "1"
        backend = alias.global_option(raw, "--backend")
        if backend in BACKENDS:
            select_backend(backend)
        return alias.task_of_weights(weights)

    argv, notices = alias.rewrite(raw, task_of=task_of)
    for notice in notices:
        print(f"aviso: {notice}", file=sys.stderr)
    return argv


def main(argv: list[str] | None = None) -> int:
    """Punto de entrada de ``redes``; devuelve el código de salida."""
    try:
        argv = _rewrite(sys.argv[1:] if argv is None else list(argv))
    except RedesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    _configure_logging(args)
    try:
        if _distributed(args):
            if getattr(args, "dispositivos", None) is not None:
                raise ArgumentError("--dispositivos (varios dispositivos en un proceso) no va "
                                    "con --procesos ni --coordinador: con varios procesos cada "
                                    "uno usa ya todos los suyos.")
            if args.backend not in (None, "jax"):
                raise ArgumentError(
                    "El entrenamiento en varios procesos usa keras.distribution, que en Keras "
                    f"3.15 solo funciona con el backend jax; se pidió «{args.backend}».")
            check_backend_installed("jax")
            if not is_child():  # el lanzador no importa Keras: elige jax para sus procesos
                return launch(argv, processes=args.procesos, coordinator=args.coordinador,
                              num_processes=args.num_procesos, process_id=args.proceso)
            _join_cluster(args)
        elif getattr(args, "dispositivos", None) not in (None, 1):
            _local_devices_backend(args)
        elif args.backend:
            select_backend(args.backend)
        return args.func(args)
    except RedesError as exc:
        label = "" if str(exc).startswith("Proceso ") else _process_label(args)
        print(f"error{label}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_interrupted_message(args), file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"error inesperado ({type(exc).__name__}): {message}\n"
              "Ejecuta la misma orden con «redes --verbose ...» para ver la traza completa.",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
