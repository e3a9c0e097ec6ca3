"""Tarea ``redes clasificacion entrenar|evaluar|predecir|exportar``: imágenes por carpetas.

Ejemplos::

    redes clasificacion entrenar --dir deportes/ --modelo deportes --aumento
    redes clasificacion evaluar --pesos pesos/deportes/modelo.h5 --dir deportes/ \
        --particion test
    redes clasificacion predecir --pesos pesos/deportes/modelo.h5 foto.jpg --top 3
"""

from __future__ import annotations

from cli.argparse_es import NegatableFlag
from cli.comun import add_inference_arguments
from cli.comun import add_task
from cli.comun import add_training_arguments
from cli.comun import bounded_float
from cli.comun import bounded_int
from cli.comun import check_outputs
from cli.comun import positive_int
from cli.comun import report
from cli.comun import run_dir_of
from cli.comun import save_predictions
from cli.comun import train_with
from cli.comun import training_config
from cli.exportar import export_mode
from nucleo.vocabulario import CLASSIFIER_MODELS
from nucleo.vocabulario import MAX_IMAGE_SIDE
from nucleo.vocabulario import SPLITS

TASK = "clasificacion"


def _augment_settings(args):
    """``--volteo`` → los ajustes del aumento (``None``: los de siempre)."""
    from nucleo.errores import ArgumentError

    if args.volteo is not None and args.aumento is not True:
        flag = "--volteo" if args.volteo else "--sin-volteo"
        raise ArgumentError(f"{flag} solo tiene sentido con --aumento.")
    return {"flip": 0.0} if args.aumento and args.volteo is False else None


def _train_config(args):
    """La :class:`~tareas.clasificacion.ClassifierConfig` de la línea de órdenes: el preset
    de ``--modelo`` (o ``--config``) con lo que se dio."""
    from tareas.clasificacion.configuracion import ClassifierConfig

    channels = {True: 1, False: 3, None: None}[args.gris]
    return training_config(ClassifierConfig, args, channels=channels,
                           augment_settings=_augment_settings(args))


def _cmd_train(args) -> int:
    from tareas.clasificacion import train_classifier

    config = _train_config(args)
    check_outputs(files=[("--json", args.json)], folders=[("--salida", run_dir_of(config))])
    return report(train_with(train_classifier, config, args), args)


def _cmd_evaluate(args) -> int:
    from pathlib import Path

    from tareas.clasificacion import evaluate_classifier

    check_outputs(files=[("--json", args.json)],
                  folders=[("--salida", args.salida or Path(args.pesos).parent)])
    return report(evaluate_classifier(args.pesos, args.dir, split=args.particion,
                                      run_dir=args.salida, engine=args.motor), args)


def _cmd_predict(args) -> int:
    from tareas.clasificacion import predict_images

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    results = predict_images(args.pesos, args.imagenes, top=args.top, engine=args.motor)
    save_predictions(results, args.salida)
    return report(results, args)


def _add_train(modes) -> None:
    parser = modes.add_parser(
        "entrenar", help="entrena un clasificador sobre una carpeta con una subcarpeta por clase")
    parser.add_argument("--dir", required=True, help="carpeta de imágenes (clase/imagen.jpg)")
    parser.add_argument("--modelo", choices=CLASSIFIER_MODELS,
                        help="arquitectura y sus valores del blog (por defecto deportes, la CNN "
                             "del blog); mobilenetv2 es la de ImageNet, para fotos propias")
    parser.add_argument("--tamanio", type=bounded_int(1, MAX_IMAGE_SIDE), nargs=2,
                        metavar=("ALTO", "ANCHO"),
                        help="tamaño de entrada (por defecto el del blog para cada modelo)")
    parser.add_argument("--gris", action=NegatableFlag,
                        help="leer las imágenes en escala de grises (por defecto, en color "
                             "salvo con --modelo mlp)")
    parser.add_argument("--optimizador",
                        help="optimizador de Keras en lugar del del blog (p. ej. adam, sgd, "
                        "rmsprop)")
    parser.add_argument("--aumento", action=NegatableFlag,
                        help="aumento de datos con imgaug (por defecto no)")
    parser.add_argument("--volteo", action=NegatableFlag,
                        help="con --aumento, volteo horizontal (por defecto sí; --sin-volteo "
                             "para dígitos y letras)")
    parser.add_argument("--trabajadores", type=positive_int,
                        help="hilos que preparan los lotes aumentados (por defecto 1)")
    parser.add_argument("--ancho", type=bounded_float(0.1, 2.0, include_minimum=True),
                        metavar="ALFA", help="con --modelo mobilenetv2, multiplicador de "
                        "anchura (alpha) de la red (por defecto 1.0)")
    parser.add_argument("--backbone-pesos", metavar="ARCHIVO",
                        help="con --modelo mobilenetv2, el extractor preentrenado: el .pth de "
                        "torchvision o el .h5 de «redes pesos convertir» (por defecto, desde "
                        "cero)")
    add_training_arguments(
        parser, output_default="pesos/<modelo>", defaults={"paciencia": 0},
        texts={"epocas": "épocas (por defecto las del blog para cada modelo)",
               "lote": "imágenes por lote de entrenamiento (por defecto el del blog)",
               "tasa": "tasa de aprendizaje del optimizador, > 0 y ≤ 10 (por defecto la del "
                       "blog)"})
    parser.set_defaults(func=_cmd_train)


def _add_evaluate(modes) -> None:
    parser = modes.add_parser("evaluar",
                              help="exactitud, informe por clase y matriz de confusión")
    parser.add_argument("--dir", required=True,
                        help="carpeta de imágenes con las mismas clases")
    parser.add_argument("--particion", choices=SPLITS, default="all",
                        help="all (todas las imágenes, por defecto) o test (la partición de "
                        "prueba del entrenamiento, con su semilla)")
    add_inference_arguments(parser, TASK, output_help="carpeta de los gráficos (por defecto "
                            "la de los pesos)", json_what="las cifras")
    parser.set_defaults(func=_cmd_evaluate)


def _add_predict(modes) -> None:
    parser = modes.add_parser("predecir", help="clase y probabilidad de cada imagen")
    parser.add_argument("imagenes", nargs="+", metavar="IMAGEN", help="imágenes a clasificar")
    parser.add_argument("--top", type=positive_int, default=1,
                        help="cuántas clases mostrar por imagen (por defecto 1)")
    add_inference_arguments(parser, TASK, output_help="carpeta donde escribir "
                            "predicciones.csv (por defecto no se escribe)",
                            json_what="las predicciones")
    parser.set_defaults(func=_cmd_predict)


def add_commands(commands) -> None:
    """Añade ``redes clasificacion``."""
    add_task(commands, TASK, "clasificación de imágenes por carpetas",
             (_add_train, _add_evaluate, _add_predict, export_mode(TASK)))
