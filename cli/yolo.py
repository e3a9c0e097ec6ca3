"""Órdenes ``redes yolo anclas / entrenar / evaluar / detectar`` de detección de objetos.

Ejemplos (los parámetros del artículo, por nombre)::

    redes yolo entrenar --anotaciones lego/annotations --imagenes lego/images \
        --etiquetas lego --tamanio 416 --max-cajas 5 --epocas 7 --repeticiones 5 \
        --pesos pesos/red_lego.h5
    redes yolo evaluar --pesos pesos/red_lego.h5 --anotaciones prueba/ann --imagenes prueba/img
    redes yolo detectar --pesos pesos/red_lego.h5 foto1.jpg foto2.jpg
    redes yolo detectar --pesos pesos/red_lego.h5 --video calle.mp4
    redes yolo detectar --pesos pesos/red_lego.h5 --camara 0

Cada tarea es una función ``_add_<tarea>(tasks)`` que añade su subanalizador con
``set_defaults(func=_cmd_<tarea>)``; :func:`add_commands` las registra con
:func:`cli.comun.add_family`. Cada ``_cmd_<tarea>`` comprueba las rutas de
salida, llama a la tarea y muestra su :class:`~informes.resultado.TaskResult` con
:func:`informes.resultado.report`.
"""

from __future__ import annotations

import argparse

from cli.comun import add_family
from cli.comun import add_engine_argument
from cli.comun import add_json_argument
from cli.comun import add_seed_argument
from cli.comun import add_distributed_arguments
from cli.comun import add_training_arguments
from cli.comun import bounded_float
from cli.comun import bounded_int
from cli.comun import check_outputs
from cli.comun import non_negative_int
from cli.comun import positive_int
from nucleo.vocabulario import BACKBONES
from nucleo.vocabulario import BOX_LOSSES
from nucleo.vocabulario import MAX_IMAGE_SIDE
from nucleo.vocabulario import YOLO_RECIPES
from nucleo.vocabulario import YOLO_STRIDE


probability = bounded_float(0.0, 1.0, include_minimum=True)
_side = bounded_int(YOLO_STRIDE, MAX_IMAGE_SIDE)


def input_size(text: str) -> int:
    """Tipo de argparse: lado de la entrada de la red, un múltiplo de 32 (32…4096)."""
    side = _side(text)
    if side % YOLO_STRIDE:
        raise argparse.ArgumentTypeError(
            f"debe ser un múltiplo de {YOLO_STRIDE} (p. ej. 320, 416 o 608); recibido {text}")
    return side


input_size.__name__ = "entero"


def validation_fraction(text: str) -> float:
    """Tipo de argparse: fracción de validación en [0, 1)."""
    value = probability(text)
    if value >= 1.0:
        raise argparse.ArgumentTypeError(f"debe ser un número ≥ 0 y < 1; recibido {text}")
    return value


validation_fraction.__name__ = "número"


def _report(result, args) -> int:
    from informes.resultado import report

    report(result, args.json)
    return 0


def _cmd_anchors(args) -> int:
    from tareas.deteccion.anclas import anchors_from_voc

    check_outputs(files=[("--json", args.json)])
    return _report(anchors_from_voc(args.anotaciones, args.imagenes, args.etiquetas, k=args.k,
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


def _cmd_train(args) -> int:
    from pathlib import Path

    from tareas.deteccion.entrenar import DEFAULT_RUN
    from tareas.deteccion.entrenar import train_yolo

    anchors = _anchors_argument(args.anclas)
    run_dir = args.salida or (str(Path(args.pesos).with_suffix("")) if args.pesos
                              else DEFAULT_RUN)
    check_outputs(files=[("--pesos", args.pesos), ("--json", args.json)],
                  folders=[("--salida", run_dir)])
    result = train_yolo(
        args.anotaciones, args.imagenes, args.etiquetas, run_dir=run_dir,
        weights_path=args.pesos, input_size=args.tamanio, max_boxes=args.max_cajas,
        epochs=args.epocas, train_times=args.repeticiones, batch_size=args.lote,
        anchors=anchors, backbone=args.backbone, width_multiplier=args.ancho,
        warmup_epochs=args.calentamiento, learning_rate=args.tasa, cosine=args.coseno,
        patience=args.paciencia or None, augment=not args.sin_aumento,
        precision=args.precision, validation=args.validacion, workers=args.trabajadores,
        max_seconds=None if args.minutos is None else args.minutos * 60, seed=args.semilla,
        backbone_weights=args.backbone_pesos, freeze_epochs=args.congelar,
        recipe=args.receta, box_loss=args.perdida_cajas, multiscale=args.multiescala)
    return _report(result, args)


def _cmd_evaluate(args) -> int:
    from tareas.deteccion.evaluar import evaluate_yolo

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    return _report(evaluate_yolo(args.pesos, args.anotaciones, args.imagenes, args.salida,
                                 obj_threshold=args.umbral, nms_threshold=args.nms,
                                 engine=args.motor), args)


def _cmd_detect(args) -> int:
    from nucleo.errores import ArgumentError
    from tareas.deteccion import predecir as deteccion
    from inferencia.motores import load_engine

    sources = [bool(args.imagenes), args.video is not None, args.camara is not None]
    if sum(sources) != 1:
        raise ArgumentError("redes yolo detectar: indique imágenes, --video o --camara "
                            "(una sola de las tres).")
    output = args.grabar if args.camara is not None else None
    if args.video is not None:
        output = deteccion.detected_path(args.video, args.salida, suffix=".mp4")
    check_outputs(files=[("--json", args.json),
                         ("--video" if args.video is not None else "--grabar", output)],
                  folders=[("--salida", args.salida)])
    model = load_engine(args.pesos, args.motor)
    thresholds = {"obj_threshold": args.umbral, "nms_threshold": args.nms}
    if args.imagenes:
        return _report(deteccion.detect_images(model, args.imagenes, out_dir=args.salida,
                                               **thresholds), args)
    window = deteccion.FrameWindow() if args.camara is not None else None
    try:
        result = deteccion.run_stream(model, args.video if args.video is not None
                                      else args.camara, output=output, window=window,
                                      max_frames=args.max_fotogramas, **thresholds)
    finally:
        if window is not None:
            window.close()
    return _report(result, args)


def _add_anchors(tasks) -> None:
    parser = tasks.add_parser(
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


def _add_train(tasks) -> None:
    parser = tasks.add_parser(
        "entrenar", help="entrena YOLOv2 sobre una carpeta VOC (los parámetros del artículo)",
        description="Entrena YOLOv2 (Darknet-19 o tiny) sobre una carpeta Pascal-VOC: 80/20 "
                    "entrenamiento/validación, calentamiento, parada temprana y mejor modelo "
                    "según la pérdida de validación, registro CSV y curva de pérdida, y al "
                    "final el mAP por clase de validación (IoU 0.5 y 0.3).")
    _add_voc_arguments(parser)
    parser.add_argument("--tamanio", type=input_size, default=416,
                        help="tamaño de entrada, múltiplo de 32 (por defecto 416, el del blog)")
    parser.add_argument("--max-cajas", type=positive_int, default=5,
                        help="cajas por imagen en el objetivo (por defecto 5, el del blog)")
    parser.add_argument("--epocas", type=positive_int, default=7,
                        help="épocas (por defecto 7)")
    parser.add_argument("--repeticiones", type=positive_int, default=5,
                        help="veces que se ve cada imagen por época, train_times (por defecto 5)")
    parser.add_argument("--lote", type=positive_int, default=8,
                        help="imágenes por lote (por defecto 8)")
    parser.add_argument("--pesos", metavar="ARCHIVO",
                        help="archivo del mejor modelo, saved_weights_name "
                        "(p. ej. pesos/red_lego.h5; por defecto SALIDA/modelo.h5)")
    parser.add_argument("--anclas", nargs="+", default=["voc"], metavar="ANCLA",
                        help="«voc» (por defecto), «auto» (k-means de las cajas) o la lista "
                             "plana ancho alto ... en celdas")
    parser.add_argument("--backbone", choices=BACKBONES, default="darknet19",
                        help="extractor: darknet19 (YOLOv2 completo) o tiny")
    parser.add_argument("--backbone-pesos", metavar="ARCHIVO",
                        help="punto de partida del extractor (todo salvo la última "
                             "convolución): darknet19_448.conv.23 u otro .weights de darknet, "
                             "full_yolo_backend.h5 / tiny_yolo_backend.h5 de keras-yolo2, o el "
                             ".h5 de otro «redes yolo entrenar» (otras clases); el tipo se "
                             "reconoce por el contenido")
    parser.add_argument("--congelar", type=non_negative_int, default=0, metavar="K",
                        help="entrena solo la cabeza las K primeras épocas y después todo con "
                             "la tasa 10 veces más baja (por defecto 0: todo desde el "
                             "principio)")
    parser.add_argument("--ancho", type=bounded_float(0.01, 4.0, include_minimum=True),
                        default=1.0,
                        help="multiplica los filtros del extractor, de 0.01 a 4 (1.0 = "
                             "darknet; 0.25 es ~16 veces más barato)")
    parser.add_argument("--calentamiento", type=non_negative_int, default=3,
                        help="épocas de calentamiento de la pérdida (por defecto 3)")
    parser.add_argument("--tasa", type=bounded_float(0.0, 10.0), default=1e-4,
                        help="tasa de aprendizaje de Adam (por defecto 1e-4; desde cero, 1e-3)")
    parser.add_argument("--coseno", action="store_true",
                        help="tasa en coseno hasta el 1 %% al final (de las épocas o de "
                             "--minutos); por defecto constante, como en el blog")
    parser.add_argument("--receta", choices=YOLO_RECIPES, default="blog",
                        help="«blog» (por defecto, la del artículo) o «fotos», para pocas "
                             "fotos reales: color HSV y escala más fuertes, multiescala, "
                             "media móvil de los pesos (EMA), mejor modelo por el mAP@0.5 de "
                             "validación y, con --minutos, sin parada temprana")
    parser.add_argument("--perdida-cajas", choices=BOX_LOSSES, default=None,
                        help="término de las cajas en la pérdida: «darknet» (el cuadrático "
                             "del artículo), «giou» o «ciou» (basados en la IoU; castigan "
                             "las cajas demasiado grandes); por defecto, el de la receta")
    parser.add_argument("--multiescala", dest="multiescala", action="store_const",
                        const=True, default=None,
                        help="entrenamiento multiescala de YOLOv2: cada lote a un tamaño "
                             "entre --tamanio − 96 y --tamanio + 96 (múltiplos de 32); la "
                             "validación y el modelo guardado siguen en --tamanio. Por "
                             "defecto, el de la receta: sí con «fotos», no con «blog»")
    parser.add_argument("--sin-multiescala", dest="multiescala", action="store_const",
                        const=False, help="todos los lotes a --tamanio (también con "
                                          "--receta fotos)")
    parser.add_argument("--paciencia", type=non_negative_int, default=3,
                        help="parada temprana tras N épocas sin mejora (0: sin parada)")
    parser.add_argument("--validacion", type=validation_fraction, default=0.2,
                        help="fracción de validación, ≥ 0 y < 1 (por defecto 0.2)")
    parser.add_argument("--sin-aumento", action="store_true", help="sin aumento de datos")
    parser.add_argument("--trabajadores", type=positive_int, default=1,
                        help="hilos que preparan los lotes (por defecto 1)")
    parser.add_argument("--minutos", type=bounded_float(1e-4, 1e6, include_minimum=True),
                        help="tope de tiempo de entrenamiento en minutos")
    add_seed_argument(parser)
    parser.add_argument("--salida", metavar="CARPETA",
                        help="carpeta del registro, las curvas y el respaldo (por defecto, la "
                        "ruta de --pesos sin extensión, o pesos/yolo)")
    add_json_argument(parser, "el resumen")
    add_training_arguments(parser)
    add_distributed_arguments(parser)
    parser.set_defaults(func=_cmd_train)


def _add_threshold_arguments(parser: argparse.ArgumentParser, default: float) -> None:
    parser.add_argument("--umbral", type=probability, default=default,
                        help=f"puntuación mínima de una detección, de 0 a 1 (por defecto "
                             f"{default:g})")
    parser.add_argument("--nms", type=probability, default=0.3,
                        help="IoU de supresión de no máximos, de 0 a 1 (por defecto 0.3)")


def _add_evaluate(tasks) -> None:
    parser = tasks.add_parser(
        "evaluar", help="mAP (IoU 0.5 y 0.3) y curvas de precisión-exhaustividad por clase",
        description="Calcula el mAP de un modelo de «redes yolo entrenar» sobre cualquier "
                    "carpeta VOC anotada y dibuja la curva precisión-exhaustividad de cada clase.")
    parser.add_argument("--pesos", required=True,
                        help="modelo .h5 de «redes yolo entrenar» (o su carpeta de «redes "
                             "exportar»)")
    add_engine_argument(parser)
    parser.add_argument("--anotaciones", required=True, help="carpeta de anotaciones VOC")
    parser.add_argument("--imagenes", required=True, help="carpeta de las imágenes")
    parser.add_argument("--salida", metavar="CARPETA",
                        help="carpeta de los PNG (por defecto la de los pesos)")
    add_json_argument(parser)
    _add_threshold_arguments(parser, 0.01)
    parser.set_defaults(func=_cmd_evaluate)


def _add_detect(tasks) -> None:
    parser = tasks.add_parser(
        "detectar", help="detecta objetos en imágenes, un vídeo o la cámara",
        description="Dibuja las cajas detectadas (verdes, con etiqueta y puntuación): cada "
                    "IMAGEN → IMAGEN_detected.png; --video v.mp4 → v_detected.mp4; --camara 0 "
                    "muestra una ventana (q o Esc para salir).")
    parser.add_argument("--pesos", required=True,
                        help="modelo .h5 de «redes yolo entrenar» (o su carpeta de «redes "
                             "exportar»)")
    add_engine_argument(parser)
    parser.add_argument("imagenes", nargs="*", metavar="IMAGEN", help="imágenes a procesar")
    parser.add_argument("--video", help="vídeo de entrada; escribe VIDEO_detected.mp4")
    parser.add_argument("--camara", metavar="INDICE",
                        help="cámara (0, 1...) o vídeo a mostrar en una ventana; q para salir")
    parser.add_argument("--grabar", metavar="MP4", help="con --camara, graba también un vídeo")
    parser.add_argument("--max-fotogramas", type=positive_int,
                        help="procesa como mucho N fotogramas")
    parser.add_argument("--salida", metavar="CARPETA",
                        help="carpeta de salida (por defecto junto a la entrada)")
    add_json_argument(parser, "las detecciones")
    _add_threshold_arguments(parser, 0.3)
    parser.set_defaults(func=_cmd_detect)


def _add_voc_arguments(parser: argparse.ArgumentParser) -> None:
    """Carpeta VOC y etiquetas: las comparten todas las tareas de ``redes yolo``."""
    parser.add_argument("--anotaciones", required=True,
                        help="carpeta de anotaciones Pascal-VOC (*.xml, p. ej. de labelImg)")
    parser.add_argument("--imagenes", required=True, help="carpeta de las imágenes")
    parser.add_argument("--etiquetas", nargs="+", metavar="ETIQUETA",
                        help="clases a usar (por defecto todas las que aparezcan)")


def add_commands(commands) -> None:
    """Añade ``redes yolo`` y sus tareas (en el orden de la ayuda)."""
    add_family(commands, "yolo", "detección de objetos con YOLOv2 (carpetas VOC)",
               tasks=(_add_anchors, _add_train, _add_evaluate, _add_detect))
