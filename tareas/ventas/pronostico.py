"""Pronóstico recursivo de los días siguientes al último del CSV: ``redes pronostico predecir``.

Como el blog (la primera semana de diciembre de 2018): se parte de los últimos ``steps``
días conocidos y cada predicción se usa como retardo de la siguiente.
"""

from __future__ import annotations

import dataclasses
from typing import Any
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nucleo.archivos import write_csv
from nucleo.errores import ArgumentError, DataError, ModelFileError
from nucleo.validacion import check_int
from datos.ventas import MinMaxScaler
from datos.ventas import SalesSeries
from datos.ventas import calendar_features
from datos.ventas import sales_inputs
from informes.resultado import Table
from informes.resultado import TaskResult
from tareas.ventas.comun import FORECAST_CSV
from tareas.ventas.comun import FORECAST_PLOT
from tareas.registro import task_of
from tareas.ventas.comun import TASK
from tareas.ventas.comun import load_series
from tareas.ventas.comun import plot_series
from nucleo.vocabulario import MAX_FORECAST_DAYS
from tareas.base import Predictor

#: Desde cuántos días se muestra una barra de progreso (``progress=None``).
PROGRESS_DAYS = 100
#: Días del pronóstico que se muestran en la tabla de la terminal (todos van al CSV y al JSON).
SHOWN_FORECAST_DAYS = 60


def load_sales_model(weights, engine: str = "keras"):
    """Carga un modelo de :func:`~tareas.ventas.train_sales` y su escalador.

    ``weights`` es su ``modelo.h5`` o su carpeta de ``redes TAREA exportar``; ``engine``, el
    motor de inferencia (:func:`inferencia.motores.load_engine`).

    La variante y los retardos salen de los argumentos completos con que se reconstruye
    el modelo (``builder_spec(model).kwargs``, con los valores por defecto del
    constructor para lo que un archivo antiguo no guardara).

    Returns:
        ``(motor, escalador, variante, retardos)``.

    Raises:
        ModelFileError: el archivo no es un modelo de ventas o su escalador no es válido.
    """
    from inferencia.motores import load_engine, source_info
    from modelos.registro import builder_spec

    info = source_info(weights)
    metadata = info["metadata"]
    if info["builder"] not in ("ventas", "ventas_rnn") or task_of(info) != TASK:
        raise ModelFileError(
            f"«{weights}» no es un modelo de ventas (constructor «{info['builder']}»); "
            "entrena uno con «redes pronostico entrenar»."
        )
    try:
        scaler = MinMaxScaler.from_json(metadata["escalador"])
    except (KeyError, DataError) as exc:
        raise ModelFileError(f"«{weights}»: el escalador guardado no es válido: {exc}") from None
    model = load_engine(weights, engine)
    kwargs = builder_spec(model).kwargs
    if info["builder"] == "ventas_rnn":  # la variante es el nombre de la celda en la CLI
        from modelos.ventas.rnn import model_name

        return model, scaler, model_name(kwargs["cell"]), int(kwargs["steps"])
    return model, scaler, kwargs["variant"], int(kwargs["steps"])


def open_weekdays(dates) -> np.ndarray:
    """Días de la semana en que la serie suele tener ventas (0 = lunes).

    Un día cuenta como cerrado si aparece menos de la mitad de veces que el más
    frecuente (el domingo en el CSV del blog: 25 de ~100 semanas).
    """
    counts = np.bincount(calendar_features(dates)[0], minlength=7)
    return np.flatnonzero(counts >= 0.5 * counts.max())


def next_dates(last_date, days: int, weekdays: Sequence[int] = range(7)) -> np.ndarray:
    """Las ``days`` fechas siguientes a ``last_date`` que caen en ``weekdays``.

    Raises:
        ArgumentError: ``days`` no es un entero ≥ 1 o ``weekdays`` no tiene ningún día
            de la semana (0–6).
    """
    check_int(days, "days", maximum=MAX_FORECAST_DAYS, where="next_dates")
    allowed = {int(day) for day in weekdays if isinstance(day, (int, np.integer))
               and 0 <= int(day) <= 6}
    if not allowed:
        raise ArgumentError(f"next_dates: «weekdays» debe tener algún día de la semana "
                            f"(0 = lunes … 6 = domingo); recibido {list(weekdays)!r}.")
    first = np.datetime64(last_date, "D") + np.timedelta64(1, "D")
    # Basta una semana de calendario por cada día abierto que falte.
    candidates = first + np.arange(7 * days)
    keep = np.isin(calendar_features(candidates)[0], sorted(allowed))
    return candidates[keep][:days].astype("datetime64[D]")


def recursive_forecast(model, scaler: MinMaxScaler, variant: str, steps: int,
                       series: SalesSeries, dates, *, progress: bool = False) -> np.ndarray:
    """Pronóstico recursivo: cada predicción pasa a ser el último retardo de la siguiente.

    Args:
        model: perceptrón de ventas.
        scaler: escalador con que se entrenó.
        variant: variante del modelo.
        steps: retardos.
        series: historia; se usan sus últimos ``steps`` valores.
        dates: fechas a pronosticar (su calendario alimenta ``stmv`` y ``ste``).
        progress: barra de progreso (tqdm, en la salida de errores).

    Returns:
        Un valor en unidades por fecha.
    """
    window = [float(v) for v in scaler.transform(series.values[-steps:])]
    return _forecast_windows(model, scaler, variant, steps, [window], [dates],
                             progress=progress)[0]


def _forecast_windows(model, scaler: MinMaxScaler, variant: str, steps: int,
                      windows: list[list[float]], dates: list[np.ndarray], *,
                      progress: bool = False) -> list[np.ndarray]:
    """Varios pronósticos recursivos a la vez, en unidades (uno por ventana).

    En cada día, una sola llamada a la red con la ventana (escalada) de cada pronóstico
    que aún no llegó a su última fecha; la predicción pasa a ser su último retardo.
    """
    from tqdm import tqdm

    calendars = [calendar_features(item_dates) for item_dates in dates]
    windows = [list(window) for window in windows]
    predicted: list[list[float]] = [[] for _ in windows]
    days = max(len(item_dates) for item_dates in dates)
    with tqdm(total=days, desc="Pronosticando", unit="día", disable=not progress,
              leave=False, file=sys.stderr) as bar:
        for day in range(days):
            active = [i for i, item_dates in enumerate(dates) if day < len(item_dates)]
            x = sales_inputs(variant, np.array([windows[i][-steps:] for i in active]),
                             [calendars[i][0][day] for i in active],
                             [calendars[i][1][day] for i in active])
            # predict_on_batch usa la función compilada de Keras, no el modo inmediato de
            # model(x): son hasta MAX_FORECAST_DAYS llamadas seguidas.
            values = np.asarray(model.predict_on_batch(x), dtype=np.float64)[:, 0]
            for i, value in zip(active, values, strict=True):
                predicted[i].append(float(value))
                windows[i].append(float(value))
            bar.update()
    return [scaler.inverse_transform(values) for values in predicted]


def forecast(
    weights,
    data,
    days: int = 7,
    *,
    out_dir=None,
    date_column=None,
    value_column=None,
    all_days: bool = False,
    history_days: int = 90,
    progress: bool | None = None,
    engine: str = "keras",
) -> TaskResult:
    """Pronostica los ``days`` días siguientes al último del CSV, de forma recursiva.

    Las fechas siguen el calendario; los días de la semana en que la tienda casi nunca
    vende (los domingos del CSV del blog) se saltan salvo con ``all_days=True``.

    Args:
        weights: ``modelo.h5`` de :func:`~tareas.ventas.train_sales` (lleva
            escalador y ajustes).
        data: ruta del CSV o :class:`~datos.ventas.SalesSeries` con la historia.
        days: días a pronosticar (1 a :data:`MAX_FORECAST_DAYS`).
        out_dir: carpeta de ``pronostico.csv`` y ``pronostico.png`` (por defecto la
            del modelo).
        date_column: nombre o posición de la columna de fecha.
        value_column: nombre o posición de la columna de valor.
        all_days: pronosticar también los días que casi nunca tienen ventas.
        history_days: días de historia que se dibujan antes del pronóstico.
        progress: barra de progreso; ``None``: solo desde :data:`PROGRESS_DAYS` días.
        engine: motor de inferencia (:func:`inferencia.motores.load_engine`).

    Returns:
        Un :class:`~informes.resultado.TaskResult` con ``data["pronostico"]``
        (``[{"fecha", "unidades"}]``), ``metrics`` (modelo, días, desde, hasta) y
        ``files`` (``pronostico``, ``grafico``).

    Raises:
        ArgumentError: un argumento no válido (lo nombra).
        DataError: CSV no válido o con menos filas que retardos.
        ModelFileError: ``weights`` no es un modelo de ventas.
    """
    where = "forecast"
    _check_forecast_options(where, days, history_days, all_days, progress)
    predictor = load(weights, engine)
    series = load_series(data, date_column, value_column, where=where)
    item = predictor.prepare(series, days, all_days=all_days)
    show = progress if progress is not None else days >= PROGRESS_DAYS
    # El mismo cálculo que run_batch (el del servicio), sin redondear las unidades.
    (values,) = predictor.forecast_units([item], progress=show)
    dates, variant = item.dates, predictor.variant

    out_dir = Path(out_dir) if out_dir is not None else Path(weights).parent
    csv_path = _write_forecast_csv(out_dir / FORECAST_CSV, dates, values)
    recent = slice(max(0, len(series) - history_days), len(series))
    plot_path = plot_series(out_dir / FORECAST_PLOT,
                            f"Historia y pronóstico de {days} días ({variant.upper()})",
                            [(series.dates[recent], series.values[recent], "historia", "o-"),
                             (dates, values, "pronóstico", "s--")])
    return _forecast_result(predictor.engine, variant, days, dates, values,
                            {"pronostico": csv_path, "grafico": plot_path})


def _check_forecast_options(where: str, days, history_days, all_days, progress) -> None:
    """Valida los números y los interruptores de :func:`forecast` (el error los nombra)."""
    check_int(days, "days", maximum=MAX_FORECAST_DAYS, where=where)
    check_int(history_days, "history_days", where=where)
    for name, value in (("all_days", all_days), ("progress", progress)):
        if not isinstance(value, bool) and not (name == "progress" and value is None):
            raise ArgumentError(f"{where}: «{name}» debe ser True o False; recibido {value!r}.")


def _write_forecast_csv(csv_path: Path, dates, values) -> Path:
    """Escribe ``fecha,unidades`` (dos decimales) de forma atómica y devuelve la ruta."""
    return write_csv(csv_path, ("fecha", "unidades"),
                     ((str(d), f"{v:.2f}") for d, v in zip(dates, values, strict=True)))


def _forecast_result(model, variant: str, days: int, dates, values,
                     files: dict[str, Path]) -> TaskResult:
    """El resultado de :func:`forecast`: filas, métricas, archivos y la tabla de la terminal."""
    rows = [{"fecha": str(d), "unidades": float(v)} for d, v in zip(dates, values, strict=True)]
    shown = "" if days <= SHOWN_FORECAST_DAYS else (
        f"; los primeros {SHOWN_FORECAST_DAYS}, todos en {FORECAST_CSV}")
    return TaskResult(
        title=f"Pronóstico de ventas ({variant.upper()})",
        metrics={"modelo": variant.upper(), "dias": days,
                 "desde": str(dates[0]), "hasta": str(dates[-1])},
        files=files,
        data={"pronostico": rows, "motor": model.name},
        tables=[Table(f"Pronóstico recursivo de {days} días ({variant.upper()}){shown}",
                      ("Fecha", "Unidades"),
                      [(row["fecha"], f"{row['unidades']:.1f}")
                       for row in rows[:SHOWN_FORECAST_DAYS]])],
        model=model.keras_model or model,  # el de Keras si el motor es keras
    )


# === El predictor de la tarea (CLI, API y servicio) ===

@dataclasses.dataclass
class ForecastInput:
    series: Any          # datos.ventas.SalesSeries
    dates: np.ndarray    # las fechas a pronosticar
    window: list[float]  # los últimos ``steps`` valores, escalados


class ForecastPredictor(Predictor):
    """Un modelo de ``redes pronostico entrenar`` con su escalador: unidades en, unidades fuera.

    El pronóstico recursivo de varias peticiones avanza a la vez: en cada día, una sola
    llamada a la red con la ventana de cada petición que aún no terminó.
    """

    task = "pronostico"

    def __init__(self, weights, engine, scaler, variant: str, steps: int):
        super().__init__(weights, engine)
        self.scaler, self.variant, self.steps = scaler, variant, steps

    def details(self):
        return {"entrada": [self.steps], "variante": self.variant, "retardos": self.steps}

    def prepare(self, series, days: int, *, all_days: bool = False) -> ForecastInput:
        """La serie y las ``days`` fechas siguientes a su último día.

        Se saltan los días de la semana en que casi nunca hay ventas
        (:func:`open_weekdays`) salvo con ``all_days=True``.

        Raises:
            DataError: la serie tiene menos días que retardos el modelo.
        """
        if len(series) < self.steps:
            raise DataError(f"«{series.source}» tiene {len(series)} días y el modelo necesita "
                            f"los {self.steps} últimos para pronosticar.")
        weekdays = range(7) if all_days else open_weekdays(series.dates)
        dates = next_dates(series.dates[-1], days, weekdays)
        window = [float(v) for v in self.scaler.transform(series.values[-self.steps:])]
        return ForecastInput(series, dates, window)

    def example_input(self):
        from datos.ventas import make_sales_series

        return self.prepare(make_sales_series("2018-01-01", 4 * self.steps, seed=0), 1)

    def forecast_units(self, items: list[ForecastInput], *, progress: bool = False
                       ) -> list[np.ndarray]:
        """Las unidades pronosticadas (sin redondear) de cada entrada preparada.

        Es el cálculo de :meth:`run_batch` (el servicio) y de :func:`forecast` (la CLI).
        """
        return _forecast_windows(self.engine, self.scaler, self.variant, self.steps,
                                 [item.window for item in items],
                                 [item.dates for item in items], progress=progress)

    def run_batch(self, items: list[ForecastInput]) -> list[dict[str, Any]]:
        results = []
        for item, units in zip(items, self.forecast_units(items), strict=True):
            results.append({
                "historia": [{"fecha": str(d), "unidades": float(v)}
                             for d, v in zip(item.series.dates, item.series.values, strict=True)],
                "pronostico": [{"fecha": str(d), "unidades": round(float(v), 4)}
                               for d, v in zip(item.dates, units, strict=True)]})
        return results


def load(weights, engine: str = "keras") -> Predictor:
    """Carga un modelo de ventas para pronosticar: uno de una serie con su escalador (ver
    :func:`load_sales_model`), o uno global de muchas series
    (:class:`~tareas.ventas.global_predictor.GlobalForecastPredictor`)."""
    from inferencia.motores import source_info

    if source_info(weights)["builder"] == "ventas_global":
        from tareas.ventas.global_predictor import load_global_predictor

        return load_global_predictor(weights, engine)
    model, scaler, variant, steps = load_sales_model(weights, engine)
    return ForecastPredictor(weights, model, scaler, variant, steps)
