"""Series diarias de ventas: lector CSV, tabla supervisada del blog, calendario y escalado.

El blog «Pronóstico de Series Temporales con Redes Neuronales en Python» lee un CSV de
dos columnas sin cabecera, ``fecha,unidades`` (los días sin ventas simplemente faltan),
y convierte la serie en una tabla supervisada de 7 retardos con ``series_to_supervised``.
Aquí está lo mismo, con la validación en el borde y sin fugas:

- :func:`read_sales_csv` valida una sola vez (fecha o valor ilegible → error con la
  línea; fechas repetidas → error; desordenadas → se ordenan con un aviso).
- :func:`series_to_supervised` devuelve las columnas del blog ``var1(t-7) … var1(t)``.
- :func:`calendar_features` da el día de la semana (0–6) y el mes (1–12) del día
  **objetivo** (el cuaderno del blog los tomaba con un desfase de una fila).
- :class:`MinMaxScaler` lleva los valores a [-1, 1] ajustado solo con la parte de
  entrenamiento y se guarda como JSON dentro del HDF5 del modelo (nada de pickle).
- :func:`make_sales_series` genera ventas sintéticas (patrón semanal, pico de verano,
  ruido y días sin ventas) para pruebas y la demo.

Ejemplo::

    serie = read_sales_csv("time_series.csv")
    check_series_length(len(serie), steps=7, validation=30, source=serie.source)
    tabla = series_to_supervised(serie.values, n_in=7)   # var1(t-7) ... var1(t)

Referencia: «Pronóstico de Series Temporales con Redes Neuronales en Python» y
«Pronóstico de Ventas con Redes Neuronales – Parte 2», Aprende Machine Learning.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import logging
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from datos.archivos import atomic_write
from datos.errores import ArgumentError, DataError, EmptyDataError
from datos.validacion import check_int, check_number

logger = logging.getLogger("redes")

# Los nombres de columna que el blog da a su CSV sin cabecera.
DEFAULT_COLUMNS = ("fecha", "unidades")


# === La serie ===

@dataclasses.dataclass(frozen=True)
class SalesSeries:
    """Una serie diaria: fechas crecientes sin repetir y un valor por fecha.

    Attributes:
        dates: fechas como ``numpy.datetime64[D]``, estrictamente crecientes.
        values: valores (unidades vendidas) como ``float64``.
        source: de dónde viene (ruta del CSV o «sintética»), para los mensajes.
    """

    dates: np.ndarray
    values: np.ndarray
    source: str = ""

    def __len__(self) -> int:
        return len(self.values)

    @property
    def weekdays(self) -> np.ndarray:
        """Día de la semana de cada fecha (0 = lunes … 6 = domingo)."""
        return calendar_features(self.dates)[0]

    @property
    def months(self) -> np.ndarray:
        """Mes de cada fecha (1–12)."""
        return calendar_features(self.dates)[1]

    def to_frame(self) -> pd.DataFrame:
        """La serie como ``DataFrame`` con las columnas ``fecha`` y ``unidades``."""
        return pd.DataFrame({"fecha": self.dates, "unidades": self.values})


def calendar_features(dates) -> tuple[np.ndarray, np.ndarray]:
    """Día de la semana (0 = lunes … 6 = domingo) y mes (1–12) de cada fecha.

    Args:
        dates: fechas (``datetime64``, ``datetime.date`` o texto ISO).

    Returns:
        Dos vectores ``int64``: ``(weekday, month)``.

    Example:
        >>> calendar_features(np.array(["2018-12-01"], "datetime64[D]"))
        (array([5]), array([12]))
    """
    days = np.asarray(dates, dtype="datetime64[D]")
    # El 1970-01-01 (día 0 de numpy) fue jueves (3).
    weekday = (days.astype(np.int64) + 3) % 7
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return weekday.astype(np.int64), month.astype(np.int64)


# === Lector CSV ===

def _parse_date(text: str) -> np.datetime64 | None:
    text = text.strip()
    for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
        try:
            value = parse(text)
        except ValueError:
            continue
        return np.datetime64(value.date() if isinstance(value, dt.datetime) else value, "D")
    return None


def _parse_value(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _column_index(header: list[str] | None, column, default: int, role: str, path: Path) -> int:
    """Posición de la columna ``column`` (nombre de la cabecera o índice desde 0)."""
    if column is None:
        return default
    if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
        return int(column)
    if isinstance(column, str) and column.strip().isdigit():
        return int(column)
    if header is None:
        raise DataError(
            f"«{path}» no tiene cabecera: la columna de {role} «{column}» no se puede buscar "
            "por nombre. Usa su posición (0, 1...) o añade una cabecera."
        )
    names = [name.strip() for name in header]
    if column not in names:
        raise DataError(
            f"«{path}», línea 1: no hay ninguna columna «{column}» para la {role}; "
            f"columnas: {', '.join(names)}."
        )
    return names.index(column)


def read_sales_csv(path, date_column=None, value_column=None) -> SalesSeries:
    """Lee un CSV de ventas diarias ``fecha,valor``, con o sin cabecera.

    Sin cabecera (como el del blog) la fecha es la primera columna y el valor la
    segunda. Hay cabecera si la primera celda de la primera línea no es una fecha;
    entonces ``date_column`` / ``value_column`` pueden ser nombres de columna. Las
    líneas vacías se ignoran. Si las fechas no están en orden se ordenan y se avisa.

    Args:
        path: ruta del CSV.
        date_column: nombre o posición (desde 0) de la columna de fecha (por defecto 0).
        value_column: nombre o posición de la columna de valor (por defecto 1).

    Returns:
        Una :class:`SalesSeries` ordenada por fecha.

    Raises:
        DataError: archivo inexistente, fecha o valor ilegible (nombra la línea),
            fechas repetidas (nombra las dos líneas) o columnas que no existen.
        EmptyDataError: si el archivo no tiene ninguna fila de datos.

    Example:
        >>> serie = read_sales_csv("time_series.csv")  # doctest: +SKIP
        >>> len(serie), str(serie.dates[0])  # doctest: +SKIP
        (604, '2017-01-02')
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"No existe el archivo CSV de ventas «{path}».")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            lines = [(number, row) for number, row in enumerate(csv.reader(handle), start=1)
                     if any(cell.strip() for cell in row)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"«{path}» no es un CSV de texto legible: {exc}.") from None
    if not lines:
        raise EmptyDataError(f"«{path}» está vacío: no tiene ninguna fila de ventas.")

    header = None
    first_row = lines[0][1]
    # Hay cabecera si la celda de la fecha de la primera fila no es una fecha.
    probe_index = 0
    if not isinstance(date_column, str) or date_column.strip().isdigit():
        probe_index = _column_index(None, date_column, 0, "fecha", path)
    if probe_index >= len(first_row) or _parse_date(first_row[probe_index]) is None:
        header, lines = first_row, lines[1:]
    date_index = _column_index(header, date_column, 0, "fecha", path)
    value_index = _column_index(header, value_column, 1, "valor", path)
    if not lines:
        raise EmptyDataError(f"«{path}» solo tiene la cabecera: ninguna fila de ventas.")

    dates, values, line_numbers = [], [], []
    needed = max(date_index, value_index) + 1
    for number, row in lines:
        if len(row) < needed:
            raise DataError(
                f"«{path}», línea {number}: se esperaban al menos {needed} columnas "
                f"(fecha y valor) y hay {len(row)}: {','.join(row)!r}."
            )
        date = _parse_date(row[date_index])
        if date is None:
            raise DataError(
                f"«{path}», línea {number}: la fecha {row[date_index].strip()!r} no se "
                "entiende; se espera AAAA-MM-DD (p. ej. 2017-01-02)."
            )
        value = _parse_value(row[value_index])
        if value is None:
            raise DataError(
                f"«{path}», línea {number}: el valor {row[value_index].strip()!r} no es un "
                "número finito."
            )
        dates.append(date)
        values.append(value)
        line_numbers.append(number)

    dates_array = np.array(dates, dtype="datetime64[D]")
    values_array = np.array(values, dtype=np.float64)
    order = np.argsort(dates_array, kind="stable")
    sorted_dates = dates_array[order]
    repeated = np.flatnonzero(sorted_dates[1:] == sorted_dates[:-1])
    if repeated.size:
        first, second = order[repeated[0]], order[repeated[0] + 1]
        raise DataError(
            f"«{path}»: la fecha {sorted_dates[repeated[0]]} está repetida en las líneas "
            f"{line_numbers[first]} y {line_numbers[second]}; cada día debe aparecer una vez."
        )
    if np.any(order != np.arange(len(order))):
        logger.warning("«%s»: las fechas no estaban en orden; se han ordenado.", path)
    return SalesSeries(sorted_dates, values_array[order], str(path))


def required_rows(steps: int, validation: int) -> int:
    """Filas mínimas: ``steps`` retardos + ``validation`` días + 1 fila de entrenamiento."""
    return steps + validation + 1


def check_series_length(n_rows: int, steps: int, validation: int, *, source: str = "") -> None:
    """Comprueba que hay filas para ``steps`` retardos, ``validation`` días y entrenar.

    Raises:
        DataError: que dice cuántas filas hacen falta y cuántas hay.
    """
    needed = required_rows(steps, validation)
    if n_rows < needed:
        where = f"«{source}» tiene" if source else "La serie tiene"
        raise DataError(
            f"{where} {n_rows} filas y hacen falta al menos {needed}: {steps} retardos + "
            f"{validation} días de validación + 1 fila para entrenar."
        )


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
        self.data_min, self.data_max = float(data.min()), float(data.max())
        return self

    def _scale(self) -> tuple[float, float]:
        if self.data_min is None or self.data_max is None:
            raise ArgumentError("MinMaxScaler: llama antes a fit() o usa from_json().")
        low, high = self.feature_range
        span = self.data_max - self.data_min
        scale = (high - low) / span if span > 0 else 1.0  # serie constante: solo se desplaza
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
            DataError: si faltan campos o no son números.
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
    first = _parse_date(str(start))
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


def write_sales_csv(series: SalesSeries, path, *, header: bool = False) -> Path:
    """Escribe la serie como el CSV del blog (``fecha,unidades``), de forma atómica.

    Args:
        series: la serie.
        path: destino.
        header: escribir la cabecera ``fecha,unidades`` (el blog no la tiene).

    Returns:
        La ruta escrita.
    """
    def write(handle) -> None:
        writer = csv.writer(handle, lineterminator="\n")
        if header:
            writer.writerow(DEFAULT_COLUMNS)
        for date, value in zip(series.dates, series.values):
            text = str(int(value)) if float(value).is_integer() else repr(float(value))
            writer.writerow((str(date), text))

    return atomic_write(path, write, text=True)


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
        DataError: si la serie es demasiado corta (dice cuántas filas hacen falta).
    """
    steps = check_int(steps, "steps", where="prepare_sales")
    validation = check_int(validation, "validation", minimum=0, where="prepare_sales")
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
