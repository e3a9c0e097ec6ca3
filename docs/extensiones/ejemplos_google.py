"""Extensión de griffe para la referencia: los docstrings del proyecto, legibles en Markdown.

Los docstrings (estilo Google, en castellano) tienen dos costumbres de Sphinx que
mkdocstrings no entiende:

- abren sus ejemplos con ``Example:``, que griffe no reconoce como sección de ejemplos
  (solo ``Examples:``) y trata como un aviso con Markdown dentro, donde ``>>> f(x)[:2]``
  y su salida se leen como texto y enlaces;
- nombran otras funciones con roles de Sphinx (``:func:`train```,
  ``:class:`~informes.resultado.TaskResult```), que en Markdown salen tal cual.

Esta extensión cambia el encabezado y deja cada rol como código (``~`` se queda con el
último nombre, como en Sphinx) antes de que griffe lea el docstring. El código del
proyecto no cambia.
"""

from __future__ import annotations

import re

import griffe

_EXAMPLE = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*$", re.MULTILINE)
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const)"
                   r":`(?P<target>[^`]+)`")


def _role_as_code(match: re.Match) -> str:
    target = match["target"]
    titled = re.fullmatch(r"(?P<title>.+?)\s*<[^>]+>", target)
    if titled:
        return f"`{titled['title']}`"
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


class EjemplosGoogle(griffe.Extension):
    """``Example:`` → ``Examples:``, y los roles de Sphinx → código."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            text = _EXAMPLE.sub(r"\g<indent>Examples:", obj.docstring.value)
            obj.docstring.value = _ROLE.sub(_role_as_code, text)
