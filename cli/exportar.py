"""Orden ``redes exportar``: un modelo guardado a SavedModel, ONNX, OpenVINO o LiteRT."""

from __future__ import annotations

from cli.comun import add_family
from cli.comun import add_json_argument
from cli.comun import check_outputs
from nucleo.vocabulario import EXPORT_FORMATS



def _cmd_export(args) -> int:
    from inferencia.exportacion import export_weights
    from informes.resultado import report

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    report(export_weights(args.pesos, args.formato, args.salida, check=args.comprobar,
                          int8=args.int8, calibration=args.calibracion,
                          samples=args.muestras), args.json)
    return 0


def add_commands(commands) -> None:
    """Añade ``redes exportar``."""
    parser = add_family(
        commands, "exportar", "exporta un modelo .h5 a saved_model, onnx, openvino o litert",
        description="Exporta un modelo guardado (cualquier constructor registrado: YOLO, "
                    "clasificadores, ventas, Transformer) a SavedModel, ONNX, OpenVINO o "
                    "LiteRT. En la carpeta de salida quedan el artefacto y modelo.json (el "
                    "constructor, las etiquetas, las anclas, el tamaño de entrada, el "
                    "escalado y lo demás que hace falta para usarlo sin este código). "
                    "--pesos de «redes ... detectar/predecir/pronosticar/traducir» admite "
                    "esa carpeta. onnx y openvino necesitan sus extras de pip.")
    parser.add_argument("--pesos", required=True, help="modelo .h5 de modelos.save / «redes "
                        "... entrenar»")
    parser.add_argument("--formato", required=True, choices=EXPORT_FORMATS,
                        help="saved_model, onnx, openvino o litert")
    parser.add_argument("--salida", required=True, metavar="CARPETA",
                        help="carpeta de la exportación (una por formato)")
    parser.add_argument("--int8", action="store_true",
                        help="solo YOLO con --formato openvino: cuantiza a int8 con NNCF "
                             "(más rápido; mida la calidad con «redes yolo evaluar»)")
    parser.add_argument("--calibracion", metavar="CARPETA",
                        help="con --int8: fotos para calibrar (o una carpeta VOC con "
                             "images/); las de entrenamiento sirven")
    parser.add_argument("--muestras", type=int, metavar="N",
                        help="con --int8: fotos de calibración como mucho (300)")
    parser.add_argument("--sin-comprobar", dest="comprobar", action="store_false",
                        help="no comparar la exportación con Keras al terminar")
    add_json_argument(parser, "la descripción y la comprobación")
    parser.set_defaults(func=_cmd_export)
