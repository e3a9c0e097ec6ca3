"""Referencias clásicas de la comparación, a un paso y con los días reales anteriores.

Cada referencia es ``f(series, index, cut) -> valores``: predice, en unidades, el día
``series[i]`` de cada ``i`` de ``index`` usando solo los días anteriores a ``i`` (y, si
se ajusta algo, solo los anteriores a ``cut``, el primer día de validación).
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable

import numpy as np

from datos.ventas import SalesSeries


def last_value(series: SalesSeries, index: np.ndarray, cut: int) -> np.ndarray:
    """El valor del día anterior con datos."""
    return series.values[index - 1]


def seasonal_naive(series: SalesSeries, index: np.ndarray, cut: int) -> np.ndarray:
    """El último día anterior con el mismo día de la semana (t − 7 si existe)."""
    weekday = series.weekdays
    out = []
    for i in index:
        same = np.flatnonzero(weekday[:i] == weekday[i])
        out.append(series.values[same[-1]] if same.size else series.values[i - 1])
    return np.array(out)


def weekday_median(series: SalesSeries, index: np.ndarray, cut: int) -> np.ndarray:
    """Mediana de cada día de la semana en la parte de entrenamiento."""
    weekday, train = series.weekdays, series.values[:cut]
    overall = float(np.median(train))
    medians = {day: float(np.median(train[weekday[:cut] == day]))
               for day in np.unique(weekday[:cut])}
    return np.array([medians.get(weekday[i], overall) for i in index])


def exponential_smoothing(series: SalesSeries, index: np.ndarray, cut: int) -> np.ndarray:
    """Suavizado exponencial con estacionalidad semanal (statsmodels, espacio de estados).

    La serie se lleva al calendario diario completo con 0 en los días sin fila (días sin
    ventas), se ajusta solo con los días anteriores al corte y se filtra el resto con
    esos mismos parámetros: cada predicción es a un paso con los datos reales anteriores.
    """
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    first = series.dates[0]
    offset = (series.dates - first).astype(np.int64)
    daily = np.zeros(int(offset[-1]) + 1)
    daily[offset] = series.values
    train_days = int(offset[cut])  # días de calendario anteriores al primer día evaluado
    with warnings.catch_warnings():  # avisos de convergencia del optimizador de statsmodels
        warnings.simplefilter("ignore")
        fitted = ExponentialSmoothing(daily[:train_days], seasonal=7,
                                      initialization_method="estimated").fit(disp=False)
    one_step = np.asarray(fitted.apply(daily).fittedvalues)
    return one_step[offset[index]]


#: (nombre, función, paquete que necesita o None).
BASELINES: tuple[tuple[str, Callable, str | None], ...] = (
    ("Último valor", last_value, None),
    ("Ingenuo estacional (t−7)", seasonal_naive, None),
    ("Mediana por día de la semana", weekday_median, None),
    ("Suavizado exponencial semanal (statsmodels)", exponential_smoothing, "statsmodels"),
)


def importable(package: str | None) -> bool:
    """``True`` si ``package`` (o ninguno) se puede importar."""
    return package is None or importlib.util.find_spec(package) is not None
