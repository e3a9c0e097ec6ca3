"""Órdenes ``redes yolo ...`` de detección de objetos.

Cada tarea es una función ``_add_<tarea>(tasks)`` que añade su subanalizador a
``redes yolo``; ``add_commands`` las llama en el orden de ``TASKS``. Para añadir una
tarea (entrenar, evaluar, detectar) basta con escribir su ``_add_...`` y su
``_cmd_...`` y nombrarla en ``TASKS``.
"""

from __future__ import annotations

import argparse


def _cmd_anchors(args) -> int:
    from entrenamiento.anclas import anchors_from_voc
    from entrenamiento.informes import format_table
    from entrenamiento.informes import write_json

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
    if args.json:
        write_json(args.json, result)
        print(f"json: {args.json}")
    return 0


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


def _add_voc_arguments(parser: argparse.ArgumentParser) -> None:
    """Carpeta VOC y etiquetas: las comparten todas las tareas de ``redes yolo``."""
    parser.add_argument("--anotaciones", required=True,
                        help="carpeta de anotaciones Pascal-VOC (*.xml, p. ej. de labelImg)")
    parser.add_argument("--imagenes", required=True, help="carpeta de las imágenes")
    parser.add_argument("--etiquetas", nargs="+", metavar="ETIQUETA",
                        help="clases a usar (por defecto todas las que aparezcan)")


# Tareas de ``redes yolo``, en el orden en que aparecen en la ayuda.
TASKS = (_add_anchors,)


def add_commands(commands) -> None:
    """Añade ``redes yolo`` y sus tareas al analizador de ``redes``."""
    yolo = commands.add_parser("yolo", help="detección de objetos con YOLOv2 (carpetas VOC)")
    tasks = yolo.add_subparsers(dest="tarea", metavar="TAREA", required=True)
    for add in TASKS:
        add(tasks)
