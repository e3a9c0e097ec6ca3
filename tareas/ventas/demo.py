"""La parte de ventas de ``redes demo``: datos sintéticos, la STE y el ingenuo estacional."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from datos.ventas import make_sales_series
from datos.ventas import write_sales_csv
from informes.resultado import TaskResult
from tareas.ventas.comun import errors_in_units
from tareas.ventas.configuracion import SalesConfig
from tareas.ventas.entrenamiento import train_sales
from tareas.ventas.pronostico import forecast
from tareas.ventas.referencias import seasonal_naive


@dataclasses.dataclass(frozen=True)
class SalesDemo:
    """La demo de ``make demo``: una serie sintética de ~1 año y la STE con pocas épocas.

    Attributes:
        days: días de la serie sintética.
        forecast_days: días que se pronostican tras el último.
        training: la configuración del entrenamiento (sin CSV, carpeta ni semilla: los
            pone :func:`run_sales_demo`); en float32, como siempre, para que las cifras
            de la demo no cambien de una máquina a otra.
    """

    days: int = 400
    forecast_days: int = 7
    training: SalesConfig = SalesConfig(variant="ste", epochs=20, validation=30,
                                        precision="float32")


DEMO = SalesDemo()


def run_sales_demo(out_dir, *, seed: int = 0, verbose: Any = 0,
                   precision: str | None = None) -> TaskResult:
    """Pronóstico de ventas corto sobre datos sintéticos, sin red.

    Genera ventas diarias sintéticas (patrón semanal, pico de verano, días sin ventas),
    las escribe como CSV, entrena la STE con los últimos 30 días aparte, compara su
    error con el ingenuo estacional en esos días y pronostica la semana siguiente.

    Args:
        out_dir: carpeta de la demo; se escribe en ``out_dir/ventas``.
        seed: semilla de los datos y del entrenamiento.
        verbose: barra de progreso de Keras.
        precision: precisión del entrenamiento (``None``: la de la demo, float32).

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` de
        :func:`~tareas.ventas.train_sales` más ``val_mae_unidades_ingenuo`` (el
        MAE en unidades del ingenuo estacional en los mismos días), ``data["pronostico"]``,
        la tabla del pronóstico y todos los archivos escritos.
    """
    out_dir = Path(out_dir) / "ventas"
    series = make_sales_series(days=DEMO.days, seed=seed)
    csv_path = write_sales_csv(series, out_dir / "ventas_sinteticas.csv")
    training = DEMO.training.replace(csv=csv_path, seed=seed, run_dir=out_dir)
    if precision is not None:
        training = training.replace(precision=precision)
    trained = train_sales(training, verbose=verbose)
    cut = len(series) - DEMO.training.validation
    index = np.arange(cut, len(series))
    naive = errors_in_units(series.values[index], seasonal_naive(series, index, cut))
    predicted = forecast(trained.file("pesos"), csv_path, days=DEMO.forecast_days,
                         out_dir=out_dir)
    metrics = dict(trained.metrics)
    metrics["val_mae_unidades_ingenuo"] = naive["mae_unidades"]
    return TaskResult(
        title="Ventas (demo): la STE frente al ingenuo estacional",
        metrics=metrics,
        files={"csv": csv_path, **trained.files, **predicted.files},
        data={"pronostico": predicted.data["pronostico"]},
        tables=predicted.tables,
        model=trained.model,
        history=trained.history,
    )
