"""Órdenes ``redes yolo anclas / entrenar / evaluar / detectar`` de detección de objetos.

Ejemplos (los parámetros del artículo, por nombre)::

    redes yolo entrenar --anotaciones lego/annotations --imagenes lego/images \
        --etiquetas lego --tamanio 416 --max-cajas 5 --epocas 7 --repeticiones 5 \
        --pesos pesos/red_lego.h5
    redes yolo evaluar --pesos pesos/red_lego.h5 --anotaciones prueba/ann --imagenes prueba/img
    redes yolo detectar --pesos pesos/red_lego.h5 foto1.jpg foto2.jpg
    redes yolo detectar --pesos pesos/red_lego.h5 --video calle.mp4
    redes yolo detectar --pesos pesos/red_lego.h5 --camara 0

Cada tarea es una función ``_add_<tarea>(tasks)`` que añade su subanalizador a
``redes yolo``; ``add_commands`` las llama en el orden de ``TASKS``. Para añadir una
tarea (entrenar, evaluar, detectar) basta con escribir su ``_add_...`` y su
``_cmd_...`` y nombrarla en ``TASKS``.
"""

from __future__ import annotations

import argparse

from entrenamiento.cli import add_training_arguments
from entrenamiento.cli import print_result


def _cmd_anchors(args) -> int:
    from entrenamiento.anclas import anchors_from_voc
    from entrenamiento.informes import format_table

    result = anchors_from_voc(args.anotaciones, args.imagenes, args.etiquetas, k=args.k,
                              image_size=args.tamanio, seed=args.semilla)
    cell_h = result["tamanio"][0] / result["rejilla"][0]
    cell_w = result["tamanio"][1] / result["rejilla"][1]
    rows = [(f"{i + 1}", f"{w:.4f} × {h:.4f}  ({w * cell_w:.1f} × {h * cell_h:.1f} px)")
            for i, (w, h) in enumerate(result["anclas"])]
    print()
    grid = "×".join(str(v) for v in result["rejilla"])
    print(format_table(rows, title=f"Anclas (k={args.k}, rejilla {grid})",
                       headers=("Ancla", "Ancho × alto en celdas (en píxeles)")))
    print()
    print(format_table({
        "IoU media": result["iou_media"],
        "Cajas": result["cajas"],
        "Imágenes": result["imagenes"],
    }, title="Resumen"))
    print()
    print("anclas: " + ", ".join(f"{v:g}" for v in result["anclas_planas"]))
    return _json(args, result)


def _add_anchors(tasks) -> None:
    parser = tasks.add_parser(
        "anclas", help="calcula las anclas por k-means (distancia 1 − IoU) de una carpeta VOC",
        description="Calcula las anclas de YOLOv2 con k-means sobre el ancho y el alto de "
                    "las cajas anotadas (distancia 1 − IoU) y muestra la IoU media.")
    _add_voc_arguments(parser)
    parser.add_argument("--k", type=int, default=5, help="número de anclas (por defecto 5)")
    parser.add_argument("--tamanio", type=int, default=416,
                        help="tamaño de entrada de la red, múltiplo de 32 (por defecto 416)")
    parser.add_argument("--semilla", type=int, default=0, help="semilla (por defecto 0)")
    parser.add_argument("--json", metavar="RUTA", help="escribe también las anclas en JSON")
    parser.set_defaults(func=_cmd_anchors)


def _json(args, result) -> int:
    """Con ``--json RUTA`` escribe ``result`` en JSON; devuelve el código de salida 0."""
    from entrenamiento.informes import write_json

    if args.json:
        write_json(args.json, result)
        print(f"json: {args.json}")
    return 0


def _anchors_argument(values: list[str]):
    """``--anclas``: «voc», «auto» o una lista plana de números."""
    from datos.errores import ArgumentError

    if len(values) == 1 and values[0] in ("voc", "auto"):
        return values[0]
    try:
        return [float(v) for v in values]
    except ValueError:
        raise ArgumentError(
            f"--anclas: se esperaba «voc», «auto» o una lista de números (ancho alto ancho "
            f"alto ...); recibido {' '.join(values)!r}.") from None


def _print_ap(result: dict) -> None:
    from entrenamiento.informes import format_columns

    rows = [(label, f"{ap['0.5']:.4f}", f"{ap['0.3']:.4f}")
            for label, ap in result["ap_por_clase"].items()]
    print()
    print(format_columns(("Clase", "AP (IoU 0.5)", "AP (IoU 0.3)"), rows, "AP por clase"))


def _print_files(files: dict) -> None:
    for name, value in files.items():
        for path in value if isinstance(value, list) else [value]:
            print(f"{name}: {path}")


def _cmd_train(args) -> int:
    from pathlib import Path

    from entrenamiento.yolo import train_yolo

    run_dir = args.salida or (str(Path(args.pesos).with_suffix("")) if args.pesos
                              else "pesos/yolo")
    result = train_yolo(
        args.anotaciones, args.imagenes, args.etiquetas, run_dir=run_dir,
        weights_path=args.pesos, input_size=args.tamanio, max_boxes=args.max_cajas,
        epochs=args.epocas, train_times=args.repeticiones, batch_size=args.lote,
        anchors=_anchors_argument(args.anclas), backbone=args.backbone,
        width_multiplier=args.ancho,
        warmup_epochs=args.calentamiento, learning_rate=args.tasa, cosine=args.coseno,
        patience=args.paciencia or None, augment=not args.sin_aumento,
        precision=args.precision, validation=args.validacion, workers=args.trabajadores,
        max_seconds=None if args.minutos is None else args.minutos * 60, seed=args.semilla)
    _print_ap(result)
    print_result("YOLOv2: resultado en validación", {"metricas": result["metricas"]}, None)
    print("anclas: " + ", ".join(f"{v:g}" for pair in result["anclas"] for v in pair))
    _print_files(result["archivos"])
    return _json(args, result)


def _cmd_evaluate(args) -> int:
    from entrenamiento.yolo import evaluate_yolo

    result = evaluate_yolo(args.pesos, args.anotaciones, args.imagenes, args.salida,
                           obj_threshold=args.umbral, nms_threshold=args.nms)
    _print_ap(result)
    print_result(f"YOLOv2: {result['imagenes']} imágenes, {result['cajas']} cajas",
                 {"metricas": result["metricas"]}, None)
    _print_files(result["archivos"])
    return _json(args, result)


def _cmd_detect(args) -> int:
    import modelos
    from datos.errores import ArgumentError
    from entrenamiento import deteccion

    sources = [bool(args.imagenes), args.video is not None, args.camara is not None]
    if sum(sources) != 1:
        raise ArgumentError("redes yolo detectar: indique imágenes, --video o --camara "
                            "(una sola de las tres).")
    model = modelos.load(args.pesos)
    thresholds = {"obj_threshold": args.umbral, "nms_threshold": args.nms}
    if args.imagenes:
        result = deteccion.detect_images(model, args.imagenes, out_dir=args.salida,
                                         **thresholds)
        for item in result:
            found = item["detecciones"]
            print(f"{item['imagen']}: {len(found)} objeto{'' if len(found) == 1 else 's'} "
                  f"→ {item['salida']}")
            for det in found:
                box = ", ".join(f"{v:.0f}" for v in det["caja"])
                print(f"  {det['etiqueta']} {det['puntuacion']:.2f} [{box}]")
    else:
        window = None
        output = None
        if args.video is not None:
            output = deteccion.detected_path(args.video, args.salida, suffix=".mp4")
        else:
            window = deteccion.FrameWindow()
            output = args.grabar
        try:
            result = deteccion.run_stream(model, args.video if args.video is not None
                                          else args.camara, output=output, window=window,
                                          max_frames=args.max_fotogramas, **thresholds)
        finally:
            if window is not None:
                window.close()
        end = " (interrumpido con q)" if result["interrumpido"] else ""
        print(f"{result['fotogramas']} fotogramas, {result['detecciones']} detecciones{end}")
        if result["salida"]:
            print(f"video: {result['salida']}")
    return _json(args, result)


def _add_train(tasks) -> None:
    parser = tasks.add_parser(
        "entrenar", help="entrena YOLOv2 sobre una carpeta VOC (los parámetros del artículo)",
        description="Entrena YOLOv2 (Darknet-19 o tiny) sobre una carpeta Pascal-VOC: 80/20 "
                    "entrenamiento/validación, calentamiento, parada temprana y mejor modelo "
                    "según la pérdida de validación, registro CSV y curva de pérdida, y al "
                    "final el mAP por clase de validación (IoU 0.5 y 0.3).")
    _add_voc_arguments(parser)
    parser.add_argument("--tamanio", type=int, default=416,
                        help="tamaño de entrada, múltiplo de 32 (por defecto 416, el del blog)")
    parser.add_argument("--max-cajas", type=int, default=5,
                        help="cajas por imagen en el objetivo (por defecto 5, el del blog)")
    parser.add_argument("--epocas", type=int, default=7, help="épocas (por defecto 7)")
    parser.add_argument("--repeticiones", type=int, default=5,
                        help="veces que se ve cada imagen por época, train_times (por defecto 5)")
    parser.add_argument("--lote", type=int, default=8, help="imágenes por lote (por defecto 8)")
    parser.add_argument("--pesos", help="archivo del mejor modelo, saved_weights_name "
                        "(p. ej. pesos/red_lego.h5; por defecto SALIDA/modelo.h5)")
    parser.add_argument("--anclas", nargs="+", default=["voc"], metavar="ANCLA",
                        help="«voc» (por defecto), «auto» (k-means de las cajas) o la lista "
                             "plana ancho alto ... en celdas")
    parser.add_argument("--backbone", choices=("darknet19", "tiny"), default="darknet19",
                        help="extractor: darknet19 (YOLOv2 completo) o tiny")
    parser.add_argument("--ancho", type=float, default=1.0,
                        help="multiplica los filtros del extractor (1.0 = darknet; 0.25 es "
                             "~16 veces más barato)")
    parser.add_argument("--calentamiento", type=int, default=3,
                        help="épocas de calentamiento de la pérdida (por defecto 3)")
    parser.add_argument("--tasa", type=float, default=1e-4,
                        help="tasa de aprendizaje de Adam (por defecto 1e-4; desde cero, 1e-3)")
    parser.add_argument("--coseno", action="store_true",
                        help="tasa en coseno hasta el 1 %% al final (de las épocas o de "
                             "--minutos); por defecto constante, como en el blog")
    parser.add_argument("--paciencia", type=int, default=3,
                        help="parada temprana tras N épocas sin mejora (0: sin parada)")
    parser.add_argument("--validacion", type=float, default=0.2,
                        help="fracción de validación (por defecto 0.2)")
    parser.add_argument("--sin-aumento", action="store_true", help="sin aumento de datos")
    parser.add_argument("--trabajadores", type=int, default=1,
                        help="hilos que preparan los lotes (por defecto 1)")
    parser.add_argument("--minutos", type=float,
                        help="tope de tiempo de entrenamiento en minutos")
    parser.add_argument("--semilla", type=int, default=0, help="semilla (por defecto 0)")
    parser.add_argument("--salida", help="carpeta del registro, las curvas y el respaldo "
                        "(por defecto, la ruta de --pesos sin extensión, o pesos/yolo)")
    parser.add_argument("--json", metavar="RUTA", help="escribe también el resumen en JSON")
    add_training_arguments(parser)
    parser.set_defaults(func=_cmd_train)


def _add_threshold_arguments(parser: argparse.ArgumentParser, default: float) -> None:
    parser.add_argument("--umbral", type=float, default=default,
                        help=f"puntuación mínima de una detección (por defecto {default:g})")
    parser.add_argument("--nms", type=float, default=0.3,
                        help="IoU de supresión de no máximos (por defecto 0.3)")


def _add_evaluate(tasks) -> None:
    parser = tasks.add_parser(
        "evaluar", help="mAP (IoU 0.5 y 0.3) y curvas de precisión-exhaustividad por clase",
        description="Calcula el mAP de un modelo de «redes yolo entrenar» sobre cualquier "
                    "carpeta VOC anotada y dibuja la curva precisión-exhaustividad de cada clase.")
    parser.add_argument("--pesos", required=True, help="modelo .h5 de «redes yolo entrenar»")
    parser.add_argument("--anotaciones", required=True, help="carpeta de anotaciones VOC")
    parser.add_argument("--imagenes", required=True, help="carpeta de las imágenes")
    parser.add_argument("--salida", help="carpeta de los PNG (por defecto la de los pesos)")
    parser.add_argument("--json", metavar="RUTA", help="escribe también las cifras en JSON")
    _add_threshold_arguments(parser, 0.01)
    parser.set_defaults(func=_cmd_evaluate)


def _add_detect(tasks) -> None:
    parser = tasks.add_parser(
        "detectar", help="detecta objetos en imágenes, un vídeo o la cámara",
        description="Dibuja las cajas detectadas (verdes, con etiqueta y puntuación): cada "
                    "IMAGEN → IMAGEN_detected.png; --video v.mp4 → v_detected.mp4; --camara 0 "
                    "muestra una ventana (q para salir).")
    parser.add_argument("--pesos", required=True, help="modelo .h5 de «redes yolo entrenar»")
    parser.add_argument("imagenes", nargs="*", metavar="IMAGEN", help="imágenes a procesar")
    parser.add_argument("--video", help="vídeo de entrada; escribe VIDEO_detected.mp4")
    parser.add_argument("--camara", metavar="INDICE",
                        help="cámara (0, 1...) o vídeo a mostrar en una ventana; q para salir")
    parser.add_argument("--grabar", metavar="MP4", help="con --camara, graba también un vídeo")
    parser.add_argument("--max-fotogramas", type=int, help="procesa como mucho N fotogramas")
    parser.add_argument("--salida", help="carpeta de salida (por defecto junto a la entrada)")
    parser.add_argument("--json", metavar="RUTA", help="escribe también las detecciones en JSON")
    _add_threshold_arguments(parser, 0.3)
    parser.set_defaults(func=_cmd_detect)


def _add_voc_arguments(parser: argparse.ArgumentParser) -> None:
    """Carpeta VOC y etiquetas: las comparten todas las tareas de ``redes yolo``."""
    parser.add_argument("--anotaciones", required=True,
                        help="carpeta de anotaciones Pascal-VOC (*.xml, p. ej. de labelImg)")
    parser.add_argument("--imagenes", required=True, help="carpeta de las imágenes")
    parser.add_argument("--etiquetas", nargs="+", metavar="ETIQUETA",
                        help="clases a usar (por defecto todas las que aparezcan)")


# Tareas de ``redes yolo``, en el orden en que aparecen en la ayuda.
TASKS = (_add_anchors, _add_train, _add_evaluate, _add_detect)


def add_commands(commands) -> None:
    """Añade ``redes yolo`` y sus tareas al analizador de ``redes``."""
    yolo = commands.add_parser("yolo", help="detección de objetos con YOLOv2 (carpetas VOC)")
    tasks = yolo.add_subparsers(dest="tarea", metavar="TAREA", required=True)
    for add in TASKS:
        add(tasks)
