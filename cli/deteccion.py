"""Tarea ``redes deteccion entrenar|evaluar|predecir|exportar|anclas``: YOLOv2.

Ejemplos (los parámetros del artículo, por nombre)::

    redes deteccion entrenar --anotaciones lego/annotations --imagenes lego/images \
        --etiquetas lego --tamanio 416 --max-cajas 5 --epocas 7 --repeticiones 5 \
        --salida pesos/red_lego
    redes deteccion evaluar --pesos pesos/red_lego/modelo.h5 --anotaciones prueba/ann \
        --imagenes prueba/img
    redes deteccion predecir --pesos pesos/red_lego/modelo.h5 foto1.jpg foto2.jpg
    redes deteccion predecir --pesos pesos/red_lego/modelo.h5 --video calle.mp4
    redes deteccion predecir --pesos pesos/red_lego/modelo.h5 --camara 0
    redes deteccion exportar --pesos pesos/red_lego/modelo.h5 --formato openvino \
        --int8 --calibracion lego/images --salida exportado/

Cada modo es una función ``_add_<modo>(modes)`` que añade su subanalizador con
``set_defaults(func=_cmd_<modo>)``; :func:`add_commands` los registra con
:func:`cli.comun.add_task`. Cada ``_cmd_<modo>`` comprueba las rutas de salida, llama a
la tarea y muestra su :class:`~informes.resultado.TaskResult` con
:func:`informes.resultado.report`.
"""

from __future__ import annotations

import argparse

from cli.argparse_es import NegatableFlag
from cli.comun import add_inference_arguments
from cli.comun import add_json_argument
from cli.comun import add_seed_argument
from cli.comun import add_task
from cli.comun import add_training_arguments
from cli.comun import bounded_float
from cli.comun import bounded_int
from cli.comun import check_outputs
from cli.comun import non_negative_int
from cli.comun import positive_int
from cli.comun import probability
from cli.comun import report
from cli.comun import run_dir_of
from cli.comun import train_with
from cli.comun import training_config
from cli.comun import validation_fraction
from cli.exportar import export_mode
from nucleo.vocabulario import BACKBONES
from nucleo.vocabulario import BOX_LOSSES
from nucleo.vocabulario import MAX_IMAGE_SIDE
from nucleo.vocabulario import YOLO_RECIPES
from nucleo.vocabulario import YOLO_STRIDE

TASK = "deteccion"
_side = bounded_int(YOLO_STRIDE, MAX_IMAGE_SIDE)


def input_size(text: str) -> int:
    """Tipo de argparse: lado de la entrada de la red, un múltiplo de 32 (32…4096)."""
    side = _side(text)
    if side % YOLO_STRIDE:
        raise argparse.ArgumentTypeError(
            f"debe ser un múltiplo de {YOLO_STRIDE} (p. ej. 320, 416 o 608); recibido {text}")
    return side


input_size.__name__ = "entero"


def _cmd_anchors(args) -> int:
    from tareas.deteccion.anclas import anchors_from_voc

    check_outputs(files=[("--json", args.json)])
    return report(anchors_from_voc(args.anotaciones, args.imagenes, args.etiquetas, k=args.k,
                                    image_size=args.tamanio, seed=args.semilla), args)


def _anchors_argument(values: list[str]):
    """``--anclas``: «voc», «auto» o una lista plana de números."""
    from nucleo.errores import ArgumentError

    if len(values) == 1 and values[0] in ("voc", "auto"):
        return values[0]
    try:
        return [float(v) for v in values]
    except ValueError:
        raise ArgumentError(
            f"--anclas: se esperaba «voc», «auto» o una lista de números (ancho alto ancho "
            f"alto ...); recibido {' '.join(values)!r}.") from None


def _train_config(args):
    """La :class:`~tareas.deteccion.DetectionConfig` de la línea de órdenes: la receta (o
    ``--config``) con lo que se dio."""
    from tareas.deteccion.configuracion import DetectionConfig

    return training_config(DetectionConfig, args, anchors=_anchors_argument(args.anclas)
                           if args.anclas else None)


def _cmd_train(args) -> int:
    from tareas.deteccion.entrenar import train_yolo

    config = _train_config(args)
    check_outputs(files=[("--pesos", config.weights_path), ("--json", args.json)],
                  folders=[("--salida", run_dir_of(config))])
    return report(train_with(train_yolo, config, args), args)


def _cmd_evaluate(args) -> int:
    from tareas.deteccion.evaluar import evaluate_yolo

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    return report(evaluate_yolo(args.pesos, args.anotaciones, args.imagenes, args.salida,
                                 obj_threshold=args.umbral, nms_threshold=args.nms,
                                 engine=args.motor), args)


def _cmd_predict(args) -> int:
    from nucleo.errores import ArgumentError
    from tareas.deteccion import predecir as deteccion

    sources = [bool(args.imagenes), args.video is not None, args.camara is not None]
    if sum(sources) != 1:
        raise ArgumentError("redes deteccion predecir: indique imágenes, --video o --camara "
                            "(una sola de las tres).")
    output = args.grabar if args.camara is not None else None
    if args.video is not None:
        output = deteccion.detected_path(args.video, args.salida, suffix=".mp4")
    check_outputs(files=[("--json", args.json),
                         ("--video" if args.video is not None else "--grabar", output)],
                  folders=[("--salida", args.salida)])
    # El mismo predictor que «redes servir»: la misma red, decodificación y dibujo.
    model = deteccion.load(args.pesos, args.motor)
    thresholds = {"obj_threshold": args.umbral, "nms_threshold": args.nms}
    if args.imagenes:
        return report(deteccion.detect_images(model, args.imagenes, out_dir=args.salida,
                                               **thresholds), args)
    window = deteccion.FrameWindow() if args.camara is not None else None
    try:
        result = deteccion.run_stream(model, args.video if args.video is not None
                                      else args.camara, output=output, window=window,
                                      max_frames=args.max_fotogramas, **thresholds)
    finally:
        if window is not None:
            window.close()
    return report(result, args)


def _add_anchors(modes) -> None:
    parser = modes.add_parser(
        "anclas", help="calcula las anclas por k-means (distancia 1 − IoU) de una carpeta VOC",
        description="Calcula las anclas de YOLOv2 con k-means sobre el ancho y el alto de "
                    "las cajas anotadas (distancia 1 − IoU) y muestra la IoU media.")
    _add_voc_arguments(parser)
    parser.add_argument("--k", type=positive_int, default=5,
                        help="número de anclas (por defecto 5)")
    parser.add_argument("--tamanio", type=input_size, default=416,
                        help="tamaño de entrada de la red, múltiplo de 32 (por defecto 416)")
    add_seed_argument(parser)
    add_json_argument(parser, "las anclas")
    parser.set_defaults(func=_cmd_anchors)


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Lo que define la red y sus datos de entrenamiento en ``deteccion entrenar``."""
    parser.add_argument("--tamanio", type=input_size,
                        help="tamaño de entrada, múltiplo de 32 (por defecto 416, el del blog)")
    parser.add_argument("--max-cajas", type=positive_int,
                        help="cajas por imagen del búfer de la pérdida (por defecto las de la "
                             "imagen de entrenamiento con más, hasta 100; el blog usaba 5)")
    parser.add_argument("--repeticiones", type=positive_int,
                        help="veces que se ve cada imagen por época, train_times (por defecto 5)")
    parser.add_argument("--anclas", nargs="+", metavar="ANCLA",
                        help="«voc» (por defecto), «auto» (k-means de las cajas) o la lista "
                             "plana ancho alto ... en celdas")
    parser.add_argument("--backbone", choices=BACKBONES,
                        help="extractor: darknet19 (YOLOv2 completo, por defecto), tiny, o "
                             "mobilenetv2 (la de ImageNet, con --backbone-pesos: la mejor "
                             "opción para pocas fotos en una CPU)")
    parser.add_argument("--backbone-pesos", metavar="ARCHIVO",
                        help="punto de partida del extractor (todo salvo la última "
                             "convolución): darknet19_448.conv.23 u otro .weights de darknet, "
                             "full_yolo_backend.h5 / tiny_yolo_backend.h5 de keras-yolo2, o el "
                             ".h5 de otro «redes deteccion entrenar» (otras clases); con "
                             "--backbone mobilenetv2, el .pth de torchvision o el .h5 de «redes "
                             "pesos convertir»; el tipo se reconoce por el contenido")
    parser.add_argument("--congelar", type=non_negative_int, metavar="K",
                        help="entrena solo la cabeza las K primeras épocas (el extractor y "
                             "sus medias de BatchNorm fijos) y después todo con la tasa 10 "
                             "veces más baja (por defecto 0: todo desde el principio; la "
                             "receta fotos con mobilenetv2 preentrenada, 1)")
    parser.add_argument("--ancho", type=bounded_float(0.01, 4.0, include_minimum=True),
                        help="multiplica los filtros del extractor, de 0.01 a 4 (1.0 = "
                             "darknet; 0.25 es ~16 veces más barato); con mobilenetv2 es su "
                             "alpha, de 0.1 a 2 (los pesos de ImageNet son de 1.0)")
    parser.add_argument("--epocas-calentamiento", type=non_negative_int,
                        metavar="N", help="épocas de calentamiento de la pérdida (por "
                                          "defecto 3)")
    parser.add_argument("--validacion", type=validation_fraction,
                        help="fracción de validación, ≥ 0 y < 1 (por defecto 0.2)")
    parser.add_argument("--trabajadores", type=positive_int,
                        help="hilos que preparan los lotes (por defecto 1)")


def _add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    """La receta y lo que cambia de ella: tasa en coseno, pérdida, multiescala, aumento."""
    parser.add_argument("--receta", choices=YOLO_RECIPES,
                        help="«blog» (por defecto, la del artículo) o «fotos», para pocas "
                             "fotos reales: color HSV y escala más fuertes, multiescala, "
                             "media móvil de los pesos (EMA), mejor modelo por el mAP@0.5 de "
                             "validación y, con --minutos, sin parada temprana")
    parser.add_argument("--coseno", action=NegatableFlag,
                        help="tasa en coseno hasta el 1 %% al final (de las épocas o de "
                             "--minutos); por defecto no: constante, como en el blog")
    parser.add_argument("--perdida-cajas", choices=BOX_LOSSES,
                        help="término de las cajas en la pérdida: «darknet» (el cuadrático "
                             "del artículo), «giou» o «ciou» (basados en la IoU; castigan "
                             "las cajas demasiado grandes); por defecto, el de la receta")
    parser.add_argument("--multiescala", action=NegatableFlag,
                        help="entrenamiento multiescala de YOLOv2: cada lote a un tamaño "
                             "entre --tamanio − 96 y --tamanio + 96 (múltiplos de 32); la "
                             "validación y el modelo guardado siguen en --tamanio. Por "
                             "defecto, el de la receta: sí con «fotos», no con «blog»")
    parser.add_argument("--aumento", action=NegatableFlag,
                        help="aumento de datos (por defecto sí)")


def _add_train(modes) -> None:
    parser = modes.add_parser(
        "entrenar", help="entrena YOLOv2 sobre una carpeta VOC (los parámetros del artículo)",
        description="Entrena YOLOv2 (Darknet-19 o tiny) sobre una carpeta Pascal-VOC: 80/20 "
                    "entrenamiento/validación, calentamiento, parada temprana y mejor modelo "
                    "según la pérdida de validación, registro CSV y curva de pérdida, y al "
                    "final el mAP por clase de validación (IoU 0.5 y 0.3). El modelo queda en "
                    "SALIDA/modelo.h5.")
    _add_voc_arguments(parser)
    _add_model_arguments(parser)
    _add_recipe_arguments(parser)
    # Solo para el alias «redes yolo entrenar --pesos ARCHIVO» (cli.alias), esta versión.
    parser.add_argument("--archivo-pesos", help=argparse.SUPPRESS)
    add_training_arguments(
        parser, output_default="pesos/yolo",
        defaults={"lote": 8, "tasa": 1e-4, "paciencia": 3},
        texts={"epocas": "épocas (por defecto 7, las del blog; con --receta fotos y "
                         "--minutos, las que quepan en el tiempo)",
               "salida": "carpeta de la ejecución: modelo.h5, registro CSV, curvas, "
                         "precisión-exhaustividad y respaldo para reanudar",
               "lote": "imágenes por lote de entrenamiento (por defecto 8)",
               "tasa": "tasa de aprendizaje de Adam, > 0 y ≤ 10 (por defecto 1e-4; desde "
                       "cero, 1e-3)"})
    parser.set_defaults(func=_cmd_train)


def _add_threshold_arguments(parser: argparse.ArgumentParser, default: float) -> None:
    parser.add_argument("--umbral", type=probability, default=default,
                        help=f"puntuación mínima de una detección, de 0 a 1 (por defecto "
                             f"{default:g})")
    parser.add_argument("--nms", type=probability, default=0.3,
                        help="IoU de supresión de no máximos, de 0 a 1 (por defecto 0.3)")


def _add_evaluate(modes) -> None:
    parser = modes.add_parser(
        "evaluar", help="mAP (IoU 0.5 y 0.3) y curvas de precisión-exhaustividad por clase",
        description="Calcula el mAP de un modelo de «redes deteccion entrenar» sobre "
                    "cualquier carpeta VOC anotada y dibuja la curva "
                    "precisión-exhaustividad de cada clase.")
    parser.add_argument("--anotaciones", required=True, help="carpeta de anotaciones VOC")
    parser.add_argument("--imagenes", required=True, help="carpeta de las imágenes")
    _add_threshold_arguments(parser, 0.01)
    add_inference_arguments(parser, TASK, output_help="carpeta de los PNG (por defecto la de "
                            "los pesos)", json_what="las cifras")
    parser.set_defaults(func=_cmd_evaluate)


def _add_predict(modes) -> None:
    parser = modes.add_parser(
        "predecir", help="detecta objetos en imágenes, un vídeo o la cámara",
        description="Dibuja las cajas detectadas (verdes, con etiqueta y puntuación): cada "
                    "IMAGEN → IMAGEN_detected.png; --video v.mp4 → v_detected.mp4; --camara 0 "
                    "muestra una ventana (q o Esc para salir).")
    parser.add_argument("imagenes", nargs="*", metavar="IMAGEN", help="imágenes a procesar")
    parser.add_argument("--video", help="vídeo de entrada; escribe VIDEO_detected.mp4")
    parser.add_argument("--camara", metavar="INDICE",
                        help="cámara (0, 1...) o vídeo a mostrar en una ventana; q para salir")
    parser.add_argument("--grabar", metavar="MP4", help="con --camara, graba también un vídeo")
    parser.add_argument("--max-fotogramas", type=positive_int,
                        help="procesa como mucho N fotogramas")
    _add_threshold_arguments(parser, 0.3)
    add_inference_arguments(parser, TASK, output_help="carpeta de salida (por defecto junto a "
                            "la entrada)", json_what="las detecciones")
    parser.set_defaults(func=_cmd_predict)


def _add_voc_arguments(parser: argparse.ArgumentParser) -> None:
    """Carpeta VOC y etiquetas: las comparten entrenar y anclas."""
    parser.add_argument("--anotaciones", required=True,
                        help="carpeta de anotaciones Pascal-VOC (*.xml, p. ej. de labelImg)")
    parser.add_argument("--imagenes", required=True, help="carpeta de las imágenes")
    parser.add_argument("--etiquetas", nargs="+", metavar="ETIQUETA",
                        help="clases a usar (por defecto todas las que aparezcan)")


def add_commands(commands) -> None:
    """Añade ``redes deteccion`` y sus modos (en el orden de la ayuda)."""
    add_task(commands, TASK, "detección de objetos con YOLOv2 (carpetas VOC)",
             (_add_train, _add_evaluate, _add_predict, export_mode(TASK, int8=True),
              _add_anchors))
