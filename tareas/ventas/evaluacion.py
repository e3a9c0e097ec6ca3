"""Evaluar un modelo de ventas guardado en los últimos días de un CSV: ``redes pronostico
evaluar``.

El protocolo es el de la validación de :func:`~tareas.ventas.train_sales`: cada uno de
los últimos ``days`` días se predice **a un paso**, con los días reales anteriores como
retardos, y el error se da en unidades (MAE y RMSE). Se usa el escalador guardado con el
modelo (el que se ajustó al entrenar), nunca uno nuevo: con el mismo CSV y los mismos
días, las cifras son las de validación del entrenamiento.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from datos.ventas import calendar_features
from datos.ventas import sales_inputs
from informes.resultado import Table
from informes.resultado import TaskResult
from nucleo.archivos import write_csv
from nucleo.errores import DataError
from nucleo.validacion import check_int
from tareas.ventas.comun import BLOG_VALIDATION
from tareas.ventas.comun import errors_in_units
from tareas.ventas.comun import load_series
from tareas.ventas.comun import plot_series
from tareas.ventas.pronostico import load_sales_model
from tareas.ventas.referencias import seasonal_naive

EVALUATION_CSV = "evaluacion.csv"
EVALUATION_PLOT = "evaluacion.png"
#: Días que se muestran en la tabla de la terminal (todos van al CSV y al JSON).
SHOWN_DAYS = 7


def trained_validation_days(weights) -> int:
    """Los días de validación con que se entrenó el modelo (30, los del blog, si no constan)."""
    from inferencia.motores import source_metadata

    stored = source_metadata(weights).get("ventas", {})
    days = stored.get("validacion") if isinstance(stored, dict) else None
    valid = isinstance(days, int) and not isinstance(days, bool) and days > 0
    return days if valid else BLOG_VALIDATION


def one_step_predictions(model, scaler, variant: str, steps: int, series,
                         index: np.ndarray) -> np.ndarray:
    """Predicción a un paso, en unidades, del día ``series[i]`` de cada ``i`` de ``index``
    con los ``steps`` días reales anteriores (escalados con ``scaler``) como retardos."""
    scaled = scaler.transform(series.values)
    lags = np.stack([scaled[i - steps:i] for i in index])
    weekday, month = calendar_features(series.dates[index])
    outputs = np.asarray(model.predict_on_batch(sales_inputs(variant, lags, weekday, month)))
    return scaler.inverse_transform(outputs.reshape(len(index), -1)[:, 0])


def evaluate_sales(weights, data, days: int | None = None, *, out_dir=None,
                   date_column=None, value_column=None, engine: str = "keras") -> TaskResult:
    """MAE y RMSE en unidades de un modelo de ventas en los últimos ``days`` días de ``data``.

    Args:
        weights: ``modelo.h5`` de :func:`~tareas.ventas.train_sales` (o su exportación).
        data: ruta del CSV o :class:`~datos.ventas.SalesSeries`.
        days: días finales que se predicen a un paso (por defecto, los de validación con
            que se entrenó el modelo).
        out_dir: carpeta de ``evaluacion.csv`` y ``evaluacion.png`` (por defecto la del
            modelo).
        date_column: nombre o posición de la columna de fecha.
        value_column: nombre o posición de la columna de valor.
        engine: motor de inferencia (:func:`inferencia.motores.load_engine`).

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` con ``val_mae_unidades``,
        ``val_rmse_unidades`` (los nombres de la validación de ``train_sales``: mismo
        protocolo) y ``val_mae_unidades_ingenuo`` (el ingenuo estacional, t−7);
        ``data["evaluacion"]`` con el real y el predicho de cada día.

    Raises:
        ArgumentError: un argumento no válido.
        DataError: CSV no válido, o con menos filas que retardos + días.
        ModelFileError: ``weights`` no es un modelo de ventas.
    """
    where = "evaluate_sales"
    days = trained_validation_days(weights) if days is None else days
    check_int(days, "days", where=where)
    model, scaler, variant, steps = load_sales_model(weights, engine)
    series = load_series(data, date_column, value_column, where=where)
    if len(series) < steps + days:
        raise DataError(f"«{series.source}» tiene {len(series)} filas y evaluar {days} días "
                        f"con {steps} retardos necesita al menos {steps + days}.")
    index = np.arange(len(series) - days, len(series))
    predicted = one_step_predictions(model, scaler, variant, steps, series, index)
    real = series.values[index]
    naive = seasonal_naive(series, index, int(index[0]))
    metrics: dict[str, Any] = {"modelo": variant.upper(), "dias": days,
                               "desde": str(series.dates[index[0]]),
                               "hasta": str(series.dates[index[-1]])}
    # Los nombres de la validación de train_sales: es el mismo protocolo.
    metrics.update({f"val_{k}": v for k, v in errors_in_units(real, predicted).items()})
    metrics["val_mae_unidades_ingenuo"] = errors_in_units(real, naive)["mae_unidades"]
    rows = [{"fecha": str(d), "real": float(r), "prediccion": float(p)}
            for d, r, p in zip(series.dates[index], real, predicted, strict=True)]
    out_dir = Path(out_dir) if out_dir is not None else Path(weights).parent
    files = {"evaluacion": _write_rows(out_dir / EVALUATION_CSV, rows),
             "grafico": plot_series(out_dir / EVALUATION_PLOT,
                                    f"Últimos {days} días, a un paso: real frente a predicho",
                                    [(series.dates[index], real, "real", "o-"),
                                     (series.dates[index], predicted, variant.upper(), "s--")])}
    return TaskResult(
        title=f"Ventas «{variant.upper()}»: evaluación a un paso (MAE y RMSE en unidades)",
        metrics=metrics, files=files,
        data={"evaluacion": rows, "motor": model.name},
        tables=[Table(f"Últimos días evaluados (a un paso; todos en {EVALUATION_CSV})",
                      ("Fecha", "Real / predicho"),
                      [(row["fecha"], f"{row['real']:.0f} / {row['prediccion']:.1f}")
                       for row in rows[-SHOWN_DAYS:]])],
        model=model.keras_model or model,
    )


def _write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    return write_csv(path, ("fecha", "real", "prediccion"),
                     ((row["fecha"], f"{row['real']:.2f}", f"{row['prediccion']:.2f}")
                      for row in rows))
