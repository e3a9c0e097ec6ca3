"""Tarea ``redes xor entrenar|evaluar|predecir|exportar``: la red XOR del blog.

Ejemplos::

    redes xor entrenar --epocas 1000
    redes xor evaluar --pesos pesos/xor/modelo.h5
    redes xor predecir --pesos pesos/xor/modelo.h5 0 1 1 1
"""

from __future__ import annotations

import argparse

from cli.comun import add_inference_arguments
from cli.comun import add_task
from cli.comun import add_training_arguments
from cli.comun import check_outputs
from cli.comun import report
from cli.comun import run_dir_of
from cli.comun import save_predictions
from cli.comun import train_with
from cli.comun import training_config
from cli.exportar import export_mode

TASK = "xor"


def bit(text: str) -> int:
    """Tipo de argparse: 0 o 1."""
    if text not in ("0", "1"):
        raise argparse.ArgumentTypeError(f"se esperaba 0 o 1; recibido {text!r}")
    return int(text)


bit.__name__ = "bit"


def _train_config(args):
    """La :class:`~tareas.xor.XorConfig` de la línea de órdenes (y de ``--config``)."""
    from tareas.xor import XorConfig

    return training_config(XorConfig, args)


def _cmd_train(args) -> int:
    from tareas.xor import train_xor

    config = _train_config(args)
    check_outputs(files=[("--json", args.json)], folders=[("--salida", run_dir_of(config))])
    return report(train_with(train_xor, config, args), args)


def _cmd_evaluate(args) -> int:
    from tareas.xor import evaluate_xor

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    return report(evaluate_xor(args.pesos, engine=args.motor, out_dir=args.salida), args)


def _cmd_predict(args) -> int:
    from nucleo.errores import ArgumentError
    from tareas.xor import predict_xor

    if len(args.entradas) % 2:
        raise ArgumentError(f"redes xor predecir: las entradas van por pares (A B A B ...); "
                            f"se dieron {len(args.entradas)}.")
    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    pairs = list(zip(args.entradas[::2], args.entradas[1::2], strict=True))
    results = predict_xor(args.pesos, pairs, engine=args.motor)
    save_predictions(results, args.salida)
    return report(results, args)


def _add_train(modes) -> None:
    parser = modes.add_parser(
        "entrenar", help="entrena la red XOR del blog (1000 épocas)",
        description="Entrena la red XOR del blog. No se reanuda: volver a ejecutarla entrena "
                    "de nuevo y solo sustituye el modelo guardado si lo mejora.")
    add_training_arguments(parser, output_default="pesos/xor", defaults={"epocas": 1000})
    # Sin respaldo por época: Ctrl-C no deja nada que reanudar.
    parser.set_defaults(func=_cmd_train, resumable=False)


def _add_evaluate(modes) -> None:
    parser = modes.add_parser("evaluar", help="exactitud en las 4 filas de la tabla XOR")
    add_inference_arguments(parser, TASK, output_help="carpeta donde escribir evaluacion.csv "
                            "(por defecto no se escribe)", json_what="las cifras")
    parser.set_defaults(func=_cmd_evaluate, resumable=False)


def _add_predict(modes) -> None:
    parser = modes.add_parser("predecir", help="la salida de la red para pares de bits",
                              description="La salida de la red XOR (y su redondeo) para cada "
                                          "par A B: «redes xor predecir --pesos M 0 1 1 1».")
    parser.add_argument("entradas", nargs="+", type=bit, metavar="A B",
                        help="pares de bits (0 o 1), uno tras otro")
    add_inference_arguments(parser, TASK, output_help="carpeta donde escribir "
                            "predicciones.csv (por defecto no se escribe)",
                            json_what="las predicciones")
    parser.set_defaults(func=_cmd_predict, resumable=False)


def add_commands(commands) -> None:
    """Añade ``redes xor``."""
    add_task(commands, TASK, "la red XOR del blog",
             (_add_train, _add_evaluate, _add_predict, export_mode(TASK)))
