"""Los modelos que sirve ``redes servir``: cada uno, un nombre y el predictor de su tarea.

El servicio no sabe de tareas: cada modelo se carga con el ``load`` de su tarea
(:func:`tareas.registro.load_predictor`), que devuelve un :class:`tareas.base.Predictor`
con los dos pasos que el servicio necesita:

- ``prepare``: comprobar y preparar la entrada de UNA petición (decodificar la imagen,
  leer la serie, codificar la frase). Es donde una entrada mala da un error claro
  (:class:`~nucleo.errores.DataError`), antes de llegar a la red.
- ``run_batch``: atender de una vez las entradas ya preparadas de VARIAS peticiones
  (una sola llamada a la red por lote; ver :mod:`servicio.lotes`) y devolver un
  resultado por entrada, en el mismo orden.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nucleo.errores import ModelFileError

#: Las tareas que sirve ``redes servir`` (la XOR no tiene página ni ruta).
SERVED_TASKS = ("deteccion", "clasificacion", "pronostico", "traduccion")


class ServedModel:
    """Un modelo servido: su nombre (el de ``?modelo=``) y su predictor."""

    def __init__(self, name: str, predictor):
        self.name = name
        self.predictor = predictor

    @property
    def task(self) -> str:
        return self.predictor.task

    def info(self) -> dict[str, Any]:
        """Lo que ``GET /modelos`` cuenta de él."""
        return {"nombre": self.name, **self.predictor.info()}

    def prepare(self, *raw, **options):
        return self.predictor.prepare(*raw, **options)

    def run_batch(self, items: list[Any]) -> list[Any]:
        return self.predictor.run_batch(items)

    def example_input(self):
        """Una entrada preparada cualquiera, para calentar el modelo al arrancar."""
        return self.predictor.example_input()


def load_served_model(weights, *, engine: str = "keras", name: str | None = None
                      ) -> ServedModel:
    """Carga ``weights`` (``.h5`` o carpeta de ``redes TAREA exportar``) con su tarea.

    Raises:
        ModelFileError: el archivo no es un modelo de ninguna de las tareas servidas.
    """
    from tareas.registro import load_predictor

    weights = Path(weights)
    try:
        predictor = load_predictor(weights, engine, tasks=SERVED_TASKS)
    except ModelFileError as exc:
        raise ModelFileError(
            f"{exc} «redes servir» sirve detectores YOLO, clasificadores de imágenes, "
            "modelos de ventas y traductores de números.") from None
    return ServedModel(name or _default_name(weights), predictor)


def _default_name(weights: Path) -> str:
    """``pesos/ventas_ste/modelo.h5`` → ``ventas_ste``; ``pesos/detector.h5`` → ``detector``."""
    stem = weights.stem if weights.suffix else weights.name
    if stem in ("modelo", "model", "modelo.json") and weights.parent.name:
        return weights.parent.name
    return stem
