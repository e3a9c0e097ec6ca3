"""Orden ``redes pesos convertir``: pesos preentrenados de otros marcos a un ``.h5`` nuestro.

Ejemplo::

    redes pesos convertir mobilenet_v2-b0353104.pth --salida pesos/mobilenetv2_imagenet.h5
"""

from __future__ import annotations

from cli.comun import add_command
from cli.comun import add_json_argument
from cli.comun import bounded_float
from cli.comun import check_outputs

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


def add_commands(commands) -> None:
    """Añade ``redes pesos``."""
    add_command(commands, "pesos", "pesos preentrenados de otros marcos", (_add_convert,))
