"""Tarea ``redes pronostico entrenar|evaluar|predecir|comparar|exportar``: ventas diarias.

Ejemplos::

    redes pronostico entrenar --csv datos_blog/time_series.csv --modelo ste
    redes pronostico evaluar --pesos pesos/ventas_ste/modelo.h5 \
        --csv datos_blog/time_series.csv --dias-validacion 30
    redes pronostico predecir --pesos pesos/ventas_ste/modelo.h5 \
        --csv datos_blog/time_series.csv --dias 7
    redes pronostico comparar --csv datos_blog/time_series.csv --semillas 5 --pliegues 3

Este módulo no importa TensorFlow ni pandas (se construye con cada ``redes --help``): las
opciones y los límites vienen de :mod:`nucleo.vocabulario`, como los de la API.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.argparse_es import NegatableFlag
from cli.comun import add_inference_arguments
from cli.comun import add_json_argument
from cli.comun import add_output_argument
from cli.comun import add_task
from cli.comun import add_training_arguments
from cli.comun import bounded_int
from cli.comun import check_outputs
from cli.comun import learning_rate
from cli.comun import non_negative_int
from cli.comun import positive_int
from cli.comun import report
from cli.comun import run_dir_of
from cli.comun import train_with
from cli.comun import training_config
from cli.exportar import export_mode
from nucleo.vocabulario import MAX_FORECAST_DAYS
from nucleo.vocabulario import MAX_LAGS
from nucleo.vocabulario import SALES_MLP_VARIANTS
from nucleo.vocabulario import SALES_RNN_MODELS

TASK = "pronostico"
lags = bounded_int(1, MAX_LAGS)


def _column(text: str | None):
    """Una columna por nombre o por posición (``"0"`` → 0)."""
    return int(text) if text is not None and text.isdigit() else text


def _columns(args) -> dict:
    return {"date_column": _column(args.columna_fecha),
            "value_column": _column(args.columna_valor)}


def _train_config(args):
    """La :class:`~tareas.ventas.SalesConfig` de la línea de órdenes (y de ``--config``)."""
    from tareas.ventas import SalesConfig

    return training_config(SalesConfig, args, **_columns(args))


def _cmd_train(args) -> int:
    from tareas.ventas import train_sales

    config = _train_config(args)
    check_outputs(files=[("--json", args.json)], folders=[("--salida", run_dir_of(config))])
    return report(train_with(train_sales, config, args, verbose="auto"), args)


def _cmd_evaluate(args) -> int:
    from tareas.ventas.evaluacion import evaluate_sales

    check_outputs(files=[("--json", args.json)],
                  folders=[("--salida", args.salida or Path(args.pesos).parent)])
    return report(evaluate_sales(args.pesos, args.csv, args.dias_validacion,
                                 out_dir=args.salida, engine=args.motor, **_columns(args)),
                  args)


def _cmd_predict(args) -> int:
    from tareas.ventas import forecast

    check_outputs(files=[("--json", args.json)],
                  folders=[("--salida", args.salida or Path(args.pesos).parent)])
    return report(forecast(args.pesos, args.csv, args.dias, out_dir=args.salida,
                           all_days=args.todos_los_dias, engine=args.motor, **_columns(args)),
                  args)


def _cmd_compare(args) -> int:
    from tareas.ventas import compare

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    return report(compare(args.csv, seeds=args.semillas, folds=args.pliegues,
                          steps=args.retardos, epochs=args.epocas,
                          validation=args.dias_validacion, batch_size=args.lote,
                          learning_rate=args.tasa, baselines=args.referencias,
                          out_dir=args.salida, **_columns(args)), args)


def _add_csv_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", required=True,
                        help="CSV de ventas diarias separado por comas: fecha,valor "
                        "(con o sin cabecera)")
    parser.add_argument("--columna-fecha", metavar="NOMBRE",
                        help="columna de la fecha (nombre de la cabecera o posición desde 0)")
    parser.add_argument("--columna-valor", metavar="NOMBRE",
                        help="columna del valor (nombre de la cabecera o posición desde 0)")


def _add_lags(parser: argparse.ArgumentParser, default: int | None = 7) -> None:
    parser.add_argument("--retardos", type=lags, default=default, metavar="N",
                        help=f"días anteriores que ve la red (por defecto 7; hasta {MAX_LAGS})")


def _add_validation_days(parser: argparse.ArgumentParser, *, minimum: int,
                         default: int | None = 30, text: str = "(por defecto 30)") -> None:
    parser.add_argument("--dias-validacion", metavar="N", default=default,
                        type=non_negative_int if minimum == 0 else positive_int,
                        help="últimos días del CSV que se predicen a un paso, nunca vistos al "
                        "entrenar " + text)


_TEXTS = {"epocas": "épocas (por defecto 40, como el blog)",
          "lote": "filas por lote de entrenamiento (por defecto 7, como el blog)",
          "tasa": "tasa de Adam, > 0 y ≤ 10 (por defecto 0.001)",
          "paciencia": "parada temprana tras N épocas sin mejorar la pérdida de "
                       "entrenamiento, la que elige la época que se guarda (0: sin parada; "
                       "por defecto sin parada)"}


def _add_train(modes) -> None:
    parser = modes.add_parser("entrenar", help="entrena un perceptrón o una red recurrente con "
                              "los últimos días como validación")
    _add_csv_arguments(parser)
    parser.add_argument("--modelo", choices=SALES_MLP_VARIANTS + tuple(SALES_RNN_MODELS),
                        help="st1: 7 retardos; stmv: + día y mes; ste: + embeddings; "
                        "lstm, gru, rnn: los retardos como secuencia en una red recurrente "
                        "+ embeddings (por defecto st1)")
    parser.add_argument("--blog", action=NegatableFlag,
                        help="con ste, la variante del blog, con los retardos sin conectar "
                             "(por defecto no)")
    _add_lags(parser, default=None)
    _add_validation_days(parser, minimum=0, default=None,
                         text="(por defecto 30; 0: ninguno)")
    add_training_arguments(
        parser, output_default="pesos/ventas_<modelo>",
        defaults={"epocas": 40, "lote": 7, "tasa": 1e-3}, texts=_TEXTS)
    parser.set_defaults(func=_cmd_train)


def _add_evaluate(modes) -> None:
    parser = modes.add_parser(
        "evaluar", help="MAE y RMSE en unidades de los últimos días, a un paso",
        description="Predice a un paso (con los días reales anteriores como retardos, el "
                    "protocolo de la validación de «entrenar») los últimos N días del CSV y "
                    "da el MAE y el RMSE en unidades, junto al ingenuo estacional (t−7).")
    _add_csv_arguments(parser)
    _add_validation_days(parser, minimum=1, default=None,
                         text="(por defecto, los de la validación del entrenamiento)")
    add_inference_arguments(parser, TASK, output_help="carpeta de evaluacion.csv y "
                            "evaluacion.png (por defecto la de los pesos)",
                            json_what="las cifras")
    parser.set_defaults(func=_cmd_evaluate)


def _add_predict(modes) -> None:
    parser = modes.add_parser("predecir", help="pronóstico recursivo de los días siguientes "
                              "al último del CSV")
    _add_csv_arguments(parser)
    parser.add_argument("--dias", type=bounded_int(1, MAX_FORECAST_DAYS), default=7,
                        metavar="N",
                        help=f"días que se pronostican (por defecto 7; hasta "
                             f"{MAX_FORECAST_DAYS})")
    parser.add_argument("--todos-los-dias", action=NegatableFlag, default=False,
                        help="pronostica también los días de la semana que casi nunca tienen "
                             "ventas (por defecto no)")
    add_inference_arguments(parser, TASK, output_help="carpeta de pronostico.csv y "
                            "pronostico.png (por defecto la de los pesos)",
                            json_what="el pronóstico")
    parser.set_defaults(func=_cmd_predict)


def _add_compare(modes) -> None:
    parser = modes.add_parser("comparar", help="ST1, STMV, STE, LSTM, GRU, SimpleRNN y "
                              "referencias clásicas con el mismo protocolo y varias semillas")
    _add_csv_arguments(parser)
    parser.add_argument("--semillas", type=positive_int, default=5,
                        help="semillas por red (por defecto 5)")
    parser.add_argument("--pliegues", type=positive_int, default=1,
                        help="bloques consecutivos de validación con origen móvil (por "
                             "defecto 1)")
    parser.add_argument("--referencias", action=NegatableFlag, default=True,
                        help="incluye las referencias clásicas (por defecto sí; "
                             "--sin-referencias: solo las redes)")
    _add_lags(parser)
    _add_validation_days(parser, minimum=1)
    parser.add_argument("--epocas", type=positive_int, default=40, metavar="N",
                        help=_TEXTS["epocas"])
    parser.add_argument("--lote", type=positive_int, default=7, metavar="N",
                        help=_TEXTS["lote"])
    parser.add_argument("--tasa", type=learning_rate, default=1e-3, metavar="TASA",
                        help=_TEXTS["tasa"])
    add_output_argument(parser, "carpeta del gráfico de barras (por defecto "
                        "pesos/ventas_comparacion)", default="pesos/ventas_comparacion")
    add_json_argument(parser)
    parser.set_defaults(func=_cmd_compare)


def add_commands(commands) -> None:
    """Añade ``redes pronostico``."""
    add_task(commands, TASK, "pronóstico de ventas diarias (ST1, STMV, STE, LSTM, GRU, RNN)",
             (_add_train, _add_evaluate, _add_predict, export_mode(TASK), _add_compare))
