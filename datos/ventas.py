"""Series diarias de ventas: tabla supervisada del blog, escalado y partición sin fugas.

El blog «Pronóstico de Series Temporales con Redes Neuronales en Python» convierte la
serie en una tabla supervisada de 7 retardos con ``series_to_supervised``. Aquí está lo
mismo, sin fugas:

- :func:`series_to_supervised` devuelve las columnas del blog ``var1(t-7) … var1(t)``.
- :class:`MinMaxScaler` lleva los valores a [-1, 1] ajustado solo con la parte de
  entrenamiento y se guarda como JSON dentro del HDF5 del modelo (nada de pickle).
- :func:`prepare_sales` aparta los últimos días de validación; el calendario de cada
  fila es el del día **objetivo** (el cuaderno del blog lo tomaba con un desfase).
- :func:`sales_inputs` ordena retardos y calendario como la entrada de cada variante.
- :func:`make_sales_series` genera ventas sintéticas (patrón semanal, pico de verano,
  ruido y días sin ventas) para pruebas y la demo.

La serie, su lector CSV validado y el calendario están en :mod:`datos.ventas_serie` y se
reexportan aquí: ``from datos.ventas import read_sales_csv`` sigue sirviendo.

Ejemplo::

    serie = read_sales_csv("time_series.csv")
    check_series_length(len(serie), steps=7, validation=30, source=serie.source)
    tabla = series_to_supervised(serie.values, n_in=7)   # var1(t-7) ... var1(t)

Referencia: «Pronóstico de Series Temporales con Redes Neuronales en Python» y
«Pronóstico de Ventas con Redes Neuronales – Parte 2», Aprende Machine Learning.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nucleo.errores import ArgumentError, DataError
from nucleo.validacion import check_int, check_number
from datos.ventas_serie import DEFAULT_COLUMNS
from datos.ventas_serie import MAX_SALES_VALUE
from datos.ventas_serie import SalesSeries
from datos.ventas_serie import calendar_features
from datos.ventas_serie import check_sales_values
from datos.ventas_serie import check_series_length
from datos.ventas_serie import parse_date
from datos.ventas_serie import read_sales_csv
from datos.ventas_serie import required_rows
from datos.ventas_serie import write_sales_csv

__all__ = [
    "DEFAULT_COLUMNS", "MAX_SALES_VALUE", "WEEKLY_PATTERN", "MinMaxScaler", "SalesData",
    "SalesSeries", "SupervisedPart", "calendar_features", "check_sales_values",
    "check_series_length", "make_sales_series", "parse_date", "prepare_sales", "read_sales_csv",
    "required_rows", "sales_inputs", "series_to_supervised", "write_sales_csv",
]


# === Tabla supervisada ===

def series_to_supervised(values, n_in: int = 1, n_out: int = 1,
                         dropnan: bool = True) -> pd.DataFrame:
    """Convierte una serie en tabla supervisada, como la función del blog.

    Con una variable y ``n_in=7`` las columnas son ``var1(t-7) … var1(t-1), var1(t)``
    (y ``var1(t+1)…`` si ``n_out > 1``); con varias, ``var1``, ``var2``... por instante.
    El índice de cada fila es la posición de ``t`` en la serie original.

    Args:
        values: vector (N,) o matriz (N, variables).
        n_in: retardos de entrada (``PASOS = 7`` en el blog).
        n_out: pasos de salida (``t``, ``t+1``...).
        dropnan: quitar las filas incompletas de los bordes.

    Returns:
        ``DataFrame`` con una columna por variable e instante.

    Example:
        >>> series_to_supervised([1, 2, 3, 4], n_in=2).values.tolist()
        [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]
    """
    check_int(n_in, "n_in", minimum=0, where="series_to_supervised")
    check_int(n_out, "n_out", where="series_to_supervised")
    data = np.asarray(values, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise ArgumentError(
            f"series_to_supervised: «values» debe ser un vector o una matriz; forma {data.shape}."
        )
    frame = pd.DataFrame(data)
    n_vars = data.shape[1]
    columns, names = [], []
    for lag in range(n_in, 0, -1):
        columns.append(frame.shift(lag))
        names += [f"var{j + 1}(t-{lag})" for j in range(n_vars)]
    for step in range(n_out):
        columns.append(frame.shift(-step))
        suffix = "" if step == 0 else f"+{step}"
        names += [f"var{j + 1}(t{suffix})" for j in range(n_vars)]
    table = pd.concat(columns, axis=1)
    table.columns = names
    return table.dropna() if dropnan else table


# === Escalado ===

class MinMaxScaler:
    """Escalado lineal a ``feature_range`` (por defecto [-1, 1]), como el del blog.

    Se ajusta con :meth:`fit` sobre la parte de entrenamiento y se guarda con
    :meth:`to_json` en los metadatos del modelo.

    Example:
        >>> s = MinMaxScaler().fit([0.0, 10.0])
        >>> s.transform([5.0]).tolist(), s.inverse_transform([1.0]).tolist()
        ([0.0], [10.0])
    """

    def __init__(self, feature_range: Sequence[float] = (-1.0, 1.0)):
        low, high = (float(v) for v in feature_range)
        if not low < high:
            raise ArgumentError(
                f"MinMaxScaler: «feature_range» debe ser (mín, máx) con mín < máx; "
                f"recibido {tuple(feature_range)!r}."
            )
        self.feature_range = (low, high)
        self.data_min: float | None = None
        self.data_max: float | None = None

    def fit(self, values) -> MinMaxScaler:
        """Toma el mínimo y el máximo de ``values`` (solo los de entrenamiento)."""
        data = np.asarray(values, dtype=np.float64)
        if data.size == 0 or not np.all(np.isfinite(data)):
            raise DataError("MinMaxScaler.fit: hacen falta valores finitos y al menos uno.")
        if data.min() == data.max():
            raise DataError(f"MinMaxScaler.fit: todos los valores de entrenamiento valen "
                            f"{float(data.min()):g}: una serie constante no tiene nada que "
                            "aprender (ni escala con la que volver a unidades).")
        self.data_min, self.data_max = float(data.min()), float(data.max())
        return self

    def _scale(self) -> tuple[float, float]:
        if self.data_min is None or self.data_max is None:
            raise ArgumentError("MinMaxScaler: llama antes a fit() o usa from_json().")
        low, high = self.feature_range
        span = self.data_max - self.data_min
        scale = (high - low) / span
        return scale, low - self.data_min * scale

    def transform(self, values) -> np.ndarray:
        """Valores originales → escala del modelo."""
        scale, offset = self._scale()
        return np.asarray(values, dtype=np.float64) * scale + offset

    def inverse_transform(self, values) -> np.ndarray:
        """Escala del modelo → valores originales (unidades)."""
        scale, offset = self._scale()
        return (np.asarray(values, dtype=np.float64) - offset) / scale

    def to_json(self) -> dict[str, Any]:
        """Diccionario JSON con todo lo necesario para reconstruirlo."""
        self._scale()
        return {"tipo": "minmax", "rango": list(self.feature_range),
                "minimo": self.data_min, "maximo": self.data_max}

    @classmethod
    def from_json(cls, data) -> MinMaxScaler:
        """Reconstruye el escalador desde :meth:`to_json` (dict o texto JSON).

        Raises:
            DataError: si faltan campos, no son números finitos, mínimo > máximo o
                mínimo = máximo (degenerado).
        """
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise DataError(f"MinMaxScaler.from_json: JSON no válido: {exc}.") from None
        try:
            scaler = cls(data["rango"])
            scaler.data_min, scaler.data_max = float(data["minimo"]), float(data["maximo"])
        except (KeyError, TypeError, ValueError):
            raise DataError(
                "MinMaxScaler.from_json: se esperaba {\"rango\", \"minimo\", \"maximo\"}; "
                f"recibido {data!r}."
            ) from None
        low, high = scaler.data_min, scaler.data_max
        if not (np.isfinite(low) and np.isfinite(high) and low <= high
                and max(abs(low), abs(high)) <= MAX_SALES_VALUE):
            raise DataError(
                "MinMaxScaler.from_json: «minimo» y «maximo» deben ser números finitos con "
                f"minimo ≤ maximo y |valor| ≤ {MAX_SALES_VALUE:.0e}; recibidos {low!r} y "
                f"{high!r}."
            )
        if low == high:
            raise DataError(
                f"MinMaxScaler.from_json: escalador degenerado, «minimo» = «maximo» = {low:g}: "
                "todo pronóstico volvería a unidades alrededor de ese valor, sea cual sea la "
                "serie.")
        return scaler


# === Datos sintéticos ===

# Multiplicador de cada día de la semana (lunes … domingo): el domingo casi no se vende.
WEEKLY_PATTERN = (1.15, 1.0, 1.0, 1.05, 1.2, 0.55, 0.3)


def make_sales_series(
    start: str = "2017-01-02",
    days: int = 700,
    *,
    seed: int = 0,
    level: float = 200.0,
    weekly: Sequence[float] = WEEKLY_PATTERN,
    summer: float = 0.3,
    noise: float = 0.08,
    missing: float = 0.03,
    closed_weekday: int | None = 6,
    closed_fraction: float = 0.85,
) -> SalesSeries:
    """Ventas diarias sintéticas con la forma de las del blog.

    ``valor = level · weekly[día] · (1 + summer · pico de julio) · (1 + ruido)``,
    redondeado a unidades. Faltan días como en el CSV del blog: la mayoría de los
    ``closed_weekday`` (domingos) y una fracción ``missing`` de los demás.

    Args:
        start: primer día (ISO).
        days: días de calendario generados (antes de quitar los que faltan).
        seed: semilla del generador propio (nunca el global).
        level: ventas medias de un día normal.
        weekly: 7 multiplicadores, de lunes a domingo.
        summer: altura relativa del pico de verano (gaussiana centrada a mediados de julio).
        noise: desviación típica del ruido multiplicativo.
        missing: fracción de días laborables sin fila.
        closed_weekday: día de la semana que casi nunca abre (``None``: ninguno).
        closed_fraction: fracción de esos días sin fila.

    Returns:
        Una :class:`SalesSeries` con ``source="sintética"``.
    """
    check_int(days, "days", where="make_sales_series")
    check_int(seed, "seed", minimum=0, where="make_sales_series")
    check_number(missing, "missing", minimum=0.0, maximum=1.0, include_maximum=False,
                 where="make_sales_series")
    check_number(closed_fraction, "closed_fraction", minimum=0.0, maximum=1.0,
                 where="make_sales_series")
    weekly = np.asarray(weekly, dtype=np.float64)
    if weekly.shape != (7,):
        raise ArgumentError(
            f"make_sales_series: «weekly» debe tener 7 valores (lunes … domingo); "
            f"recibido {weekly.shape[0] if weekly.ndim == 1 else weekly.shape}."
        )
    rng = np.random.default_rng(seed)
    first = parse_date(str(start))
    if first is None:
        raise ArgumentError(
            f"make_sales_series: «start» debe ser una fecha ISO; recibido {start!r}.")
    dates = first + np.arange(days)
    weekday, _ = calendar_features(dates)
    day_of_year = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    peak = np.exp(-0.5 * ((day_of_year - 196) / 25.0) ** 2)
    values = level * weekly[weekday] * (1 + summer * peak) * (1 + noise * rng.standard_normal(days))
    values = np.maximum(np.round(values), 0.0)
    keep = rng.random(days) >= missing
    if closed_weekday is not None:
        closed = (weekday == closed_weekday) & (rng.random(days) < closed_fraction)
        keep &= ~closed
    keep[0] = True
    return SalesSeries(dates[keep], values[keep], "sintética")



# === Partición sin fugas ===

@dataclasses.dataclass(frozen=True)
class SupervisedPart:
    """Filas supervisadas de una parte (entrenamiento o validación), ya escaladas.

    Attributes:
        lags: ``(N, steps)`` retardos escalados, del más antiguo ``(t-steps)`` a ``(t-1)``.
        target: ``(N,)`` valor escalado del día objetivo ``t``.
        weekday: ``(N,)`` día de la semana del día objetivo (0–6).
        month: ``(N,)`` mes del día objetivo (1–12).
        index: ``(N,)`` posición del día objetivo en la serie.
        dates: ``(N,)`` fecha del día objetivo.
    """

    lags: np.ndarray
    target: np.ndarray
    weekday: np.ndarray
    month: np.ndarray
    index: np.ndarray
    dates: np.ndarray

    def __len__(self) -> int:
        return len(self.target)


@dataclasses.dataclass(frozen=True)
class SalesData:
    """Serie, escalador ajustado solo con entrenamiento y las dos partes supervisadas."""

    series: SalesSeries
    scaler: MinMaxScaler
    train: SupervisedPart
    validation: SupervisedPart
    steps: int

    @property
    def cut(self) -> int:
        """Posición del primer día de validación (= filas usadas para entrenar y escalar)."""
        return len(self.series) - len(self.validation)


def prepare_sales(series: SalesSeries, steps: int = 7, validation: int = 30) -> SalesData:
    """Tabla supervisada con los últimos ``validation`` días aparte, sin fugas.

    El escalador se ajusta con los valores anteriores al primer día de validación; las
    filas de entrenamiento tienen su día objetivo (y por tanto todos sus retardos)
    antes de ese día. Las filas de validación usan como retardos los días reales
    anteriores (pronóstico a un paso, como el blog).

    Args:
        series: la serie completa.
        steps: retardos (``PASOS``).
        validation: días finales de validación (0: todo para entrenar).

    Returns:
        Un :class:`SalesData`.

    Raises:
        DataError: si la serie es demasiado corta (dice cuántas filas hacen falta) o
            tiene un valor no finito o fuera de ±:data:`MAX_SALES_VALUE`.
    """
    steps = check_int(steps, "steps", where="prepare_sales")
    validation = check_int(validation, "validation", minimum=0, where="prepare_sales")
    check_sales_values(series)
    check_series_length(len(series), steps, validation, source=series.source)
    cut = len(series) - validation
    scaler = MinMaxScaler().fit(series.values[:cut])
    table = series_to_supervised(scaler.transform(series.values), n_in=steps).to_numpy()
    index = np.arange(steps, len(series))
    weekday, month = calendar_features(series.dates[index])

    def part(mask: np.ndarray) -> SupervisedPart:
        return SupervisedPart(table[mask, :-1], table[mask, -1], weekday[mask], month[mask],
                              index[mask], series.dates[index[mask]])

    return SalesData(series, scaler, part(index < cut), part(index >= cut), steps)


def sales_inputs(variant: str, lags, weekday, month) -> np.ndarray:
    """Ordena retardos escalados y calendario como la entrada de ``variant``.

    Es la forma que esperan las variantes de :func:`modelos.ventas.mlp.build_sales_mlp`:
    ``st1`` recibe solo los retardos con la forma ``(1, steps)`` del blog; ``stmv`` y
    ``ste`` reciben los retardos seguidos del día de la semana y del mes sin escalar.

    Args:
        variant: ``"st1"``, ``"stmv"`` o ``"ste"``.
        lags: ``(N, steps)`` retardos escalados.
        weekday: ``(N,)`` día de la semana del día objetivo (0–6).
        month: ``(N,)`` mes del día objetivo (1–12).

    Returns:
        ``float32`` de forma ``(N, 1, steps)`` (st1) o ``(N, steps + 2)``.
    """
    lags = np.asarray(lags, dtype=np.float32)
    if variant == "st1":
        return lags[:, None, :]  # (N, 1, steps), como el blog
    calendar = np.stack([np.asarray(weekday), np.asarray(month)], axis=1).astype(np.float32)
    return np.concatenate([lags, calendar], axis=1)  # (N, steps + 2)
