"""Piezas comunes de las órdenes de ``redes``: tareas y modos, opciones comunes y tipos.

La gramática es ``redes TAREA MODO [opciones]`` (ver ``docs/gramatica.md``). Cada tarea
vive en su módulo ``cli/<tarea>.py``, que define ``add_commands(commands)`` y, dentro,
llama a :func:`add_task` con sus modos; las órdenes generales (``demo``, ``servir``,
``datos descargar``) usan :func:`add_command`. ``cli.principal.COMMAND_MODULES`` los
nombra todos; ninguna orden se registra de otra manera.

Las opciones comunes se añaden siempre con estas funciones, así que significan lo mismo,
con la misma unidad, en todas las órdenes: :func:`add_training_arguments` (las de todo
``entrenar``) y :func:`add_inference_arguments` (las de todo ``evaluar`` y
``predecir``). Las de sí/no usan :class:`cli.argparse_es.NegatableFlag` (``--X`` y
``--sin-X``).

Los tipos (:func:`positive_int`, :func:`positive_float`...) validan cada número en el
momento de leer la línea de órdenes, así el error nombra la opción que escribió el
usuario (``--lote``) y no un parámetro interno.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nucleo.vocabulario import ALL_DEVICES
from nucleo.vocabulario import ENGINE_HELP
from nucleo.vocabulario import ENGINES
from nucleo.vocabulario import MAX_LEARNING_RATE
from nucleo.vocabulario import PRECISION_HELP
from nucleo.vocabulario import TRAINING_PRECISIONS

Mode = Callable[[argparse._SubParsersAction], None]


# === Tareas, modos y órdenes generales ===

def add_task(commands, name: str, help: str, modes: Sequence[Mode], *,
             description: str | None = None) -> argparse.ArgumentParser:
    """Añade la tarea ``redes <name>`` con sus modos (``redes <name> <modo>``).

    Args:
        commands: el objeto de ``add_subparsers`` de ``redes``.
        name: la tarea (una de :data:`nucleo.vocabulario.TASKS`).
        help: una línea de ayuda; la de ``redes --help`` añade los modos.
        modes: funciones ``add(modes)`` que añaden cada modo con
            ``set_defaults(func=...)``, en el orden de la ayuda.
        description: texto largo de ``redes <name> --help``.

    Returns:
        El analizador de la tarea.
    """
    return add_command(commands, name, help, modes, description=description)


def add_command(commands, name: str, help: str, modes: Sequence[Mode] = (), *,
                description: str | None = None) -> argparse.ArgumentParser:
    """Añade ``redes <name>``; con ``modes``, sus modos (``redes datos descargar``).

    Returns:
        El analizador de la orden (para añadirle argumentos si no tiene modos).
    """
    parser = commands.add_parser(name, help=help, description=description or help)
    if modes:
        subparsers = parser.add_subparsers(dest="modo", metavar="MODO", required=True)
        for add in modes:
            add(subparsers)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Las subórdenes de ``parser`` (nombre → analizador), en el orden de la ayuda."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def subcommand_helps(parser: argparse.ArgumentParser) -> dict[str, str]:
    """La línea de ayuda de cada suborden de ``parser`` (nombre → ayuda)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {choice.dest: choice.help for choice in action._choices_actions}
    return {}


def command_name(args) -> str:
    """``redes TAREA MODO`` de la orden que se ejecuta (para los mensajes)."""
    mode = getattr(args, "modo", None)
    return f"redes {args.orden}" + (f" {mode}" if mode else "")


# === Tipos ===

def _number(text: str, kind, what: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"se esperaba {what}; recibido {text!r}") from None


def bounded_int(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """Tipo de argparse: un entero en [minimum, maximum]."""

    def parse(text: str) -> int:
        value = _number(text, int, "un número entero")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"≥ {minimum}" if maximum is None else f"entre {minimum} y {maximum}"
            raise argparse.ArgumentTypeError(f"debe ser un entero {bound}; recibido {text}")
        return value

    parse.__name__ = "entero"
    return parse


def bounded_float(minimum: float, maximum: float | None = None, *,
                  include_minimum: bool = False,
                  include_maximum: bool = True) -> Callable[[str], float]:
    """Tipo de argparse: un número finito en (minimum, maximum] (o con los extremos que
    digan ``include_minimum`` e ``include_maximum``)."""

    def parse(text: str) -> float:
        value = _number(text, float, "un número")
        low_ok = value >= minimum if include_minimum else value > minimum
        high_ok = maximum is None or (value <= maximum if include_maximum else value < maximum)
        if not (low_ok and high_ok and value == value and value != float("inf")):
            low = "≥" if include_minimum else ">"
            high = "≤" if include_maximum else "<"
            bound = f"{low} {minimum:g}" + ("" if maximum is None else f" y {high} {maximum:g}")
            raise argparse.ArgumentTypeError(f"debe ser un número {bound}; recibido {text}")
        return value

    parse.__name__ = "número"
    return parse


positive_int = bounded_int(1)
non_negative_int = bounded_int(0)
positive_float = bounded_float(0.0)
#: Una probabilidad o un umbral, en [0, 1].
probability = bounded_float(0.0, 1.0, include_minimum=True)
#: Una fracción del conjunto de datos, en [0, 1): ``--validacion`` en todas las órdenes.
validation_fraction = bounded_float(0.0, 1.0, include_minimum=True, include_maximum=False)
#: La tasa de aprendizaje de todo ``entrenar``.
learning_rate = bounded_float(0.0, MAX_LEARNING_RATE)
#: Minutos de ``--minutos`` (tope de tiempo de entrenamiento).
minutes = bounded_float(0.0, 1e6)
#: Segundos de ``--espera-coordinador``.
coordinator_wait = bounded_float(0.0, 86400.0)


def devices_count(text: str) -> int | str:
    """Tipo de ``--dispositivos``: un entero ≥ 1 o ``todos``."""
    if text == ALL_DEVICES:
        return text
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"debe ser un entero ≥ 1 o «{ALL_DEVICES}»; recibido {text}") from None


devices_count.__name__ = "dispositivos"


# === Opciones comunes ===

def add_seed_argument(parser: argparse.ArgumentParser, default: int | None = 0,
                      help: str = "semilla (por defecto 0)") -> None:
    parser.add_argument("--semilla", type=non_negative_int, default=default, metavar="S",
                        help=help)


def add_engine_argument(parser: argparse.ArgumentParser) -> None:
    """``--motor``: con qué motor de inferencia predecir (:mod:`inferencia.motores`)."""
    parser.add_argument("--motor", choices=ENGINES, default="keras", help=ENGINE_HELP)


def add_json_argument(parser: argparse.ArgumentParser, what: str = "las cifras") -> None:
    parser.add_argument("--json", metavar="RUTA", help=f"escribe también {what} en JSON")


def add_output_argument(parser: argparse.ArgumentParser, help: str,
                        default: str | None = None) -> None:
    """``--salida CARPETA``: siempre adónde escribe la orden."""
    parser.add_argument("--salida", metavar="CARPETA", default=default, help=help)


def add_weights_argument(parser: argparse.ArgumentParser, task: str) -> None:
    """``--pesos``: siempre el modelo que se da (nunca una salida)."""
    parser.add_argument("--pesos", required=True, metavar="MODELO",
                        help=f"modelo.h5 de «redes {task} entrenar» o la carpeta de «redes "
                             f"{task} exportar»")


def add_inference_arguments(parser: argparse.ArgumentParser, task: str, *, output_help: str,
                            json_what: str = "el resultado") -> None:
    """Las opciones de todo ``evaluar`` y ``predecir``: ``--pesos``, ``--motor``,
    ``--salida`` y ``--json``."""
    add_weights_argument(parser, task)
    add_engine_argument(parser)
    add_output_argument(parser, output_help)
    add_json_argument(parser, json_what)


#: Las opciones numéricas de todo ``entrenar``: (destino, tipo, metavar, ayuda).
_TRAINING_NUMBERS = (
    ("epocas", positive_int, "N", "épocas"),
    ("lote", positive_int, "N", "ejemplos por lote de entrenamiento"),
    ("tasa", learning_rate, "TASA", f"tasa de aprendizaje, > 0 y ≤ {MAX_LEARNING_RATE:g}"),
    ("paciencia", non_negative_int, "N",
     "parada temprana tras N épocas sin mejora (0: sin parada)"),
    ("minutos", minutes, "M", "tope de tiempo de entrenamiento en minutos (por defecto sin "
     "tope)"),
)

TENSORBOARD_HELP = ("escribe también en CARPETA los registros de TensorBoard de cada época "
                    "(pérdida, métricas y tasa de aprendizaje; en detección, val_map_50); "
                    "se abren con «tensorboard --logdir CARPETA». Necesita el extra "
                    "tensorboard (pip install \".[tensorboard]\"); por defecto no se escriben")

CONFIG_HELP = ("vuelve a entrenar con la configuración guardada en configuracion.json de "
               "otra ejecución (el archivo o su carpeta); lo que se da en la línea manda")


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def add_training_arguments(parser: argparse.ArgumentParser, *, output_default: str | None,
                           defaults: Mapping[str, Any],
                           texts: Mapping[str, str] | None = None) -> None:
    """Las opciones de todo ``entrenar``, con la misma unidad en todas las tareas.

    ``--salida``, ``--config``, ``--epocas``, ``--lote``, ``--tasa``, ``--paciencia``,
    ``--minutos``, ``--semilla``, ``--precision``, ``--json``, ``--tensorboard`` y las de
    distribución: todos los entrenadores las admiten todas.

    Todas valen ``None`` en argparse si no se dan: el valor por defecto es el de la
    configuración del entrenador (o el de ``--config``), y la ayuda lo dice
    (:func:`training_config`).

    Args:
        parser: el analizador del modo ``entrenar``.
        output_default: la carpeta de la ejecución por defecto, para la ayuda
            (``texts["salida"]`` puede explicarla mejor).
        defaults: el valor por defecto de cada opción numérica, para la ayuda.
        texts: ayuda propia de la tarea para alguna opción (``"lote": "imágenes por
            lote"``); sin «por defecto», se añade el valor.
    """
    texts = dict(texts or {})
    salida = texts.get("salida", "carpeta de la ejecución: modelo.h5, registro CSV, curvas, "
                       "configuracion.json y respaldo para reanudar")
    if output_default and "por defecto" not in salida:
        salida += f" (por defecto {output_default})"
    add_output_argument(parser, salida)
    parser.add_argument("--config", metavar="ARCHIVO", help=CONFIG_HELP)
    for dest, kind, metavar, text in _TRAINING_NUMBERS:
        text = texts.get(dest, text)
        if defaults.get(dest) is not None and "por defecto" not in text:
            text += f" (por defecto {_shown(defaults[dest])})"
        parser.add_argument(f"--{dest}", type=kind, metavar=metavar, help=text)
    add_seed_argument(parser, default=None)
    precision = texts.get("precision", PRECISION_HELP)
    parser.add_argument("--precision", choices=TRAINING_PRECISIONS, help=precision)
    add_json_argument(parser)
    parser.add_argument("--tensorboard", metavar="CARPETA", help=TENSORBOARD_HELP)
    add_distributed_arguments(parser)


def training_config(cls, args, **translated):
    """La configuración de un ``entrenar``: la de ``--config`` (o el preset), con lo que se
    dio en la línea, que manda.

    Args:
        cls: la clase de configuración de la tarea (:class:`tareas.xor.XorConfig`...).
        args: los argumentos leídos; cada opción dada cuyo ``dest`` es la clave de un campo
            (:func:`tareas.configuracion.overrides_from_args`) cambia ese campo.
        **translated: campos que la línea da de otra forma (``--gris`` → ``channels=1``);
            los ``None`` se omiten.

    Raises:
        ArgumentError, DataError: un valor no válido o un ``--config`` que no vale.
    """
    from tareas.configuracion import load_config
    from tareas.configuracion import overrides_from_args

    start = load_config(cls, args.config) if args.config else None
    return cls.build(start, **{**overrides_from_args(cls, args), **given(**translated)})


def run_dir_of(config):
    """La carpeta de la ejecución de una configuración (resuelta si depende de otras)."""
    resolve = getattr(config, "resolved_run_dir", None)
    return resolve() if resolve else config.run_dir


def train_with(function, config, args, **options):
    """Llama al entrenador con su configuración (y ``options``, como ``verbose``; en un
    proceso de un entrenamiento distribuido, también con su ``cluster``, y con
    ``--dispositivos``, sus ``devices``). Antes comprueba la carpeta de ``--tensorboard``."""
    check_outputs(folders=[("--tensorboard", getattr(config, "tensorboard", None))])
    cluster = getattr(args, "cluster", None)
    if cluster is not None:
        options["cluster"] = cluster
    devices = getattr(args, "dispositivos", None)
    if devices is not None:
        options["devices"] = devices
    return function(config=config, **options)


def given(**values) -> dict[str, Any]:
    """Los valores que se dieron (no ``None``): lo demás lo decide el entrenador."""
    return {name: value for name, value in values.items() if value is not None}


def add_distributed_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dispositivos`` (un proceso) o ``--procesos`` o
    ``--coordinador``/``--num-procesos``/``--proceso`` (varios): todo con JAX."""
    group = parser.add_argument_group(
        "datos en paralelo: en varios dispositivos o procesos (keras.distribution sobre "
        "JAX; extra «jax»)")
    group.add_argument("--dispositivos", type=devices_count, metavar="N",
                       help="reparte cada lote entre N dispositivos de este proceso (varias "
                       "GPU, o la CPU dividida con REDES_CPUS_LOGICOS=N) o «todos»; elige "
                       "el backend jax. El lote global es --lote")
    group.add_argument("--procesos", type=positive_int, metavar="N",
                       help="entrena con N procesos en esta máquina (coordinador en "
                       "127.0.0.1 con un puerto libre); el lote global es --lote")
    group.add_argument("--coordinador", metavar="HOST:PUERTO",
                       help="un proceso por máquina: dirección del proceso 0, que la abre")
    group.add_argument("--num-procesos", type=positive_int, metavar="N",
                       help="con --coordinador: procesos (máquinas) en total")
    group.add_argument("--proceso", type=non_negative_int, metavar="I",
                       help="con --coordinador: el número de este proceso, de 0 a N-1 "
                       "(el 0 escribe los resultados)")
    group.add_argument("--espera-coordinador", type=coordinator_wait,
                       default=60.0, metavar="S",
                       help="segundos que cada proceso espera a que estén todos (60)")


def check_outputs(*, files: Sequence[tuple[str, object]] = (),
                  folders: Sequence[tuple[str, object]] = ()) -> None:
    """Comprueba las rutas de salida antes de empezar un trabajo largo.

    Args:
        files: pares ``(opción, ruta)`` de archivos a escribir (``("--json", args.json)``);
            las rutas ``None`` se omiten.
        folders: pares ``(opción, ruta)`` de carpetas a crear o usar.

    Raises:
        ArgumentError: la primera ruta que no se podrá escribir, con la opción que la dio.
    """
    from nucleo.archivos import check_output_path

    for flag, path in files:
        if path is not None:
            check_output_path(path, flag)
    for flag, path in folders:
        if path is not None:
            check_output_path(path, flag, folder=True)


def report(result, args) -> int:
    """Muestra el resultado (y lo guarda en ``--json``); devuelve el código 0, o 130 (el de
    Ctrl+C) si el entrenamiento se interrumpió."""
    from entrenamiento.entrenar import STOP_REASONS
    from informes.resultado import report as show

    show(result, args.json)
    interrupted = getattr(result, "metrics", {}).get("motivo_parada") == \
        STOP_REASONS["interrupcion"]
    return 130 if interrupted else 0


#: Lo que escribe ``--salida`` en los ``predecir`` que no dibujan nada.
PREDICTIONS_CSV = "predicciones.csv"


def save_predictions(results, folder):
    """Escribe ``folder/predicciones.csv``: una fila por resultado con sus datos simples
    (textos, números y listas de ellos). Sin ``folder`` no escribe nada.

    Returns:
        La ruta escrita, o ``None``.
    """
    if folder is None:
        return None
    import csv
    from pathlib import Path

    from nucleo.archivos import atomic_write

    def cell(value):
        if isinstance(value, (list, tuple)) and all(
                isinstance(item, (str, int, float)) for item in value):
            return " ".join(str(item) for item in value)
        return value if isinstance(value, (str, int, float, bool)) else None

    rows = [{key: cell(value) for key, value in result.data.items()
             if cell(value) is not None} for result in results]
    columns = list(dict.fromkeys(key for row in rows for key in row))

    def write(handle) -> None:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    path = atomic_write(Path(folder) / PREDICTIONS_CSV, write, text=True)
    print(f"predicciones: {path}")
    return path
