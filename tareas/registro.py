"""Qué tarea es cada modelo guardado, y el predictor que lo carga.

Cada modelo que se guarda anota su tarea en los metadatos (``"tarea"``; si la tarea que
lo entrena no la da, :func:`modelos.save` pone la que declara su familia). Aquí se lee,
con los nombres antiguos de los archivos de versiones anteriores, y se carga con el
``load`` de esa tarea: la CLI y el servicio no distinguen tareas por el nombre del
constructor.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from nucleo.errores import ModelFileError
from nucleo.vocabulario import TASKS

#: El paquete o módulo de ``tareas`` de cada tarea.
TASK_MODULES = {"xor": "tareas.xor", "clasificacion": "tareas.clasificacion",
                "pronostico": "tareas.ventas", "traduccion": "tareas.traduccion",
                "deteccion": "tareas.deteccion"}
#: Nombres de la tarea que escribían versiones anteriores en los metadatos.
LEGACY_TASKS = {"ventas": "pronostico", "numeros": "traduccion"}


def task_of(info: dict) -> str | None:
    """La tarea de un modelo según su descripción (:func:`inferencia.motores.source_info`).

    Primero ``metadata["tarea"]`` (con :data:`LEGACY_TASKS`); si falta, la que declara la
    familia de su constructor (:func:`modelos.registro.family_of`); ``None`` si ninguna.
    """
    from modelos.registro import family_of

    task = info.get("metadata", {}).get("tarea")
    task = LEGACY_TASKS.get(task, task)
    if task in TASKS:
        return task
    family = family_of(info.get("builder") or "")
    return family.task if family else None


def task_module(task: str):
    """El módulo de ``tareas`` de ``task`` (importado al pedirlo)."""
    return importlib.import_module(TASK_MODULES[task])


def load_predictor(weights, engine: str = "keras", *, tasks=TASKS):
    """Carga ``weights`` (``.h5`` o carpeta de una exportación) con el ``load`` de su tarea.

    Args:
        weights: el modelo guardado.
        engine: el motor de inferencia (:data:`nucleo.vocabulario.ENGINES`).
        tasks: las tareas que se aceptan (el servicio no sirve la XOR).

    Returns:
        El :class:`tareas.base.Predictor` de su tarea.

    Raises:
        ModelFileError: el archivo no es de ninguna de ``tasks``.
    """
    from inferencia.motores import source_info

    info = source_info(Path(weights))
    task = task_of(info)
    if task not in tasks:
        raise ModelFileError(
            f"«{weights}» no es un modelo de {', '.join(tasks)} (constructor "
            f"«{info['builder']}», tarea «{info.get('metadata', {}).get('tarea')}»).")
    return task_module(task).load(weights, engine)
