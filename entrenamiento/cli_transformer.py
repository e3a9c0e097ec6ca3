"""Órdenes ``redes transformer entrenar / traducir / atencion``.

Ejemplos::

    redes transformer entrenar --tarea numeros --minutos 10 --json metricas.json
    redes transformer traducir --pesos pesos/transformer/modelo.h5 "ciento veinte" --haz 4
    redes transformer atencion --pesos pesos/transformer/modelo.h5 "dos mil uno"
"""

from __future__ import annotations

from entrenamiento.cli import add_common_arguments
from entrenamiento.cli import add_training_arguments
from entrenamiento.cli import print_result

DEFAULT_RUN = "pesos/transformer"


def _cmd_train(args) -> int:
    from datos.validacion import check_number
    from entrenamiento.informes import format_table
    from entrenamiento.transformer import train_numbers

    minutes = None if args.minutos is None else check_number(
        args.minutos, "--minutos", minimum=0.01, maximum=1e6)
    model = {"num_layers": args.capas, "d_model": args.dmodelo, "num_heads": args.cabezas,
             "d_ff": args.dff, "dropout": args.dropout}
    result = train_numbers(
        args.salida, maximum=args.maximo, n_train=args.entrenamiento or None,
        n_validation=args.validacion, n_test=args.prueba, model=model, epochs=args.epocas,
        steps_per_epoch=args.pasos or None, batch_size=args.lote,
        warmup_steps=args.calentamiento, max_seconds=None if minutes is None else minutes * 60,
        beam_size=args.haz, precision=args.precision, seed=args.semilla)
    rows = [(f"{e['origen']} ({e['numero']})", e["prediccion"]) for e in result["ejemplos"]]
    print()
    print(format_table(rows, title="Números de prueba (nunca vistos)",
                       headers=("Español", "Traducción")))
    print_result("Transformer «numeros»: métricas finales", result, args.json)
    return 0


def _cmd_translate(args) -> int:
    from entrenamiento.informes import write_json
    from entrenamiento.transformer import translate_texts

    results = translate_texts(args.pesos, args.frases, beam_size=args.haz)
    for item in results:
        print(f"{item['origen']} → {item['traduccion']}")
    if args.json:
        write_json(args.json, results)
    return 0


def _cmd_attention(args) -> int:
    from entrenamiento.informes import write_json
    from entrenamiento.transformer import attention_figures

    result = attention_figures(args.pesos, args.frase, args.salida, beam_size=args.haz)
    print(f"{result['origen']} → {result['traduccion']}")
    for name, path in result["archivos"].items():
        print(f"{name}: {path}")
    if args.json:
        write_json(args.json, result)
    return 0


def add_commands(commands) -> None:
    """Añade ``redes transformer ...`` al analizador de ``redes``."""
    transformer = commands.add_parser(
        "transformer", help="Transformer de «Attention is all you need»: traducir números")
    tasks = transformer.add_subparsers(dest="tarea_transformer", metavar="ORDEN", required=True)

    train = tasks.add_parser(
        "entrenar", help="entrena el traductor español → inglés de números en palabras")
    train.add_argument("--tarea", choices=("numeros",), default="numeros",
                       help="tarea: números de 0 a 999.999 escritos en palabras")
    for flag, kind, default, text in (
        ("--maximo", int, 999_999, "el mayor número"),
        ("--entrenamiento", int, 200_000, "números de entrenamiento (0 = todos los demás)"),
        ("--validacion", int, 500, "números de validación"),
        ("--prueba", int, 2000, "números de prueba, nunca vistos al entrenar"),
        ("--capas", int, 2, "capas del codificador y del decodificador"),
        ("--dmodelo", int, 128, "d_model"),
        ("--cabezas", int, 4, "cabezas de atención"),
        ("--dff", int, 512, "neuronas internas del feed-forward"),
        ("--dropout", float, 0.1, "dropout"),
        ("--epocas", int, 30, "épocas como máximo"),
        ("--pasos", int, 400, "lotes por época (0 = una pasada completa)"),
        ("--lote", int, 64, "tamaño de lote"),
        ("--calentamiento", int, 1000, "pasos de calentamiento de la tasa de aprendizaje"),
        ("--haz", int, 1, "haz de la evaluación en prueba (1 = voraz)"),
    ):
        train.add_argument(flag, type=kind, default=default,
                           help=f"{text} (por defecto %(default)s)")
    train.add_argument("--minutos", type=float, help="tiempo máximo de entrenamiento")
    add_common_arguments(train, run_default=DEFAULT_RUN)
    add_training_arguments(train)
    train.set_defaults(func=_cmd_train)

    translate = tasks.add_parser("traducir", help="traduce frases con un modelo entrenado")
    translate.add_argument("--pesos", required=True, help="modelo.h5 de «transformer entrenar»")
    translate.add_argument("frases", nargs="+", metavar="FRASE",
                           help="números en palabras, p. ej. «ciento veinte»")
    translate.add_argument("--haz", type=int, default=1, help="búsqueda en haz (1 = voraz)")
    translate.add_argument("--json", metavar="RUTA",
                           help="escribe también las traducciones en JSON")
    translate.set_defaults(func=_cmd_translate)

    attention = tasks.add_parser(
        "atencion", help="dibuja la atención de cada capa y cabeza (PNG) para una frase")
    attention.add_argument("--pesos", required=True, help="modelo.h5 de «transformer entrenar»")
    attention.add_argument("frase", metavar="FRASE", help="número en palabras")
    attention.add_argument("--salida", help="carpeta de los PNG (por defecto, junto a los pesos)")
    attention.add_argument("--haz", type=int, default=1, help="búsqueda en haz (1 = voraz)")
    attention.add_argument("--json", metavar="RUTA", help="escribe también el resultado en JSON")
    attention.set_defaults(func=_cmd_attention)
