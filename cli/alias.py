"""Las grafías antiguas de ``redes``: tablas de alias y la reescritura de la orden.

Durante una versión, las órdenes y opciones de antes de la gramática ``redes TAREA MODO``
siguen funcionando: :func:`rewrite` traduce la línea de órdenes a la grafía nueva antes
de leerla y devuelve un aviso de una línea por cada grafía antigua que encontró
(``«redes yolo detectar» es ahora «redes deteccion predecir»``). Los alias son datos
(:data:`COMMANDS`, :data:`FLAGS`, :data:`VALUES`): quitar uno es borrar su fila.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nucleo.vocabulario import TASKS

#: La tarea de ``redes exportar``, que se deduce de los metadatos de ``--pesos``.
TASK_OF_WEIGHTS = "<tarea de --pesos>"
#: ``redes yolo entrenar --pesos ARCHIVO``: la carpeta de la ejecución (``--salida``).
RUN_FOLDER = "<carpeta de --pesos>"
#: La opción oculta de ``redes deteccion entrenar`` que mantiene, durante esta versión,
#: el archivo del modelo de ``redes yolo entrenar --pesos ARCHIVO``.
LEGACY_WEIGHTS_FILE = "--archivo-pesos"

#: Órdenes antiguas → nuevas, tal como se escribían (una o dos palabras). Con una
#: palabra, se cambia solo esa (el modo sigue igual), salvo que la nueva tenga dos: esa
#: añade el modo cuando no se escribió ninguno (``redes xor`` → ``redes xor entrenar``).
COMMANDS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("xor",): ("xor", "entrenar"),
    ("clasificar",): ("clasificacion",),
    ("ventas",): ("pronostico",),
    ("ventas", "pronosticar"): ("pronostico", "predecir"),
    ("transformer",): ("traduccion",),
    ("transformer", "traducir"): ("traduccion", "predecir"),
    ("yolo",): ("deteccion",),
    ("yolo", "detectar"): ("deteccion", "predecir"),
    ("exportar",): (TASK_OF_WEIGHTS, "exportar"),
}

#: Opciones antiguas → nuevas de cada orden nueva (``(tarea, modo)``; ``None`` sin modo).
FLAGS: dict[tuple[str, str | None], dict[str, str]] = {
    ("clasificacion", "entrenar"): {"--estrategia": "--dispositivos"},
    ("pronostico", "entrenar"): {"--validacion": "--dias-validacion", "--pasos": "--retardos"},
    ("pronostico", "comparar"): {"--validacion": "--dias-validacion", "--pasos": "--retardos"},
    ("traduccion", "entrenar"): {
        "--validacion": "--frases-validacion", "--entrenamiento": "--frases-entrenamiento",
        "--prueba": "--frases-prueba", "--pasos": "--lotes-por-epoca",
        "--calentamiento": "--pasos-calentamiento", "--tarea": "--conjunto"},
    ("deteccion", "entrenar"): {"--calentamiento": "--epocas-calentamiento",
                                "--pesos": RUN_FOLDER},
    ("servir", None): {"--lote": "--lote-peticiones"},
    ("datos", "descargar"): {"--destino": "--salida"},
}

#: Valores antiguos → nuevos de una opción: ``(opción, valor antiguo) → valor nuevo``.
VALUES: dict[tuple[str, str | None], dict[tuple[str, str], str]] = {
    ("traduccion", "entrenar"): {("--atencion", "ninguna"): "none"},
    # tf.distribute.MirroredStrategy → DataParallel de keras.distribution en un proceso.
    ("clasificacion", "entrenar"): {("--dispositivos", "mirrored"): "todos",
                                    ("--dispositivos", "none"): "1"},
}

#: Opciones de ``redes`` que van antes de la orden (``--backend`` lleva un valor).
GLOBAL_FLAGS = ("--verbose", "-h", "--help")
GLOBAL_WITH_VALUE = ("--backend",)
HELP = ("-h", "--help")


def command_start(argv: Sequence[str]) -> int:
    """Posición de la primera palabra de la orden (tras ``--verbose``, ``--backend X``...)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in GLOBAL_WITH_VALUE:
            i += 2
        elif arg in GLOBAL_FLAGS or arg.split("=", 1)[0] in GLOBAL_WITH_VALUE:
            i += 1
        else:
            return i
    return i


def global_option(argv: Sequence[str], flag: str) -> str | None:
    """El valor de una opción global (``--backend``) en ``argv``, si se dio."""
    head = list(argv[:command_start(argv)])
    for i, arg in enumerate(head):
        if arg == flag and i + 1 < len(head):
            return head[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def _option_value(args: Sequence[str], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def _command(words: list[str], rest: list[str],
             task_of: Callable[[str], str]) -> tuple[list[str], list[str], str | None]:
    """Reescribe la orden (una o dos palabras); devuelve ``(palabras, resto, aviso)``."""
    from nucleo.errores import ArgumentError

    mode = rest[0] if rest and not rest[0].startswith("-") else None
    if mode is not None and (words[0], mode) in COMMANDS:
        return list(COMMANDS[words[0], mode]), rest[1:], _notice(
            [words[0], mode], COMMANDS[words[0], mode])
    new = COMMANDS.get((words[0],))
    if new is None:
        return words, rest, None
    if len(new) == 1:
        old = [words[0], *([mode] if mode else [])]
        return [new[0]], rest, _notice(old, [new[0], *old[1:]])
    if mode is not None or (rest and rest[0] in HELP):
        return words, rest, None
    new = list(new)
    if new[0] == TASK_OF_WEIGHTS:
        weights = _option_value(rest, "--pesos")
        if weights is None:
            raise ArgumentError(f"«redes {words[0]}» es ahora «redes TAREA {new[1]}» (TAREA: "
                                f"{', '.join(TASKS)}); falta --pesos.")
        new[0] = task_of(weights)
    return new, rest, _notice(words, new)


def _notice(old: Sequence[str], new: Sequence[str]) -> str:
    return f"«redes {' '.join(old)}» es ahora «redes {' '.join(new)}»"


def _run_folder(weights: str) -> str:
    """``pesos/red_lego.h5`` → ``pesos/red_lego``: la carpeta de la ejecución que usaba
    ``redes yolo entrenar --pesos`` (el modelo queda ahora dentro, en ``modelo.h5``)."""
    from pathlib import Path

    return str(Path(weights).with_suffix(""))


def _run_folder_option(value: str, where: str, rest: Sequence[str]) -> tuple[list[str], str]:
    """``--pesos ARCHIVO`` de ``redes yolo entrenar`` → ``--salida CARPETA`` y su aviso.

    Durante esta versión el modelo sigue en ``ARCHIVO`` (la opción oculta
    ``--archivo-pesos``), como antes; con la grafía nueva queda en ``CARPETA/modelo.h5``.
    """
    given = any(arg == "--salida" or arg.startswith("--salida=") for arg in rest)
    folder = None if given else _run_folder(value)
    notice = (f"«--pesos {value}» de «{where}» es ahora «--salida CARPETA» (el modelo queda "
              f"en CARPETA/modelo.h5); por ahora se usa "
              + ("la --salida dada" if given else f"--salida {folder}")
              + f" y el modelo sigue en {value}")
    return [*([] if given else ["--salida", folder]), LEGACY_WEIGHTS_FILE, value], notice


def _flags(command: tuple[str, str | None], rest: list[str]) -> tuple[list[str], list[str]]:
    """Reescribe las opciones y valores antiguos de ``command``; ``(resto, avisos)``."""
    flags, values = FLAGS.get(command, {}), VALUES.get(command, {})
    where = "redes " + " ".join(word for word in command if word)
    out: list[str] = []
    notices: list[str] = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--":
            out += rest[i:]
            break
        name, sep, inline = arg.partition("=")
        new = flags.get(name, name)
        if new == RUN_FOLDER:
            value = inline if sep else (rest[i + 1] if i + 1 < len(rest) else None)
            if value is None:  # sin valor: que argparse diga lo que falta
                out.append(arg)
                i += 1
                continue
            replacement, notice = _run_folder_option(value, where, rest)
            out += replacement
            notices.append(notice)
            i += 1 if sep else 2
            continue
        if new != name:
            notices.append(f"«{name}» de «{where}» es ahora «{new}»")
        renamed = {old: value for (flag, old), value in values.items() if flag == new}
        i += 1
        if sep:
            if inline in renamed:
                notices.append(f"«{new} {inline}» de «{where}» es ahora «{new} "
                               f"{renamed[inline]}»")
                inline = renamed[inline]
            out.append(f"{new}={inline}")
            continue
        out.append(new)
        if i < len(rest) and rest[i] in renamed:
            notices.append(f"«{new} {rest[i]}» de «{where}» es ahora «{new} "
                           f"{renamed[rest[i]]}»")
            out.append(renamed[rest[i]])
            i += 1
    return out, notices


def rewrite(argv: Sequence[str], task_of: Callable[[str], str] | None = None
            ) -> tuple[list[str], list[str]]:
    """Traduce una línea de órdenes con grafías antiguas a la gramática nueva.

    Args:
        argv: los argumentos de ``redes`` (sin el nombre del programa).
        task_of: ``pesos → tarea``, para ``redes exportar`` (por defecto
            :func:`cli.exportar.task_of_model`, que lee los metadatos del modelo).

    Returns:
        ``(argv nuevo, avisos)``: un aviso de una línea por cada grafía antigua.

    Raises:
        ArgumentError, ModelFileError: ``redes exportar`` sin ``--pesos`` o con un
            modelo que no es de ninguna tarea.
    """
    argv = list(argv)
    start = command_start(argv)
    if start >= len(argv):
        return argv, []
    words, notices = [argv[start]], []
    words, rest, notice = _command(words, argv[start + 1:], task_of or task_of_weights)
    if notice:
        notices.append(notice)
    if len(words) == 1 and rest and not rest[0].startswith("-"):
        words, rest = [words[0], rest[0]], rest[1:]
    command = (words[0], words[1] if len(words) > 1 else None)
    rest, flag_notices = _flags(command, rest)
    return [*argv[:start], *words, *rest], list(dict.fromkeys(notices + flag_notices))


def task_of_weights(weights: str) -> str:
    """La tarea de un modelo guardado (:func:`cli.exportar.task_of_model`), o un error.

    Raises:
        ArgumentError: el modelo no es de ninguna tarea.
        ModelFileError: el archivo no existe o no es un modelo.
    """
    from cli.exportar import task_of_model
    from nucleo.errores import ArgumentError

    task = task_of_model(weights)
    if task is None:
        raise ArgumentError(f"«{weights}» no es un modelo de ninguna tarea de redes; "
                            "expórtalo desde Python con inferencia.exportacion.export_weights.")
    return task
