"""La parte de ventas de ``redes demo``: datos sintéticos, la STE y el ingenuo estacional."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from datos.ventas import make_sales_series
from datos.ventas import write_sales_csv
from informes.resultado import TaskResult
from tareas.ventas.comun import errors_in_units
from tareas.ventas.entrenamiento import train_sales
from tareas.ventas.pronostico import forecast
from tareas.ventas.referencias import seasonal_naive

# La demo de ``make demo``: una serie sintética de ~1 año y la STE con pocas épocas.
DEMO_SETTINGS = {"variant": "ste", "epochs": 20, "validation": 30, "days": 400,
                 "forecast_days": 7}


def run_sales_demo(out_dir, *, seed: int = 0, verbose: Any = 0) -> TaskResult:
    """Pronóstico de ventas corto sobre datos sintéticos, sin red.

    Genera ventas diarias sintéticas (patrón semanal, pico de verano, días sin ventas),
    las escribe como CSV, entrena la STE con los últimos 30 días aparte, compara su
    error con el ingenuo estacional en esos días y pronostica la semana siguiente.

    Args:
        out_dir: carpeta de la demo; se escribe en ``out_dir/ventas``.
        seed: semilla de los datos y del entrenamiento.
        verbose: barra de progreso de Keras.

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` de
        :func:`~tareas.ventas.train_sales` más ``val_mae_unidades_ingenuo`` (el
        MAE en unidades del ingenuo estacional en los mismos días), ``data["pronostico"]``,
        la tabla del pronóstico y todos los archivos escritos.
    """
    out_dir = Path(out_dir) / "ventas"
    series = make_sales_series(days=DEMO_SETTINGS["days"], seed=seed)
    csv_path = write_sales_csv(series, out_dir / "ventas_sinteticas.csv")
    trained = train_sales(csv_path, DEMO_SETTINGS["variant"], epochs=DEMO_SETTINGS["epochs"],
                          validation=DEMO_SETTINGS["validation"], seed=seed,
                          run_dir=out_dir, verbose=verbose)
    cut = len(series) - DEMO_SETTINGS["validation"]
    index = np.arange(cut, len(series))
    naive = errors_in_units(series.values[index], seasonal_naive(series, index, cut))
    predicted = forecast(trained.file("pesos"), csv_path, days=DEMO_SETTINGS["forecast_days"],
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
