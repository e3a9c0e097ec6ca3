"""Las salas del proyecto y sus reglas, comprobadas en el código (sin importarlo).

- Las importaciones bajan de piso: ``nucleo`` → ``datos`` → ``modelos`` → ``informes`` →
  ``entrenamiento`` → ``inferencia`` → ``tareas`` → ``servicio`` y ``cli``; nunca suben.
- Sin ciclos de importación entre módulos (contando las importaciones dentro de funciones).
- Nadie importa un nombre privado de otro módulo ni el ``__init__`` de su propio paquete.
- Keras se importa ya preparado (``nucleo.keras_listo``): ningún ``noqa: E402``.
- El núcleo no carga Keras: la CLI lo importa para responder ``--help`` al instante.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Las salas, de abajo arriba; cada una puede importar las anteriores.
ROOMS = ("nucleo", "datos", "modelos", "informes", "entrenamiento", "inferencia", "tareas",
         "servicio", "cli")
#: Lo que cada sala no puede importar (las que están por encima, y servicio ↔ cli).
FORBIDDEN = {room: set(ROOMS[index + 1:]) for index, room in enumerate(ROOMS)}
FORBIDDEN["servicio"] = {"cli"}
#: El tamaño máximo de un módulo y de una función de la biblioteca (de un constructor
#: ``build_*``, sin contar su docstring).
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

pytestmark = pytest.mark.neutral


def _modules() -> dict[str, Path]:
    found = {}
    for room in ROOMS:
        for path in sorted((REPO / room).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _resolve(target: str) -> str | None:
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _imports(path: Path):
    """``(módulo importado, nombres, nodo)`` de cada importación absoluta del archivo."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, (), node
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, tuple(alias.name for alias in node.names), node


def _edges() -> dict[str, set[str]]:
    edges = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, names, _ in _imports(path):
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES] or [module]
            for target in targets:
                resolved = _resolve(target)
                if resolved and resolved != name:
                    edges[name].add(resolved)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Componentes fuertemente conexos de más de un módulo (Tarjan, iterativo)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_the_rooms_cover_the_library():
    # Cada sala existe y tiene módulos; ninguna sala de más en la raíz.
    for room in ROOMS:
        assert any(name.split(".")[0] == room for name in MODULES), room
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}
    assert packages == set(ROOMS)


def test_imports_only_go_down():
    wrong = [f"{name} → {target}" for name, targets in _edges().items()
             for target in targets if target.split(".")[0] in FORBIDDEN[name.split(".")[0]]]
    assert not wrong, wrong


def test_no_import_cycles():
    assert _cycles(_edges()) == []


def test_the_cycle_finder_finds_a_cycle():
    # La comprobación de arriba no puede pasar por no mirar: un ciclo de tres se encuentra.
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]


def test_no_private_names_or_own_package_init_imported():
    wrong = []
    for name, path in MODULES.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for module, names, node in _imports(path):
            if module.split(".")[0] not in ROOMS:
                continue
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            if private and module != name:
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno} {module} {private}")
            if package and module == package and path.name != "__init__.py" and names \
                    and not all(f"{module}.{n}" in MODULES for n in names):
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno} importa {module}")
    assert not wrong, wrong


def test_no_e402_and_modelos_never_imports_itself_whole():
    offenders = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if "noqa: E402" in text:
            offenders.append(str(path.relative_to(REPO)))
        if name.startswith("modelos") and any(
                line.strip() == "import modelos" for line in text.splitlines()):
            offenders.append(f"{path.relative_to(REPO)}: import modelos")
    assert not offenders, offenders


def test_library_modules_stay_small():
    big = {str(path.relative_to(REPO)): count for path in MODULES.values()
           if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not big, big


def _function_lengths(path: Path):
    """``(nombre, línea, longitud)`` de cada función; la de un ``build_*`` sin su docstring."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            body = node.body[0]
            if node.name.startswith("build_") and ast.get_docstring(node) is not None:
                length -= body.end_lineno - body.lineno + 1
            yield node.name, node.lineno, length


def test_library_functions_stay_short():
    long = [f"{path.relative_to(REPO)}:{line} {name} ({length})"
            for path in MODULES.values() for name, line, length in _function_lengths(path)
            if length > MAX_FUNCTION_LINES]
    assert not long, long


def test_the_kernel_and_the_cli_load_without_keras():
    code = ("import sys, nucleo.vocabulario, nucleo.errores, nucleo.validacion, "
            "nucleo.archivos, nucleo.entorno, cli.principal; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
