"""Orden ``redes datos``: ``descargar`` los datos públicos de los posts del blog y
``convertir`` un conjunto de detección de formato (:mod:`cli.conversion`).

Ejemplo::

    redes datos descargar ventas --salida datos_blog/
"""

from __future__ import annotations

from cli.comun import add_command
from cli.comun import add_json_argument
from cli.comun import check_outputs
from cli.conversion import add_convert_mode
from nucleo.vocabulario import DATASETS


def _cmd_download(args) -> int:
    from datos.descargas import DATASETS as REMOTE
    from datos.descargas import destination_path
    from datos.descargas import download_dataset
    from datos.descargas import sha256_of
    from informes.resultado import TaskResult
    from informes.resultado import report

    check_outputs(files=[("--salida", destination_path(args.conjunto, args.salida)),
                         ("--json", args.json)])
    path = download_dataset(args.conjunto, args.salida)
    report(TaskResult(title=f"Datos «{args.conjunto}»",
                      metrics={"conjunto": args.conjunto, "sha256": sha256_of(path)},
                      files={"datos": path},
                      data={"descripcion": REMOTE[args.conjunto].description}), args.json)
    return 0


def _add_download(modes) -> None:
    parser = modes.add_parser("descargar",
                              help="descarga los datos públicos de los posts del blog y "
                              "comprueba su sha256")
    parser.add_argument("conjunto", choices=DATASETS, help="conjunto a descargar")
    parser.add_argument("--salida", metavar="RUTA", help="archivo o carpeta de destino "
                        "(por defecto datos_descargados/<conjunto>/)")
    add_json_argument(parser)
    parser.set_defaults(func=_cmd_download)


def add_commands(commands) -> None:
    """Añade ``redes datos``."""
    add_command(commands, "datos", "datos públicos de los posts del blog y conversión de "
                "conjuntos de detección", (_add_download, add_convert_mode))
