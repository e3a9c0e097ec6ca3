"""Ventanas del modelo global: escalado por serie y ejemplos (origen → horizonte).

- :class:`SeriesEncoding` guarda lo que el modelo necesita de cada serie: su índice, el
  de cada nivel de la jerarquía (tienda, producto), su escala y la de sus covariables.
  Se ajusta **solo con los días de entrenamiento** de cada serie y viaja como JSON en
  los metadatos del modelo; al cargarlo se rechazan escalas no finitas o ≤ 0.
- La escala de las unidades es la media de ``|unidades|`` de la serie: una serie
  intermitente con algún día vendido tiene escala > 0, y una sin ninguna venta en
  entrenamiento usa 1 (nunca se divide por 0).
- Covariables: una binaria en todas las series (0/1, como ``festivo``) queda tal cual; las
  demás se expresan relativas a su media en la serie (``precio / media - 1``: una
  promoción del 20 % es -0.2 en cualquier producto).
- :func:`series_windows` da, para cada día de origen ``t`` de una serie, los ``steps``
  días anteriores, las covariables, el calendario de los días ``t … t + horizon - 1`` y
  (si se conocen) sus valores escalados: el objetivo.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from nucleo.errores import DataError
from datos.ventas_esquema import DATE, KEY, VALUE, SeriesSchema, series_levels
from datos.ventas_serie import MAX_SALES_VALUE, calendar_features


@dataclasses.dataclass(frozen=True)
class SeriesEncoding:
    """Índices, jerarquía y escalas de las series con que se entrenó el modelo global.

    Attributes:
        schema: el esquema de las series.
        keys: clave de cada serie, en el orden de su índice.
        vocabularies: valores de cada columna de la serie (con dos o más columnas).
        scales: ``(S,)`` escala de las unidades de cada serie (> 0).
        centers: ``(S, C)`` centro de cada covariable en cada serie.
        spreads: ``(S, C)`` escala de cada covariable en cada serie (> 0).
        non_negative: todas las unidades de entrenamiento eran ≥ 0 (el pronóstico se
            recorta en 0).
    """

    schema: SeriesSchema
    keys: tuple[str, ...]
    vocabularies: tuple[tuple[str, ...], ...]
    scales: np.ndarray
    centers: np.ndarray
    spreads: np.ndarray
    non_negative: bool = True

    @classmethod
    def fit(cls, frame: pd.DataFrame, schema: SeriesSchema, held: int) -> SeriesEncoding:
        """Ajusta con cada serie de ``frame`` salvo sus ``held`` últimos días."""
        keys = tuple(pd.unique(frame[KEY]))
        training = frame[frame.groupby(KEY, sort=False).cumcount(ascending=False) >= held]
        grouped = training.groupby(KEY, sort=False)
        scales = grouped[VALUE].apply(lambda v: float(np.mean(np.abs(v)))).reindex(keys)
        scales = np.where(scales.to_numpy() > 0, scales.to_numpy(), 1.0)
        centers = np.zeros((len(keys), len(schema.covariates)))
        spreads = np.ones_like(centers)
        for index, name in enumerate(schema.covariates):
            values = training[name].to_numpy()
            if np.isin(values, (0.0, 1.0)).all():
                continue  # binaria: tal cual
            means = grouped[name].apply(lambda v: float(np.mean(np.abs(v)))).reindex(keys)
            means = means.to_numpy()
            centers[:, index] = np.where(means > 0, means, 0.0)
            spreads[:, index] = np.where(means > 0, means, 1.0)
        levels = [series_levels(key, schema) for key in keys]
        vocabularies = tuple(tuple(sorted({parts[i] for parts in levels if parts}))
                             for i in range(len(levels[0]) if levels and levels[0] else 0))
        return cls(schema, keys, vocabularies, scales, centers, spreads,
                   bool((training[VALUE].to_numpy() >= 0).all()))

    def index(self, keys, *, source: str = "", lines=None) -> np.ndarray:
        """El índice de cada clave de ``keys``.

        Raises:
            DataError: una serie que el modelo no vio al entrenar (nombra la serie y, si
                se da ``lines``, su línea del CSV).
        """
        positions = {key: i for i, key in enumerate(self.keys)}
        out = []
        for i, key in enumerate(keys):
            if key not in positions:
                line = f", línea {lines[i]}" if lines is not None and lines[i] else ""
                raise DataError(
                    f"«{source or 'historia'}»{line}: la serie «{key}» no estaba en el "
                    f"entrenamiento ({len(self.keys)} series, p. ej. «{self.keys[0]}»); el "
                    "modelo global solo pronostica las series con que se entrenó.")
            out.append(positions[key])
        return np.asarray(out, dtype=np.int64)

    def level_ids(self, index: np.ndarray) -> np.ndarray:
        """``(N, niveles)``: el índice de cada nivel de la jerarquía de cada serie."""
        lookup = [{value: i for i, value in enumerate(vocabulary)}
                  for vocabulary in self.vocabularies]
        rows = [[lookup[j][part] for j, part in enumerate(series_levels(self.keys[i],
                                                                          self.schema))]
                for i in index]
        return np.asarray(rows, dtype=np.int64).reshape(len(index), len(self.vocabularies))

    def scaled_covariates(self, index: int, values: np.ndarray, names) -> np.ndarray:
        """Las covariables ``names`` (columnas de ``values``) de la serie ``index``, escaladas."""
        columns = [self.schema.covariates.index(name) for name in names]
        return (values - self.centers[index, columns]) / self.spreads[index, columns]

    def to_json(self) -> dict[str, Any]:
        return {"esquema": self.schema.to_json(), "series": list(self.keys),
                "jerarquia": [list(v) for v in self.vocabularies],
                "escalas": [float(s) for s in self.scales],
                "centros": self.centers.tolist(), "dispersiones": self.spreads.tolist(),
                "no_negativo": self.non_negative}

    @classmethod
    def from_json(cls, data) -> SeriesEncoding:
        """Reconstruye la codificación de :meth:`to_json`.

        Raises:
            DataError: falta un campo, las formas no cuadran o una escala es degenerada
                (≤ 0), no finita o desmesurada.
        """
        try:
            schema = SeriesSchema.from_json(data["esquema"])
            keys = tuple(str(key) for key in data["series"])
            vocabularies = tuple(tuple(str(v) for v in level) for level in data["jerarquia"])
            scales = np.asarray(data["escalas"], dtype=np.float64)
            centers = np.asarray(data["centros"], dtype=np.float64)
            spreads = np.asarray(data["dispersiones"], dtype=np.float64)
            non_negative = data["no_negativo"]
        except (KeyError, TypeError, ValueError):
            raise DataError("SeriesEncoding.from_json: se esperaban «esquema», «series», "
                            "«jerarquia», «escalas», «centros», «dispersiones» y "
                            "«no_negativo».") from None
        shape = (len(keys), len(schema.covariates))
        if not keys or scales.shape != (len(keys),) or centers.shape != shape \
                or spreads.shape != shape or not isinstance(non_negative, bool):
            raise DataError(f"SeriesEncoding.from_json: {len(keys)} series y "
                            f"{len(schema.covariates)} covariables no cuadran con las formas "
                            f"de «escalas» {scales.shape}, «centros» {centers.shape} y "
                            f"«dispersiones» {spreads.shape}.")
        for name, values, positive in (("escalas", scales, True), ("centros", centers, False),
                                       ("dispersiones", spreads, True)):
            bad = ~np.isfinite(values) | (np.abs(values) > MAX_SALES_VALUE)
            if positive:
                bad |= ~(values > 0)
            if bad.any():
                where = np.argwhere(bad)[0]
                raise DataError(
                    f"SeriesEncoding.from_json: escalador degenerado: «{name}» de la serie "
                    f"«{keys[where[0]]}» vale {values[tuple(where)]!r}; debe ser un número "
                    f"finito{' > 0' if positive else ''} (|valor| ≤ {MAX_SALES_VALUE:.0e}).")
        return cls(schema, keys, vocabularies, scales, centers, spreads, non_negative)


@dataclasses.dataclass(frozen=True)
class Windows:
    """Ejemplos del modelo global (ver :func:`modelos.ventas.global_red.pack_inputs`).

    ``target`` es ``None`` cuando se pronostica más allá del último día.
    """

    lags: np.ndarray       # (N, steps)
    past: np.ndarray       # (N, steps, P)
    future: np.ndarray     # (N, steps + horizon, F)
    weekday: np.ndarray    # (N, horizon)
    month: np.ndarray      # (N, horizon), 0–11
    ids: np.ndarray        # (N, 1 + niveles)
    log_scale: np.ndarray  # (N,)
    target: np.ndarray | None  # (N, horizon), escalado
    series: np.ndarray     # (N,) índice de la serie
    dates: np.ndarray      # (N, horizon) fechas pronosticadas

    def __len__(self) -> int:
        return len(self.lags)


def series_windows(encoding: SeriesEncoding, index: int, frame: pd.DataFrame, steps: int,
                   horizon: int, origins: np.ndarray, extra_future=None) -> Windows:
    """Los ejemplos de la serie ``index`` (sus filas, ``frame``) con origen en ``origins``.

    Args:
        origins: posiciones (en las filas de la serie) del primer día pronosticado; cada
            una ≥ ``steps``. Si ``origin + horizon`` pasa del final, hace falta
            ``extra_future``.
        extra_future: ``(horizon, F)`` covariables futuras, sin escalar, de los días que
            siguen al último (para pronosticar); ``None`` si se conocen los objetivos.
    """
    schema = encoding.schema
    values = frame[VALUE].to_numpy(np.float64) / encoding.scales[index]
    dates = frame[DATE].to_numpy().astype("datetime64[D]")
    past = encoding.scaled_covariates(index, frame[list(schema.past_covariates)].to_numpy(
        np.float64), schema.past_covariates)
    future = encoding.scaled_covariates(index, frame[list(schema.future_covariates)].to_numpy(
        np.float64), schema.future_covariates)
    if extra_future is not None:
        future = np.concatenate([future, encoding.scaled_covariates(
            index, np.asarray(extra_future, np.float64), schema.future_covariates)])
        dates = np.concatenate([dates, dates[-1] + np.arange(1, horizon + 1)])
    origins = np.asarray(origins, dtype=np.int64)
    back = origins[:, None] + np.arange(-steps, 0)
    ahead = origins[:, None] + np.arange(horizon)
    weekday, month = calendar_features(dates[ahead].reshape(-1))
    n = len(origins)
    ids = np.concatenate([np.full((n, 1), index),
                          np.repeat(encoding.level_ids(np.array([index])), n, axis=0)], axis=1)
    return Windows(
        lags=values[back], past=past[back],
        future=future[np.concatenate([back, ahead], axis=1)],
        weekday=weekday.reshape(n, horizon), month=month.reshape(n, horizon) - 1, ids=ids,
        log_scale=np.full(n, math.log1p(encoding.scales[index])),
        target=None if extra_future is not None else values[ahead],
        series=np.full(n, index), dates=dates[ahead])


def join_windows(parts: list[Windows]) -> Windows:
    """Une los ejemplos de varias series en uno solo."""
    fields = [field.name for field in dataclasses.fields(Windows)]
    joined = {}
    for name in fields:
        arrays = [getattr(part, name) for part in parts]
        joined[name] = None if any(a is None for a in arrays) else np.concatenate(arrays)
    return Windows(**joined)
