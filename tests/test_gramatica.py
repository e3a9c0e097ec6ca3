"""La gramática de ``redes``, leída del propio analizador: ``redes TAREA MODO [opciones]``.

Todas las tareas tienen los cuatro modos, una opción significa lo mismo (con la misma
unidad) en todas las órdenes, todo ``entrenar`` tiene las opciones comunes, todo
``evaluar`` y ``predecir`` tiene ``--motor``, toda opción de sí/no tiene sus dos formas
y las grafías antiguas son alias con un aviso de una línea. Nada de esto carga Keras.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from cli import alias
from cli.argparse_es import NegatableFlag
from cli.comun import learning_rate
from cli.comun import minutes
from cli.comun import non_negative_int
from cli.comun import positive_int
from cli.comun import subcommands
from cli.comun import validation_fraction
from cli.principal import _rewrite
from cli.principal import build_parser
from nucleo.vocabulario import ENGINES
from nucleo.vocabulario import EXTRA_MODES
from nucleo.vocabulario import GENERAL_COMMANDS
from nucleo.vocabulario import MODES
from nucleo.vocabulario import TASKS
from nucleo.vocabulario import TRAINING_PRECISIONS

pytestmark = pytest.mark.neutral

REPO = Path(__file__).resolve().parents[1]
PARSER = build_parser()

TRAINING_FLAGS = ("--salida", "--config", "--epocas", "--lote", "--tasa", "--paciencia",
                  "--minutos", "--semilla", "--precision", "--json", "--procesos",
                  "--coordinador", "--num-procesos", "--proceso", "--espera-coordinador",
                  "--tensorboard")
INFERENCE_FLAGS = ("--pesos", "--motor", "--salida", "--json")


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Cada orden final (``("xor", "entrenar")``, ``("servir",)``...) con su analizador."""
    children = subcommands(parser)
    if not children:
        yield path, parser
    for name, child in children.items():
        yield from _leaves(child, (*path, name))


LEAVES = dict(_leaves(PARSER))


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Opción → acción (cada forma de una opción de sí/no, con su misma acción)."""
    return {flag: action for action in parser._actions for flag in action.option_strings
            if not isinstance(action, argparse._HelpAction)}


def _uses(flag: str):
    """``(orden, acción)`` de cada orden que tiene ``flag``."""
    return [(path, _options(parser)[flag]) for path, parser in LEAVES.items()
            if flag in _options(parser)]


# === Tareas y modos ===

def test_the_first_word_is_a_task_or_one_of_three_general_commands():
    assert tuple(subcommands(PARSER)) == TASKS + GENERAL_COMMANDS
    assert tuple(subcommands(subcommands(PARSER)["datos"])) == ("descargar", "convertir")


@pytest.mark.parametrize("task", TASKS)
def test_every_task_has_the_four_modes_and_its_own(task):
    assert tuple(subcommands(subcommands(PARSER)[task])) == MODES + EXTRA_MODES.get(task, ())


def test_main_help_lists_tasks_with_their_modes_then_general_commands(capsys):
    with pytest.raises(SystemExit):
        PARSER.parse_args(["--help"])
    out = capsys.readouterr().out
    positions = [out.index(f"\n  {name}") for name in (*TASKS, "demo", "servir",
                                                        "datos descargar")]
    assert positions == sorted(positions)
    assert out.index("tareas") < positions[0] < out.index("órdenes generales") < positions[-1]
    for task in TASKS:
        assert "modos: " + ", ".join(MODES + EXTRA_MODES.get(task, ())) in out


@pytest.mark.parametrize("task", TASKS)
def test_task_help_lists_its_modes(task, capsys):
    with pytest.raises(SystemExit):
        PARSER.parse_args([task, "--help"])
    out = capsys.readouterr().out
    for mode in MODES + EXTRA_MODES.get(task, ()):
        assert f"\n    {mode} " in out


def test_help_does_not_import_keras():
    code = ("import sys; from cli.principal import build_parser; build_parser().format_help(); "
            "heavy = [m for m in ('keras', 'tensorflow', 'jax', 'torch', 'pandas') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


# === Una opción, un significado ===

def test_a_flag_has_one_kind_of_value_everywhere():
    kinds: dict[str, set] = {}
    for parser in LEAVES.values():
        for flag, action in _options(parser).items():
            kinds.setdefault(flag, set()).add(
                (getattr(action.type, "__name__", None), type(action).__name__ == "NegatableFlag"))
    assert {flag: kind for flag, kind in kinds.items() if len(kind) > 1} == {}


def test_validacion_is_always_a_fraction():
    uses = _uses("--validacion")
    assert uses and all(action.type is validation_fraction for _, action in uses)


def test_pesos_is_always_a_model_that_is_given():
    uses = _uses("--pesos")
    assert {path for path, _ in uses} >= {(task, mode) for task in TASKS
                                          for mode in ("evaluar", "predecir", "exportar")}
    for path, action in uses:
        assert action.required, path
        assert "modelo" in action.help.lower() and "mejor modelo" not in action.help, path
    assert ("deteccion", "entrenar") not in {path for path, _ in uses}


def test_salida_is_always_where_the_command_writes():
    for path, parser in LEAVES.items():
        if path[-1] in ("predecir", "evaluar", "entrenar", "exportar", "comparar", "atencion"):
            assert "--salida" in _options(parser), path
    for path, action in _uses("--salida"):
        assert action.dest == "salida" and action.type is None, path


def test_lote_is_always_training_examples_per_batch():
    for path, action in _uses("--lote"):
        assert action.type is positive_int, path
        assert "por lote de entrenamiento" in action.help and "peticiones" not in action.help
    (servir,) = _uses("--lote-peticiones")
    assert "peticiones" in servir[1].help


@pytest.mark.parametrize("flag, kind", [
    ("--epocas", positive_int), ("--tasa", learning_rate), ("--paciencia", non_negative_int),
    ("--minutos", minutes), ("--semilla", non_negative_int),
])
def test_training_numbers_have_one_type(flag, kind):
    for path, action in _uses(flag):
        assert action.type is kind, path


def test_days_and_sentences_say_their_unit():
    for flag, unit in (("--dias-validacion", "días"), ("--frases-validacion", "números"),
                       ("--frases-entrenamiento", "números"), ("--frases-prueba", "números"),
                       ("--retardos", "días"), ("--epocas-calentamiento", "épocas"),
                       ("--pasos-calentamiento", "pasos"), ("--lotes-por-epoca", "lotes")):
        uses = _uses(flag)
        assert uses, flag
        for path, action in uses:
            assert unit in action.help, (flag, path)


def test_old_ambiguous_names_are_gone():
    for old in ("--pasos", "--calentamiento", "--entrenamiento", "--prueba", "--tarea",
                "--destino"):
        assert not _uses(old), old
    assert {path for path, _ in _uses("--validacion")} == {("deteccion", "entrenar")}


# === Opciones comunes ===

@pytest.mark.parametrize("task", TASKS)
def test_every_trainer_has_the_common_flags(task):
    options = _options(LEAVES[task, "entrenar"])
    assert [flag for flag in TRAINING_FLAGS if flag not in options] == []
    # Lo que no se da vale None: manda la configuración del entrenador (o --config).
    for flag in TRAINING_FLAGS[:9]:
        assert options[flag].default is None, flag
    assert "auto (por defecto)" in options["--precision"].help
    assert tuple(options["--precision"].choices) == TRAINING_PRECISIONS
    # Cada tarea admite de verdad todas las opciones comunes de entrenar: ninguna ayuda
    # dice que no.
    assert not [flag for flag, action in options.items() if "no lo admite" in (action.help or "")]


@pytest.mark.parametrize("path", [(task, mode) for task in TASKS
                                  for mode in ("evaluar", "predecir")]
                         + [("traduccion", "atencion")])
def test_every_predictor_and_evaluator_has_the_inference_flags(path):
    options = _options(LEAVES[path])
    assert [flag for flag in INFERENCE_FLAGS if flag not in options] == []
    assert tuple(options["--motor"].choices) == ENGINES


@pytest.mark.parametrize("task", TASKS)
def test_every_export_has_the_same_flags_and_int8_only_in_detection(task):
    options = _options(LEAVES[task, "exportar"])
    assert {"--pesos", "--formato", "--salida", "--comprobar", "--sin-comprobar"} <= set(options)
    assert ("--int8" in options) == (task == "deteccion")
    assert ("--calibracion" in options) == ("--muestras" in options) == (task == "deteccion")


def test_every_yes_no_option_has_both_forms():
    for path, parser in LEAVES.items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction) or action.nargs != 0:
                continue
            assert isinstance(action, NegatableFlag), (path, action.option_strings)
            positive = [o for o in action.option_strings if not o.startswith("--sin-")]
            assert [f"--sin-{o[2:]}" for o in positive] == [
                o for o in action.option_strings if o.startswith("--sin-")], path
            assert "por defecto" in action.help.lower(), (path, action.option_strings)


def test_negatable_flag_sets_the_value_and_keeps_none_as_not_given():
    parse = PARSER.parse_args
    base = ["deteccion", "entrenar", "--anotaciones", "a", "--imagenes", "i"]
    assert parse(base).aumento is None and parse(base).multiescala is None
    both = parse([*base, "--sin-aumento", "--multiescala"])
    assert both.aumento is False and both.multiescala is True
    assert parse([*base, "--aumento", "--sin-aumento"]).aumento is False  # manda la última
    assert parse(["xor", "exportar", "--pesos", "m", "--formato", "onnx", "--salida",
                  "x"]).comprobar is True


def test_option_values_follow_the_vocabulary_rule():
    for path, parser in LEAVES.items():
        for action in parser._actions:
            for value in action.choices or ():
                if isinstance(value, str):
                    assert value == value.lower() and value.isascii(), (path, value)
                    assert value not in ("ninguna", "ninguno"), path


def test_only_hidden_option_is_the_legacy_weights_file():
    hidden = {(path, action.option_strings[0]) for path, parser in LEAVES.items()
              for action in parser._actions
              if action.help == argparse.SUPPRESS and action.option_strings}
    assert hidden == {(("deteccion", "entrenar"), alias.LEGACY_WEIGHTS_FILE)}


# === Alias: la grafía antigua hace lo mismo que la nueva, con un aviso ===

ALIASES = [
    (["xor"], ["xor", "entrenar"]),
    (["xor", "--epocas", "5"], ["xor", "entrenar", "--epocas", "5"]),
    (["clasificar", "entrenar", "--dir", "d"], ["clasificacion", "entrenar", "--dir", "d"]),
    (["clasificar", "evaluar", "--pesos", "m.h5", "--dir", "d"],
     ["clasificacion", "evaluar", "--pesos", "m.h5", "--dir", "d"]),
    (["clasificar", "predecir", "--pesos", "m.h5", "f.jpg"],
     ["clasificacion", "predecir", "--pesos", "m.h5", "f.jpg"]),
    (["ventas", "entrenar", "--csv", "v.csv"], ["pronostico", "entrenar", "--csv", "v.csv"]),
    (["ventas", "pronosticar", "--pesos", "m.h5", "--csv", "v.csv"],
     ["pronostico", "predecir", "--pesos", "m.h5", "--csv", "v.csv"]),
    (["ventas", "comparar", "--csv", "v.csv"], ["pronostico", "comparar", "--csv", "v.csv"]),
    (["transformer", "entrenar"], ["traduccion", "entrenar"]),
    (["transformer", "traducir", "--pesos", "m.h5", "uno"],
     ["traduccion", "predecir", "--pesos", "m.h5", "uno"]),
    (["transformer", "atencion", "--pesos", "m.h5", "uno"],
     ["traduccion", "atencion", "--pesos", "m.h5", "uno"]),
    (["yolo", "anclas", "--anotaciones", "a", "--imagenes", "i"],
     ["deteccion", "anclas", "--anotaciones", "a", "--imagenes", "i"]),
    (["yolo", "evaluar", "--pesos", "m.h5", "--anotaciones", "a", "--imagenes", "i"],
     ["deteccion", "evaluar", "--pesos", "m.h5", "--anotaciones", "a", "--imagenes", "i"]),
    (["yolo", "detectar", "--pesos", "m.h5", "f.jpg"],
     ["deteccion", "predecir", "--pesos", "m.h5", "f.jpg"]),
    (["pronostico", "entrenar", "--csv", "v.csv", "--validacion", "20"],
     ["pronostico", "entrenar", "--csv", "v.csv", "--dias-validacion", "20"]),
    (["pronostico", "comparar", "--csv", "v.csv", "--pasos=3"],
     ["pronostico", "comparar", "--csv", "v.csv", "--retardos=3"]),
    (["traduccion", "entrenar", "--validacion", "10"],
     ["traduccion", "entrenar", "--frases-validacion", "10"]),
    (["traduccion", "entrenar", "--entrenamiento", "0"],
     ["traduccion", "entrenar", "--frases-entrenamiento", "0"]),
    (["traduccion", "entrenar", "--prueba", "9"],
     ["traduccion", "entrenar", "--frases-prueba", "9"]),
    (["traduccion", "entrenar", "--pasos", "0"],
     ["traduccion", "entrenar", "--lotes-por-epoca", "0"]),
    (["traduccion", "entrenar", "--calentamiento", "50"],
     ["traduccion", "entrenar", "--pasos-calentamiento", "50"]),
    (["traduccion", "entrenar", "--tarea", "numeros"],
     ["traduccion", "entrenar", "--conjunto", "numeros"]),
    (["traduccion", "entrenar", "--atencion", "ninguna"],
     ["traduccion", "entrenar", "--atencion", "none"]),
    (["traduccion", "entrenar", "--atencion=ninguna"],
     ["traduccion", "entrenar", "--atencion=none"]),
    (["deteccion", "entrenar", "--anotaciones", "a", "--imagenes", "i", "--calentamiento", "0"],
     ["deteccion", "entrenar", "--anotaciones", "a", "--imagenes", "i",
      "--epocas-calentamiento", "0"]),
    (["servir", "--pesos", "m.h5", "--lote", "4"],
     ["servir", "--pesos", "m.h5", "--lote-peticiones", "4"]),
    (["datos", "descargar", "ventas", "--destino", "d/"],
     ["datos", "descargar", "ventas", "--salida", "d/"]),
    (["--verbose", "yolo", "detectar", "--pesos", "m.h5", "f.jpg"],
     ["--verbose", "deteccion", "predecir", "--pesos", "m.h5", "f.jpg"]),
]


@pytest.mark.parametrize("old, new", ALIASES, ids=[" ".join(old) for old, _ in ALIASES])
def test_alias_is_the_new_spelling_with_one_notice(old, new, capsys):
    rewritten = _rewrite(old)
    err = capsys.readouterr().err.splitlines()
    assert rewritten == new
    assert len(err) == 1 and err[0].startswith("aviso: «") and "» es ahora «" in err[0]
    assert vars(PARSER.parse_args(rewritten)) == vars(PARSER.parse_args(new))


def test_notice_text_names_old_and_new(capsys):
    _rewrite(["yolo", "detectar", "--pesos", "m.h5", "f.jpg"])
    assert capsys.readouterr().err == ("aviso: «redes yolo detectar» es ahora «redes deteccion "
                                       "predecir»\n")
    _rewrite(["ventas", "entrenar", "--csv", "v.csv", "--validacion", "10"])
    assert capsys.readouterr().err.splitlines() == [
        "aviso: «redes ventas entrenar» es ahora «redes pronostico entrenar»",
        "aviso: «--validacion» de «redes pronostico entrenar» es ahora «--dias-validacion»"]


def test_new_spellings_and_help_are_not_rewritten(capsys):
    for argv in (["xor", "entrenar"], ["xor", "--help"], ["deteccion", "predecir", "f.jpg"],
                 ["--backend", "jax", "traduccion", "entrenar", "--", "--pasos"],
                 ["clasificacion", "entrenar", "--dispositivos", "todos", "--sin-volteo"],
                 ["pronostico", "comparar", "--sin-referencias"], []):
        assert _rewrite(argv) == argv
    assert capsys.readouterr().err == ""


def test_old_mirrored_strategy_becomes_data_parallel_on_all_devices(capsys):
    # tf.distribute.MirroredStrategy se fue: un proceso de JAX reparte entre sus dispositivos.
    new = _rewrite(["clasificar", "entrenar", "--dir", "img", "--estrategia", "mirrored"])
    assert new == ["clasificacion", "entrenar", "--dir", "img", "--dispositivos", "todos"]
    assert capsys.readouterr().err.splitlines()[1:] == [
        "aviso: «--estrategia» de «redes clasificacion entrenar» es ahora «--dispositivos»",
        "aviso: «--dispositivos mirrored» de «redes clasificacion entrenar» es ahora "
        "«--dispositivos todos»"]
    assert PARSER.parse_args(new).dispositivos == "todos"
    assert _rewrite(["clasificacion", "entrenar", "--estrategia=none"])[-1] == "--dispositivos=1"


def test_old_yolo_weights_file_keeps_its_place_for_this_release(capsys):
    new = _rewrite(["yolo", "entrenar", "--anotaciones", "a", "--imagenes", "i",
                    "--pesos", "pesos/red_lego.h5"])
    (notice,) = capsys.readouterr().err.splitlines()[1:]
    args = PARSER.parse_args(new)
    assert args.salida == "pesos/red_lego" and args.archivo_pesos == "pesos/red_lego.h5"
    assert "«--salida CARPETA»" in notice and "pesos/red_lego.h5" in notice
    with_output = PARSER.parse_args(_rewrite(["deteccion", "entrenar", "--anotaciones", "a",
                                              "--imagenes", "i", "--pesos=m.h5", "--salida",
                                              "run"]))
    assert with_output.salida == "run" and with_output.archivo_pesos == "m.h5"


def test_old_export_finds_the_task_in_the_weights(capsys):
    new, notices = alias.rewrite(["exportar", "--pesos", "m.h5", "--formato", "onnx",
                                  "--salida", "x"], task_of=lambda weights: "pronostico")
    assert new == ["pronostico", "exportar", "--pesos", "m.h5", "--formato", "onnx",
                   "--salida", "x"]
    assert notices == ["«redes exportar» es ahora «redes pronostico exportar»"]
    from nucleo.errores import ArgumentError

    with pytest.raises(ArgumentError, match="falta --pesos"):
        alias.rewrite(["exportar", "--formato", "onnx"], task_of=lambda weights: "xor")


def test_alias_tables_only_point_to_the_new_grammar():
    for old, new in alias.COMMANDS.items():
        assert new[0] in (*TASKS, alias.TASK_OF_WEIGHTS) and old[0] not in TASKS[1:]
        if len(new) > 1:
            assert new[1] in MODES + sum(EXTRA_MODES.values(), ())
    for (command, mode), flags in alias.FLAGS.items():
        options = _options(LEAVES[(command, mode) if mode else (command,)])
        for old, new in flags.items():
            assert old not in options or old == "--pesos"
            assert new in options or new == alias.RUN_FOLDER
