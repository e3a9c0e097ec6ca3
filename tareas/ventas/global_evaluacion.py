"""Evaluar un modelo global guardado en los últimos días de cada serie: ``redes pronostico
evaluar`` con un modelo de ``--columna-serie``.

El protocolo es el de la validación de
:func:`~tareas.ventas.global_entrenamiento.train_sales_global`: de cada serie se apartan
los últimos ``days`` días y la red los pronostica desde cada origen cuyo horizonte cabe
entero en ellos (con ``days`` igual al horizonte, un solo origen: el primer día
apartado), con los días reales anteriores como retardos y las covariables del CSV. Con
``days`` menor que el horizonte, un solo origen y los ``days`` primeros días de su
horizonte. Con el CSV del entrenamiento y sus días de validación, el MAE, la cobertura y
la anchura son las de validación del entrenamiento (el MASE cambia un poco: aquí su escala
usa todos los días anteriores a los apartados, calibración incluida).

Por serie y en total: MAE en unidades, sMAPE (de 0 a 200; 0 cuando real y pronóstico son
0), MASE (el MAE dividido por el del ingenuo estacional de un paso, ``t-7``, en los días
de la serie anteriores a los apartados; las series en las que ese ingenuo nunca falla no
cuentan), el MAE y el MASE del ingenuo estacional que repite la semana anterior a cada
origen, y la cobertura empírica (en %) y la anchura media de cada intervalo.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datos.ventas_multiples import DATE, KEY, VALUE
from datos.ventas_ventanas import join_windows, series_windows
from informes.resultado import Table
from informes.resultado import TaskResult
from nucleo.archivos import write_csv
from nucleo.errores import DataError
from nucleo.validacion import check_int
from nucleo.vocabulario import MAX_HISTORY_DAYS
from tareas.ventas.global_prediccion import model_history, pick_series, plot_grid
from tareas.ventas.global_red import forecast_frame, load_global
from tareas.ventas.intervalos import interval_report, mase, naive_scale, seasonal_naive

EVALUATION_CSV = "evaluacion.csv"
EVALUATION_PLOT = "evaluacion.png"
#: Series que se muestran en la tabla de la terminal (todas van al CSV y al JSON).
SHOWN_SERIES = 12


def trained_global_days(model) -> int:
    """Los días de validación con que se entrenó el modelo global (el horizonte si no
    apartó ninguno o no consta)."""
    days = model.metadata.get("validacion")
    valid = isinstance(days, int) and not isinstance(days, bool) and days > 0
    return days if valid else model.horizon


def smape(real: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """sMAPE de cada punto, de 0 a 200 (0 cuando real y pronóstico son 0)."""
    error = np.abs(real - forecast)
    denominator = np.abs(real) + np.abs(forecast)
    return np.minimum(np.divide(200.0 * error, denominator, out=np.zeros_like(error),
                                where=denominator > 0), 200.0)


def _padded(rows: pd.DataFrame, extra: int) -> pd.DataFrame:
    """``rows`` con ``extra`` días más al final (0 unidades, las covariables del último):
    con ``days`` menor que el horizonte, la red pide el horizonte entero; esos días no se
    miden y cada día pronosticado solo ve sus propias covariables futuras."""
    if extra <= 0:
        return rows
    tail = rows.iloc[[-1] * extra].copy()
    tail[DATE] = rows[DATE].iloc[-1] + pd.to_timedelta(np.arange(1, extra + 1), unit="D")
    tail[VALUE] = 0.0
    return pd.concat([rows, tail], ignore_index=True)


def _windows(model, table, days: int):
    """Los ejemplos de cada serie, sus valores reales, el ingenuo estacional y la escala
    del MASE de cada serie (con los días anteriores a los apartados)."""
    horizon, measured = model.horizon, min(days, model.horizon)
    keys = table.frame[KEY].to_numpy()
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    model.encoding.index(keys[starts], source=table.source, lines=table.lines[starts])
    parts, real, naive, scales, names = [], [], [], [], []
    for key, rows in table.frame.groupby(KEY, sort=False):
        size = len(rows)
        index = int(model.encoding.index([key])[0])
        first = size - days
        origins = np.arange(first, max(first, size - horizon) + 1)
        values = rows[VALUE].to_numpy(np.float64)
        parts.append(series_windows(model.encoding, index, _padded(rows, horizon - days),
                                    model.steps, horizon, origins))
        ahead = origins[:, None] + np.arange(measured)
        real.append(values[ahead])
        naive.append(np.stack([seasonal_naive(values[:origin], measured)
                               for origin in origins]))
        scales.append(np.full(len(origins), naive_scale(values[:first])))
        names.append(np.full(len(origins), key, dtype=object))
    return (join_windows(parts), np.concatenate(real), np.concatenate(naive),
            np.concatenate(scales), np.concatenate(names))


def _figures(real, median, naive, units, scales, levels) -> dict[str, Any]:
    """Las cifras de un grupo de ejemplos (todas las series, o una)."""
    figures: dict[str, Any] = {
        "val_mae_unidades": float(np.mean(np.abs(median - real))),
        "val_smape": float(np.mean(smape(real, median))),
        "val_mase": mase(real, median, scales),
        "val_mae_unidades_ingenuo": float(np.mean(np.abs(naive - real))),
        "val_mase_ingenuo": mase(real, naive, scales)}
    figures.update(interval_report(real, units, levels))
    return {name: (None if isinstance(value, float) and not math.isfinite(value)
                   else round(value, 4) if isinstance(value, float) else value)
            for name, value in figures.items()}


def evaluate_global(weights, data, days: int | None = None, *, out_dir=None,
                    date_column=None, value_column=None, gaps: str | None = None,
                    engine: str = "keras") -> TaskResult:
    """MAE, sMAPE, MASE y los intervalos de un modelo global en los últimos ``days`` días
    de cada serie de ``data``, por serie y en total.

    Args:
        weights: ``modelo.h5`` de :func:`~tareas.ventas.global_entrenamiento.train_sales_global`
            (o su exportación).
        data: CSV largo (las columnas del entrenamiento) o ``DataFrame`` largo; cada serie
            con al menos retardos + ``days`` días.
        days: últimos días de cada serie que se miden (por defecto, los de validación con
            que se entrenó; o el horizonte).
        out_dir: carpeta de ``evaluacion.csv`` (las cifras de cada serie) y
            ``evaluacion.png`` (por defecto la del modelo).
        date_column, value_column: columnas (por defecto, las del entrenamiento).
        gaps: ``"rechazar"`` o ``"rellenar"`` (por defecto, lo del entrenamiento).
        engine: motor de inferencia (:func:`inferencia.motores.load_engine`).

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` con las cifras de todas
        las series (``val_mae_unidades``, ``val_smape``, ``val_mase``, sus
        ``..._ingenuo``, ``cobertura_L`` en % y ``anchura_L`` en unidades) y
        ``data["series"]`` con las mismas cifras de cada serie.

    Raises:
        ArgumentError: ``days`` no es un entero ≥ 1.
        DataError: CSV no válido, una serie desconocida o más corta que retardos + días
            (nombran la serie y la línea).
        ModelFileError: ``weights`` no es un modelo global de ventas.
    """
    where = "evaluate_global"
    model = load_global(weights, engine)
    days = trained_global_days(model) if days is None else days
    check_int(days, "days", maximum=MAX_HISTORY_DAYS, where=where)
    table = model_history(model, data, date_column, value_column, gaps,
                          min_length=model.steps + days)
    windows, real, naive, scales, names = _windows(model, table, days)
    measured = real.shape[1]
    full = model.units(windows)
    units = full[:, :measured]
    if not np.isfinite(units).all():
        raise DataError(f"«{weights}»: la red da valores no finitos con «{table.source}».")
    levels, median = model.levels, units[..., 0]
    totals = _figures(real, median, naive, units, scales, levels)
    rows = []
    for key in pd.unique(names):
        mine = names == key
        rows.append({"serie": key, **_figures(real[mine], median[mine], naive[mine],
                                                units[mine], scales[mine], levels)})
    dates = windows.dates[:, :measured]
    metrics: dict[str, Any] = {
        "modelo": f"global {model.metadata.get('modelo', '')}".strip(),
        "series": len(rows), "dias": days, "origenes_por_serie": len(real) // len(rows),
        "desde": str(dates.min())[:10], "hasta": str(dates.max())[:10], **totals}
    out_dir = Path(out_dir) if out_dir is not None else Path(weights).parent
    files = {"evaluacion": _write_rows(out_dir / EVALUATION_CSV, rows, levels),
             "grafico": _plot(out_dir / EVALUATION_PLOT, model, table, windows, full, days)}
    return TaskResult(
        title=(f"Ventas, red global de {len(rows)} series: evaluación en los últimos {days} "
               "días de cada serie (MAE en unidades; cobertura en %)"),
        metrics=metrics, files=files,
        data={"series": rows, "motor": getattr(model.engine, "name", "keras")},
        tables=_tables(rows, levels, totals),
        model=getattr(model.engine, "keras_model", None) or model.engine)


def _tables(rows: list[dict[str, Any]], levels, totals: dict[str, Any]) -> list[Table]:
    def number(value, digits=2):
        return "—" if value is None else f"{value:.{digits}f}"

    shown = sorted(rows, key=lambda row: -row["val_mae_unidades"])[:SHOWN_SERIES]
    headers = ("Serie", "MAE", "sMAPE", "MASE", "MASE ingenuo",
               *(f"Cobertura {level} %" for level in levels))
    return [
        Table("Intervalos en los días evaluados", ("Nivel", "Cobertura", "Anchura media"),
              [(f"{level} %", f"{totals[f'cobertura_{level}']:.1f} %",
                f"{totals[f'anchura_{level}']:.1f}") for level in levels]),
        Table(f"Series con más error (las {len(shown)} primeras; todas en {EVALUATION_CSV})",
              headers, [(row["serie"], number(row["val_mae_unidades"], 1),
                         number(row["val_smape"], 1), number(row["val_mase"]),
                         number(row["val_mase_ingenuo"]),
                         *(f"{row[f'cobertura_{level}']:.1f} %" for level in levels))
                        for row in shown])]


def _write_rows(path: Path, rows: list[dict[str, Any]], levels) -> Path:
    """Las cifras de cada serie, una fila por serie (atómico)."""
    columns = ["val_mae_unidades", "val_smape", "val_mase", "val_mae_unidades_ingenuo",
               "val_mase_ingenuo"] + [f"{kind}_{level}" for level in levels
                                      for kind in ("cobertura", "anchura")]
    return write_csv(path, (KEY, *columns),
                     ((row[KEY], *("" if row[name] is None else f"{row[name]:.4f}"
                                   for name in columns)) for row in rows))


def _plot(path: Path, model, table, windows, units, days: int) -> Path:
    """Unas pocas series: el pronóstico desde el primer origen, con sus bandas, y los
    valores reales de los días evaluados (``units``: todo el horizonte de cada ejemplo)."""
    measured = min(days, model.horizon)
    first = np.r_[True, windows.series[1:] != windows.series[:-1]]
    forecast = forecast_frame(windows, units, model.encoding, model.levels)
    forecast = forecast[np.repeat(first, model.horizon)]
    forecast = forecast.groupby(KEY, sort=False).head(measured)
    history = table.frame
    held = history.groupby(KEY, sort=False).cumcount(ascending=False) < days
    present = set(history[KEY])
    keys = [key for key in pick_series(model.encoding.keys, model.encoding.scales)
            if key in present]
    return plot_grid(path, f"Evaluación: los últimos {days} días de cada serie",
                     history[~held], forecast, keys, model.levels,
                     real=history[held][[KEY, DATE, VALUE]])
