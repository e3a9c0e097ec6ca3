"""Orden ``redes datos convertir``: un conjunto de detección a otro formato.

Ejemplos::

    redes datos convertir figuras --a yolo --salida figuras_yolo
    redes datos convertir coco/annotations/instances_val2017.json --a voc --salida voc_val
    redes datos convertir --anotaciones anotaciones --imagenes fotos --a coco --salida fotos_coco

El modo lo añade :func:`add_convert_mode` a ``redes datos`` (:mod:`cli.descargas`).
"""

from __future__ import annotations

from cli.argparse_es import NegatableFlag
from cli.comun import add_json_argument
from cli.comun import check_outputs
from nucleo.vocabulario import DATASET_FORMATS
from nucleo.vocabulario import DATASET_SPLITS


def _source(args) -> dict:
    """El origen como argumentos de :func:`datos.conjuntos.read_dataset`.

    Raises:
        ArgumentError: si no se da ORIGEN ni el par, se dan los dos o falta la mitad del par.
    """
    from nucleo.errores import ArgumentError

    pair = [flag for flag, value in (("--anotaciones", args.anotaciones),
                                     ("--imagenes", args.imagenes)) if value is not None]
    if args.origen is not None and pair:
        raise ArgumentError(f"redes datos convertir: indique el origen con ORIGEN o con "
                            f"--anotaciones y --imagenes, no con los dos (se dio {pair[0]}).")
    if args.origen is None and len(pair) < 2:
        raise ArgumentError("redes datos convertir: indique el origen: la carpeta de un "
                            "conjunto VOC, YOLO o COCO (o su .json), o --anotaciones CARPETA "
                            "--imagenes CARPETA.")
    return {"data": args.origen, "fmt": args.formato_datos, "ann_dir": args.anotaciones,
            "img_dir": args.imagenes, "split": args.particion}


def _cmd_convert(args) -> int:
    from datos.conjuntos_conversion import check_conversion_output
    from datos.conjuntos_conversion import convert_dataset
    from informes.resultado import Table
    from informes.resultado import TaskResult
    from informes.resultado import report

    source = _source(args)
    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    check_conversion_output(args.salida, source["data"], ann_dir=source["ann_dir"],
                            img_dir=source["img_dir"])
    summary = convert_dataset(args.a, args.salida, labels=args.etiquetas,
                              link=args.enlazar, **source)
    skipped = (f"no se escribió: {summary['omitidas']} anotaciones omitidas, "
               f"{summary['sin_objetos']} imágenes sin objetos, {summary['sin_anotacion']} "
               f"imágenes sin anotación y {summary['objetos_descartados']} objetos "
               f"descartados; {summary['cajas_recortadas']} cajas recortadas al borde")
    splits = ", ".join(summary["particiones"]) or "sin particiones"
    result = TaskResult(
        title=f"Conjunto {summary['formato_origen']} → {summary['formato']} ({splits})",
        metrics={"imagenes": summary["imagenes"], "cajas": summary["cajas"]},
        files={"conjunto": summary["salida"]},
        data={"conversion": summary},
        tables=[Table(f"Cajas por clase ({len(summary['clases'])} clases)",
                      ("Clase", "Cajas"), list(summary["clases"].items()))],
        text=[f"imágenes enlazadas: {summary['enlazadas']}, copiadas: "
              f"{summary['copiadas']}", skipped + " (el motivo de cada cosa, en el registro)."])
    report(result, args.json)
    return 0


def add_convert_mode(modes) -> None:
    """Añade ``redes datos convertir``."""
    parser = modes.add_parser(
        "convertir", help="convierte un conjunto de detección entre Pascal-VOC, YOLO-txt y "
                          "COCO",
        description="Lee un conjunto de detección (Pascal-VOC, YOLO-txt o COCO; el formato se "
                    "reconoce por el contenido) con todas las comprobaciones de "
                    "entrenar y lo escribe en otro formato en la carpeta nueva --salida, "
                    "partición a partición: enlaza (o copia) las imágenes y escribe las "
                    "anotaciones. Las imágenes dañadas, sin anotación o sin objetos no se "
                    "copian; el resumen las cuenta.")
    parser.add_argument("origen", nargs="?", metavar="ORIGEN",
                        help="la carpeta del conjunto (o el .json de COCO, o el data.yaml de "
                             "YOLO)")
    parser.add_argument("--a", required=True, choices=DATASET_FORMATS, metavar="FORMATO",
                        help="formato de destino: voc, yolo o coco")
    parser.add_argument("--salida", metavar="CARPETA", required=True,
                        help="carpeta nueva (o vacía) donde escribir el conjunto")
    parser.add_argument("--formato-datos", choices=DATASET_FORMATS,
                        help="formato del origen: voc, yolo o coco (por defecto se reconoce: "
                             "data.yaml → yolo, un .json de COCO → coco, *.xml → voc)")
    parser.add_argument("--particion", choices=DATASET_SPLITS,
                        help="convierte solo esta partición del origen, sin subcarpetas (por "
                             "defecto todas, cada una en la suya)")
    parser.add_argument("--anotaciones", metavar="CARPETA",
                        help="en lugar de ORIGEN: la carpeta de anotaciones Pascal-VOC (o el "
                             ".json de COCO con --formato-datos coco)")
    parser.add_argument("--imagenes", metavar="CARPETA",
                        help="con --anotaciones: la carpeta de las imágenes")
    parser.add_argument("--etiquetas", nargs="+", metavar="ETIQUETA",
                        help="clases a convertir (por defecto todas)")
    parser.add_argument("--enlazar", action=NegatableFlag, default=True,
                        help="enlaza las imágenes (enlace duro: no ocupa más disco) cuando se "
                             "puede, o las copia (por defecto sí; --sin-enlazar siempre copia)")
    add_json_argument(parser, "el resumen")
    parser.set_defaults(func=_cmd_convert)
