"""Orden ``redes datos descargar``: los datos públicos de los posts del blog.

Ejemplo::

    redes datos descargar ventas --destino datos_blog/
"""

from __future__ import annotations

from cli.comun import add_family
from cli.comun import add_json_argument
from cli.comun import check_outputs
from nucleo.vocabulario import DATASETS


def _cmd_download(args) -> int:
    from datos.descargas import DATASETS as REMOTE
    from datos.descargas import destination_path
    from datos.descargas import download_dataset
    from datos.descargas import sha256_of
    from informes.resultado import TaskResult
    from informes.resultado import report

    check_outputs(files=[("--destino", destination_path(args.conjunto, args.destino)),
                         ("--json", args.json)])
    path = download_dataset(args.conjunto, args.destino)
    report(TaskResult(title=f"Datos «{args.conjunto}»",
                      metrics={"conjunto": args.conjunto, "sha256": sha256_of(path)},
                      files={"datos": path},
                      data={"descripcion": REMOTE[args.conjunto].description}), args.json)
    return 0


def _add_download(tasks) -> None:
    parser = tasks.add_parser("descargar",
                              help="descarga (solo cuando se pide) y comprueba el sha256")
    parser.add_argument("conjunto", choices=DATASETS, help="conjunto a descargar")
    parser.add_argument("--destino", help="archivo o carpeta de destino "
                        "(por defecto datos_descargados/<conjunto>/)")
    add_json_argument(parser)
    parser.set_defaults(func=_cmd_download)


def add_commands(commands) -> None:
    """Añade ``redes datos``."""
    add_family(commands, "datos", "datos públicos de los posts del blog",
               tasks=(_add_download,))
