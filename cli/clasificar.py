"""Órdenes ``redes clasificar entrenar|evaluar|predecir``: clasificar imágenes por carpetas."""

from __future__ import annotations

from nucleo.vocabulario import MAX_IMAGE_SIDE
from cli.comun import add_common_arguments
from cli.comun import add_family
from cli.comun import add_engine_argument
from cli.comun import add_json_argument
from cli.comun import add_distributed_arguments
from cli.comun import add_training_arguments
from cli.comun import bounded_float
from cli.comun import bounded_int
from cli.comun import check_outputs
from cli.comun import non_negative_int
from cli.comun import positive_int
from nucleo.vocabulario import CLASSIFIER_MODELS
from nucleo.vocabulario import SPLITS
from nucleo.vocabulario import STRATEGIES


def _cmd_train(args) -> int:
    from nucleo.errores import ArgumentError
    from tareas.clasificacion import train_classifier
    from informes.resultado import report

    if args.sin_volteo and not args.aumento:
        raise ArgumentError("--sin-volteo solo tiene sentido con --aumento.")
    check_outputs(files=[("--json", args.json)],
                  folders=[("--salida", args.salida or f"pesos/{args.modelo}")])
    result = train_classifier(
        args.dir, args.modelo, run_dir=args.salida,
        image_size=tuple(args.tamanio) if args.tamanio else None,
        channels=1 if args.gris else None, epochs=args.epocas, batch_size=args.lote,
        learning_rate=args.tasa, optimizer=args.optimizador, seed=args.semilla,
        patience=args.paciencia,
        augment={"flip": 0.0} if args.aumento and args.sin_volteo else args.aumento,
        workers=args.trabajadores, precision=args.precision, strategy=args.estrategia,
    )
    report(result, args.json)
    return 0


def _cmd_evaluate(args) -> int:
    from pathlib import Path

    from tareas.clasificacion import evaluate_classifier
    from informes.resultado import report

    check_outputs(files=[("--json", args.json)],
                  folders=[("--salida", args.salida or Path(args.pesos).parent)])
    report(evaluate_classifier(args.pesos, args.dir, split=args.particion,
                               run_dir=args.salida, engine=args.motor), args.json)
    return 0


def _cmd_predict(args) -> int:
    from tareas.clasificacion import predict_images
    from informes.resultado import report

    check_outputs(files=[("--json", args.json)])
    report(predict_images(args.pesos, args.imagenes, top=args.top, engine=args.motor),
           args.json)
    return 0


def _add_train(tasks) -> None:
    parser = tasks.add_parser(
        "entrenar", help="entrena un clasificador sobre una carpeta con una subcarpeta por clase")
    parser.add_argument("--dir", required=True, help="carpeta de imágenes (clase/imagen.jpg)")
    parser.add_argument("--modelo", choices=CLASSIFIER_MODELS, default="deportes",
                        help="arquitectura (por defecto deportes, la CNN del blog)")
    parser.add_argument("--tamanio", type=bounded_int(1, MAX_IMAGE_SIDE), nargs=2,
                        metavar=("ALTO", "ANCHO"),
                        help="tamaño de entrada (por defecto el del blog para cada modelo)")
    parser.add_argument("--gris", action="store_true",
                        help="leer las imágenes en escala de grises")
    parser.add_argument("--epocas", type=positive_int, help="épocas (por defecto las del blog)")
    parser.add_argument("--lote", type=positive_int,
                        help="tamaño de lote (por defecto el del blog)")
    parser.add_argument("--tasa", type=bounded_float(0.0, 10.0),
                        help="tasa de aprendizaje (> 0)")
    parser.add_argument("--optimizador",
                        help="optimizador de Keras en lugar del del blog (p. ej. adam, sgd, "
                        "rmsprop)")
    parser.add_argument("--paciencia", type=non_negative_int,
                        help="parada temprana tras N épocas sin mejora")
    parser.add_argument("--aumento", action="store_true", help="aumento de datos con imgaug")
    parser.add_argument("--sin-volteo", action="store_true",
                        help="con --aumento, sin volteo horizontal (dígitos, letras)")
    parser.add_argument("--trabajadores", type=positive_int, default=1,
                        help="hilos que preparan los lotes aumentados (por defecto 1)")
    parser.add_argument("--estrategia", choices=STRATEGIES, default="none",
                        help="distribución: none (por defecto) o mirrored "
                        "(tf.distribute.MirroredStrategy)")
    add_common_arguments(parser, run_default=None)
    add_training_arguments(parser)
    add_distributed_arguments(parser)
    parser.set_defaults(func=_cmd_train)


def _add_evaluate(tasks) -> None:
    parser = tasks.add_parser("evaluar",
                              help="exactitud, informe por clase y matriz de confusión")
    parser.add_argument("--pesos", required=True,
                        help="modelo.h5 de «clasificar entrenar» (o su carpeta de «redes "
                             "exportar»)")
    add_engine_argument(parser)
    parser.add_argument("--dir", required=True,
                        help="carpeta de imágenes con las mismas clases")
    parser.add_argument("--particion", choices=SPLITS, default="all",
                        help="all (todas las imágenes, por defecto) o test (la partición de "
                        "prueba del entrenamiento, con su semilla)")
    parser.add_argument("--salida",
                        help="carpeta de los gráficos (por defecto la de los pesos)")
    add_json_argument(parser)
    parser.set_defaults(func=_cmd_evaluate)


def _add_predict(tasks) -> None:
    parser = tasks.add_parser("predecir", help="clase y probabilidad de cada imagen")
    parser.add_argument("--pesos", required=True,
                        help="modelo.h5 de «clasificar entrenar» (o su carpeta de «redes "
                             "exportar»)")
    add_engine_argument(parser)
    parser.add_argument("imagenes", nargs="+", metavar="IMAGEN", help="imágenes a clasificar")
    parser.add_argument("--top", type=positive_int, default=1,
                        help="cuántas clases mostrar por imagen (por defecto 1)")
    add_json_argument(parser, "las predicciones")
    parser.set_defaults(func=_cmd_predict)


def add_commands(commands) -> None:
    """Añade ``redes clasificar entrenar|evaluar|predecir``."""
    add_family(commands, "clasificar", "clasificación de imágenes por carpetas",
               tasks=(_add_train, _add_evaluate, _add_predict))
