"""Los datos del modelo global: leer, repartir cada serie en entrenamiento, calibración y
validación sin fugas, y montar las entradas de la red.

De cada serie de ``T`` días se apartan los ``validation`` últimos (para medir) y, antes de
ellos, ``calibration`` días (para calibrar los intervalos). La escala de cada serie se
ajusta solo con los días de entrenamiento; los ejemplos de entrenamiento tienen todo su
horizonte dentro de esos días::

    | entrenamiento                       | calibración | validación |
    0                          T - validation - calibration     T - validation      T
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from datos.ventas_multiples import KEY, VALUE, LongTable, SeriesSchema
from datos.ventas_multiples import frame_table, read_long_table
from datos.ventas_ventanas import SeriesEncoding, Windows, join_windows, series_windows
from modelos.ventas.global_red import GlobalLayout, pack_inputs
from nucleo.errores import ArgumentError
from tareas.ventas.global_configuracion import resolve_calibration, resolve_schedule
from tareas.ventas.intervalos import naive_scale


@dataclasses.dataclass(frozen=True)
class GlobalData:
    """Las series repartidas: codificación, ejemplos de cada parte y escalas del MASE.

    Attributes:
        table: lo leído (tabla, esquema, líneas del CSV).
        encoding: índices y escalas ajustadas con los días de entrenamiento.
        train, calibration, validation: los ejemplos de cada parte (``None`` si no hay).
        naive_scales: ``(S,)`` denominador del MASE de cada serie (sus días de entrenamiento).
        steps, horizon: retardos y horizonte.
    """

    table: LongTable
    encoding: SeriesEncoding
    train: Windows
    calibration: Windows | None
    validation: Windows | None
    naive_scales: np.ndarray
    steps: int
    horizon: int

    @property
    def layout(self) -> GlobalLayout:
        return layout_of(self.encoding, self.steps, self.horizon)


def layout_of(encoding: SeriesEncoding, steps: int, horizon: int) -> GlobalLayout:
    """La disposición de la entrada para las series de ``encoding``."""
    schema = encoding.schema
    return GlobalLayout(steps, horizon, len(schema.future_covariates),
                        len(schema.past_covariates), len(encoding.vocabularies))


def inputs_of(layout: GlobalLayout, windows: Windows) -> np.ndarray:
    """El vector de entrada de la red para cada ejemplo."""
    return pack_inputs(layout, windows.lags, windows.past, windows.future, windows.weekday,
                       windows.month, windows.ids, windows.log_scale)


def read_global(config, data=None) -> LongTable:
    """Los datos de un entrenamiento: ``data`` (``(DataFrame, SeriesSchema)``) o el CSV de la
    configuración, con cada serie de al menos retardos + horizonte + días apartados.

    Raises:
        ArgumentError: sin datos ni ``csv``.
        DataError: CSV o tabla no válidos (ver :func:`datos.ventas_multiples.read_long_table`).
    """
    needed = (config.steps + config.horizon + config.held_validation
              + config.held_calibration)
    if data is not None:
        frame, schema = data
        if not isinstance(schema, SeriesSchema):
            raise ArgumentError("train_sales_global: «data» debe ser (DataFrame, SeriesSchema); "
                                f"recibido un {type(schema).__name__} como esquema.")
        return frame_table(frame, schema, gaps=config.gaps, min_length=needed)
    if config.csv is None:
        raise ArgumentError("train_sales_global: falta «csv (--csv)», el CSV largo de ventas "
                            "(o dé los datos con data=(df, schema)).")
    return read_long_table(config.csv, date_column=config.date_column,
                           value_column=config.value_column,
                           series_columns=config.series_columns,
                           future_covariates=config.future_covariates,
                           past_covariates=config.past_covariates, gaps=config.gaps,
                           min_length=needed)


def split_global(table: LongTable, steps: int, horizon: int, validation: int,
                 calibration: int) -> GlobalData:
    """Reparte cada serie (ver el módulo) y monta los ejemplos de cada parte."""
    held = validation + calibration
    encoding = SeriesEncoding.fit(table.frame, table.schema, held)
    parts: dict[str, list[Windows]] = {"train": [], "calibration": [], "validation": []}
    scales = []
    for index, (_, rows) in enumerate(table.frame.groupby(KEY, sort=False)):
        size = len(rows)
        origins = {"train": np.arange(steps, size - held - horizon + 1),
                   "calibration": np.arange(size - held, size - validation - horizon + 1)
                   if calibration else np.arange(0),
                   "validation": np.arange(size - validation, size - horizon + 1)
                   if validation else np.arange(0)}
        for name, starts in origins.items():
            if len(starts):
                parts[name].append(series_windows(encoding, index, rows, steps, horizon,
                                                  starts))
        scales.append(naive_scale(rows[VALUE].to_numpy()[:size - held]))
    joined = {name: join_windows(found) if found else None for name, found in parts.items()}
    return GlobalData(table, encoding, joined["train"], joined["calibration"],
                      joined["validation"], np.asarray(scales), steps, horizon)


def prepare_global(table: LongTable, config):
    """Los ejemplos de un entrenamiento y la configuración con lo que no se dio resuelto.

    Primero los días de calibración (dependen de cuántas series hay y de lo que miden),
    después el reparto de :func:`split_global` y, con los ejemplos de entrenamiento ya
    contados, el lote y las épocas.

    Returns:
        ``(configuración resuelta, GlobalData)``.
    """
    config = resolve_calibration(config, table.frame.groupby(KEY, sort=False).size())
    data = split_global(table, config.steps, config.horizon, config.held_validation,
                        config.held_calibration)
    return resolve_schedule(config, len(data.train)), data


def forecast_windows(encoding: SeriesEncoding, frame: pd.DataFrame, future: np.ndarray,
                     steps: int, horizon: int) -> Windows:
    """Un ejemplo por serie de ``frame``: los ``horizon`` días tras su último día.

    Args:
        frame: la historia (cada serie, ya comprobada, con al menos ``steps`` días), en el
            orden de las claves de ``frame``.
        future: ``(series, horizon, F)`` covariables futuras sin escalar.
    """
    parts = []
    for row, (key, rows) in enumerate(frame.groupby(KEY, sort=False)):
        index = int(encoding.index([key])[0])
        parts.append(series_windows(encoding, index, rows, steps, horizon,
                                    np.array([len(rows)]), extra_future=future[row]))
    return join_windows(parts)
