"""Tarea ``redes deteccion entrenar|evaluar|predecir|exportar|anclas|revisar``: YOLOv2.

Ejemplos (los parámetros del artículo, por nombre)::

    redes deteccion entrenar --anotaciones lego/annotations --imagenes lego/images \
        --etiquetas lego --tamanio 416 --max-cajas 5 --epocas 7 --repeticiones 5 \
        --salida pesos/red_lego
    redes deteccion evaluar --pesos pesos/red_lego/modelo.h5 --anotaciones prueba/ann \
        --imagenes prueba/img
    redes deteccion evaluar --pesos pesos/red_lego/modelo.h5 --datos lego_yolo \
        --particion val
    redes deteccion predecir --pesos pesos/red_lego/modelo.h5 foto1.jpg foto2.jpg
    redes deteccion predecir --pesos pesos/red_lego/modelo.h5 --video calle.mp4
    redes deteccion predecir --pesos pesos/red_lego/modelo.h5 --camara 0
    redes deteccion exportar --pesos pesos/red_lego/modelo.h5 --formato openvino \
        --int8 --calibracion lego/images --salida exportado/
    redes deteccion revisar --anotaciones lego/annotations --imagenes lego/images \
        --max-cajas 5 --salida revision/

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
from cli.comun import add_output_argument
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
from nucleo.vocabulario import DATASET_FORMATS
from nucleo.vocabulario import DATASET_SPLITS
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

    dataset = data_kwargs(args)
    check_outputs(files=[("--json", args.json)])
    return report(anchors_from_voc(labels=args.etiquetas, k=args.k, image_size=args.tamanio,
                                    seed=args.semilla, **dataset), args)


def _cmd_review(args) -> int:
    from tareas.deteccion.revisar import review_dataset

    dataset = data_kwargs(args)
    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    return report(review_dataset(labels=args.etiquetas, input_size=args.tamanio,
                                 max_boxes=args.max_cajas, out_dir=args.salida,
                                 anchors=_anchors_argument(args.anclas) if args.anclas
                                 else "voc", seed=args.semilla, **dataset), args)


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

    config = training_config(DetectionConfig, args, anchors=_anchors_argument(args.anclas)
                             if args.anclas else None)
    # Con --config, los datos que se dan en la línea sustituyen a los del archivo.
    pair_given = args.anotaciones is not None or args.imagenes is not None
    if args.datos is not None and not pair_given:
        config = config.replace(ann_dir=None, img_dir=None)
    elif pair_given and args.datos is None:
        config = config.replace(data_dir=None)
    return config


def _cmd_train(args) -> int:
    from tareas.deteccion.entrenar import train_yolo

    config = _train_config(args)
    check_outputs(files=[("--pesos", config.weights_path), ("--json", args.json)],
                  folders=[("--salida", run_dir_of(config))])
    return report(train_with(train_yolo, config, args), args)


def _cmd_evaluate(args) -> int:
    from tareas.deteccion.evaluar import evaluate_yolo

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    return report(evaluate_yolo(args.pesos, out_dir=args.salida, **data_kwargs(args),
                                 obj_threshold=args.umbral, nms_threshold=args.nms,
                                 matrix_threshold=args.umbral_matriz,
                                 matrix_iou=args.iou_matriz, engine=args.motor), args)


def _cmd_predict(args) -> int:
    from cli.comun import given
    from nucleo.errores import ArgumentError
    from tareas.deteccion import predecir as deteccion

    sources = [bool(args.imagenes), args.video is not None, args.camara is not None]
    if sum(sources) != 1:
        raise ArgumentError("redes deteccion predecir: indique imágenes, --video o --camara "
                            "(una sola de las tres).")
    tracks = _tracks_of(args)
    output = args.grabar if args.camara is not None else None
    if args.video is not None:
        output = deteccion.detected_path(args.video, args.salida, suffix=".mp4")
    check_outputs(files=[("--json", args.json),
                         ("--video" if args.video is not None else "--grabar", output),
                         ("--seguir", tracks)],
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
                                      max_frames=args.max_fotogramas, tracks=tracks,
                                      tracking=given(line=args.linea,
                                                     new_track_threshold=args.umbral_nuevo),
                                      **thresholds)
    finally:
        if window is not None:
            window.close()
    return report(result, args)


def _tracks_of(args):
    """Con ``--seguir``, el CSV de seguimiento (``VIDEO_seguimiento.csv``) tras comprobar
    que hay ``--video``, que está el extra ``seguimiento`` y la ``--linea``; si no, ``None``."""
    from nucleo.errores import ArgumentError

    if not args.seguir:
        for flag, value in (("--linea", args.linea), ("--umbral-nuevo", args.umbral_nuevo)):
            if value is not None:
                raise ArgumentError(f"redes deteccion predecir: {flag} es del seguimiento; "
                                    "úsela con --video ... --seguir.")
        return None
    if args.video is None:
        raise ArgumentError("redes deteccion predecir: --seguir sigue los objetos de un "
                            "vídeo; indique --video VIDEO.")
    from tareas.deteccion.seguimiento import check_line, require_tracking, tracks_path

    require_tracking()
    if args.linea is not None:
        check_line(args.linea)
    return tracks_path(args.video, args.salida)


def _add_anchors(modes) -> None:
    parser = modes.add_parser(
        "anclas", help="calcula las anclas por k-means (distancia 1 − IoU) de un conjunto",
        description="Calcula las anclas de YOLOv2 con k-means sobre el ancho y el alto de "
                    "las cajas anotadas (distancia 1 − IoU) y muestra la IoU media.")
    _add_data_arguments(parser)
    parser.add_argument("--k", type=positive_int, default=5,
                        help="número de anclas (por defecto 5)")
    parser.add_argument("--tamanio", type=input_size, default=416,
                        help="tamaño de entrada de la red, múltiplo de 32 (por defecto 416)")
    add_seed_argument(parser)
    add_json_argument(parser, "las anclas")
    parser.set_defaults(func=_cmd_anchors)


def _add_review(modes) -> None:
    parser = modes.add_parser(
        "revisar", help="revisa un conjunto antes de entrenar: clases, cajas, anclas y "
                        "problemas de las anotaciones",
        description="Cuenta imágenes, cajas y clases; cajas por imagen y las que dejaría "
                    "fuera --max-cajas; la mejor IoU de cada caja con las anclas a --tamanio; "
                    "cajas fuera de la imagen, de área cero o duplicadas, anotaciones sin "
                    "imagen, imágenes sin anotación y dañadas. Con --salida dibuja una "
                    "muestra de imágenes con sus cajas y la distribución de las cajas.")
    _add_data_arguments(parser)
    parser.add_argument("--tamanio", type=input_size, default=416,
                        help="tamaño de entrada de la red, múltiplo de 32 (por defecto 416)")
    parser.add_argument("--anclas", nargs="+", metavar="ANCLA",
                        help="«voc» (por defecto), «auto» (k-means de las cajas) o la lista "
                             "plana ancho alto ... en celdas")
    parser.add_argument("--max-cajas", type=positive_int,
                        help="cuenta las cajas que no cabrían en el búfer de la pérdida con "
                             "este --max-cajas de entrenar (por defecto no se comprueba)")
    add_seed_argument(parser, help="semilla de la muestra dibujada y de --anclas auto "
                                   "(por defecto 0)")
    add_output_argument(parser, "carpeta de revision_muestra.png y revision_cajas.png (por "
                                "defecto no se dibujan)")
    add_json_argument(parser, "el informe completo (cada caso con su archivo y motivo)")
    parser.set_defaults(func=_cmd_review)


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
        "entrenar", help="entrena YOLOv2 sobre un conjunto VOC, YOLO o COCO (los parámetros "
                         "del artículo)",
        description="Entrena YOLOv2 (Darknet-19 o tiny) sobre un conjunto Pascal-VOC, "
                    "YOLO-txt o COCO: 80/20 "
                    "entrenamiento/validación, calentamiento, parada temprana y mejor modelo "
                    "según la pérdida de validación, registro CSV y curva de pérdida, y al "
                    "final el mAP por clase de validación (IoU 0.5 y 0.3). El modelo queda en "
                    "SALIDA/modelo.h5.")
    _add_data_arguments(parser)
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
        "evaluar", help="mAP (VOC y COCO), curvas de precisión-exhaustividad y matriz de "
                        "confusión por clase",
        description="Calcula el mAP de un modelo de «redes deteccion entrenar» sobre "
                    "cualquier conjunto anotado, VOC, YOLO o COCO (VOC a IoU 0.5 y 0.3, y "
                    "las métricas de "
                    "COCO: mAP@0.5:0.95, AP50, AP75, AP por tamaño y AR@100), dibuja la "
                    "curva precisión-exhaustividad de cada clase y la matriz de confusión "
                    "(matriz_confusion.png) y cuenta aciertos, falsos positivos y fallos "
                    "por clase.")
    _add_data_arguments(parser, labels=False)
    _add_threshold_arguments(parser, 0.01)
    # 0.3 y 0.5: DRAW_THRESHOLD y MATRIX_IOU de tareas.deteccion.evaluar (sin importarlo
    # aquí: la ayuda no carga numpy ni Keras).
    parser.add_argument("--umbral-matriz", type=probability, default=0.3, metavar="UMBRAL",
                        help="puntuación mínima de las detecciones que cuentan en la matriz "
                             "de confusión y en la precisión, exhaustividad y F1 por clase: "
                             "las que se dibujan (por defecto 0.3); --umbral es el del mAP, "
                             "bajo para recorrer toda la curva")
    parser.add_argument("--iou-matriz", type=bounded_float(0.0, 1.0), default=0.5, metavar="IOU",
                        help="IoU mínima de una detección con su caja para ser un acierto en "
                             "la matriz de confusión, mayor que 0 y hasta 1 (por defecto 0.5)")
    add_inference_arguments(parser, TASK, output_help="carpeta de los PNG (por defecto la de "
                            "los pesos)", json_what="las cifras")
    parser.set_defaults(func=_cmd_evaluate)


def _add_predict(modes) -> None:
    parser = modes.add_parser(
        "predecir", help="detecta objetos en imágenes, un vídeo o la cámara",
        description="Dibuja las cajas detectadas (verdes, con etiqueta y puntuación): cada "
                    "IMAGEN → IMAGEN_detected.png; --video v.mp4 → v_detected.mp4; --camara 0 "
                    "muestra una ventana (q o Esc para salir). Con --video v.mp4 --seguir, "
                    "cada objeto lleva una identidad estable (ByteTrack) y sus cajas van "
                    "también a v_seguimiento.csv (formato MOTChallenge).")
    parser.add_argument("imagenes", nargs="*", metavar="IMAGEN", help="imágenes a procesar")
    parser.add_argument("--video", help="vídeo de entrada; escribe VIDEO_detected.mp4")
    parser.add_argument("--camara", metavar="INDICE",
                        help="cámara (0, 1...) o vídeo a mostrar en una ventana; q para salir")
    parser.add_argument("--grabar", metavar="MP4", help="con --camara, graba también un vídeo")
    parser.add_argument("--max-fotogramas", type=positive_int,
                        help="procesa como mucho N fotogramas")
    parser.add_argument("--seguir", action=NegatableFlag, default=False,
                        help="con --video, sigue los objetos (ByteTrack; extra «seguimiento»): "
                             "cada caja con su identidad y VIDEO_seguimiento.csv (por defecto "
                             "no)")
    parser.add_argument("--linea", nargs=4, type=float, metavar=("X1", "Y1", "X2", "Y2"),
                        help="con --seguir, cuenta por clase los objetos que cruzan esta línea "
                             "(píxeles): entran los que pasan a su derecha mirando de (X1, Y1) "
                             "a (X2, Y2) (hacia abajo si va de izquierda a derecha); salen los "
                             "que pasan a su izquierda")
    parser.add_argument("--umbral-nuevo", type=probability,
                        help="con --seguir, puntuación mínima para empezar a seguir un objeto "
                             "(por defecto 0.6, la de ByteTrack; bájela si su detector puntúa "
                             "bajo); las de --umbral en adelante solo continúan los ya seguidos")
    _add_threshold_arguments(parser, 0.3)
    add_inference_arguments(parser, TASK, output_help="carpeta de salida (por defecto junto a "
                            "la entrada)", json_what="las detecciones")
    parser.set_defaults(func=_cmd_predict)


def _add_data_arguments(parser: argparse.ArgumentParser, *, labels: bool = True) -> None:
    """Los datos (los comparten entrenar, evaluar, anclas y revisar): ``--datos`` (un
    conjunto en cualquier formato) o el par VOC ``--anotaciones``/``--imagenes``, con
    ``--formato-datos`` y ``--particion``; con ``labels``, también ``--etiquetas``.
    :func:`data_kwargs` los convierte en los argumentos de
    :func:`datos.conjuntos.read_dataset`."""
    group = parser.add_argument_group(
        "datos (--datos CARPETA, o --anotaciones y --imagenes; ver docs/tareas/formatos.md)")
    group.add_argument("--datos", metavar="CARPETA",
                       help="la carpeta de un conjunto Pascal-VOC, YOLO-txt (data.yaml) o "
                            "COCO (un .json), o el .json de COCO; el formato se reconoce por "
                            "el contenido")
    group.add_argument("--formato-datos", choices=DATASET_FORMATS,
                       help="formato de los datos: voc, yolo o coco (por defecto se reconoce: "
                            "data.yaml → yolo, un .json de COCO → coco, *.xml → voc)")
    group.add_argument("--particion", choices=DATASET_SPLITS,
                       help="partición del conjunto: train, val o test (las de data.yaml en "
                            "YOLO, un .json por partición en COCO, ImageSets/Main/*.txt en "
                            "VOC); por defecto todo el conjunto")
    group.add_argument("--anotaciones", metavar="CARPETA",
                       help="en lugar de --datos: la carpeta de anotaciones Pascal-VOC (*.xml, "
                            "p. ej. de labelImg), o el .json de COCO con --formato-datos coco")
    group.add_argument("--imagenes", metavar="CARPETA",
                       help="con --anotaciones: la carpeta de las imágenes")
    if labels:
        group.add_argument("--etiquetas", nargs="+", metavar="ETIQUETA",
                           help="clases a usar (por defecto todas las que aparezcan)")


def data_kwargs(args) -> dict:
    """Los argumentos de :func:`datos.conjuntos.read_dataset` que dan ``--datos``,
    ``--formato-datos``, ``--particion``, ``--anotaciones`` e ``--imagenes`` (las de
    :func:`_add_data_arguments`): ``data``, ``fmt``, ``ann_dir``, ``img_dir`` y ``split``.

    Raises:
        ArgumentError: si no se da ``--datos`` ni el par, se dan los dos o falta la mitad
            del par.
    """
    from nucleo.errores import ArgumentError

    pair = {"--anotaciones": args.anotaciones, "--imagenes": args.imagenes}
    given = [flag for flag, value in pair.items() if value is not None]
    mode = f"redes {TASK} {args.modo}" if getattr(args, "modo", None) else f"redes {TASK}"
    if args.datos is not None and given:
        raise ArgumentError(f"{mode}: indique los datos con --datos o con --anotaciones y "
                            f"--imagenes, no con los dos (se dio --datos y {given[0]}).")
    if args.datos is None and len(given) < 2:
        missing = [flag for flag in pair if flag not in given]
        raise ArgumentError(
            f"{mode}: indique los datos con --datos CARPETA (un conjunto VOC, YOLO o COCO) "
            f"o con --anotaciones CARPETA --imagenes CARPETA (Pascal-VOC); "
            f"{'falta ' + missing[0] if given else 'no se dio ninguno'}.")
    return {"data": args.datos, "fmt": args.formato_datos, "ann_dir": args.anotaciones,
            "img_dir": args.imagenes, "split": args.particion}


def add_commands(commands) -> None:
    """Añade ``redes deteccion`` y sus modos (en el orden de la ayuda)."""
    add_task(commands, TASK, "detección de objetos con YOLOv2 (conjuntos VOC, YOLO o COCO)",
             (_add_train, _add_evaluate, _add_predict, export_mode(TASK, int8=True),
              _add_anchors, _add_review))
