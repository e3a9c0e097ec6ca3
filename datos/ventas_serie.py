"""La serie diaria de ventas y su CSV: lectura validada, escritura y calendario.

El blog «Pronóstico de Series Temporales con Redes Neuronales en Python» lee un CSV de
dos columnas sin cabecera, ``fecha,unidades``, separadas por comas (los días sin ventas
simplemente faltan). :func:`read_sales_csv` lo valida una sola vez, en el borde:

- fecha o valor ilegible → error con el archivo y la línea;
- un valor no finito o fuera de ±:data:`MAX_SALES_VALUE` → error con la línea (con él,
  el escalado y los errores al cuadrado desbordarían y el MAE saldría infinito);
- columnas separadas por «;» (o tabuladores) → error que lo dice y pide comas;
- fechas repetidas → error con las dos líneas; desordenadas → se ordenan con un aviso.

La tabla supervisada, el escalador y la partición sin fugas están en :mod:`datos.ventas`,
que también reexporta lo de este módulo.

Referencia: «Pronóstico de Series Temporales con Redes Neuronales en Python»,
Aprende Machine Learning.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from nucleo.archivos import atomic_write
from nucleo.errores import DataError, EmptyDataError

logger = logging.getLogger("redes")

# Los nombres de columna que el blog da a su CSV sin cabecera.
DEFAULT_COLUMNS = ("fecha", "unidades")
# Mayor valor absoluto admitido. Con 1e308 el escalado y los errores al cuadrado
# desbordan (MAE = inf); 1e15 deja margen de sobra en float64 y cubre cualquier venta.
MAX_SALES_VALUE = 1e15
# Separadores que delatan un CSV «europeo» o de hoja de cálculo: el lector usa comas.
_OTHER_SEPARATORS = (";", "\t", "|")
#: Mayor CSV de ventas que se lee (256 MiB: millones de filas en formato largo); uno mayor
#: se rechaza antes de abrirlo, en lugar de llenar la memoria.
MAX_CSV_BYTES = 256 * 2**20


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

def parse_date(text: str) -> np.datetime64 | None:
    """Fecha ISO (``2017-01-02``, también con hora) como ``datetime64[D]``, o ``None``."""
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
    return value


def value_problem(value: float) -> str | None:
    """Por qué ``value`` no sirve como venta, o ``None`` si sirve."""
    if not math.isfinite(value):
        return "no es un número finito"
    if abs(value) > MAX_SALES_VALUE:
        return (f"está fuera del rango admitido (±{MAX_SALES_VALUE:.0e}); con valores así "
                "el escalado y los errores desbordan")
    return None


def separator_hint(row: list[str]) -> str:
    """Una pista si las celdas de ``row`` traen otro separador de columnas (``;``...)."""
    text = ",".join(row)
    for separator in _OTHER_SEPARATORS:
        if separator in text:
            shown = "tabulador" if separator == "\t" else separator
            return (f" Las columnas parecen separadas por «{shown}»: el CSV debe separarlas "
                    "con comas («,»), p. ej. 2017-01-02,236.")
    return ""


def check_sales_values(series: SalesSeries) -> SalesSeries:
    """Comprueba que cada valor de ``series`` es finito y está en ±:data:`MAX_SALES_VALUE`.

    :func:`read_sales_csv` ya lo comprueba línea a línea; esto cubre las series creadas
    en Python.

    Raises:
        DataError: que nombra la serie, la fecha y el valor.
    """
    values = np.asarray(series.values, dtype=np.float64)
    dates = np.asarray(series.dates, dtype="datetime64[D]")
    if values.ndim != 1 or dates.shape != values.shape:
        raise DataError(
            f"«{series.source or 'la serie'}»: hacen falta tantas fechas como valores, en "
            f"vectores; recibidas fechas {dates.shape} y valores {values.shape}."
        )
    bad = np.flatnonzero(~np.isfinite(values) | (np.abs(values) > MAX_SALES_VALUE))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"«{series.source or 'la serie'}»: el valor {float(values[i])!r} del {dates[i]} "
            f"{value_problem(float(values[i]))}."
        )
    return series


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

    Las columnas se separan con comas. Sin cabecera (como el del blog) la fecha es la
    primera columna y el valor la segunda. Hay cabecera si la primera celda de la primera
    línea no es una fecha; entonces ``date_column`` / ``value_column`` pueden ser nombres
    de columna. Las líneas vacías se ignoran. Si las fechas no están en orden se ordenan y se avisa.

    Args:
        path: ruta del CSV.
        date_column: nombre o posición (desde 0) de la columna de fecha (por defecto 0).
        value_column: nombre o posición de la columna de valor (por defecto 1).

    Returns:
        Una :class:`SalesSeries` ordenada por fecha.

    Raises:
        DataError: archivo inexistente, fecha o valor ilegible, no finito o fuera de
            ±:data:`MAX_SALES_VALUE` (nombra la línea), columnas separadas por «;»,
            fechas repetidas (nombra las dos líneas) o columnas que no existen.
        EmptyDataError: si el archivo no tiene ninguna fila de datos.

    Example:
        >>> serie = read_sales_csv("time_series.csv")  # doctest: +SKIP
        >>> len(serie), str(serie.dates[0])  # doctest: +SKIP
        (604, '2017-01-02')
    """
    path = Path(path)
    lines = read_csv_rows(path)
    lines, date_index, value_index = _locate_columns(path, lines, date_column, value_column)
    dates, values, line_numbers = [], [], []
    needed = max(date_index, value_index) + 1
    for number, row in lines:
        date, value = _parse_row(path, number, row, date_index, value_index, needed)
        dates.append(date)
        values.append(value)
        line_numbers.append(number)
    return _sorted_series(path, dates, values, line_numbers)


def read_csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Las filas no vacías del CSV con su número de línea (desde 1).

    Raises:
        DataError: si no es un archivo o no es un CSV de texto legible.
        EmptyDataError: si no tiene ninguna fila.
    """
    if path.is_dir():
        raise DataError(f"«{path}» es una carpeta; se esperaba el archivo CSV de ventas.")
    if not path.is_file():
        raise DataError(f"No existe el archivo CSV de ventas «{path}».")
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise DataError(f"«{path}» ocupa {size} bytes, más de los {MAX_CSV_BYTES} que se leen "
                        "(256 MiB); divídelo o quita columnas que no se usan.")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            lines = [(number, row) for number, row in enumerate(csv.reader(handle), start=1)
                     if any(cell.strip() for cell in row)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"«{path}» no es un CSV de texto legible: {exc}.") from None
    if not lines:
        raise EmptyDataError(f"«{path}» está vacío: no tiene ninguna fila de ventas.")
    return lines


def _locate_columns(path: Path, lines: list[tuple[int, list[str]]], date_column,
                    value_column) -> tuple[list[tuple[int, list[str]]], int, int]:
    """Detecta la cabecera y sitúa las columnas: (filas de datos, índice de fecha, de valor).

    Raises:
        DataError: columnas separadas por otro carácter o columnas que no existen.
        EmptyDataError: si tras la cabecera no queda ninguna fila.
    """
    header = None
    first_row = lines[0][1]
    # «2017-01-02;236» o «fecha;unidades»: una sola columna, o una fecha pegada a otra celda.
    hint = separator_hint(first_row)
    if hint and (len(first_row) == 1 or any(
            parse_date(first_row[0].split(separator)[0]) is not None
            for separator in _OTHER_SEPARATORS)):
        raise DataError(f"«{path}», línea {lines[0][0]}: las columnas no se distinguen en "
                        f"{','.join(first_row)!r}.{hint}")
    # Hay cabecera si la celda de la fecha de la primera fila no es una fecha.
    probe_index = 0
    if not isinstance(date_column, str) or date_column.strip().isdigit():
        probe_index = _column_index(None, date_column, 0, "fecha", path)
    if probe_index >= len(first_row) or parse_date(first_row[probe_index]) is None:
        header, lines = first_row, lines[1:]
    date_index = _column_index(header, date_column, 0, "fecha", path)
    value_index = _column_index(header, value_column, 1, "valor", path)
    if not lines:
        raise EmptyDataError(f"«{path}» solo tiene la cabecera: ninguna fila de ventas.")
    return lines, date_index, value_index


def _parse_row(path: Path, number: int, row: list[str], date_index: int, value_index: int,
               needed: int) -> tuple[np.datetime64, float]:
    """La fecha y el valor de una fila; el error nombra la línea y el problema."""
    if len(row) < needed:
        raise DataError(
            f"«{path}», línea {number}: se esperaban al menos {needed} columnas "
            f"(fecha y valor) y hay {len(row)}: {','.join(row)!r}.{separator_hint(row)}"
        )
    date = parse_date(row[date_index])
    if date is None:
        raise DataError(
            f"«{path}», línea {number}: la fecha {row[date_index].strip()!r} no se "
            f"entiende; se espera AAAA-MM-DD (p. ej. 2017-01-02).{separator_hint(row)}"
        )
    value = _parse_value(row[value_index])
    problem = "no es un número" if value is None else value_problem(value)
    if problem:
        raise DataError(
            f"«{path}», línea {number}: el valor {row[value_index].strip()!r} "
            f"{problem}.{separator_hint(row)}"
        )
    return date, value


def _sorted_series(path: Path, dates: list[np.datetime64], values: list[float],
                   line_numbers: list[int]) -> SalesSeries:
    """La serie ordenada por fecha (avisa si no lo estaba).

    Raises:
        DataError: si una fecha se repite (nombra las dos líneas).
    """
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
        for date, value in zip(series.dates, series.values, strict=True):
            text = str(int(value)) if float(value).is_integer() else repr(float(value))
            writer.writerow((str(date), text))

    return atomic_write(path, write, text=True)

