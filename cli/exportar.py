"""El modo ``exportar`` de todas las tareas: ``redes TAREA exportar``.

Exporta un modelo de la tarea a SavedModel, ONNX, OpenVINO o LiteRT
(:func:`inferencia.exportacion.export_weights`) y comprueba antes que el modelo sea de
esa tarea. ``--int8``, ``--calibracion`` y ``--muestras`` solo existen en
``redes deteccion exportar``.
"""

from __future__ import annotations

from cli.argparse_es import NegatableFlag
from cli.comun import Mode
from cli.comun import add_json_argument
from cli.comun import check_outputs
from cli.comun import positive_int
from cli.comun import report
from nucleo.vocabulario import EXPORT_FORMATS


def task_of_model(weights) -> str | None:
    """La tarea de ``redes`` a la que pertenece un modelo guardado (``.h5`` o exportación),
    según la familia de su constructor; ``None`` si no es de ninguna.

    Raises:
        ModelFileError: el archivo no existe o no es un modelo de ``modelos.save``.
    """
    import modelos  # noqa: F401  (registra las familias de los constructores)
    from inferencia.motores import source_info
    from modelos.registro import family_of

    family = family_of(source_info(weights)["builder"])
    return family.task if family else None


def check_task(weights, task: str) -> None:
    """Comprueba que ``weights`` sea un modelo de ``task``.

    Raises:
        ArgumentError: es de otra tarea (la nombra) o de ninguna.
    """
    from nucleo.errores import ArgumentError

    actual = task_of_model(weights)
    if actual is None:
        raise ArgumentError(f"«{weights}» no es un modelo de ninguna tarea de redes; "
                            "expórtalo desde Python con inferencia.exportacion.export_weights.")
    if actual != task:
        raise ArgumentError(f"«{weights}» es un modelo de la tarea «{actual}», no de «{task}»: "
                            f"usa «redes {actual} exportar».")


def _cmd_export(args) -> int:
    from inferencia.exportacion import export_weights

    check_outputs(files=[("--json", args.json)], folders=[("--salida", args.salida)])
    check_task(args.pesos, args.orden)
    return report(export_weights(args.pesos, args.formato, args.salida, check=args.comprobar,
                                 int8=getattr(args, "int8", False),
                                 calibration=getattr(args, "calibracion", None),
                                 samples=getattr(args, "muestras", None)), args)


def export_mode(task: str, *, int8: bool = False) -> Mode:
    """El modo ``exportar`` de ``task`` (con ``int8``, también ``--int8 --calibracion
    --muestras``)."""

    def add(modes) -> None:
        parser = modes.add_parser(
            "exportar", help="exporta el modelo a saved_model, onnx, openvino o litert",
            description="Exporta un modelo de «redes " + task + " entrenar» a SavedModel, "
                        "ONNX, OpenVINO o LiteRT. En la carpeta de salida quedan el artefacto "
                        "y modelo.json (el constructor y lo demás que hace falta para usarlo "
                        "sin este código); --pesos de «redes " + task + " evaluar/predecir» "
                        "admite esa carpeta. onnx y openvino necesitan sus extras de pip.")
        parser.add_argument("--pesos", required=True, metavar="MODELO",
                            help=f"modelo.h5 de «redes {task} entrenar»")
        parser.add_argument("--formato", required=True, choices=EXPORT_FORMATS,
                            help="saved_model, onnx, openvino o litert")
        parser.add_argument("--salida", required=True, metavar="CARPETA",
                            help="carpeta de la exportación (una por formato)")
        if int8:
            parser.add_argument("--int8", action=NegatableFlag, default=False,
                                help="con --formato openvino: cuantiza a int8 con NNCF (más "
                                     "rápido; mida la calidad con «redes deteccion evaluar»; "
                                     "por defecto no)")
            parser.add_argument("--calibracion", metavar="CARPETA",
                                help="con --int8: fotos para calibrar (o una carpeta VOC con "
                                     "images/); las de entrenamiento sirven")
            parser.add_argument("--muestras", type=positive_int, metavar="N",
                                help="con --int8: fotos de calibración como mucho (300)")
        parser.add_argument("--comprobar", action=NegatableFlag, default=True,
                            help="compara la exportación con Keras al terminar (por defecto "
                                 "sí)")
        add_json_argument(parser, "la descripción y la comprobación")
        parser.set_defaults(func=_cmd_export, resumable=False)

    return add
