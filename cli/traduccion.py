"""Tarea ``redes traduccion entrenar|evaluar|predecir|atencion|exportar``.

Traduce números escritos en palabras (español → inglés) con el Transformer o con un
seq2seq LSTM/GRU: una sola tarea, la arquitectura es una opción.

Ejemplos::

    redes traduccion entrenar --conjunto numeros --minutos 10 --json metricas.json
    redes traduccion entrenar --arquitectura lstm --minutos 10
    redes traduccion evaluar --pesos pesos/transformer/modelo.h5
    redes traduccion predecir --pesos pesos/transformer/modelo.h5 "ciento veinte" --haz 4
    redes traduccion atencion --pesos pesos/transformer/modelo.h5 "dos mil uno"
"""

from __future__ import annotations

import argparse

from cli.comun import add_engine_argument
from cli.comun import add_inference_arguments
from cli.comun import add_json_argument
from cli.comun import add_output_argument
from cli.comun import add_seed_argument
from cli.comun import add_task
from cli.comun import add_training_arguments
from cli.comun import bounded_float
from cli.comun import bounded_int
from cli.comun import check_outputs
from cli.comun import non_negative_int
from cli.comun import positive_int
from cli.comun import report
from cli.comun import run_dir_of
from cli.comun import save_predictions
from cli.comun import train_with
from cli.comun import training_config
from cli.exportar import export_mode
from datos.numeros import MAX_NUMBER
from nucleo.vocabulario import ATTENTIONS
from nucleo.vocabulario import TRANSLATION_ARCHITECTURES

TASK = "traduccion"

dropout_rate = bounded_float(0.0, 1.0, include_minimum=True, include_maximum=False)


def _check_beam(args) -> None:
    """``--haz`` dentro del tope de la búsqueda en haz (se lee aquí, ya con Keras cargado:
    el analizador de órdenes no importa TensorFlow)."""
    from modelos.transformer.decodificacion import MAX_BEAM
    from nucleo.errores import ArgumentError

    if args.haz is not None and args.haz > MAX_BEAM:
        raise ArgumentError(f"argumento --haz: debe ser un entero entre 1 y {MAX_BEAM}; "
                            f"recibido {args.haz}")


def _train_config(args):
    """La :class:`~tareas.traduccion.TranslationConfig` de la línea de órdenes (y de
    ``--config``)."""
    from tareas.traduccion.configuracion import TranslationConfig

    return training_config(TranslationConfig, args)


def _cmd_train(args) -> int:
    from tareas.traduccion import train_numbers

    _check_beam(args)
    config = _train_config(args)
    check_outputs(files=[("--json", args.json)], folders=[("--salida", run_dir_of(config))])
    return report(train_with(train_numbers, config, args), args)


def _cmd_evaluate(args) -> int:
    from tareas.traduccion.evaluacion import evaluate_translator

    _check_beam(args)
    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    return report(evaluate_translator(args.pesos, n_test=args.frases_prueba,
                                      seed=args.semilla, beam_size=args.haz,
                                      engine=args.motor, out_dir=args.salida), args)


def _cmd_predict(args) -> int:
    from tareas.traduccion import translate_texts

    _check_beam(args)
    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    results = translate_texts(args.pesos, args.frases, beam_size=args.haz, engine=args.motor)
    save_predictions(results, args.salida)
    return report(results, args)


def _cmd_attention(args) -> int:
    from tareas.traduccion import attention_dir
    from tareas.traduccion.evaluacion import attention_with_engine

    _check_beam(args)
    check_outputs(files=[("--json", args.json)],
                  folders=[("--salida", attention_dir(args.pesos, args.salida))])
    return report(attention_with_engine(args.pesos, args.frase, args.salida,
                                        beam_size=args.haz, engine=args.motor), args)


def _add_beam(parser: argparse.ArgumentParser, what: str = "", default: int | None = 1) -> None:
    parser.add_argument("--haz", type=positive_int, default=default, metavar="K",
                        help=f"búsqueda en haz{what} (por defecto 1 = voraz)")


_MODEL_FLAGS = (
    ("--maximo", bounded_int(1, MAX_NUMBER), MAX_NUMBER, "el mayor número"),
    ("--frases-entrenamiento", non_negative_int, 200_000,
     "números de entrenamiento (0 = todos los demás)"),
    ("--frases-validacion", non_negative_int, 500, "números de validación"),
    ("--frases-prueba", non_negative_int, 2000, "números de prueba, nunca vistos al entrenar"),
    ("--capas", positive_int, 2, "transformer: capas del codificador y del decodificador"),
    ("--dmodelo", positive_int, 128, "transformer: d_model"),
    ("--cabezas", positive_int, 4, "transformer: cabezas de atención"),
    ("--dff", positive_int, 512, "transformer: neuronas internas del feed-forward"),
    ("--unidades", positive_int, 128, "lstm/gru: neuronas de cada capa recurrente"),
    ("--embedding", positive_int, 64, "lstm/gru: dimensión de los embeddings"),
    ("--lotes-por-epoca", non_negative_int, 400, "lotes por época (0 = una pasada completa)"),
    ("--pasos-calentamiento", positive_int, 1000,
     "transformer: pasos de calentamiento de la tasa de aprendizaje"),
)


def _add_train(modes) -> None:
    train = modes.add_parser(
        "entrenar", help="entrena el traductor español → inglés de números en palabras")
    train.add_argument("--conjunto", choices=("numeros",),
                       help="los datos: numeros, de 0 a 999.999 escritos en palabras (por "
                            "defecto)")
    train.add_argument("--arquitectura", choices=TRANSLATION_ARCHITECTURES,
                       help="el Transformer o un seq2seq recurrente con esa celda (mismo "
                       "reparto, semilla y --minutos); sin --salida, cada una va a "
                       "pesos/<arquitectura> (por defecto transformer)")
    for flag, kind, default, text in _MODEL_FLAGS:
        train.add_argument(flag, type=kind, metavar="N", help=f"{text} (por defecto {default})")
    train.add_argument("--dropout", type=dropout_rate, metavar="P",
                       help="dropout, en [0, 1) (por defecto 0.1 en el transformer y 0 en "
                       "lstm/gru)")
    train.add_argument("--atencion", choices=ATTENTIONS,
                       help="lstm/gru: atención aditiva (bahdanau), multiplicativa (luong) o "
                       "none (por defecto bahdanau)")
    _add_beam(train, " de la evaluación en prueba", default=None)
    add_training_arguments(
        train, output_default="pesos/<arquitectura>", defaults={"epocas": 30, "lote": 64},
        texts={"epocas": "épocas como máximo (por defecto 30)",
               "lote": "frases por lote de entrenamiento (por defecto 64)",
               "tasa": "tasa de aprendizaje, > 0 y ≤ 10: en lstm/gru, la tasa fija de Adam "
                       "(por defecto 0.001); en el transformer, la tasa máxima del esquema "
                       "con calentamiento del artículo, la del último paso de "
                       "--pasos-calentamiento, escalado sin cambiar su forma (por defecto la "
                       "del artículo, (dmodelo · pasos)^-0.5)",
               "paciencia": "parada temprana tras N épocas sin mejorar la pérdida de "
                            "validación (0: sin parada; por defecto sin parada; siempre se "
                            "guarda el mejor modelo)"})
    train.set_defaults(func=_cmd_train)


def _add_evaluate(modes) -> None:
    parser = modes.add_parser(
        "evaluar", help="acierto exacto en números de prueba, nunca vistos al entrenar",
        description="Acierto exacto (la traducción entera igual a la referencia) en números "
                    "sorteados como la partición de prueba del entrenamiento: con la misma "
                    "semilla y --frases-prueba son los mismos números, nunca vistos.")
    parser.add_argument("--frases-prueba", type=positive_int, default=2000, metavar="N",
                        help="números de prueba (por defecto 2000, los del entrenamiento)")
    add_seed_argument(parser, default=None, help="semilla del sorteo (por defecto la del "
                      "entrenamiento: los mismos números de prueba)")
    _add_beam(parser)
    add_inference_arguments(parser, TASK, output_help="carpeta donde escribir evaluacion.csv "
                            "(por defecto no se escribe)", json_what="las cifras")
    parser.set_defaults(func=_cmd_evaluate)


def _add_predict(modes) -> None:
    parser = modes.add_parser("predecir", help="traduce frases con un modelo entrenado")
    parser.add_argument("frases", nargs="+", metavar="FRASE",
                        help="números en palabras, p. ej. «ciento veinte»")
    _add_beam(parser)
    add_inference_arguments(parser, TASK, output_help="carpeta donde escribir "
                            "predicciones.csv (por defecto no se escribe)",
                            json_what="las traducciones")
    parser.set_defaults(func=_cmd_predict)


def _add_attention(modes) -> None:
    parser = modes.add_parser(
        "atencion", help="dibuja la atención de cada capa y cabeza (PNG) para una frase")
    parser.add_argument("frase", metavar="FRASE", help="número en palabras")
    _add_beam(parser)
    parser.add_argument("--pesos", required=True, metavar="MODELO",
                        help="modelo.h5 de «redes traduccion entrenar» (la atención se lee "
                             "de sus capas de Keras)")
    add_engine_argument(parser)
    add_output_argument(parser, "carpeta de los PNG (por defecto, «atencion/» junto a los "
                        "pesos)")
    add_json_argument(parser, "el resultado")
    parser.set_defaults(func=_cmd_attention)


def add_commands(commands) -> None:
    """Añade ``redes traduccion``."""
    add_task(commands, TASK, "números en palabras, del español al inglés (Transformer o "
             "seq2seq LSTM/GRU)",
             (_add_train, _add_evaluate, _add_predict, export_mode(TASK), _add_attention))
