"""Órdenes ``redes pesos convertir`` (pesos preentrenados de otros marcos a un ``.h5``
nuestro) y ``redes pesos descargar`` (el archivo de ImageNet de Keras, solo si se pide).

Ejemplo::

    redes pesos convertir mobilenet_v2-b0353104.pth --salida pesos/mobilenetv2_imagenet.h5
    redes pesos descargar mobilenetv2 --salida pesos/imagenet
"""

from __future__ import annotations

from cli.comun import add_command
from cli.comun import add_json_argument
from cli.comun import bounded_float
from cli.comun import check_outputs
from nucleo.vocabulario import PRETRAINED_DIR
from nucleo.vocabulario import PRETRAINED_DOWNLOADS

#: ``--ancho``: el multiplicador de anchura (alpha) de MobileNetV2.
width = bounded_float(0.1, 2.0, include_minimum=True)


def _cmd_convert(args) -> int:
    from informes.resultado import TaskResult
    from informes.resultado import report
    from modelos.mobilenet.conversion import convert_torchvision

    check_outputs(files=[("--salida", args.salida), ("--json", args.json)])
    info = convert_torchvision(args.archivo, args.salida, alpha=args.ancho)
    report(TaskResult(title="Pesos convertidos",
                      metrics={"arquitectura": "mobilenetv2", "ancho": args.ancho,
                               "clases": info["clases"], "capas": info["capas"],
                               "sha256_de_torchvision": info["sha256_conocido"]},
                      files={"pesos": args.salida}), args.json)
    return 0


def _add_convert(modes) -> None:
    parser = modes.add_parser(
        "convertir", help="convierte los pesos de ImageNet de la MobileNetV2 de torchvision "
        "(.pth) a un .h5 de redes",
        description="Lee un .pth de la MobileNetV2 de torchvision sin ejecutar nada "
                    "(torch.load con weights_only; extra «torch») y escribe el clasificador "
                    "de ImageNet de redes (build_mobilenetv2) con esos pesos, que "
                    "modelos.load carga y el extractor preentrenado reutiliza.")
    parser.add_argument("archivo", metavar="ARCHIVO.pth", help="state_dict de torchvision "
                        "(p. ej. mobilenet_v2-b0353104.pth)")
    parser.add_argument("--salida", required=True, metavar="ARCHIVO.h5",
                        help="el .h5 a escribir (de forma atómica)")
    parser.add_argument("--ancho", type=width, default=1.0, metavar="ALFA",
                        help="multiplicador de anchura (alpha) de la red del archivo (por "
                        "defecto 1.0)")
    add_json_argument(parser)
    parser.set_defaults(func=_cmd_convert)


def _cmd_download(args) -> int:
    from informes.resultado import TaskResult
    from informes.resultado import report
    from modelos.mobilenet.descarga import destination_path
    from modelos.mobilenet.descarga import download_weights

    check_outputs(files=[("--salida", destination_path(args.nombre, args.salida)),
                         ("--json", args.json)])
    info = download_weights(args.nombre, args.salida, url=args.url, sha256=args.sha256)
    report(TaskResult(title="Pesos descargados",
                      metrics={"pesos": args.nombre, "bytes": info["bytes"],
                               "sha256": info["sha256"],
                               "sha256_comprobado": info["sha256_comprobado"],
                               "ya_estaba": info["ya_estaba"]},
                      files={"pesos": info["archivo"]},
                      text=[f"Úselo con --backbone mobilenetv2 --backbone-pesos "
                            f"{info['archivo']}"]), args.json)
    return 0


def _add_download(modes) -> None:
    parser = modes.add_parser(
        "descargar", help="descarga, solo si se pide, los pesos de ImageNet de la "
        "MobileNetV2 de keras.applications",
        description="Descarga el archivo de ImageNet sin cabeza de "
                    "keras.applications.MobileNetV2, lo comprueba (tamaño, sha256 si se da "
                    "o se conoce, y que se lee como una MobileNetV2) y solo entonces lo deja "
                    "en su sitio (escritura atómica). Nada del proyecto descarga por su "
                    "cuenta.")
    parser.add_argument("nombre", choices=PRETRAINED_DOWNLOADS, help="los pesos a descargar")
    parser.add_argument("--salida", metavar="CARPETA",
                        help=f"carpeta donde dejarlos (por defecto {PRETRAINED_DIR})")
    parser.add_argument("--url", help="otra dirección (un espejo); por defecto la de Keras")
    parser.add_argument("--sha256", metavar="HEX",
                        help="la suma sha256 esperada (Keras no la publica: el resumen da la "
                             "calculada para fijarla)")
    add_json_argument(parser)
    parser.set_defaults(func=_cmd_download)


def add_commands(commands) -> None:
    """Añade ``redes pesos``."""
    add_command(commands, "pesos", "pesos preentrenados de otros marcos",
                (_add_convert, _add_download))
