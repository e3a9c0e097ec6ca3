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
from nucleo.vocabulario import MAX_HORIZON
from nucleo.vocabulario import MAX_INTERVAL_LEVEL
from nucleo.vocabulario import MAX_LAGS
from nucleo.vocabulario import SALES_GAP_POLICIES
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


#: Las opciones de muchas series: con cualquiera de ellas, ``entrenar`` usa la red global.
_GLOBAL_OPTIONS = ("columna_serie", "covariables_futuras", "covariables_pasadas", "huecos",
                   "intervalos", "horizonte", "dias_calibracion")


def _is_global(args) -> bool:
    """Si ``entrenar`` es del modelo global: alguna opción de muchas series, o un
    ``--config`` de una ejecución global (su ``configuracion.json`` tiene «columna_serie»)."""
    if any(getattr(args, name, None) is not None for name in _GLOBAL_OPTIONS):
        return True
    if not args.config:
        return False
    from nucleo.archivos import read_json
    from nucleo.errores import RedesError
    from tareas.configuracion import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, config_path

    path = Path(args.config)
    try:
        data = read_json(config_path(path) if path.is_dir() else path,
                         max_bytes=MAX_CONFIG_BYTES, max_depth=MAX_CONFIG_DEPTH)
    except RedesError:
        return False  # load_config explica lo que le pasa al archivo
    return isinstance(data, dict) and "columna_serie" in data


def _cmd_train(args) -> int:
    if _is_global(args):
        return _cmd_train_global(args)
    from tareas.ventas import train_sales

    config = _train_config(args)
    check_outputs(files=[("--json", args.json)], folders=[("--salida", run_dir_of(config))])
    return report(train_with(train_sales, config, args, verbose="auto"), args)


def _cmd_train_global(args) -> int:
    from nucleo.errores import ArgumentError
    from tareas.ventas.global_configuracion import GlobalSalesConfig
    from tareas.ventas.global_entrenamiento import train_sales_global

    if args.blog:
        raise ArgumentError("--blog (la STE del blog) es de una sola serie: no se combina con "
                            "las opciones de muchas series (--columna-serie...).")
    config = training_config(GlobalSalesConfig, args, **_columns(args))
    check_outputs(files=[("--json", args.json)], folders=[("--salida", run_dir_of(config))])
    return report(train_with(train_sales_global, config, args, verbose="auto"), args)


def _cmd_evaluate(args) -> int:
    from inferencia.motores import source_info
    from nucleo.errores import ArgumentError
    from tareas.ventas.evaluacion import evaluate_sales

    check_outputs(files=[("--json", args.json)],
                  folders=[("--salida", args.salida or Path(args.pesos).parent)])
    if source_info(args.pesos)["builder"] == "ventas_global":
        from tareas.ventas.global_evaluacion import evaluate_global

        return report(evaluate_global(args.pesos, args.csv, args.dias_validacion,
                                      out_dir=args.salida, gaps=args.huecos,
                                      engine=args.motor, **_columns(args)), args)
    if args.huecos is not None:
        raise ArgumentError("--huecos es de los modelos de muchas series (entrenados con "
                            "--columna-serie...); este es de una sola serie.")
    return report(evaluate_sales(args.pesos, args.csv, args.dias_validacion,
                                 out_dir=args.salida, engine=args.motor, **_columns(args)),
                  args)


def _cmd_predict(args) -> int:
    from inferencia.motores import source_info
    from nucleo.errores import ArgumentError
    from tareas.ventas import forecast

    check_outputs(files=[("--json", args.json)],
                  folders=[("--salida", args.salida or Path(args.pesos).parent)])
    if source_info(args.pesos)["builder"] == "ventas_global":
        from tareas.ventas.global_prediccion import forecast_global

        return report(forecast_global(args.pesos, args.csv, future=args.futuro,
                                      days=args.dias, out_dir=args.salida, gaps=args.huecos,
                                      engine=args.motor, **_columns(args)), args)
    if args.futuro is not None or args.huecos is not None:
        raise ArgumentError("--futuro y --huecos son de los modelos de muchas series "
                            "(entrenados con --columna-serie...); este es de una sola serie.")
    return report(forecast(args.pesos, args.csv, 7 if args.dias is None else args.dias,
                           out_dir=args.salida, all_days=args.todos_los_dias,
                           engine=args.motor, **_columns(args)), args)


def _given(args, **names) -> dict:
    """``{argumento: valor}`` de las opciones que se escribieron (las que no valen None)."""
    return {key: getattr(args, name) for key, name in names.items()
            if getattr(args, name) is not None}


def _cmd_compare(args) -> int:
    if any(getattr(args, name, None) is not None for name in _GLOBAL_OPTIONS):
        return _cmd_compare_many(args)
    from tareas.ventas import compare

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    # Sin valor escrito, los de compare (los del blog: 5 semillas, 7 retardos, 40 épocas...).
    settings = _given(args, seeds="semillas", folds="pliegues", steps="retardos",
                      epochs="epocas", validation="dias_validacion", batch_size="lote",
                      learning_rate="tasa")
    return report(compare(args.csv, baselines=args.referencias, out_dir=args.salida,
                          **settings, **_columns(args)), args)


def _cmd_compare_many(args) -> int:
    """``comparar`` con muchas series: el backtest de la red global y sus pares."""
    from nucleo.errores import ArgumentError
    from tareas.ventas.comparacion_multiple import compare_many

    if args.dias_validacion is not None:
        raise ArgumentError("--dias-validacion es de la comparación de una sola serie; con "
                            "muchas series los cortes los dan --pliegues y --horizonte.")
    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    network = _given(args, epochs="epocas", steps="retardos", batch_size="lote",
                     learning_rate="tasa", calibration="dias_calibracion")
    options = _given(args, horizon="horizonte", folds="pliegues", seeds="semillas",
                     gaps="huecos")
    if args.intervalos is not None:
        options["levels"] = tuple(args.intervalos)
    return report(compare_many(
        args.csv, peers=args.referencias, network=args.red, network_settings=network,
        out_dir=args.salida, series_columns=tuple(args.columna_serie or ()),
        future_covariates=tuple(args.covariables_futuras or ()),
        past_covariates=tuple(args.covariables_pasadas or ()), **options, **_columns(args)),
        args)


def _add_csv_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", required=True,
                        help="CSV de ventas diarias separado por comas: fecha,valor "
                        "(con o sin cabecera)")
    parser.add_argument("--columna-fecha", metavar="NOMBRE",
                        help="columna de la fecha (nombre de la cabecera o posición desde 0)")
    parser.add_argument("--columna-valor", metavar="NOMBRE",
                        help="columna del valor (nombre de la cabecera o posición desde 0)")


def _add_lags(parser: argparse.ArgumentParser, default: int | None = 7,
              text: str = "por defecto 7") -> None:
    parser.add_argument("--retardos", type=lags, default=default, metavar="N",
                        help=f"días anteriores que ve la red ({text}; hasta {MAX_LAGS})")


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
                        "+ embeddings (por defecto st1; con --columna-serie, la red global: "
                        "ste, lstm o gru, por defecto ste)")
    parser.add_argument("--blog", action=NegatableFlag,
                        help="con ste, la variante del blog, con los retardos sin conectar "
                             "(por defecto no)")
    _add_lags(parser, default=None, text="por defecto 7; 28 con --columna-serie")
    _add_validation_days(parser, minimum=0, default=None,
                         text="(por defecto 30; con --columna-serie, el horizonte; 0: ninguno)")
    _add_global_train_arguments(parser)
    add_training_arguments(
        parser, output_default="pesos/ventas_<modelo> (pesos/ventas_global_<modelo> con "
        "--columna-serie)",
        defaults={"epocas": 40, "lote": 7, "tasa": 1e-3},
        texts={**_TEXTS, "epocas": "épocas (por defecto 40, como el blog; con "
                                   "--columna-serie, 30 o las que den 6.000 pasos si hay "
                                   "pocos datos)",
               "lote": "filas por lote de entrenamiento (por defecto 7, como el blog; con "
                       "--columna-serie, de 8 a 64 según los ejemplos)"})
    parser.set_defaults(func=_cmd_train)


def _add_global_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Las opciones de muchas series: con cualquiera, se entrena la red global."""
    group = parser.add_argument_group(
        "muchas series (red global con intervalos; con cualquiera de estas opciones)")
    group.add_argument("--columna-serie", nargs="+", metavar="COLUMNA",
                       help="columnas que identifican la serie en un CSV largo (p. ej. tienda "
                            "producto); con varias, cada una tiene su embedding")
    group.add_argument("--covariables-futuras", nargs="+", metavar="COLUMNA",
                       help="covariables conocidas de antemano, también en los días que se "
                            "pronostican (precio, festivo...)")
    group.add_argument("--covariables-pasadas", nargs="+", metavar="COLUMNA",
                       help="covariables conocidas solo hasta el último día (temperatura...)")
    _add_gaps(group)
    group.add_argument("--intervalos", nargs="*", type=bounded_int(1, MAX_INTERVAL_LEVEL),
                       metavar="NIVEL",
                       help="niveles en %% de los intervalos de predicción (por defecto 80 95; "
                            "sin niveles: solo la mediana)")
    group.add_argument("--horizonte", type=bounded_int(1, MAX_HORIZON), metavar="N",
                       help=f"días que la red pronostica de una vez (por defecto 28; hasta "
                            f"{MAX_HORIZON})")
    group.add_argument("--dias-calibracion", type=non_negative_int, metavar="N",
                       help="días antes de la validación que calibran los intervalos "
                            "(conformal), nunca vistos al entrenar (por defecto el "
                            "horizonte, y más con menos de 29 series; 0: sin calibrar)")


def _add_gaps(parser) -> None:
    parser.add_argument("--huecos", choices=SALES_GAP_POLICIES,
                        help="días que faltan en una serie del CSV largo: rechazar (un error "
                             "que los nombra) o rellenar con 0 unidades (por defecto "
                             "rechazar; al predecir, lo del entrenamiento)")


def _add_evaluate(modes) -> None:
    parser = modes.add_parser(
        "evaluar", help="MAE y RMSE en unidades de los últimos días, a un paso; con un "
        "modelo de muchas series, MAE, sMAPE, MASE y los intervalos de cada serie",
        description="Predice a un paso (con los días reales anteriores como retardos, el "
                    "protocolo de la validación de «entrenar») los últimos N días del CSV y "
                    "da el MAE y el RMSE en unidades, junto al ingenuo estacional (t−7). Con "
                    "un modelo de muchas series (--columna-serie), pronostica de una vez los "
                    "últimos N días de cada serie del CSV largo y da, por serie y en total, "
                    "MAE, sMAPE, MASE (frente al ingenuo estacional de cada serie) y la "
                    "cobertura y la anchura de cada intervalo.")
    _add_csv_arguments(parser)
    _add_validation_days(parser, minimum=1, default=None,
                         text="(por defecto, los de la validación del entrenamiento; con "
                              "muchas series, los últimos N días de cada serie)")
    _add_gaps(parser)
    add_inference_arguments(parser, TASK, output_help="carpeta de evaluacion.csv y "
                            "evaluacion.png (por defecto la de los pesos)",
                            json_what="las cifras")
    parser.set_defaults(func=_cmd_evaluate)


def _add_predict(modes) -> None:
    parser = modes.add_parser("predecir", help="pronóstico recursivo de los días siguientes "
                              "al último del CSV")
    _add_csv_arguments(parser)
    parser.add_argument("--dias", type=bounded_int(1, MAX_FORECAST_DAYS), metavar="N",
                        help=f"días que se pronostican (por defecto 7; hasta "
                             f"{MAX_FORECAST_DAYS}; con un modelo de muchas series, por "
                             "defecto y como mucho su horizonte)")
    parser.add_argument("--futuro", metavar="CSV",
                        help="con un modelo de muchas series: CSV con las covariables futuras "
                             "de los días que se pronostican (columnas de la serie, fecha y "
                             "cada covariable futura)")
    _add_gaps(parser)
    parser.add_argument("--todos-los-dias", action=NegatableFlag, default=False,
                        help="pronostica también los días de la semana que casi nunca tienen "
                             "ventas (por defecto no)")
    add_inference_arguments(parser, TASK, output_help="carpeta de pronostico.csv y "
                            "pronostico.png (por defecto la de los pesos)",
                            json_what="el pronóstico")
    parser.set_defaults(func=_cmd_predict)


def _add_compare(modes) -> None:
    parser = modes.add_parser(
        "comparar", help="ST1, STMV, STE, LSTM, GRU, SimpleRNN y referencias clásicas con el "
        "mismo protocolo y varias semillas; con muchas series, backtest de la red global "
        "frente a statsforecast y LightGBM",
        description="Con una serie, las redes del blog y las referencias clásicas a un paso. "
        "Con cualquiera de las opciones de muchas series (--columna-serie, --horizonte...), "
        "un backtest con origen móvil: el ingenuo estacional, AutoETS, AutoARIMA y "
        "SeasonalNaive (statsforecast), LightGBM global y la red global, con MASE, MAE, "
        "sMAPE y cobertura de los intervalos por paso del horizonte.")
    _add_csv_arguments(parser)
    parser.add_argument("--semillas", type=positive_int,
                        help="semillas por red (por defecto 5; con muchas series, 1)")
    parser.add_argument("--pliegues", type=positive_int,
                        help="bloques consecutivos de validación con origen móvil (por "
                             "defecto 1; con muchas series, 3 cortes de --horizonte días)")
    parser.add_argument("--referencias", action=NegatableFlag, default=True,
                        help="incluye las referencias clásicas (con muchas series, "
                             "statsforecast y LightGBM si están instalados) (por defecto sí; "
                             "--sin-referencias: solo las redes y el ingenuo estacional)")
    parser.add_argument("--red", action=NegatableFlag, default=True,
                        help="con muchas series, incluye la red global (por defecto sí)")
    _add_lags(parser, default=None, text="por defecto 7; 28 con muchas series")
    _add_validation_days(parser, minimum=1, default=None,
                         text="(por defecto 30; solo con una serie)")
    parser.add_argument("--epocas", type=positive_int, metavar="N",
                        help="épocas (por defecto 40, como el blog; con muchas series, "
                             "30 o las que den 6.000 pasos si hay pocos datos)")
    parser.add_argument("--lote", type=positive_int, metavar="N",
                        help="filas por lote de entrenamiento (por defecto 7, como el blog; "
                             "con muchas series, de 8 a 64 según los ejemplos)")
    parser.add_argument("--tasa", type=learning_rate, metavar="TASA",
                        help=_TEXTS["tasa"])
    _add_global_train_arguments(parser)
    add_output_argument(parser, "carpeta de los gráficos (por defecto "
                        "pesos/ventas_comparacion)", default="pesos/ventas_comparacion")
    add_json_argument(parser)
    parser.set_defaults(func=_cmd_compare)


def add_commands(commands) -> None:
    """Añade ``redes pronostico``."""
    add_task(commands, TASK, "pronóstico de ventas diarias (ST1, STMV, STE, LSTM, GRU, RNN)",
             (_add_train, _add_evaluate, _add_predict, export_mode(TASK), _add_compare))
