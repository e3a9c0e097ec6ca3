"""El modelo global de muchas series como pronosticador: entrenar, cargar y pronosticar.

- :func:`fit_global`: entrena la red de :mod:`modelos.ventas.global_red` con
  :func:`entrenamiento.entrenar.train` (en una carpeta o en memoria) y calibra sus
  intervalos en la ventana de calibración (:mod:`tareas.ventas.intervalos`).
- :class:`GlobalModel`: la red con su codificación de las series (escalas, índices,
  esquema) y los factores conformales: pronostica una tabla larga.
- :func:`load_global`: lo carga de su ``modelo.h5`` (o de su exportación) y rechaza
  metadatos que no cuadran, escalas degeneradas incluidas.
- :class:`GlobalNetworkForecaster`: el pronosticador del contrato de los *backtests*
  (``fit(train, schema, horizon, levels)`` / ``predict(history, future)``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from datos.ventas_multiples import DATE, KEY, SeriesSchema, frame_table, future_values
from datos.ventas_multiples import read_future
from datos.ventas_ventanas import SeriesEncoding, Windows
from nucleo.errores import DataError, ModelFileError
from tareas.ventas.global_configuracion import GlobalSalesConfig
from tareas.ventas.global_datos import GlobalData, forecast_windows, inputs_of, layout_of
from tareas.ventas.global_datos import prepare_global
from tareas.ventas.intervalos import apply_factors, conformal_factors

#: El constructor registrado del modelo global.
BUILDER = "ventas_global"
#: Ejemplos por llamada a la red al pronosticar.
PREDICT_CHUNK = 4096
#: Mayor factor conformal admitido en un archivo (en anchuras del intervalo).
MAX_FACTOR = 100.0


def interval_columns(levels) -> list[str]:
    """``["media", "inferior_80", "superior_80", ...]``: las columnas del pronóstico."""
    return ["media"] + [f"{side}_{level}" for level in levels
                        for side in ("inferior", "superior")]


@dataclasses.dataclass
class GlobalModel:
    """La red global con lo necesario para pronosticar en unidades.

    Attributes:
        engine: motor de inferencia (:mod:`inferencia.motores`) o modelo de Keras.
        encoding: índices, jerarquía y escalas de las series.
        steps, horizon: retardos y horizonte.
        levels: niveles de los intervalos (orden creciente).
        factors: factor conformal de cada nivel (``{}``: sin calibrar).
        metadata: los metadatos ``global`` del archivo (o los que se guardarán).
    """

    engine: Any
    encoding: SeriesEncoding
    steps: int
    horizon: int
    levels: tuple[int, ...]
    factors: dict[int, float]
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def schema(self) -> SeriesSchema:
        return self.encoding.schema

    def raw(self, windows: Windows) -> np.ndarray:
        """La salida de la red ``(N, H, Q)`` en la escala de cada serie, sin calibrar."""
        x = inputs_of(layout_of(self.encoding, self.steps, self.horizon), windows)
        outputs = [np.asarray(self.engine.predict_on_batch(x[i:i + PREDICT_CHUNK]),
                              dtype=np.float64) for i in range(0, len(x), PREDICT_CHUNK)]
        return np.concatenate(outputs).reshape(len(x), self.horizon, -1)

    def units(self, windows: Windows, raw: np.ndarray | None = None) -> np.ndarray:
        """``(N, H, Q)`` en unidades: calibrada, por la escala de la serie y, si todas las
        ventas de entrenamiento eran ≥ 0, recortada en 0."""
        raw = self.raw(windows) if raw is None else raw
        calibrated = apply_factors(raw, self.levels, self.factors)
        units = calibrated * self.encoding.scales[windows.series][:, None, None]
        return np.maximum(units, 0.0) if self.encoding.non_negative else units

    def forecast(self, frame: pd.DataFrame, future=None, *, lines=None,
                 source: str = "historia") -> pd.DataFrame:
        """El pronóstico de los ``horizon`` días que siguen a cada serie de ``frame``.

        Args:
            frame: historia en formato largo (ya validada), con las covariables.
            future: :class:`~datos.ventas_multiples.LongTable` de las covariables
                futuras, o ``None`` si el modelo no tiene.
            lines: línea del CSV de cada fila de ``frame`` (para los mensajes).

        Returns:
            Una fila por (serie, fecha): ``serie``, ``fecha``, ``media`` y, por nivel,
            ``inferior_L`` y ``superior_L``.

        Raises:
            DataError: una serie que el modelo no conoce (nombra la serie y su línea), con
                menos días que retardos, o covariables futuras que faltan.
        """
        keys = frame[KEY].to_numpy()
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        self.encoding.index(keys[starts], source=source,
                            lines=None if lines is None else np.asarray(lines)[starts])
        sizes = np.diff(np.r_[starts, len(keys)])
        short = np.flatnonzero(sizes < self.steps)
        if short.size:
            i = int(starts[short[0]])
            where = f", línea {lines[i]}" if lines is not None and lines[i] else ""
            raise DataError(f"«{source}»{where}: la serie «{keys[i]}» tiene "
                            f"{sizes[short[0]]} días y el modelo necesita los "
                            f"{self.steps} últimos para pronosticar.")
        last = frame[DATE].to_numpy().astype("datetime64[D]")[np.r_[starts[1:], len(keys)] - 1]
        extra = future_values(keys[starts], last, future, self.schema, self.horizon)
        windows = forecast_windows(self.encoding, frame, extra, self.steps, self.horizon)
        return forecast_frame(windows, self.units(windows), self.encoding, self.levels)


def forecast_frame(windows: Windows, units: np.ndarray, encoding: SeriesEncoding,
                   levels) -> pd.DataFrame:
    """La tabla larga de un pronóstico ``(N, H, Q)`` en unidades."""
    n, horizon, _ = units.shape
    table = pd.DataFrame({KEY: np.repeat(np.asarray(encoding.keys)[windows.series], horizon),
                          DATE: windows.dates.reshape(-1).astype("datetime64[ns]")})
    for q, name in enumerate(interval_columns(levels)):
        table[name] = units[..., q].reshape(-1)
    return table


def fit_global(data: GlobalData, config: GlobalSalesConfig, *, run_dir=None, verbose=0,
               cluster=None, devices=None, callbacks=(),
               metadata: dict[str, Any] | None = None) -> tuple[GlobalModel, Any]:
    """Entrena la red global con los ejemplos de ``data`` y calibra sus intervalos.

    La época que se guarda es la de menor pérdida de *entrenamiento*; ni la calibración
    ni la validación deciden nada del entrenamiento.

    Returns:
        ``(GlobalModel, TrainResult)``; el modelo ya lleva los factores conformales.
    """
    from entrenamiento.entrenar import train

    layout = data.layout
    kwargs = {"n_series": len(data.encoding.keys), "steps": data.steps,
              "horizon": data.horizon, "hierarchy": [len(v) for v in data.encoding.vocabularies],
              "n_future": layout.n_future, "n_past": layout.n_past,
              "levels": list(config.levels), "cell": config.variant,
              "learning_rate": config.learning_rate}
    validation = None
    if data.validation is not None:
        validation = (inputs_of(layout, data.validation),
                      data.validation.target.astype(np.float32))
    result = train(BUILDER, kwargs, (inputs_of(layout, data.train),
                                     data.train.target.astype(np.float32)), validation,
                   run_dir=run_dir, cluster=cluster, devices=devices, epochs=config.epochs,
                   batch_size=config.batch_size, seed=config.seed, monitor="loss",
                   patience=config.patience, precision=config.precision,
                   callbacks=list(callbacks), verbose=verbose, metadata=metadata,
                   tensorboard=config.tensorboard)
    model = GlobalModel(KerasModelEngine(result.model), data.encoding, data.steps,
                        data.horizon, tuple(sorted(config.levels)), {})
    if data.calibration is not None and config.levels:
        model.factors = conformal_factors(data.calibration.target,
                                          model.raw(data.calibration), model.levels)
    return model, result


class KerasModelEngine:
    """Un modelo de Keras recién entrenado con la interfaz mínima de un motor."""

    name = "keras"

    def __init__(self, model):
        self.keras_model = model

    def predict_on_batch(self, x):
        return self.keras_model.predict_on_batch(x)


def global_metadata(encoding: SeriesEncoding, config: GlobalSalesConfig, source: str,
                    factors: dict[int, float] | None = None) -> dict[str, Any]:
    """Los metadatos del ``modelo.h5``: todo lo necesario para pronosticar (escalas,
    esquema, series, horizonte, niveles y factores conformales)."""
    return {"tarea": "pronostico", "global": {
        **encoding.to_json(), "retardos": config.steps, "horizonte": config.horizon,
        "niveles": sorted(config.levels),
        "conformal": {str(level): factor for level, factor in (factors or {}).items()},
        "modelo": config.variant, "huecos": config.gaps, "csv": source,
        "columna_fecha": config.date_column, "columna_valor": config.value_column,
        "validacion": config.held_validation, "calibracion": config.held_calibration,
        "semilla": config.seed}}


def load_global(weights, engine: str = "keras") -> GlobalModel:
    """Carga un modelo de ``redes pronostico entrenar --columna-serie ...``.

    Raises:
        ModelFileError: no es un modelo global de ventas, o sus metadatos (escalas,
            esquema, horizonte, niveles, factores) no son válidos o no cuadran con la red.
    """
    from inferencia.motores import load_engine, source_info

    info = source_info(weights)
    stored = info["metadata"].get("global")
    if info["builder"] != BUILDER or not isinstance(stored, dict):
        raise ModelFileError(f"«{weights}» no es un modelo global de ventas (constructor "
                             f"«{info['builder']}»); entrena uno con «redes pronostico "
                             "entrenar --columna-serie ...».")
    try:
        encoding = SeriesEncoding.from_json(stored)
    except DataError as exc:
        raise ModelFileError(f"«{weights}»: el escalado guardado no es válido: {exc}") from None
    kwargs = info["kwargs"]
    levels = tuple(sorted(kwargs.get("levels") or ()))
    factors = _stored_factors(weights, stored.get("conformal", {}), levels)
    expected = {"n_series": len(encoding.keys), "n_future": len(encoding.schema.future_covariates),
                "n_past": len(encoding.schema.past_covariates),
                "hierarchy": [len(v) for v in encoding.vocabularies],
                "steps": stored.get("retardos"), "horizon": stored.get("horizonte")}
    wrong = [name for name, value in expected.items() if kwargs.get(name) != value]
    if wrong or stored.get("niveles") != list(levels):
        raise ModelFileError(f"«{weights}»: los metadatos no cuadran con la red guardada "
                             f"({', '.join(wrong) or 'niveles'}).")
    return GlobalModel(load_engine(weights, engine), encoding, int(kwargs["steps"]),
                       int(kwargs["horizon"]), levels, factors, stored)


def _stored_factors(weights, stored, levels) -> dict[int, float]:
    if not isinstance(stored, dict):
        raise ModelFileError(f"«{weights}»: «conformal» debe ser un diccionario nivel → factor.")
    factors = {}
    for key, value in stored.items():
        if not (key.isdigit() and int(key) in levels and isinstance(value, (int, float))
                and not isinstance(value, bool) and math.isfinite(value)
                and abs(value) <= MAX_FACTOR):
            raise ModelFileError(f"«{weights}»: el factor conformal {key!r}: {value!r} no es "
                                 f"válido (un nivel de la red y un número finito con "
                                 f"|factor| ≤ {MAX_FACTOR:g}).")
        factors[int(key)] = float(value)
    return factors


class GlobalNetworkForecaster:
    """El modelo global como pronosticador de los *backtests* (ver el contrato).

    ``fit`` entrena en memoria con los días de ``train`` (los últimos ``horizon`` de cada
    serie calibran los intervalos); ``predict`` pronostica los ``horizon`` días que siguen a
    cada serie de ``history``.

    Args:
        name: nombre en las tablas.
        **settings: campos de :class:`~tareas.ventas.global_configuracion.GlobalSalesConfig`
            (``variant``, ``steps``, ``epochs``, ``batch_size``, ``calibration``...).
    """

    def __init__(self, name: str = "red global", **settings):
        self.name = name
        self.settings = settings
        self.model: GlobalModel | None = None

    def fit(self, train: pd.DataFrame, schema: SeriesSchema, horizon: int,
            levels: tuple[int, ...] = ()) -> None:
        config = GlobalSalesConfig(**{**self.settings, "horizon": horizon,
                                      "levels": tuple(levels), "validation": 0})
        table = frame_table(train, schema, gaps=config.gaps,
                            min_length=config.steps + horizon + config.held_calibration)
        config, data = prepare_global(table, config)
        self.model, _ = fit_global(data, config)

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None) -> pd.DataFrame:
        if self.model is None:
            raise DataError(f"{self.name}: llama antes a fit().")
        schema = self.model.schema
        table = frame_table(history, schema, min_length=1, source="historia")
        extra = read_future(future, schema) if future is not None else None
        return self.model.forecast(table.frame, extra, lines=table.lines)
