"""Órdenes ``redes ventas entrenar|pronosticar|comparar``: pronóstico de ventas diarias.

Ejemplos::

    redes ventas entrenar --csv datos_blog/time_series.csv --modelo ste
    redes ventas pronosticar --pesos pesos/ventas_ste/modelo.h5 \
        --csv datos_blog/time_series.csv --dias 7
    redes ventas comparar --csv datos_blog/time_series.csv --semillas 5 --pliegues 3 --json c.json

Este módulo no importa TensorFlow ni pandas (se construye con cada ``redes --help``): las
opciones y los límites vienen de :mod:`nucleo.vocabulario`, como los de la API.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.comun import add_distributed_arguments
from cli.comun import add_engine_argument
from cli.comun import add_family
from cli.comun import add_json_argument
from cli.comun import add_seed_argument
from cli.comun import bounded_float
from cli.comun import bounded_int
from cli.comun import check_outputs
from cli.comun import non_negative_int
from cli.comun import positive_int
from nucleo.vocabulario import MAX_FORECAST_DAYS
from nucleo.vocabulario import MAX_LAGS
from nucleo.vocabulario import MAX_LEARNING_RATE
from nucleo.vocabulario import SALES_MLP_VARIANTS
from nucleo.vocabulario import SALES_RNN_MODELS



def _column(text: str | None):
    """Una columna por nombre o por posición (``"0"`` → 0)."""
    return int(text) if text is not None and text.isdigit() else text


def _cmd_train(args) -> int:
    from informes.resultado import report
    from tareas.ventas import default_run_dir
    from tareas.ventas import train_sales

    run_dir = args.salida or default_run_dir(args.modelo, args.blog)
    check_outputs(files=[("--json", args.json)], folders=[("--salida", run_dir)])
    result = train_sales(
        args.csv, args.modelo, steps=args.pasos, epochs=args.epocas, validation=args.validacion,
        batch_size=args.lote, learning_rate=args.tasa, blog_ste=args.blog, seed=args.semilla,
        run_dir=run_dir, date_column=_column(args.columna_fecha),
        value_column=_column(args.columna_valor), verbose="auto",
    )
    report(result, args.json)
    return 0


def _cmd_forecast(args) -> int:
    from informes.resultado import report
    from tareas.ventas import forecast

    check_outputs(files=[("--json", args.json)],
                  folders=[("--salida", args.salida or Path(args.pesos).parent)])
    result = forecast(args.pesos, args.csv, args.dias, out_dir=args.salida,
                      date_column=_column(args.columna_fecha),
                      value_column=_column(args.columna_valor), all_days=args.todos_los_dias,
                      engine=args.motor)
    report(result, args.json)
    return 0


def _cmd_compare(args) -> int:
    from informes.resultado import report
    from tareas.ventas import compare

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    result = compare(args.csv, seeds=args.semillas, folds=args.pliegues, steps=args.pasos,
                     epochs=args.epocas, validation=args.validacion, batch_size=args.lote,
                     learning_rate=args.tasa, baselines=not args.sin_referencias,
                     out_dir=args.salida, date_column=_column(args.columna_fecha),
                     value_column=_column(args.columna_valor))
    report(result, args.json)
    return 0


def _add_csv_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", required=True,
                        help="CSV de ventas diarias separado por comas: fecha,valor "
                        "(con o sin cabecera)")
    parser.add_argument("--columna-fecha", metavar="NOMBRE",
                        help="columna de la fecha (nombre de la cabecera o posición desde 0)")
    parser.add_argument("--columna-valor", metavar="NOMBRE",
                        help="columna del valor (nombre de la cabecera o posición desde 0)")


def _add_model_arguments(parser: argparse.ArgumentParser, *, min_validation: int) -> None:
    parser.add_argument("--pasos", type=bounded_int(1, MAX_LAGS), default=7,
                        help=f"días anteriores de entrada (7; hasta {MAX_LAGS})")
    parser.add_argument("--epocas", type=positive_int, default=40,
                        help="épocas (40, como el blog)")
    parser.add_argument("--validacion", default=30,
                        type=non_negative_int if min_validation == 0 else positive_int,
                        help="últimos días de validación, nunca vistos al entrenar (30)")
    parser.add_argument("--lote", type=positive_int, default=7,
                        help="filas por lote (7, como el blog)")
    parser.add_argument("--tasa", type=bounded_float(0.0, MAX_LEARNING_RATE), default=1e-3,
                        help="tasa de Adam (0.001)")


def _add_train(tasks) -> None:
    parser = tasks.add_parser("entrenar", help="entrena un perceptrón con los últimos días "
                              "como validación")
    _add_csv_arguments(parser)
    parser.add_argument("--modelo",
                        choices=SALES_MLP_VARIANTS + tuple(SALES_RNN_MODELS), default="st1",
                        help="st1: 7 retardos; stmv: + día y mes; ste: + embeddings; "
                        "lstm, gru, rnn: los retardos como secuencia en una red recurrente "
                        "+ embeddings (st1)")
    parser.add_argument("--blog", action="store_true",
                        help="con ste, la variante del blog (retardos sin conectar)")
    _add_model_arguments(parser, min_validation=0)
    add_seed_argument(parser)
    parser.add_argument("--salida", help="carpeta de la ejecución: pesos, registro CSV y "
                        "gráficos (por defecto pesos/ventas_<modelo>)")
    add_json_argument(parser)
    add_distributed_arguments(parser)
    parser.set_defaults(func=_cmd_train)


def _add_forecast(tasks) -> None:
    parser = tasks.add_parser("pronosticar", help="pronóstico recursivo de los días "
                              "siguientes al último del CSV")
    parser.add_argument("--pesos", required=True,
                        help="modelo.h5 de «ventas entrenar» (o su carpeta de «redes exportar»)")
    add_engine_argument(parser)
    _add_csv_arguments(parser)
    parser.add_argument("--dias", type=bounded_int(1, MAX_FORECAST_DAYS), default=7,
                        help=f"días a pronosticar (7; hasta {MAX_FORECAST_DAYS})")
    parser.add_argument("--todos-los-dias", action="store_true",
                        help="incluir los días de la semana que casi nunca tienen ventas")
    parser.add_argument("--salida", help="carpeta de pronostico.csv y pronostico.png "
                        "(por defecto la de los pesos)")
    add_json_argument(parser, "el pronóstico")
    parser.set_defaults(func=_cmd_forecast)


def _add_compare(tasks) -> None:
    parser = tasks.add_parser("comparar", help="ST1, STMV, STE, LSTM, GRU, SimpleRNN y "
                              "referencias clásicas con el mismo protocolo y varias semillas")
    _add_csv_arguments(parser)
    parser.add_argument("--semillas", type=positive_int, default=5,
                        help="semillas por red (5)")
    parser.add_argument("--pliegues", type=positive_int, default=1,
                        help="bloques consecutivos de validación con origen móvil (1)")
    parser.add_argument("--sin-referencias", action="store_true",
                        help="solo las redes, sin las referencias clásicas")
    _add_model_arguments(parser, min_validation=1)
    parser.add_argument("--salida", default="pesos/ventas_comparacion",
                        help="carpeta del gráfico de barras "
                        "(por defecto pesos/ventas_comparacion)")
    add_json_argument(parser)
    parser.set_defaults(func=_cmd_compare)


def add_commands(commands) -> None:
    """Añade ``redes ventas``."""
    add_family(commands, "ventas", "pronóstico de ventas diarias (ST1, STMV, STE, LSTM, GRU, RNN)",
               tasks=(_add_train, _add_forecast, _add_compare))
