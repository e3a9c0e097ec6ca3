"""Órdenes ``redes ventas entrenar|pronosticar|comparar`` y ``redes datos descargar``.

Ejemplos::

    redes datos descargar ventas --destino datos_blog/
    redes ventas entrenar --csv datos_blog/time_series.csv --modelo ste
    redes ventas pronosticar --pesos pesos/ventas_ste/modelo.h5 --csv datos_blog/time_series.csv --dias 7
    redes ventas comparar --csv datos_blog/time_series.csv --semillas 5 --pliegues 3 --json c.json
"""

from __future__ import annotations

import argparse

from entrenamiento.cli import add_common_arguments
from entrenamiento.cli import print_result

MODELS = ("st1", "stmv", "ste")
_UNIT_LABELS = {"val_mae_unidades": "MAE en unidades (validación)",
                "val_rmse_unidades": "RMSE en unidades (validación)"}


def _column(text: str | None):
    """Una columna por nombre o por posición (``"0"`` → 0)."""
    return int(text) if text is not None and text.isdigit() else text


def _labelled(metrics: dict) -> dict:
    """Cambia las claves en unidades por nombres legibles (la tabla de print_result)."""
    return {_UNIT_LABELS.get(key, key): value for key, value in metrics.items()}


def _cmd_train(args) -> int:
    from entrenamiento.informes import format_table, write_json
    from entrenamiento.ventas import train_sales

    result = train_sales(
        args.csv, args.modelo, steps=args.pasos, epochs=args.epocas, validation=args.validacion,
        batch_size=args.lote, learning_rate=args.tasa, blog_ste=args.blog, seed=args.semilla,
        run_dir=args.salida, date_column=_column(args.columna_fecha),
        value_column=_column(args.columna_valor), verbose="auto",
    )
    print_result(f"Ventas «{result['metricas']['modelo']}»: métricas (pérdida MAE y MSE en "
                 "escala [-1, 1]; MAE y RMSE de validación en unidades)",
                 {**result, "metricas": _labelled(result["metricas"])}, None)
    if args.json:
        write_json(args.json, result)
        print(f"json: {args.json}")
    if result["validacion"]:
        rows = [(row["fecha"], f"{row['real']:.0f} / {row['prediccion']:.1f}")
                for row in result["validacion"][-7:]]
        print()
        print(format_table(rows, title="Últimos días de validación (a un paso)",
                           headers=("Fecha", "Real / predicho")))
    return 0


def _files_and_json(result: dict, json_path: str | None) -> int:
    """Imprime las rutas escritas y, si se pidió, guarda ``result`` en JSON."""
    from entrenamiento.informes import write_json

    for name, path in result["archivos"].items():
        print(f"{name}: {path}")
    if json_path:
        write_json(json_path, result)
        print(f"json: {json_path}")
    return 0


def _cmd_forecast(args) -> int:
    from entrenamiento.informes import format_table
    from entrenamiento.ventas import forecast

    result = forecast(args.pesos, args.csv, args.dias, out_dir=args.salida,
                      date_column=_column(args.columna_fecha),
                      value_column=_column(args.columna_valor), all_days=args.todos_los_dias)
    rows = [(row["fecha"], f"{row['unidades']:.1f}") for row in result["pronostico"]]
    print(format_table(rows, title=f"Pronóstico recursivo de {args.dias} días "
                       f"({result['metricas']['modelo']})", headers=("Fecha", "Unidades")))
    return _files_and_json(result, args.json)


def _cmd_compare(args) -> int:
    from entrenamiento.ventas import compare, format_comparison

    result = compare(args.csv, seeds=args.semillas, folds=args.pliegues, steps=args.pasos,
                     epochs=args.epocas, validation=args.validacion, batch_size=args.lote,
                     learning_rate=args.tasa, baselines=not args.sin_referencias,
                     out_dir=args.salida, date_column=_column(args.columna_fecha),
                     value_column=_column(args.columna_valor))
    print(format_comparison(result))
    return _files_and_json(result, args.json)


def _cmd_download(args) -> int:
    from datos.descargas import download_dataset

    print(download_dataset(args.conjunto, args.destino))
    return 0


def _add_csv_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", required=True,
                        help="CSV de ventas diarias: fecha,valor (con o sin cabecera)")
    parser.add_argument("--columna-fecha", metavar="NOMBRE",
                        help="columna de la fecha (nombre de la cabecera o posición desde 0)")
    parser.add_argument("--columna-valor", metavar="NOMBRE",
                        help="columna del valor (nombre de la cabecera o posición desde 0)")


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pasos", type=int, default=7, help="días anteriores de entrada (7)")
    parser.add_argument("--epocas", type=int, default=40, help="épocas (40, como el blog)")
    parser.add_argument("--validacion", type=int, default=30,
                        help="últimos días de validación, nunca vistos al entrenar (30)")
    parser.add_argument("--lote", type=int, default=7, help="filas por lote (7, como el blog)")
    parser.add_argument("--tasa", type=float, default=1e-3, help="tasa de Adam (0.001)")


def add_commands(commands) -> None:
    """Añade ``ventas`` y ``datos`` a las órdenes de ``redes``."""
    ventas = commands.add_parser("ventas", help="pronóstico de ventas diarias (ST1, STMV, STE)")
    tasks = ventas.add_subparsers(dest="tarea", metavar="TAREA", required=True)

    entrenar = tasks.add_parser("entrenar", help="entrena un perceptrón con los últimos días "
                                "como validación")
    _add_csv_arguments(entrenar)
    entrenar.add_argument("--modelo", choices=MODELS, default="st1",
                          help="st1: 7 retardos; stmv: + día y mes; ste: + embeddings (st1)")
    entrenar.add_argument("--blog", action="store_true",
                          help="con ste, la variante del blog (retardos sin conectar)")
    _add_model_arguments(entrenar)
    add_common_arguments(entrenar, run_default=None)
    entrenar.set_defaults(func=_cmd_train)

    pronosticar = tasks.add_parser("pronosticar", help="pronóstico recursivo de los días "
                                   "siguientes al último del CSV")
    pronosticar.add_argument("--pesos", required=True, help="modelo.h5 de «ventas entrenar»")
    _add_csv_arguments(pronosticar)
    pronosticar.add_argument("--dias", type=int, default=7, help="días a pronosticar (7)")
    pronosticar.add_argument("--todos-los-dias", action="store_true",
                             help="incluir los días de la semana que casi nunca tienen ventas")
    pronosticar.add_argument("--salida", help="carpeta de pronostico.csv y pronostico.png "
                             "(por defecto la de los pesos)")
    pronosticar.add_argument("--json", metavar="RUTA", help="escribe también el pronóstico en JSON")
    pronosticar.set_defaults(func=_cmd_forecast)

    comparar = tasks.add_parser("comparar", help="ST1, STMV, STE y referencias clásicas con el "
                                "mismo protocolo y varias semillas")
    _add_csv_arguments(comparar)
    comparar.add_argument("--semillas", type=int, default=5, help="semillas por red (5)")
    comparar.add_argument("--pliegues", type=int, default=1,
                          help="bloques consecutivos de validación con origen móvil (1)")
    comparar.add_argument("--sin-referencias", action="store_true",
                          help="solo las redes, sin las referencias clásicas")
    _add_model_arguments(comparar)
    comparar.add_argument("--salida", default="pesos/ventas_comparacion",
                          help="carpeta del gráfico de barras "
                          "(por defecto pesos/ventas_comparacion)")
    comparar.add_argument("--json", metavar="RUTA", help="escribe también las cifras en JSON")
    comparar.set_defaults(func=_cmd_compare)

    datos = commands.add_parser("datos", help="datos públicos de los posts del blog")
    datos_tasks = datos.add_subparsers(dest="tarea", metavar="TAREA", required=True)
    descargar = datos_tasks.add_parser(
        "descargar", help="descarga (solo cuando se pide) y comprueba el sha256")
    descargar.add_argument("conjunto", choices=("ventas",), help="conjunto a descargar")
    descargar.add_argument("--destino", help="archivo o carpeta de destino "
                           "(por defecto datos_descargados/<conjunto>/)")
    descargar.set_defaults(func=_cmd_download)
