"""Un modelo global de LightGBM para muchas series, como ``Forecaster`` del backtest.

Es el rival «clásico» más fuerte de la red global: un solo modelo de árboles para todas
las series, **directo** (el paso del horizonte es una característica: nada recursivo),
entrenado con ejemplos (serie, origen, paso). Cada ejemplo, escalado por la media de los
últimos 28 días de la serie en su origen (así series de 1 y de 1000 unidades comparten
modelo), lleva:

- los 28 retardos, la media de los últimos 7 días, la desviación y la parte de ceros de
  los últimos 28 y el nivel (``log1p`` de la escala);
- el último día conocido con el mismo día de la semana que el objetivo y la media de
  los 4 últimos así (el ingenuo estacional y su versión suavizada);
- el paso, el día de la semana, el mes, el día del mes y el del año del día objetivo;
- cada covariable futura en el día objetivo y dividida por su media de los últimos 28
  días (el precio relativo de una promoción); cada covariable pasada en el origen.

Intervalos **conformes** (como ``PredictionIntervals`` de mlforecast): se reentrena
``calibration_windows`` veces dejando fuera los últimos ``H``, ``2H``... días, se miden
los errores absolutos escalados de esos pronósticos por paso y el intervalo de nivel L es
la media ± su cuantil L (juntando pasos vecinos si hay menos de 50 errores por paso).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nucleo.errores import ArgumentError, DataError
from nucleo.validacion import check_int
from nucleo.vocabulario import MAX_HORIZON
from datos.ventas_multiples import DATE, VALUE, SeriesSchema
from tareas.ventas.backtest import check_levels
from tareas.ventas.backtest import forecast_frame
from tareas.ventas.backtest import require_package
from tareas.ventas.backtest import series_slices

#: Retardos (días) que ve el modelo; un origen necesita al menos estos días detrás.
LAGS = 28
#: Errores por paso a partir de los que no se juntan pasos vecinos en los intervalos.
MIN_RESIDUALS = 50
#: Ajustes de LightGBM (los de ``lightgbm.train``); ``objective`` y ``seed`` aparte.
DEFAULT_PARAMS = {"learning_rate": 0.05, "num_leaves": 63, "min_data_in_leaf": 50,
                  "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
                  "lambda_l2": 1.0, "verbosity": -1, "deterministic": True,
                  "force_row_wise": True}
#: Las características de calendario, categóricas para LightGBM.
CATEGORICAL = ("dia_semana", "mes")


def _scale(windows: np.ndarray, y: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """Media de los últimos 28 días en cada origen; si es 0, la de toda la historia; si
    también, 1."""
    scale = windows.mean(axis=1)
    cumulative = np.cumsum(y)[origins] / (origins + 1)
    scale = np.where(scale > 0, scale, cumulative)
    return np.where(scale > 0, scale, 1.0)


def _features(y: np.ndarray, days: np.ndarray, future: np.ndarray, past: np.ndarray,
              origins: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """``(X, escala)`` de cada (origen, paso): ``X`` es ``(len(origins) · H, F)``.

    ``y``, ``past``: los días conocidos (``(n,)``, ``(n, kp)``); ``days``, ``future``: días
    (enteros desde 1970) y covariables futuras de la historia **y** del horizonte
    (``(n + H,)``, ``(n + H, kf)``), para poder leer las del día objetivo.
    """
    steps = np.arange(1, horizon + 1)
    count = len(origins)
    windows = y[origins[:, None] - np.arange(LAGS)[None, :]]               # (m, 28)
    scale = _scale(windows, y, origins)                                     # (m,)
    lag = 7 * np.ceil(steps / 7).astype(np.int64)                           # (H,)
    same_day = origins[:, None] + steps[None, :] - lag[None, :]             # (m, H)
    seasonal = np.stack([y[np.maximum(same_day - 7 * k, 0)] for k in range(4)])  # (4, m, H)
    target = origins[:, None] + steps[None, :]                              # (m, H)
    target_days = days[target]
    weekday = (target_days + 3) % 7                                         # 1970-01-01: jueves
    when = target_days.astype("datetime64[D]")
    month = when.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day_of_month = (when - when.astype("datetime64[M]")).astype(np.int64) + 1
    day_of_year = (when - when.astype("datetime64[Y]")).astype(np.int64) + 1

    def per_origin(values):  # (m,) → (m, H)
        return np.repeat(values[:, None], horizon, axis=1)

    columns = [windows[:, j] / scale for j in range(LAGS)]
    columns = [per_origin(column) for column in columns]
    columns += [per_origin(windows[:, :7].mean(axis=1) / scale),
                per_origin(windows.std(axis=1) / scale),
                per_origin((windows == 0).mean(axis=1)), per_origin(np.log1p(scale)),
                seasonal[0] / scale[:, None], seasonal.mean(axis=0) / scale[:, None],
                np.broadcast_to(steps, (count, horizon)), weekday, month, day_of_month,
                day_of_year]
    for k in range(future.shape[1]):
        recent = future[origins[:, None] - np.arange(LAGS)[None, :], k].mean(axis=1)
        value = future[target, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = np.where(recent[:, None] != 0, value / recent[:, None], np.nan)
        columns += [value, relative]
    columns += [per_origin(past[origins, k]) for k in range(past.shape[1])]
    x = np.stack([np.asarray(c, dtype=np.float32).reshape(-1) for c in columns], axis=1)
    return x, scale


def feature_names(schema: SeriesSchema) -> list[str]:
    """Los nombres de las columnas de :func:`_features`, en orden."""
    names = [f"retardo_{j}" for j in range(LAGS)]
    names += ["media_7", "desviacion_28", "ceros_28", "nivel", "mismo_dia", "mismo_dia_4",
              "paso", "dia_semana", "mes", "dia_mes", "dia_anio"]
    # Por posición: LightGBM no admite ciertos caracteres en los nombres de las columnas.
    for k in range(len(schema.future_covariates)):
        names += [f"futura_{k}", f"futura_{k}_relativa"]
    return names + [f"pasada_{k}_origen" for k in range(len(schema.past_covariates))]


class _Series:
    """Una serie en arrays: valores, días y covariables (futuras, pasadas)."""

    def __init__(self, frame: pd.DataFrame, schema: SeriesSchema):
        self.y = frame[VALUE].to_numpy(np.float64)
        self.days = frame[DATE].to_numpy().astype("datetime64[D]").astype(np.int64)
        self.future = frame[list(schema.future_covariates)].to_numpy(np.float64).reshape(
            len(frame), -1)
        self.past = frame[list(schema.past_covariates)].to_numpy(np.float64).reshape(
            len(frame), -1)


class LightGBMForecaster:
    """Modelo global de LightGBM, directo a ``horizon`` días, con intervalos conformes.

    Args:
        seed: semilla de LightGBM (muestreo de filas y columnas).
        objective: pérdida de LightGBM (``"l2"``, ``"l1"``, ``"tweedie"``...).
        rounds: árboles.
        max_rows: ejemplos de entrenamiento como máximo; los orígenes se toman cada
            tantos días como haga falta para no pasar de aquí.
        calibration_windows: reentrenos para los intervalos conformes (0: sin intervalos).
        threads: hilos (por defecto 1: con los núcleos compartidos con otro trabajo, los
            hilos de LightGBM se esperan unos a otros y 2 tardan más que 1).
        params: ajustes de ``lightgbm.train`` que cambian los de :data:`DEFAULT_PARAMS`.
        name: nombre en las tablas.
    """

    def __init__(self, *, seed: int = 0, objective: str = "l2", rounds: int = 300,
                 max_rows: int = 800_000, calibration_windows: int = 2,
                 threads: int = 1, params: dict | None = None,
                 name: str = "LightGBM global"):
        self.name = name
        self.seed = check_int(seed, "seed", minimum=0, where=name)
        self.rounds = check_int(rounds, "rounds", maximum=100_000, where=name)
        self.max_rows = check_int(max_rows, "max_rows", where=name)
        self.calibration_windows = check_int(calibration_windows, "calibration_windows",
                                             minimum=0, maximum=20, where=name)
        if params is not None and not isinstance(params, dict):
            raise ArgumentError(f"{name}: «params» debe ser un diccionario; recibido {params!r}.")
        self.params = {**DEFAULT_PARAMS, **(params or {}), "objective": objective,
                       "seed": self.seed, "num_threads": check_int(threads, "threads", maximum=1024,
                                                          where=name)}
        self.notes: list[str] = []
        self.booster = None

    # === Ejemplos de entrenamiento ===

    def _training_rows(self, series: list[_Series], cut: int = 0):
        """``(X, y)`` de todas las series con objetivos hasta ``cut`` días antes del final."""
        horizon = self.horizon
        total = sum(max(0, len(s.y) - cut - LAGS) for s in series) * horizon
        stride = max(1, int(np.ceil(total / self.max_rows)))
        parts_x, parts_y = [], []
        for item in series:
            end = len(item.y) - cut                          # días visibles
            origins = np.arange(end - 2, LAGS - 2, -stride)[::-1]
            if not origins.size:
                continue
            # Los días tras el último visible solo dan fecha (y covariables NaN) a los
            # ejemplos que luego se descartan por tener el objetivo fuera.
            days = np.r_[item.days[:end], item.days[end - 1] + np.arange(1, horizon + 1)]
            future = np.vstack([item.future[:end],
                                np.full((horizon, item.future.shape[1]), np.nan)])
            x, scale = _features(item.y[:end], days, future, item.past[:end], origins,
                                 horizon)
            target_index = (origins[:, None] + np.arange(1, horizon + 1)[None, :]).reshape(-1)
            valid = target_index <= end - 1
            target = item.y[np.minimum(target_index, end - 1)] / np.repeat(scale, horizon)
            parts_x.append(x[valid])
            parts_y.append(target[valid])
        if not parts_x:
            raise DataError(f"{self.name}: ninguna serie tiene más de {LAGS} días para entrenar.")
        return np.concatenate(parts_x), np.concatenate(parts_y).astype(np.float32)

    def _train(self, series: list[_Series], cut: int = 0):
        import lightgbm

        x, y = self._training_rows(series, cut)
        names = feature_names(self.schema)
        dataset = lightgbm.Dataset(x, y, feature_name=names,
                                   categorical_feature=list(CATEGORICAL), free_raw_data=True)
        return lightgbm.train(self.params, dataset, num_boost_round=self.rounds)

    # === Forecaster ===

    def fit(self, train: pd.DataFrame, schema: SeriesSchema, horizon: int,
            levels: tuple[int, ...] = ()) -> None:
        """Entrena el modelo final y, con niveles, los de calibración de los intervalos."""
        require_package("lightgbm", self.name)
        self.horizon = check_int(horizon, "horizon", maximum=MAX_HORIZON, where=self.name)
        self.levels = check_levels(levels, where=self.name)
        self.schema = schema
        series = [_Series(train.iloc[rows], schema) for _, rows in series_slices(train)]
        self.nonnegative = bool((train[VALUE].to_numpy() >= 0).all())
        self.residuals = None
        if self.levels and self.calibration_windows:
            self.residuals = self._calibrate(series)
        self.booster = self._train(series)

    def _calibrate(self, series: list[_Series]) -> np.ndarray | None:
        """Errores absolutos escalados ``(ventanas · series, H)`` de pronósticos fuera de
        muestra: cada ventana reentrena sin sus ``H`` días y los pronostica."""
        horizon, rows = self.horizon, []
        for window in range(1, self.calibration_windows + 1):
            cut = window * horizon
            usable = [s for s in series if len(s.y) - cut > LAGS + horizon]
            if not usable:
                break
            booster = self._train(usable, cut)
            for item in usable:
                origin = np.array([len(item.y) - 1 - cut])
                x, scale = _features(item.y, item.days, item.future, item.past, origin,
                                     horizon)
                predicted = booster.predict(x) * scale[0]
                real = item.y[origin[0] + 1: origin[0] + 1 + horizon]
                rows.append(np.abs(real - predicted) / scale[0])
        if not rows:
            self.notes.append("sin historia para calibrar los intervalos: sin intervalos")
            return None
        return np.array(rows)

    def _half_widths(self, level: int) -> np.ndarray:
        """``(H,)`` cuantil ``level`` de los errores escalados de cada paso."""
        residuals, horizon = self.residuals, self.horizon
        widths = np.empty(horizon)
        for step in range(horizon):
            radius = 0
            while True:
                chosen = residuals[:, max(0, step - radius): step + radius + 1].reshape(-1)
                if chosen.size >= MIN_RESIDUALS or radius >= horizon:
                    break
                radius += 1
            quantile = min(1.0, level / 100 * (1 + 1 / chosen.size))
            widths[step] = np.quantile(chosen, quantile, method="higher")
        return widths

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None) -> pd.DataFrame:
        if self.booster is None:
            raise ArgumentError(f"{self.name}: llama a fit antes de predict.")
        horizon, schema = self.horizon, self.schema
        ahead = {}
        if schema.future_covariates:
            if future is None:
                raise DataError(f"{self.name}: faltan las covariables futuras de los días que "
                                "se pronostican.")
            ahead = {key: future.iloc[rows] for key, rows in series_slices(future)}
        keys, lasts, xs, scales = [], [], [], []
        for key, rows in series_slices(history):
            item = _Series(history.iloc[rows], schema)
            if len(item.y) < LAGS:
                raise DataError(f"{self.name}: la serie «{key}» tiene {len(item.y)} días y "
                                f"hacen falta al menos {LAGS}.")
            item.days = np.r_[item.days, item.days[-1] + np.arange(1, horizon + 1)]
            if schema.future_covariates:
                item.future = np.vstack([item.future, self._future_rows(key, ahead, item)])
            x, scale = _features(item.y, item.days, item.future, item.past,
                                 np.array([len(item.y) - 1]), horizon)
            keys.append(key)
            lasts.append(history[DATE].iloc[rows.stop - 1])
            xs.append(x)
            scales.append(scale[0])
        scale = np.array(scales)[:, None]
        mean = self.booster.predict(np.concatenate(xs)).reshape(len(keys), horizon) * scale
        if self.nonnegative:
            mean = np.maximum(mean, 0.0)
        bounds = {}
        if self.residuals is not None:
            for level in self.levels:
                width = self._half_widths(level)[None, :] * scale
                low = mean - width
                bounds[level] = (np.maximum(low, 0.0) if self.nonnegative else low,
                                 mean + width)
        elif self.levels:
            bounds = {level: (np.full_like(mean, np.nan), np.full_like(mean, np.nan))
                      for level in self.levels}
        return forecast_frame(keys, lasts, mean, bounds)

    def _future_rows(self, key: str, ahead: dict, item: _Series) -> np.ndarray:
        """Las covariables futuras de los ``H`` días siguientes de la serie ``key``."""
        rows = ahead.get(key)
        expected = item.days[-self.horizon:]
        if rows is None or len(rows) != self.horizon or not np.array_equal(
                rows[DATE].to_numpy().astype("datetime64[D]").astype(np.int64), expected):
            raise DataError(f"{self.name}: faltan las covariables futuras de la serie «{key}» "
                            f"para los {self.horizon} días siguientes a su último día.")
        return rows[list(self.schema.future_covariates)].to_numpy(np.float64)
