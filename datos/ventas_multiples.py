"""Muchas series de ventas en formato largo: una fila por (serie, fecha).

Un CSV largo tiene una columna de fecha, una de valor, una o varias que identifican la
serie (``tienda``, ``producto``) y, opcionalmente, covariables:

- **futuras** (``--covariables-futuras``): conocidas de antemano, también en los días
  que se pronostican (precio, promoción, festivo);
- **pasadas** (``--covariables-pasadas``): solo se conocen hasta hoy (temperatura).

:class:`SeriesSchema` describe ese reparto y viaja, como JSON, en los metadatos del
modelo. En memoria los datos son un ``DataFrame`` ordenado por (serie, fecha) con las
columnas ``serie`` (las columnas de la serie unidas con " / "), ``fecha``
(``datetime64[ns]``, diaria), ``unidades`` (float) y después las covariables (float).
El CSV de una sola serie del blog se lee como una serie llamada ``"serie"``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nucleo.errores import DataError, EmptyDataError
from datos.ventas_esquema import DATE
from datos.ventas_esquema import KEY
from datos.ventas_esquema import KEY_SEPARATOR
from datos.ventas_esquema import MAX_SCHEMA_COLUMNS
from datos.ventas_esquema import SINGLE_SERIES
from datos.ventas_esquema import VALUE
from datos.ventas_esquema import SeriesSchema
from datos.ventas_esquema import series_levels
from datos.ventas_serie import MAX_SALES_VALUE
from datos.ventas_serie import parse_date
from datos.ventas_serie import read_csv_rows
from datos.ventas_serie import separator_hint
from datos.ventas_serie import value_problem

__all__ = [
    "DATE", "KEY", "KEY_SEPARATOR", "MAX_SCHEMA_COLUMNS", "SINGLE_SERIES", "VALUE", "LongTable",
    "SeriesSchema", "frame_table", "future_values", "read_future", "read_long_sales",
    "read_long_table", "series_levels", "write_long_sales",
]


# === Lectura del CSV largo ===

@dataclasses.dataclass(frozen=True)
class LongTable:
    """Lo leído de un CSV largo: la tabla, el esquema y la línea del CSV de cada fila.

    Attributes:
        frame: el ``DataFrame`` largo (ver el módulo).
        schema: el :class:`SeriesSchema`.
        lines: ``(N,)`` línea del CSV de cada fila de ``frame`` (0 en los días rellenados).
        source: de dónde viene (la ruta), para los mensajes.
    """

    frame: pd.DataFrame
    schema: SeriesSchema
    lines: np.ndarray
    source: str


def read_long_sales(path, *, date_column=None, value_column=None, series_columns=(),
                    future_covariates=(), past_covariates=(), gaps: str = "rechazar",
                    min_length: int = 1) -> tuple[pd.DataFrame, SeriesSchema]:
    """Lee un CSV de ventas en formato largo (una fila por serie y día), validado.

    Es :func:`read_long_table` sin las líneas: ver allí los argumentos y los errores.

    Returns:
        ``(df, schema)``: el ``DataFrame`` largo ordenado por (serie, fecha) y su esquema.
    """
    table = read_long_table(path, date_column=date_column, value_column=value_column,
                            series_columns=series_columns, future_covariates=future_covariates,
                            past_covariates=past_covariates, gaps=gaps, min_length=min_length)
    return table.frame, table.schema


def read_long_table(path, *, date_column=None, value_column=None, series_columns=(),
                    future_covariates=(), past_covariates=(), gaps: str = "rechazar",
                    min_length: int = 1) -> LongTable:
    """Lee y valida un CSV largo: ``tienda,producto,fecha,unidades,precio,festivo``...

    Las columnas se separan con comas y se nombran en la cabecera. Sin columnas de serie
    ni covariables vale también el CSV del blog (``fecha,unidades``, con o sin cabecera):
    una sola serie, ``"serie"``.

    Args:
        path: ruta del CSV.
        date_column: columna de la fecha (nombre; por defecto ``fecha``, o la primera
            sin cabecera).
        value_column: columna del valor (por defecto ``unidades``, o la segunda).
        series_columns: columnas que identifican la serie (``("tienda", "producto")``).
        future_covariates: covariables conocidas de antemano (``precio``, ``festivo``).
        past_covariates: covariables conocidas solo hasta el último día.
        gaps: ``"rechazar"`` (un día que falta es un error) o ``"rellenar"`` (se añade con
            0 unidades y las covariables del día anterior).
        min_length: días que debe tener cada serie (retardos + horizonte + validación).

    Returns:
        Un :class:`LongTable`.

    Raises:
        DataError: columna que no existe, fecha o número ilegible o no finito (nombra la
            columna y la línea), fila repetida (las dos líneas), hueco con
            ``gaps="rechazar"`` o serie más corta que ``min_length`` (nombra la serie).
        EmptyDataError: CSV sin filas.
    """
    from nucleo.vocabulario import SALES_GAP_POLICIES, check_choice

    check_choice(gaps, "gaps (--huecos)", SALES_GAP_POLICIES, where="read_long_sales")
    schema = SeriesSchema(tuple(series_columns), tuple(future_covariates),
                          tuple(past_covariates))
    path = Path(path)
    rows = read_csv_rows(path)
    header, rows = _split_header(path, rows, schema, date_column)
    date_name = date_column if date_column is not None else (DATE if header else "0")
    value_name = value_column if value_column is not None else (VALUE if header else "1")
    parsed = _parse_rows(
        path, rows, (_position(path, header, date_name, "la fecha"), str(date_name)),
        [(_position(path, header, name, "la serie"), name) for name in schema.series_columns],
        [(_position(path, header, value_name, "el valor"), str(value_name))]
        + [(_position(path, header, name, "una covariable"), name)
           for name in schema.covariates])
    parsed["values"], parsed["covariates"] = parsed["numbers"][:, 0], parsed["numbers"][:, 1:]
    return _finish(parsed, schema, str(path), gaps, min_length, "línea")


def _split_header(path: Path, rows, schema: SeriesSchema, date_column):
    """``(cabecera o None, filas de datos)``: hay cabecera si la primera celda de la fecha
    de la primera fila no es una fecha; con columnas de serie o covariables es obligatoria."""
    first = rows[0][1]
    hint = separator_hint(first)
    if hint and len(first) == 1:
        raise DataError(f"«{path}», línea {rows[0][0]}: las columnas no se distinguen en "
                        f"{','.join(first)!r}.{hint}")
    probe = int(date_column) if isinstance(date_column, int) else 0
    has_header = (isinstance(date_column, str) and not date_column.isdigit()) or not (
        probe < len(first) and parse_date(first[probe]) is not None)
    if not has_header and (schema.series_columns or schema.covariates):
        raise DataError(f"«{path}» no tiene cabecera: con columnas de serie o covariables las "
                        "columnas se buscan por nombre, así que la primera línea debe "
                        "nombrarlas (p. ej. tienda,producto,fecha,unidades,precio).")
    if not has_header:
        return None, rows
    if len(rows) == 1:
        raise EmptyDataError(f"«{path}» solo tiene la cabecera: ninguna fila de ventas.")
    return [cell.strip() for cell in first], rows[1:]


def _position(path: Path, header, name, role: str) -> int:
    """Posición de la columna ``name`` (nombre de la cabecera, o posición sin cabecera)."""
    if isinstance(name, int) or (isinstance(name, str) and name.strip().isdigit()):
        return int(name)
    if header is None or name not in header:
        known = ", ".join(header) if header else "(sin cabecera)"
        raise DataError(f"«{path}», línea 1: no hay ninguna columna «{name}» para {role}; "
                        f"columnas: {known}.")
    return header.index(name)


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def _parse_rows(path: Path, rows, dates_at: tuple[int, str], keys_at: list[tuple[int, str]],
                numbers_at: list[tuple[int, str]]) -> dict:
    """Fecha, clave de la serie y números de cada fila; el error nombra línea y columna.

    Cada ``*_at`` es ``(posición, nombre de la columna)``.
    """
    needed = max(index for index, _ in [dates_at, *keys_at, *numbers_at]) + 1
    dates_cache: dict[str, Any] = {}
    dates, numbers, keys, lines = [], [], [], []
    for number, row in rows:
        if len(row) < needed:
            raise DataError(f"«{path}», línea {number}: se esperaban al menos {needed} "
                            f"columnas y hay {len(row)}: {','.join(row)!r}."
                            f"{separator_hint(row)}")
        text = row[dates_at[0]].strip()
        if text not in dates_cache:
            dates_cache[text] = parse_date(text)
        if dates_cache[text] is None:
            raise DataError(f"«{path}», línea {number}, columna «{dates_at[1]}»: la fecha "
                            f"{text!r} no se entiende; se espera AAAA-MM-DD (p. ej. "
                            f"2022-01-01).{separator_hint(row)}")
        values = []
        for index, name in numbers_at:
            value = _number(row[index])
            problem = ("está vacío" if not row[index].strip() else "no es un número"
                       ) if value is None else value_problem(value)
            if problem:
                raise DataError(f"«{path}», línea {number}, columna «{name}»: el valor "
                                f"{row[index].strip()!r} {problem}.{separator_hint(row)}")
            values.append(value)
        parts = [row[index].strip() for index, _ in keys_at]
        for part, (_, name) in zip(parts, keys_at, strict=True):
            if not part or (len(keys_at) > 1 and KEY_SEPARATOR in part):
                raise DataError(f"«{path}», línea {number}, columna «{name}»: el nombre de la "
                                f"serie {part!r} está vacío o contiene «{KEY_SEPARATOR}», "
                                "que separa las columnas de la serie en su clave.")
        dates.append(dates_cache[text])
        numbers.append(values)
        keys.append(KEY_SEPARATOR.join(parts) if keys_at else SINGLE_SERIES)
        lines.append(number)
    return {"keys": np.array(keys, dtype=object), "dates": np.array(dates, "datetime64[D]"),
            "lines": np.array(lines, np.int64),
            "numbers": np.array(numbers, np.float64).reshape(len(rows), len(numbers_at))}


def _finish(parsed: dict, schema: SeriesSchema, source: str, gaps: str, min_length: int,
            unit: str) -> LongTable:
    """Ordena por (serie, fecha), rechaza repetidas, trata los huecos y mide cada serie."""
    order = np.lexsort((parsed["dates"], parsed["keys"]))
    keys, dates = parsed["keys"][order], parsed["dates"][order]
    values, lines = parsed["values"][order], parsed["lines"][order]
    covariates = parsed["covariates"][order]
    series_text = f" (columnas {', '.join(schema.series_columns)})" if schema.series_columns \
        else ""
    same = np.flatnonzero((keys[1:] == keys[:-1]) & (dates[1:] == dates[:-1]))
    if same.size:
        i = int(same[0])
        raise DataError(f"«{source}»: la serie «{keys[i]}»{series_text} repite el día "
                        f"{dates[i]} en las {unit}s {lines[i]} y {lines[i + 1]}; cada serie "
                        "debe tener una fila por día.")
    step = (dates[1:] - dates[:-1]).astype(np.int64)
    holes = np.flatnonzero((keys[1:] == keys[:-1]) & (step > 1) & (gaps is not None))
    if holes.size and gaps == "rechazar":
        i = int(holes[0])
        missing = "le falta 1 día" if step[i] == 2 else f"le faltan {step[i] - 1} días"
        total = "" if len(holes) == 1 else f"; {len(holes)} huecos en total"
        raise DataError(
            f"«{source}»: a la serie «{keys[i]}»{series_text} {missing} entre el {dates[i]} "
            f"({unit} {lines[i]}) y el {dates[i + 1]} ({unit} {lines[i + 1]}){total}. Con "
            "«--huecos rellenar» (gaps='rellenar') se rellenan con 0 unidades y las "
            "covariables del día anterior.")
    if holes.size:
        keys, dates, values, lines, covariates = _fill(keys, dates, values, lines, covariates)
    _check_lengths(keys, lines, min_length, source, series_text, unit)
    frame = pd.DataFrame({KEY: keys.astype(str), DATE: dates.astype("datetime64[ns]"),
                          VALUE: values})
    for index, name in enumerate(schema.covariates):
        frame[name] = covariates[:, index]
    return LongTable(frame, schema, lines, source)


def _fill(keys, dates, values, lines, covariates):
    """Añade los días que faltan: 0 unidades, covariables del día anterior, línea 0."""
    parts = []
    for key in pd.unique(keys):
        rows = np.flatnonzero(keys == key)
        span = np.arange(dates[rows[0]], dates[rows[-1]] + np.timedelta64(1, "D"))
        where = np.searchsorted(span, dates[rows])
        # La fila presente de cada día, o la del último día presente antes que él.
        source = rows[np.searchsorted(where, np.arange(len(span)), side="right") - 1]
        present = np.zeros(len(span), dtype=bool)
        present[where] = True
        parts.append((np.full(len(span), key, dtype=object), span,
                      np.where(present, values[source], 0.0),
                      np.where(present, lines[source], 0), covariates[source]))
    return tuple(np.concatenate([part[i] for part in parts]) for i in range(5))


def _check_lengths(keys, lines, min_length: int, source: str, series_text: str,
                   unit: str) -> None:
    """Cada serie con al menos ``min_length`` días (el error nombra la serie y su línea)."""
    names, starts, counts = np.unique(keys, return_index=True, return_counts=True)
    short = np.flatnonzero(counts < min_length)
    if short.size:
        i = int(short[0])
        raise DataError(f"«{source}»: la serie «{names[i]}»{series_text}, que empieza en la "
                        f"{unit} {lines[starts[i]]}, tiene {counts[i]} días y hacen falta al "
                        f"menos {min_length} (retardos + horizonte + días apartados); "
                        f"{short.size} series así. Quítalas del CSV o acorta la ventana.")


def frame_table(frame: pd.DataFrame, schema: SeriesSchema, *, gaps: str = "rechazar",
                min_length: int = 1, source: str = "DataFrame") -> LongTable:
    """Valida un ``DataFrame`` largo en memoria como :func:`read_long_table` valida un CSV.

    Los errores nombran la fila del ``DataFrame`` (desde 1) y la columna.

    Raises:
        DataError: falta una columna, un valor no es numérico o no es finito, una fecha no
            es válida, una fila se repite, hay huecos con ``gaps="rechazar"`` o una serie es
            más corta que ``min_length``.
    """
    from nucleo.vocabulario import SALES_GAP_POLICIES, check_choice

    check_choice(gaps, "gaps", SALES_GAP_POLICIES, where="frame_table")
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"«{source}»: se esperaba un DataFrame largo; recibido "
                        f"{type(frame).__name__}.")
    missing = [name for name in (KEY, DATE, VALUE, *schema.covariates) if name not in frame]
    if missing:
        raise DataError(f"«{source}»: faltan las columnas {', '.join(missing)}; hay "
                        f"{', '.join(map(str, frame.columns))}.")
    return _finish(_frame_parsed(frame, schema, source), schema, source, gaps, min_length,
                   "fila")


def _frame_parsed(frame: pd.DataFrame, schema: SeriesSchema, source: str) -> dict:
    """Las columnas de un ``DataFrame`` largo como las de :func:`_parse_rows`, comprobadas."""
    numbers = {}
    for name in (VALUE, *schema.covariates):
        column = pd.to_numeric(frame[name], errors="coerce").to_numpy(np.float64)
        bad = np.flatnonzero(~np.isfinite(column) | (np.abs(column) > MAX_SALES_VALUE))
        if bad.size:
            raise DataError(f"«{source}», fila {bad[0] + 1}, columna «{name}»: el valor "
                            f"{frame[name].iloc[bad[0]]!r} no es un número finito (o pasa de "
                            f"±{MAX_SALES_VALUE:.0e}).")
        numbers[name] = column
    keys = frame[KEY].astype(str).to_numpy(dtype=object)
    width = len(schema.series_columns)
    if width > 1:
        parts = np.array([len(key.split(KEY_SEPARATOR)) for key in keys])
        if (parts != width).any():
            row = int(np.flatnonzero(parts != width)[0])
            raise DataError(f"«{source}», fila {row + 1}, columna «{KEY}»: la serie "
                            f"{keys[row]!r} debe tener {width} partes separadas por "
                            f"«{KEY_SEPARATOR}» ({', '.join(schema.series_columns)}).")
    dates = pd.to_datetime(frame[DATE], errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise DataError(f"«{source}», fila {row + 1}, columna «{DATE}»: la fecha "
                        f"{frame[DATE].iloc[row]!r} no es válida.")
    return {"keys": keys, "dates": dates.to_numpy().astype("datetime64[D]"),
            "values": numbers[VALUE], "lines": np.arange(1, len(frame) + 1, dtype=np.int64),
            "covariates": np.stack([numbers[n] for n in schema.covariates], axis=1)
            if schema.covariates else np.zeros((len(frame), 0))}


# === Covariables futuras del horizonte ===

def read_future(data, schema: SeriesSchema, *, date_column=None) -> LongTable:
    """Las covariables futuras de los días que se pronostican (``--futuro FUTURO.csv``).

    ``data`` es un CSV con cabecera (las columnas de la serie, la fecha y cada covariable
    futura; la de unidades, si está, se ignora) o un ``DataFrame`` largo con ``serie``,
    ``fecha`` y las covariables futuras.

    Raises:
        DataError: columna que falta, valor ilegible (nombra la columna y la línea) o una
            fila (serie, fecha) repetida.
    """
    future_schema = SeriesSchema(schema.series_columns, schema.future_covariates)
    if isinstance(data, pd.DataFrame):
        frame = data if VALUE in data else data.assign(**{VALUE: 0.0})
        missing = [name for name in (KEY, DATE, *future_schema.covariates) if name not in frame]
        if missing:
            raise DataError(f"«futuro»: faltan las columnas {', '.join(missing)}.")
        return _finish(_frame_parsed(frame, future_schema, "futuro"), future_schema,
                       "futuro", None, 1, "fila")
    path = Path(data)
    rows = read_csv_rows(path)
    header, rows = _split_header(path, rows, future_schema, date_column)
    date_name = date_column if date_column is not None else DATE
    parsed = _parse_rows(
        path, rows, (_position(path, header, date_name, "la fecha"), str(date_name)),
        [(_position(path, header, name, "la serie"), name) for name in schema.series_columns],
        [(_position(path, header, name, "una covariable futura"), name)
         for name in schema.future_covariates])
    parsed["values"], parsed["covariates"] = np.zeros(len(rows)), parsed["numbers"]
    return _finish(parsed, future_schema, str(path), None, 1, "línea")


def future_values(keys, last_dates, future: LongTable | None, schema: SeriesSchema,
                  horizon: int) -> np.ndarray:
    """``(series, horizon, covariables futuras)``: los valores de los ``horizon`` días que
    siguen al último de cada serie.

    Raises:
        DataError: el modelo usa covariables futuras y no se dieron, o falta el día de una
            serie (nombra la serie, el día y el archivo).
    """
    names = schema.future_covariates
    offsets = np.arange(1, horizon + 1).astype("timedelta64[D]")
    days = np.asarray(last_dates, "datetime64[D]")[:, None] + offsets  # (series, horizon)
    if not names:
        return np.zeros((len(keys), horizon, 0))
    if future is None:
        raise DataError(f"El modelo usa las covariables futuras {', '.join(names)}: hace falta "
                        f"--futuro (future=...) con sus valores en los {horizon} días que "
                        "siguen al último de cada serie.")
    table = future.frame.set_index([KEY, DATE])[list(names)]
    wanted = pd.MultiIndex.from_arrays([np.repeat(np.asarray(keys, dtype=object), horizon),
                                        days.reshape(-1).astype("datetime64[ns]")])
    found = table.reindex(wanted).to_numpy(np.float64)
    absent = np.flatnonzero(np.isnan(found).any(axis=1))
    if absent.size:
        series, step = divmod(int(absent[0]), horizon)
        raise DataError(
            f"«{future.source}»: falta la fila de la serie «{keys[series]}» del "
            f"{days[series, step]} con las covariables futuras {', '.join(names)}: el "
            f"horizonte son los {horizon} días que siguen a su último día de historia, el "
            f"{np.datetime64(last_dates[series], 'D')}; faltan {absent.size} filas en total.")
    return found.reshape(len(keys), horizon, len(names))


# === Escritura ===

def write_long_sales(frame: pd.DataFrame, schema: SeriesSchema, path) -> Path:
    """Escribe el formato largo como CSV con cabecera, de forma atómica.

    Columnas: las de la serie (la clave partida por " / "), ``fecha``, ``unidades`` y las
    covariables; se lee de vuelta con :func:`read_long_sales` y el mismo esquema.
    """
    from nucleo.archivos import write_csv

    def text(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else repr(float(value))

    columns = [name for name in (VALUE, *schema.covariates) if name in frame]
    keys = frame[KEY].astype(str).to_numpy()
    dates = frame[DATE].to_numpy().astype("datetime64[D]").astype(str)
    values = frame[columns].to_numpy(np.float64)
    width = len(schema.series_columns)

    def rows():
        for key, date, numbers in zip(keys, dates, values, strict=True):
            parts = key.split(KEY_SEPARATOR) if width > 1 else ([key] if width else [])
            yield (*parts, date, *(text(v) for v in numbers))

    return write_csv(path, (*schema.series_columns, DATE, *columns), rows())
