"""Pronosticar muchas series con el modelo global: ``redes pronostico predecir`` con un
modelo de ``--columna-serie``.

Cada serie del CSV (las que el modelo vio al entrenar) se pronostica los ``horizonte``
días que siguen a su último día, de una vez, con la mediana y los intervalos calibrados.
Se escriben ``pronostico.csv`` (``serie,fecha,media,inferior_80,superior_80,...``) y
``pronostico.png`` (unas pocas series en una rejilla: historia, mediana y una banda
sombreada por nivel).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datos.ventas_multiples import DATE, KEY, VALUE, frame_table, read_future, read_long_table
from informes.resultado import Table
from informes.resultado import TaskResult
from nucleo.archivos import write_csv
from nucleo.errores import ArgumentError
from nucleo.validacion import check_int
from tareas.ventas.comun import FORECAST_CSV
from tareas.ventas.comun import FORECAST_PLOT
from tareas.ventas.global_red import interval_columns
from tareas.ventas.global_red import load_global

#: Series que se dibujan en la rejilla como máximo, y filas de la tabla de la terminal.
SHOWN_SERIES = 6
SHOWN_ROWS = 28


def pick_series(keys, scales, shown: int = SHOWN_SERIES) -> list[str]:
    """Hasta ``shown`` series repartidas por volumen (de la mayor a la más pequeña, con
    alguna intermitente si las hay)."""
    order = np.argsort(-np.asarray(scales), kind="stable")
    if len(order) <= shown:
        return [keys[i] for i in order]
    picks = np.unique(np.round(np.linspace(0, len(order) - 1, shown)).astype(int))
    return [keys[order[i]] for i in picks]


def plot_grid(path, title: str, history: pd.DataFrame, forecast: pd.DataFrame, keys,
              levels, *, real: pd.DataFrame | None = None, history_days: int = 56) -> Path:
    """Una rejilla de gráficos, uno por serie de ``keys``: los últimos ``history_days`` de
    historia, la mediana pronosticada y una banda por nivel (más clara cuanto más ancha);
    con ``real``, también lo que pasó de verdad en esos días."""
    from informes.graficos import new_figure, save_figure

    columns = 2 if len(keys) > 1 else 1
    rows = (len(keys) + columns - 1) // columns
    fig = new_figure(6 * columns, 2.8 * rows)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, key in zip(axes.reshape(-1), keys, strict=False):
        past = history[history[KEY] == key].tail(history_days)
        ahead = forecast[forecast[KEY] == key]
        dates = ahead[DATE].to_numpy()
        ax.plot(past[DATE].to_numpy(), past[VALUE].to_numpy(), "-", color="0.3",
                label="historia")
        for k, level in enumerate(sorted(levels, reverse=True)):
            ax.fill_between(dates, ahead[f"inferior_{level}"], ahead[f"superior_{level}"],
                            color="tab:blue", alpha=0.15 + 0.15 * k, linewidth=0,
                            label=f"intervalo {level} %")
        ax.plot(dates, ahead["media"].to_numpy(), "-", color="tab:blue", label="pronóstico")
        if real is not None:
            seen = real[real[KEY] == key]
            ax.plot(seen[DATE].to_numpy(), seen[VALUE].to_numpy(), ".", color="tab:red",
                    markersize=4, label="real")
        ax.set_title(key, fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in axes.reshape(-1)[len(keys):]:
        ax.set_visible(False)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(title)
    return save_figure(fig, path)


def write_forecast(path: Path, forecast: pd.DataFrame, levels) -> Path:
    """``serie,fecha,media,inferior_80,superior_80,...`` (dos decimales), atómico."""
    names = interval_columns(levels)
    values = forecast[names].to_numpy(np.float64)
    dates = forecast[DATE].to_numpy().astype("datetime64[D]").astype(str)
    return write_csv(path, (KEY, DATE, *names),
                     ((key, date, *(f"{v:.2f}" for v in row)) for key, date, row
                      in zip(forecast[KEY], dates, values, strict=True)))


def model_history(model, data, date_column=None, value_column=None, gaps=None, *,
                  min_length: int = 1):
    """La historia (CSV largo o ``DataFrame``) validada con el esquema de ``model``: sus
    columnas de serie, covariables y, si no se dan, su política de huecos y sus columnas
    de fecha y valor; cada serie con al menos ``min_length`` días."""
    stored = model.metadata
    gaps = gaps or stored.get("huecos", "rechazar")
    schema = model.schema
    if isinstance(data, pd.DataFrame):
        return frame_table(data, schema, gaps=gaps, min_length=min_length, source="historia")
    return read_long_table(
        data, date_column=date_column if date_column is not None else stored.get(
            "columna_fecha"),
        value_column=value_column if value_column is not None else stored.get(
            "columna_valor"),
        series_columns=schema.series_columns, future_covariates=schema.future_covariates,
        past_covariates=schema.past_covariates, gaps=gaps, min_length=min_length)


def forecast_global(weights, data, *, future=None, days: int | None = None, out_dir=None,
                    date_column=None, value_column=None, gaps: str | None = None,
                    history_days: int = 56, engine: str = "keras") -> TaskResult:
    """Pronostica con un modelo global los días que siguen a cada serie de ``data``.

    Args:
        weights: ``modelo.h5`` de :func:`~tareas.ventas.global_entrenamiento.train_sales_global`.
        data: CSV largo (las columnas del entrenamiento) o ``DataFrame`` largo.
        future: CSV (o ``DataFrame``) con las covariables futuras del horizonte
            (``--futuro``); hace falta si el modelo usa alguna.
        days: los primeros días del horizonte que se dan (por defecto todos).
        out_dir: carpeta de ``pronostico.csv`` y ``pronostico.png`` (la del modelo).
        date_column, value_column: columnas (por defecto, las del entrenamiento).
        gaps: ``"rechazar"`` o ``"rellenar"`` (por defecto, lo del entrenamiento).
        history_days: días de historia en cada gráfico.
        engine: motor de inferencia (:func:`inferencia.motores.load_engine`).

    Returns:
        Un :class:`~informes.resultado.TaskResult` con ``data["pronostico"]`` (una fila por
        serie y día) y ``files`` (``pronostico``, ``grafico``).

    Raises:
        ArgumentError: ``days`` mayor que el horizonte del modelo.
        DataError: CSV no válido, una serie desconocida o covariables futuras que faltan
            (nombran la serie, la columna y la línea).
        ModelFileError: ``weights`` no es un modelo global de ventas.
    """
    where = "forecast_global"
    check_int(history_days, "history_days", where=where)
    model = load_global(weights, engine)
    if days is not None and check_int(days, "days", where=where) > model.horizon:
        raise ArgumentError(f"{where}: «days» (--dias) es {days} y el modelo pronostica "
                            f"{model.horizon} días de una vez (su horizonte).")
    table = model_history(model, data, date_column, value_column, gaps)
    extra = None if future is None else read_future(future, model.schema,
                                                    date_column=date_column)
    forecast = model.forecast(table.frame, extra, lines=table.lines, source=table.source)
    if days is not None:
        forecast = forecast.groupby(KEY, sort=False).head(days).reset_index(drop=True)
    out_dir = Path(out_dir) if out_dir is not None else Path(weights).parent
    keys = pick_series(model.encoding.keys, model.encoding.scales)
    shown_keys = [key for key in keys if key in set(forecast[KEY])]
    files = {"pronostico": write_forecast(out_dir / FORECAST_CSV, forecast, model.levels),
             "grafico": plot_grid(out_dir / FORECAST_PLOT,
                                  f"Pronóstico de {forecast[DATE].nunique()} días "
                                  f"({len(shown_keys)} de {forecast[KEY].nunique()} series)",
                                  table.frame, forecast, shown_keys, model.levels,
                                  history_days=history_days)}
    return _result(model, forecast, files, getattr(model.engine, "name", "keras"))


def _result(model, forecast: pd.DataFrame, files: dict[str, Path], engine: str) -> TaskResult:
    names = interval_columns(model.levels)
    rows: list[dict[str, Any]] = [
        {"serie": key, "fecha": str(date)[:10], **{n: float(v) for n, v in zip(names, vals,
                                                                              strict=True)}}
        for key, date, vals in zip(forecast[KEY], forecast[DATE].astype(str),
                                   forecast[names].to_numpy(np.float64), strict=True)]
    headers = ("Serie", "Fecha", "Media", *(f"Intervalo {level} %" for level in model.levels))
    shown = [(row["serie"], row["fecha"], f"{row['media']:.1f}",
              *(f"{row[f'inferior_{level}']:.1f} – {row[f'superior_{level}']:.1f}"
                for level in model.levels)) for row in rows[:SHOWN_ROWS]]
    dates = forecast[DATE].to_numpy().astype("datetime64[D]")
    return TaskResult(
        title=f"Pronóstico de muchas series (red global {model.metadata.get('modelo', '')})",
        metrics={"modelo": f"global {model.metadata.get('modelo', '')}".strip(),
                 "series": int(forecast[KEY].nunique()), "horizonte": model.horizon,
                 "niveles": ", ".join(f"{level} %" for level in model.levels) or "ninguno",
                 "desde": str(dates.min()), "hasta": str(dates.max())},
        files=files, data={"pronostico": rows, "motor": engine},
        tables=[Table(f"Pronóstico (las {min(SHOWN_ROWS, len(rows))} primeras filas; todas "
                      f"en {FORECAST_CSV})", headers, shown)],
        model=getattr(model.engine, "keras_model", None) or model.engine)
