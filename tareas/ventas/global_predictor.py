"""El modelo global como predictor de la tarea (:mod:`tareas.base`): muchas series en una
entrada, para ``redes servir`` y la API.

:class:`GlobalForecastPredictor` separa los dos pasos del servicio:

- ``prepare``: comprueba UNA petición con el esquema del modelo y la deja lista: las
  series (cada una, las que el modelo vio al entrenar), su historia (al menos los
  retardos del modelo), sus covariables y las futuras de los días pedidos (como mucho,
  el horizonte). Una entrada mala da un :class:`~nucleo.errores.FieldError` que nombra
  el campo (``series[2].futuras.precio``) o un :class:`~nucleo.errores.DataError` con
  el archivo y la línea.
- ``run_batch``: todas las series de todas las peticiones del lote en una sola llamada
  a la red; cada petición recibe sus series.

La entrada es una lista de series en JSON::

    {"serie": "T01 / P003", "fechas": [...], "unidades": [...],
     "covariables": {"precio": [...], "festivo": [...]},   # una por fecha de la historia
     "futuras": {"precio": [...], "festivo": [...]}}       # una por día pronosticado

o un CSV largo (o ``DataFrame``) con la historia y otro con las covariables futuras, como
``redes pronostico predecir``. Cada día pronosticado solo depende de sus propias
covariables futuras: con menos días que el horizonte, los que faltan se rellenan con
las del último día pedido, que no cambian nada de lo que se devuelve.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from datos.ventas_multiples import DATE, KEY, VALUE, frame_table, future_values
from datos.ventas_multiples import read_future, read_long_table
from datos.ventas_serie import parse_date, value_problem
from datos.ventas_ventanas import join_windows
from nucleo.errores import DataError, FieldError
from tareas.base import Predictor
from tareas.ventas.global_datos import forecast_windows
from tareas.ventas.global_red import GlobalModel, interval_columns, load_global


@dataclasses.dataclass
class GlobalForecastInput:
    """Una petición ya comprobada.

    Attributes:
        frame: la historia larga, validada (ordenada por serie y fecha).
        keys: las series en el orden de la petición.
        future: ``(series, horizonte, F)`` covariables futuras sin escalar, en el orden de
            las series de ``frame`` (rellenadas hasta el horizonte).
        days: días que se devuelven.
    """

    frame: pd.DataFrame
    keys: list[str]
    future: np.ndarray
    days: int


def _numbers(values, field: str) -> np.ndarray:
    """Una lista de números finitos (el error nombra el campo y la posición)."""
    if not isinstance(values, (list, tuple)):
        raise FieldError(f"{field}: debe ser una lista de números.", field)
    for i, value in enumerate(values):
        problem = "no es un número" if isinstance(value, bool) or not isinstance(
            value, (int, float)) else value_problem(float(value))
        if problem:
            raise FieldError(f"{field}[{i}]: {str(value)[:40]} {problem}.", field)
    return np.asarray(values, dtype=np.float64)


class GlobalForecastPredictor(Predictor):
    """Un modelo de ``redes pronostico entrenar --columna-serie ...``: series en unidades
    dentro, mediana e intervalos de cada serie fuera."""

    task = "pronostico"
    #: Atiende muchas series en una entrada (el servicio lo mira para leer la petición).
    many_series = True

    def __init__(self, weights, model: GlobalModel):
        super().__init__(weights, model.engine)
        self.model = model
        self.positions = {key: i for i, key in enumerate(model.encoding.keys)}

    @property
    def schema(self):
        return self.model.schema

    def details(self) -> dict[str, Any]:
        schema = self.schema
        return {"variante": self.model.metadata.get("modelo"), "retardos": self.model.steps,
                "horizonte": self.model.horizon, "niveles": list(self.model.levels),
                "series": len(self.model.encoding.keys),
                "columnas_serie": list(schema.series_columns),
                "covariables_futuras": list(schema.future_covariates),
                "covariables_pasadas": list(schema.past_covariates)}

    # === Preparar una petición ===

    def prepare(self, history, days: int | None = None, *, future=None) -> GlobalForecastInput:
        """Comprueba una petición y la deja lista para :meth:`run_batch`.

        Args:
            history: lista de series en JSON (ver el módulo), o CSV largo o ``DataFrame``
                largo con las columnas del entrenamiento.
            days: días que se pronostican (por defecto y como mucho, el horizonte).
            future: con un CSV o ``DataFrame``, el de las covariables futuras de los días
                pedidos (hace falta si el modelo usa alguna).

        Raises:
            FieldError: un campo no válido (lo nombra): ``dias`` fuera de 1..horizonte,
                una serie desconocida o repetida, fechas, números no finitos, una
                covariable que falta o sobra, historia más corta que los retardos.
            DataError: el CSV no es válido (nombra la línea y la columna).
        """
        days = self._days(days)
        if isinstance(history, list):
            if future is not None:
                raise FieldError("futuro: con las series en JSON, las covariables futuras "
                                 "van en «futuras» de cada serie.", "futuro")
            return self._from_records(history, days)
        return self._from_table(history, future, days)

    def _days(self, days) -> int:
        horizon = self.model.horizon
        if days is None:
            return horizon
        if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or not (
                1 <= days <= horizon):
            raise FieldError(f"dias: {days!r} no vale; el modelo pronostica de una vez "
                             f"{horizon} días (su horizonte): se piden de 1 a {horizon}.",
                             "dias")
        return int(days)

    def _gaps(self) -> str:
        return self.model.metadata.get("huecos", "rechazar")

    def _from_records(self, records, days: int) -> GlobalForecastInput:
        """Las series en JSON: cada campo comprobado, con su nombre en el error."""
        if not isinstance(records, list) or not records:
            raise FieldError("series: hace falta al menos una serie.", "series")
        frames, futures, seen = [], {}, {}
        for i, record in enumerate(records):
            frame, extra = self._record(i, record, days)
            key = frame[KEY].iloc[0]
            if key in seen:
                raise FieldError(f"series[{i}].serie: «{key}» ya está en series[{seen[key]}]; "
                                 "cada serie va una vez.", f"series[{i}].serie")
            seen[key] = i
            frames.append(frame)
            futures[key] = extra
        table = frame_table(pd.concat(frames, ignore_index=True), self.schema,
                            gaps=self._gaps(), source="series")
        return self._finish(table.frame, list(seen), futures, days)

    def _record(self, i: int, record, days: int) -> tuple[pd.DataFrame, np.ndarray]:
        """La historia (``DataFrame`` largo) y las futuras ``(days, F)`` de la serie ``i``."""
        field = f"series[{i}]"
        if not isinstance(record, dict):
            raise FieldError(f"{field}: debe ser un objeto JSON.", field)
        key = record.get("serie")
        if not isinstance(key, str) or key not in self.positions:
            keys = self.model.encoding.keys
            raise FieldError(f"{field}.serie: la serie «{str(key)[:80]}» no estaba en el "
                             f"entrenamiento ({len(keys)} series, p. ej. «{keys[0]}»); el "
                             "modelo global solo pronostica las series con que se entrenó.",
                             f"{field}.serie")
        dates, values = record.get("fechas"), record.get("unidades")
        if not isinstance(dates, list) or not isinstance(values, list) \
                or len(dates) != len(values):
            raise FieldError(f"{field}: «fechas» y «unidades» deben ser listas de la misma "
                             "longitud.", f"{field}.unidades")
        days_of = self._dates(dates, f"{field}.fechas")
        columns = {VALUE: _numbers(values, f"{field}.unidades")}
        columns.update(self._covariates(record.get("covariables"), self.schema.covariates,
                                        len(dates), f"{field}.covariables",
                                        "una por fecha de la historia"))
        extra = self._covariates(record.get("futuras"), self.schema.future_covariates, days,
                                 f"{field}.futuras", f"una por cada uno de los {days} días "
                                 "pronosticados")
        order = np.argsort(days_of, kind="stable")
        days_of = days_of[order]
        self._check_days(days_of, f"{field}.fechas")
        frame = pd.DataFrame({KEY: key, DATE: days_of.astype("datetime64[ns]"),
                              **{name: values[order] for name, values in columns.items()}})
        future = np.stack([extra[name] for name in self.schema.future_covariates], axis=-1) \
            if self.schema.future_covariates else np.zeros((days, 0))
        return frame, future

    @staticmethod
    def _dates(dates, field: str) -> np.ndarray:
        parsed = []
        for i, text in enumerate(dates):
            day = parse_date(text) if isinstance(text, str) else None
            if day is None:
                raise FieldError(f"{field}[{i}]: «{str(text)[:40]}» no es una fecha; se "
                                 "esperaba AAAA-MM-DD.", field)
            parsed.append(day)
        return np.asarray(parsed, dtype="datetime64[D]")

    def _check_days(self, days_of: np.ndarray, field: str) -> None:
        """Sin días repetidos, sin huecos (si el modelo se entrenó rechazándolos) y con
        al menos los retardos del modelo."""
        repeated = np.flatnonzero(days_of[1:] == days_of[:-1])
        if repeated.size:
            raise FieldError(f"{field}: la fecha {days_of[repeated[0]]} está repetida; cada "
                             "día debe aparecer una vez.", field)
        step = (days_of[1:] - days_of[:-1]).astype(np.int64)
        if (step > 1).any() and self._gaps() == "rechazar":
            i = int(np.flatnonzero(step > 1)[0])
            raise FieldError(f"{field}: falta el día {days_of[i] + 1} (entre el {days_of[i]} y "
                             f"el {days_of[i + 1]}); el modelo se entrenó sin huecos "
                             "(--huecos rechazar): cada día debe tener su fila.", field)
        span = int((days_of[-1] - days_of[0]).astype(np.int64)) + 1 if len(days_of) else 0
        if span < self.model.steps:
            raise FieldError(f"{field}: la historia tiene {span} días y el modelo necesita "
                             f"los {self.model.steps} últimos para pronosticar.", field)

    @staticmethod
    def _covariates(given, names, length: int, field: str, what: str) -> dict[str, np.ndarray]:
        """Las covariables ``names`` de ``given`` (``{nombre: [valores]}``), cada una con
        ``length`` valores; una que falta o que el modelo no usa es un error."""
        given = {} if given is None else given
        if not isinstance(given, dict):
            raise FieldError(f"{field}: debe ser un objeto {{covariable: [valores]}}.", field)
        for name in names:
            if name not in given:
                raise FieldError(f"{field}.{name}: falta la covariable «{name}» ({what}); el "
                                 f"modelo usa {', '.join(names)}.", f"{field}.{name}")
        for name in given:
            if name not in names:
                known = ", ".join(names) or "ninguna"
                raise FieldError(f"{field}.{str(name)[:40]}: el modelo no usa aquí esa "
                                 f"covariable (usa: {known}).", f"{field}.{str(name)[:40]}")
        out = {}
        for name in names:
            out[name] = _numbers(given[name], f"{field}.{name}")
            if len(out[name]) != length:
                raise FieldError(f"{field}.{name}: tiene {len(out[name])} valores y hacen "
                                 f"falta {length} ({what}).", f"{field}.{name}")
        return out

    def _from_table(self, history, future, days: int) -> GlobalForecastInput:
        """Un CSV largo (o ``DataFrame``) y el de sus covariables futuras."""
        schema, stored = self.schema, self.model.metadata
        if isinstance(history, pd.DataFrame):
            table = frame_table(history, schema, gaps=self._gaps(), source="historia")
        else:
            table = read_long_table(
                history, date_column=stored.get("columna_fecha"),
                value_column=stored.get("columna_valor"),
                series_columns=schema.series_columns,
                future_covariates=schema.future_covariates,
                past_covariates=schema.past_covariates, gaps=self._gaps())
        frame = table.frame
        keys = frame[KEY].to_numpy()
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        self.model.encoding.index(keys[starts], source=table.source, lines=table.lines[starts])
        sizes = np.diff(np.r_[starts, len(keys)])
        short = np.flatnonzero(sizes < self.model.steps)
        if short.size:
            first = int(starts[short[0]])
            raise DataError(f"«{table.source}», línea {table.lines[first]}: la serie "
                            f"«{keys[first]}» tiene {sizes[short[0]]} días y el modelo "
                            f"necesita los {self.model.steps} últimos para pronosticar.")
        if schema.future_covariates and future is None:
            raise FieldError(f"futuro: el modelo usa las covariables futuras "
                             f"{', '.join(schema.future_covariates)}: hace falta el CSV de "
                             f"sus valores en los {days} días que siguen al último de cada "
                             "serie.", "futuro")
        extra = None if future is None or not schema.future_covariates else read_future(
            future, schema)
        last = frame[DATE].to_numpy().astype("datetime64[D]")[np.r_[starts[1:], len(keys)] - 1]
        values = future_values(keys[starts], last, extra, schema, days)
        return self._finish(frame, list(keys[starts]), dict(zip(keys[starts], values,
                                                                strict=True)), days)

    def _finish(self, frame: pd.DataFrame, keys: list[str], futures: dict[str, np.ndarray],
                days: int) -> GlobalForecastInput:
        """Las futuras en el orden de ``frame``, rellenadas hasta el horizonte con las del
        último día pedido (cada día pronosticado solo ve las suyas)."""
        extra = self.model.horizon - days
        padded = [np.concatenate([futures[key], np.repeat(futures[key][-1:], extra, axis=0)])
                  for key in pd.unique(frame[KEY])]
        return GlobalForecastInput(frame, keys, np.stack(padded), days)

    def example_input(self) -> GlobalForecastInput:
        encoding, steps = self.model.encoding, self.model.steps
        dates = [str(np.datetime64("2022-01-01") + i) for i in range(steps)]
        return self.prepare([{
            "serie": encoding.keys[0], "fechas": dates,
            "unidades": [float(encoding.scales[0])] * steps,
            "covariables": {name: [float(encoding.centers[0, c])] * steps
                            for c, name in enumerate(self.schema.covariates)},
            "futuras": {name: [float(encoding.centers[0, c])]
                        for c, name in enumerate(self.schema.future_covariates)}}], 1)

    # === Atender un lote ===

    def run_batch(self, items: list[GlobalForecastInput]) -> list[dict[str, Any]]:
        """Todas las series de todas las entradas en una llamada a la red."""
        model = self.model
        parts = [forecast_windows(model.encoding, item.frame, item.future, model.steps,
                                  model.horizon) for item in items]
        units = model.units(join_windows(parts))                     # (N, H, Q)
        names = interval_columns(model.levels)
        names[0] = VALUE  # la mediana, como «unidades» del pronóstico de una serie
        results, start = [], 0
        for item, part in zip(items, parts, strict=True):
            mine = units[start:start + len(part)]
            start += len(part)
            forecasts = {}
            for row, key in enumerate(pd.unique(item.frame[KEY])):
                forecasts[key] = [
                    {DATE: str(day)[:10], **{name: round(float(value), 4)
                                             for name, value in zip(names, values, strict=True)}}
                    for day, values in zip(part.dates[row][:item.days], mine[row][:item.days],
                                           strict=True)]
            history = {key: rows for key, rows in item.frame.groupby(KEY, sort=False)}
            results.append({
                "horizonte": model.horizon, "niveles": list(model.levels),
                "series": [{"serie": key,
                            "historia": [{DATE: str(day)[:10], VALUE: float(value)}
                                         for day, value in zip(
                                             history[key][DATE].to_numpy(),
                                             history[key][VALUE].to_numpy(), strict=True)],
                            "pronostico": forecasts[key]} for key in item.keys]})
        return results


def load_global_predictor(weights, engine: str = "keras") -> GlobalForecastPredictor:
    """Carga un modelo global (``.h5`` o su exportación) como predictor (ver
    :func:`~tareas.ventas.global_red.load_global`)."""
    return GlobalForecastPredictor(weights, load_global(weights, engine))
