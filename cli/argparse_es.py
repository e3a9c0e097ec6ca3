"""Traducción al castellano de los textos propios de ``argparse``.

``argparse`` envuelve sus mensajes en ``gettext`` (nombres ``_`` y ``ngettext`` del
propio módulo, consultados en cada llamada), así que basta con sustituir esas dos
funciones por una tabla: la ayuda y los errores de ``redes`` salen en castellano.
"""

from __future__ import annotations

import argparse

_SPANISH = {
    "usage: ": "uso: ",
    "positional arguments": "argumentos",
    "options": "opciones",
    "optional arguments": "opciones",
    "show this help message and exit": "muestra esta ayuda y termina",
    "%(prog)s: error: %(message)s\n": "%(prog)s: error: %(message)s\n",
    "the following arguments are required: %s": "faltan los argumentos obligatorios: %s",
    "unrecognized arguments: %s": "argumentos no reconocidos: %s",
    "invalid choice: %(value)r (choose from %(choices)s)":
        "opción no válida: %(value)r (elige entre %(choices)s)",
    "invalid %(type)s value: %(value)r": "valor %(type)s no válido: %(value)r",
    "argument %(argument_name)s: %(message)s": "argumento %(argument_name)s: %(message)s",
    "expected one argument": "se esperaba un valor",
    "expected at least one argument": "se esperaba al menos un valor",
    "expected at most one argument": "se esperaba como mucho un valor",
    "ambiguous option: %(option)s could match %(matches)s":
        "opción ambigua: %(option)s puede ser %(matches)s",
    "not allowed with argument %s": "no se permite junto con el argumento %s",
    "one of the arguments %s is required": "hace falta uno de los argumentos %s",
}


def _gettext(message: str) -> str:
    return _SPANISH.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    if singular == "expected %s argument":
        return "se esperaba %s valor" if n == 1 else "se esperaban %s valores"
    return _gettext(singular if n == 1 else plural)


def install() -> None:
    """Activa la traducción (idempotente)."""
    argparse._ = _gettext
    argparse.ngettext = _ngettext


#: Prefijo de la forma negativa de una opción de sí/no (``--aumento`` / ``--sin-aumento``).
NEGATIVE_PREFIX = "--sin-"


class NegatableFlag(argparse.Action):
    """Una opción de sí/no con sus dos formas, ``--X`` y ``--sin-X``.

    Como :class:`argparse.BooleanOptionalAction`, pero con el prefijo castellano
    ``--sin-``: ``parser.add_argument("--aumento", action=NegatableFlag, default=False)``
    admite ``--aumento`` (``True``) y ``--sin-aumento`` (``False``). Con ``default=None``
    la orden distingue «no se dijo» (p. ej. «lo que diga la receta»).
    """

    def __init__(self, option_strings, dest, default=None, required=False, help=None):
        strings = []
        for option in option_strings:
            strings.append(option)
            if option.startswith("--") and not option.startswith(NEGATIVE_PREFIX):
                strings.append(NEGATIVE_PREFIX + option[2:])
        super().__init__(option_strings=strings, dest=dest, nargs=0, default=default,
                         required=required, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string in self.option_strings:
            setattr(namespace, self.dest, not option_string.startswith(NEGATIVE_PREFIX))

    def format_usage(self) -> str:
        return " | ".join(self.option_strings)
