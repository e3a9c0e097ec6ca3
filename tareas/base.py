"""La interfaz común de las tareas: un modelo guardado, cargado para predecir.

Cada tarea (``tareas.<tarea>``) ofrece ``load(weights, engine)``, que devuelve un
:class:`Predictor` de su tarea; la CLI y el servicio HTTP usan el mismo. Un predictor
separa dos pasos, para que el servicio pueda juntar en un lote las entradas de varias
peticiones:

- :meth:`Predictor.prepare`: comprobar y preparar UNA entrada en bruto (una imagen, una
  serie de ventas, una frase). Es donde una entrada mala da un error claro
  (:class:`~nucleo.errores.DataError`), antes de llegar a la red.
- :meth:`Predictor.run_batch`: atender de una vez varias entradas ya preparadas (una
  sola llamada a la red) y devolver una respuesta (un ``dict`` JSON) por entrada, en el
  mismo orden.

:meth:`Predictor.predict` hace los dos pasos con una sola entrada.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Predictor:
    """Un modelo cargado para predecir en su tarea.

    Attributes:
        task: la tarea (una de :data:`nucleo.vocabulario.TASKS`).
        weights: el ``.h5`` o la carpeta de la exportación de donde se cargó.
        engine: el motor de inferencia (:class:`inferencia.motores.Engine`).
    """

    task = ""

    def __init__(self, weights, engine):
        self.weights = Path(weights)
        self.engine = engine

    def info(self) -> dict[str, Any]:
        """Lo que se cuenta de él: tarea, constructor, motor, pesos y lo propio de la tarea."""
        from modelos.registro import builder_spec

        spec = builder_spec(self.engine)
        return {"tarea": self.task, "constructor": spec.name if spec else None,
                "motor": self.engine.name, "pesos": str(self.weights), **self.details()}

    def details(self) -> dict[str, Any]:
        """Lo propio de la tarea (clases, tamaño de entrada...) para :meth:`info`."""
        return {}

    def prepare(self, *raw, **options) -> Any:
        """Comprueba y prepara una entrada en bruto."""
        raise NotImplementedError

    def run_batch(self, items: list[Any]) -> list[dict[str, Any]]:
        """Las respuestas de varias entradas preparadas, en una llamada a la red."""
        raise NotImplementedError

    def example_input(self) -> Any:
        """Una entrada preparada cualquiera (para calentar el modelo al arrancar)."""
        raise NotImplementedError

    def predict(self, *raw, **options) -> dict[str, Any]:
        """La respuesta a una sola entrada en bruto (:meth:`prepare` y :meth:`run_batch`)."""
        return self.run_batch([self.prepare(*raw, **options)])[0]
