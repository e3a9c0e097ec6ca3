"""Órdenes ``redes transformer entrenar / traducir / atencion``.

Ejemplos::

    redes transformer entrenar --tarea numeros --minutos 10 --json metricas.json
    redes transformer entrenar --tarea numeros --arquitectura lstm --minutos 10
    redes transformer traducir --pesos pesos/transformer/modelo.h5 "ciento veinte" --haz 4
    redes transformer atencion --pesos pesos/transformer/modelo.h5 "dos mil uno"
"""

from __future__ import annotations

import argparse

from datos.numeros import MAX_NUMBER
from cli.comun import add_common_arguments
from cli.comun import add_engine_argument
from cli.comun import add_family
from cli.comun import add_json_argument
from cli.comun import add_distributed_arguments
from cli.comun import add_training_arguments
from cli.comun import bounded_float
from cli.comun import bounded_int
from cli.comun import check_outputs
from cli.comun import non_negative_int
from cli.comun import positive_int
from nucleo.vocabulario import ATTENTIONS
from nucleo.vocabulario import TRANSLATION_ARCHITECTURES

DEFAULT_RUN = "pesos/transformer"
#: --atencion del seq2seq recurrente → attention de build_seq2seq.
_ATTENTION = {"bahdanau": "bahdanau", "luong": "luong", "none": None, "ninguna": None}
minutes = bounded_float(0.0, 1e6)


def dropout_rate(text: str) -> float:
    """Tipo de argparse: un número en [0, 1)."""
    value = bounded_float(0.0, 1.0, include_minimum=True)(text)
    if value == 1.0:
        raise argparse.ArgumentTypeError(f"debe ser un número ≥ 0 y < 1; recibido {text}")
    return value


dropout_rate.__name__ = "número"


def _check_beam(args) -> None:
    """``--haz`` dentro del tope de la búsqueda en haz (se lee aquí, ya con Keras cargado:
    el analizador de órdenes no importa TensorFlow)."""
    from nucleo.errores import ArgumentError
    from modelos.transformer.decodificacion import MAX_BEAM

    if args.haz > MAX_BEAM:
        raise ArgumentError(f"argumento --haz: debe ser un entero entre 1 y {MAX_BEAM}; "
                            f"recibido {args.haz}")


def _cmd_train(args) -> int:
    from informes.resultado import report
    from tareas.traduccion import train_numbers

    _check_beam(args)
    # Cada arquitectura en su carpeta por defecto: reanudar un Transformer con una LSTM no vale.
    run_dir = (args.salida if args.salida != DEFAULT_RUN or args.arquitectura == "transformer"
               else f"pesos/{args.arquitectura}")
    check_outputs(files=[("--json", args.json)], folders=[("--salida", run_dir)])
    if args.arquitectura == "transformer":
        model = {"num_layers": args.capas, "d_model": args.dmodelo, "num_heads": args.cabezas,
                 "d_ff": args.dff, "dropout": 0.1 if args.dropout is None else args.dropout}
    else:
        model = {"units": args.unidades, "embed_dim": args.embedding,
                 "attention": _ATTENTION[args.atencion],
                 "dropout": 0.0 if args.dropout is None else args.dropout}
    result = train_numbers(
        run_dir, architecture=args.arquitectura, maximum=args.maximo,
        n_train=args.entrenamiento or None,
        n_validation=args.validacion, n_test=args.prueba, model=model, epochs=args.epocas,
        steps_per_epoch=args.pasos or None, batch_size=args.lote,
        warmup_steps=args.calentamiento,
        max_seconds=None if args.minutos is None else args.minutos * 60,
        beam_size=args.haz, precision=args.precision, seed=args.semilla)
    report(result, args.json)
    return 0


def _cmd_translate(args) -> int:
    from informes.resultado import report
    from tareas.traduccion import translate_texts

    _check_beam(args)
    check_outputs(files=[("--json", args.json)])
    report(translate_texts(args.pesos, args.frases, beam_size=args.haz, engine=args.motor),
           args.json)
    return 0


def _cmd_attention(args) -> int:
    from informes.resultado import report
    from tareas.traduccion import attention_dir, attention_figures

    _check_beam(args)
    check_outputs(files=[("--json", args.json)],
                  folders=[("--salida", attention_dir(args.pesos, args.salida))])
    report(attention_figures(args.pesos, args.frase, args.salida, beam_size=args.haz), args.json)
    return 0


def _add_train(tasks) -> None:
    train = tasks.add_parser(
        "entrenar", help="entrena el traductor español → inglés de números en palabras")
    # dest propio: «tarea» es el nombre de la sub-orden (entrenar, traducir...).
    train.add_argument("--tarea", dest="problema", choices=("numeros",), default="numeros",
                       help="tarea: números de 0 a 999.999 escritos en palabras")
    train.add_argument("--arquitectura", choices=TRANSLATION_ARCHITECTURES, default="transformer",
                       help="el Transformer o un seq2seq recurrente con esa celda (mismo "
                       "reparto, semilla y --minutos); sin --salida, el de lstm/gru va a "
                       "pesos/lstm o pesos/gru (por defecto %(default)s)")
    for flag, kind, default, text in (
        ("--maximo", bounded_int(1, MAX_NUMBER), MAX_NUMBER, "el mayor número"),
        ("--entrenamiento", non_negative_int, 200_000,
         "números de entrenamiento (0 = todos los demás)"),
        ("--validacion", non_negative_int, 500, "números de validación"),
        ("--prueba", non_negative_int, 2000, "números de prueba, nunca vistos al entrenar"),
        ("--capas", positive_int, 2, "transformer: capas del codificador y del decodificador"),
        ("--dmodelo", positive_int, 128, "transformer: d_model"),
        ("--cabezas", positive_int, 4, "transformer: cabezas de atención"),
        ("--dff", positive_int, 512, "transformer: neuronas internas del feed-forward"),
        ("--unidades", positive_int, 128, "lstm/gru: neuronas de cada capa recurrente"),
        ("--embedding", positive_int, 64, "lstm/gru: dimensión de los embeddings"),
        ("--epocas", positive_int, 30, "épocas como máximo"),
        ("--pasos", non_negative_int, 400, "lotes por época (0 = una pasada completa)"),
        ("--lote", positive_int, 64, "tamaño de lote"),
        ("--calentamiento", positive_int, 1000,
         "transformer: pasos de calentamiento de la tasa de aprendizaje"),
        ("--haz", positive_int, 1, "haz de la evaluación en prueba (1 = voraz)"),
    ):
        train.add_argument(flag, type=kind, default=default,
                           help=f"{text} (por defecto %(default)s)")
    train.add_argument("--dropout", type=dropout_rate,
                       help="dropout, en [0, 1) (por defecto 0.1 en el transformer y 0 en "
                       "lstm/gru)")
    train.add_argument("--atencion", choices=(*ATTENTIONS, "ninguna"), default="bahdanau",
                       help="lstm/gru: atención aditiva (bahdanau), multiplicativa (luong) o "
                       "none, ninguna (por defecto %(default)s)")
    train.add_argument("--minutos", type=minutes, help="tiempo máximo de entrenamiento")
    add_common_arguments(train, run_default=DEFAULT_RUN)
    add_training_arguments(train)
    add_distributed_arguments(train)
    train.set_defaults(func=_cmd_train)


def _add_translate(tasks) -> None:
    translate = tasks.add_parser("traducir", help="traduce frases con un modelo entrenado")
    translate.add_argument("--pesos", required=True,
                           help="modelo.h5 de «transformer entrenar» (o su carpeta de «redes "
                                "exportar»)")
    add_engine_argument(translate)
    translate.add_argument("frases", nargs="+", metavar="FRASE",
                           help="números en palabras, p. ej. «ciento veinte»")
    translate.add_argument("--haz", type=positive_int, default=1,
                           help="búsqueda en haz (1 = voraz)")
    add_json_argument(translate, "las traducciones")
    translate.set_defaults(func=_cmd_translate)


def _add_attention(tasks) -> None:
    attention = tasks.add_parser(
        "atencion", help="dibuja la atención de cada capa y cabeza (PNG) para una frase")
    attention.add_argument("--pesos", required=True, help="modelo.h5 de «transformer entrenar»")
    attention.add_argument("frase", metavar="FRASE", help="número en palabras")
    attention.add_argument("--salida", help="carpeta de los PNG (por defecto, «atencion/» junto "
                           "a los pesos)")
    attention.add_argument("--haz", type=positive_int, default=1,
                           help="búsqueda en haz (1 = voraz)")
    add_json_argument(attention, "el resultado")
    attention.set_defaults(func=_cmd_attention)


def add_commands(commands) -> None:
    """Añade ``redes transformer ...`` al analizador de ``redes``."""
    add_family(commands, "transformer",
               help="Transformer de «Attention is all you need» (o un seq2seq LSTM/GRU): "
                    "traducir números",
               tasks=(_add_train, _add_translate, _add_attention))
