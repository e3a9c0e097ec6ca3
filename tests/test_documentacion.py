"""La documentación funciona: los bloques de Python del README y de ``docs/``, y el sitio.

Convención de las páginas (la explica ``docs/index.md``):

- un bloque ```` ```python ```` sin nada más se **ejecuta** aquí, en orden, con un
  espacio de nombres por página y en una carpeta temporal (nada se escribe en el
  repositorio y nada se descarga: ``tests/conftest.py`` corta la red);
- un bloque ```` ```python title="…" ```` **no** se ejecuta (entrena minutos o necesita
  archivos del usuario, y el título lo dice), pero tiene que ser Python válido y todo lo
  que importa tiene que existir;
- un bloque ```` ```text title="Salida" ```` justo después de un bloque que se ejecuta es
  lo que ese bloque imprime, y se compara con lo que imprime de verdad.

Además: cada orden ``redes ...`` completa de las páginas la acepta el analizador de la
CLI (sin ejecutarla), la tabla de grafías anteriores de ``docs/gramatica.md`` es lo que
hace ``cli.alias``, ninguna página usa una grafía anterior, y el sitio se construye con
``mkdocs build --strict`` en una carpeta temporal (se salta si MkDocs no está instalado:
``pip install ".[docs]"``).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import importlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
OUTPUT_TITLE = "Salida"

# Una apertura de bloque: sangría, ``` (o más) y la información (lenguaje y atributos).
_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]*)"')


@dataclasses.dataclass
class Block:
    page: Path
    line: int  # línea de la apertura, desde 1
    lang: str
    title: str | None
    code: str
    after_blank: bool  # entre el bloque anterior y este solo hay líneas en blanco

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.lang == "python" and self.title is None

    @property
    def is_output(self) -> bool:
        return self.lang == "text" and self.title == OUTPUT_TITLE


def read_blocks(page: Path) -> list[Block]:
    """Los bloques de código cercados de una página Markdown, sin su sangría."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i, last_end = 0, -1
    while i < len(lines):
        opening = _OPEN.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].strip()
        closing = re.compile(rf"^{re.escape(indent)}`{{{len(fence)},}}\s*$")
        end = i + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        assert end < len(lines), f"{page.relative_to(ROOT)}:{i + 1}: bloque sin cerrar"
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip()
                for line in lines[i + 1:end]]
        title = _TITLE.search(info)
        blocks.append(Block(
            page=page, line=i + 1, lang=info.split()[0] if info else "",
            title=title["title"] if title else None, code="\n".join(body) + "\n",
            after_blank=last_end >= 0 and all(not s.strip() for s in lines[last_end + 1:i]),
        ))
        last_end, i = end, end + 1
    return blocks


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def _normalized(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


# === Los bloques de Python ===


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_python_blocks_parse_and_import_what_exists(page):
    """Todo bloque de Python es válido e importa módulos y nombres que existen.

    Así un bloque que no se ejecuta (entrena minutos) tampoco puede quedarse con una
    ruta de módulo antigua.
    """
    for block in read_blocks(page):
        if block.lang != "python":
            continue
        try:
            tree = ast.parse(block.code, filename=block.where)
        except SyntaxError as exc:
            pytest.fail(f"{block.where}: no es Python válido: {exc}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)
            elif isinstance(node, ast.ImportFrom):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if not hasattr(module, alias.name):
                        importlib.import_module(f"{node.module}.{alias.name}")


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_output_blocks_follow_a_block_that_runs(page):
    blocks = read_blocks(page)
    for previous, block in zip([None, *blocks], blocks):
        if block.is_output:
            assert previous is not None and previous.runs and block.after_blank, (
                f"{block.where}: un bloque «{OUTPUT_TITLE}» va justo después de un bloque "
                "```python que se ejecuta")


def _top_level(path: Path) -> set[str]:
    return set(os.listdir(path)) if path.is_dir() else set()


RUNNABLE = [page for page in PAGES if any(block.runs for block in read_blocks(page))]


@pytest.mark.parametrize("page", RUNNABLE, ids=_page_id)
def test_python_blocks_run_and_print_what_the_page_says(page, tmp_path, monkeypatch):
    """Los bloques ```python de la página se ejecutan en orden, en una carpeta temporal,
    y cada salida anunciada coincide con lo que el bloque imprime."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    before = {path: _top_level(path) for path in (ROOT, ROOT / "pesos")}
    namespace: dict = {"__name__": "__main__"}
    blocks = read_blocks(page)
    for block, following in zip(blocks, [*blocks[1:], None]):
        if not block.runs:
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block.code, block.where, "exec"), namespace)
        if following is not None and following.is_output and following.after_blank:
            said, got = _normalized(following.code), _normalized(printed.getvalue())
            assert got == said, (f"{block.where}: la salida no es la que dice la página\n"
                                 f"--- la página dice ---\n{said}\n--- imprime ---\n{got}")
    for path, names in before.items():
        assert _top_level(path) <= names, f"la página escribió en {path}"


def test_there_are_runnable_blocks_with_checked_output():
    """La convención se usa: hay bloques que se ejecutan y salidas que se comprueban."""
    blocks = [block for page in PAGES for block in read_blocks(page)]
    assert sum(block.runs for block in blocks) >= 10
    assert sum(block.is_output for block in blocks) >= 5


# === El README y los enlaces ===


def test_readme_is_a_short_front_door():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 200
    assert "make test" in text and "make demo" in text
    assert "bench/RESULTS.md" in text


_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def test_readme_links_point_to_files_that_exist():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [m["target"] for m in _LINK.finditer(text)]
    local = [t.split("#")[0] for t in targets if "://" not in t and not t.startswith("#")]
    assert local, "el README enlaza las páginas de docs/"
    for target in local:
        assert (ROOT / target).exists(), f"README.md enlaza {target}, que no existe"


# Las grafías de antes de la gramática TAREA MODO (docs/gramatica.md las lista).
_OLD_SPELLING = re.compile(
    r"redes (?:--\S+ (?:\S+ )?)*(?:yolo|ventas|transformer|clasificar|exportar)\b"
    r"|redes (?:--\S+ (?:\S+ )?)*xor(?! entrenar| evaluar| predecir| exportar)\b")


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_pages_use_the_new_command_grammar(page):
    if page == DOCS / "gramatica.md":  # su tabla «antes → ahora» las nombra a propósito
        return
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        assert not _OLD_SPELLING.search(line), (
            f"{page.relative_to(ROOT)}:{number}: grafía anterior de la orden: {line.strip()}")


def _documented_commands() -> list[tuple[str, list[str]]]:
    """Cada orden ``redes ...`` completa de los bloques ```bash (y ```text sin título):
    ``(dónde, argumentos)``.

    Las opciones entre corchetes (``[--k 5]``) se analizan como si estuvieran; se saltan
    las órdenes con huecos para rellenar (``...``, ``TAREA``, ``M``).
    """
    commands = []
    for page in PAGES:
        for block in read_blocks(page):
            if block.lang not in ("bash", "text") or block.title is not None:
                continue
            lines = block.code.replace("\\\n", " ").splitlines()
            for offset, line in enumerate(lines):
                try:
                    words = shlex.split(line.replace("[", "").replace("]", ""), comments=True)
                except ValueError:
                    continue
                if (len(words) < 2 or words[0] != "redes"
                        or any("..." in w or w.isupper() for w in words)):
                    continue
                commands.append((f"{block.where} (+{offset + 1})", words[1:]))
    return commands


def _no_abbreviations(parser: argparse.ArgumentParser) -> None:
    """Que ``--dias`` no pase por abreviatura de ``--dias-validacion``."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                _no_abbreviations(subparser)


def test_documented_commands_parse():
    """Cada orden completa de las páginas la acepta el analizador de ``redes`` (solo se
    analiza: no se ejecuta nada)."""
    from cli.principal import build_parser

    parser = build_parser()
    _no_abbreviations(parser)
    orders = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "deteccion" not in orders.choices:
        pytest.skip("la gramática «redes TAREA MODO» de docs/gramatica.md aún no está en cli/")
    commands = _documented_commands()
    assert len(commands) >= 30
    for where, argv in commands:
        errors = io.StringIO()
        try:
            with contextlib.redirect_stderr(errors):
                parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{where}: «redes {shlex.join(argv)}»: {errors.getvalue().strip()}")


# Orden antigua en la que se prueba cada fila de opciones de la tabla «antes → ahora»,
# por la primera palabra de su paréntesis: «`--pasos N` (ventas)».
_OLD_CONTEXT = {"ventas": ["ventas", "entrenar"], "transformer": ["transformer", "entrenar"],
                "yolo": ["yolo", "entrenar"], "servir": ["servir", "--pesos", "m.h5"],
                "datos": ["datos", "descargar", "ventas"],
                "clasificar": ["clasificar", "entrenar", "--dir", "img"]}


def _placeholder(word: str) -> bool:
    return word.isupper() or word == "..."


def _old_spelling_rows() -> list[tuple[list[str], list[str], str]]:
    """Las filas de la tabla «antes → ahora» de docs/gramatica.md, desplegadas:
    ``(orden antigua, palabras que debe tener la nueva, fila)``."""
    text = (DOCS / "gramatica.md").read_text(encoding="utf-8")
    table = text[text.index("| antes | ahora |"):].splitlines()[2:]
    rows = []
    for row in table:
        if not row.startswith("|"):
            break
        old_cell, new_cell = (cell.strip() for cell in row.strip("|").split(" | ")[:2])
        olds = [c.replace("\\|", "|") for c in re.findall(r"`([^`]+)`", old_cell)]
        news = [c.replace("\\|", "|") for c in re.findall(r"`([^`]+)`", new_cell)]
        if not news or not news[0].startswith(("redes", "--")):
            continue  # «ver Distribución»
        if olds[0].startswith("redes "):
            old, new = olds[0].split()[1:], news[0].split()[1:]
            # entrenar/evaluar/predecir: una orden por cada modo
            for i in range(max(w.count("/") for w in old) + 1):
                pick = [w.split("/")[i] if "/" in w else w for w in old]
                want = [n.split("/")[i] if "/" in n else n for n in new]
                argv = ["m.h5" if w == "M" else "x/modelo.h5" if w == "ARCHIVO" else w
                        for w in pick if w != "..."]
                rows.append((argv, [w for w in want if not _placeholder(w)], row))
        else:
            context = re.search(r"\((\w+)", old_cell)
            command = _OLD_CONTEXT[context[1] if context else "transformer"]
            for old, new in zip(olds, news, strict=True):
                flag, value = old.split()
                argv = [*command, flag, "5" if _placeholder(value) else value]
                rows.append((argv, [w for w in new.split() if not _placeholder(w)], row))
    return rows


def test_old_spellings_table_is_what_the_aliases_do():
    """Cada fila de «Las grafías anteriores» es la traducción que hace ``cli.alias``."""
    alias = pytest.importorskip("cli.alias", reason="las grafías anteriores aún no están")
    rows = _old_spelling_rows()
    assert len(rows) >= 25
    for argv, wanted, row in rows:
        new, notices = alias.rewrite(argv, task_of=lambda weights: "deteccion")
        assert notices, f"«redes {shlex.join(argv)}» no avisa de la grafía nueva ({row})"
        new_text = " " + " ".join(new) + " "
        for word in wanted:
            word = "deteccion" if word == "TAREA" else word
            assert f" {word} " in new_text, (
                f"{row}: «redes {shlex.join(argv)}» se traduce a «redes {' '.join(new)}»")


# === El sitio ===


def test_site_builds_strict_without_network(tmp_path):
    """``mkdocs build --strict``: sin avisos (enlaces, anclas, docstrings) y sin nada que
    se descargue al ver las páginas (ni fuentes de Google ni CDN)."""
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        pytest.importorskip(module, reason='MkDocs no está instalado: pip install ".[docs]"')
    site = tmp_path / "sitio"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    grammar = (site / "gramatica" / "index.html").read_text(encoding="utf-8")
    assert "redes deteccion predecir" in grammar
    reference = (site / "referencia" / "modelos" / "index.html").read_text(encoding="utf-8")
    assert 'id="modelos.build_xor"' in reference
    # bench/RESULTS.md entra entero en su página, sin copiarlo en docs/.
    results = (site / "resultados" / "index.html").read_text(encoding="utf-8")
    assert "Resultados de las comparativas" in results and "bench/servicio.py" in results
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "fonts.googleapis.com" not in text and "fonts.gstatic.com" not in text, html
