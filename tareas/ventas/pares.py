"""Los métodos con los que se compara la red global, cada uno un ``Forecaster``.

- :class:`SeasonalNaiveForecaster`: el último día con el mismo día de la semana, con
  intervalos empíricos de sus propios errores pasados (sin dependencias).
- :class:`StatsForecastForecaster`: ``AutoETS``, ``AutoARIMA`` y ``SeasonalNaive`` de
  statsforecast, modelos locales (uno por serie) con sus intervalos ``level=``.
- :class:`~tareas.ventas.pares_lightgbm.LightGBMForecaster`: un modelo global de LightGBM
  con retardos, calendario y covariables futuras, e intervalos conformes.

statsforecast y LightGBM van en el extra ``pronostico``; :func:`peer_forecasters` da los
que están instalados y :func:`missing_peers_note` la línea que dice cómo instalar el resto.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pandas as pd

from nucleo.errores import ArgumentError, DataError
from nucleo.validacion import check_int
from nucleo.vocabulario import MAX_HORIZON
from datos.ventas_multiples import DATE, VALUE, SeriesSchema
from tareas.ventas.backtest import PEERS_INSTALL
from tareas.ventas.backtest import SEASON
from tareas.ventas.backtest import check_levels
from tareas.ventas.backtest import forecast_frame
from tareas.ventas.backtest import require_package
from tareas.ventas.backtest import series_slices
from tareas.ventas.pares_lightgbm import LightGBMForecaster

#: Modelos de statsforecast que se envuelven.
STATSFORECAST_MODELS = ("AutoETS", "AutoARIMA", "SeasonalNaive")
#: Paquete → métodos que trae (lo que falta se dice en una línea).
PEER_PACKAGES = {"statsforecast": ("AutoETS", "AutoARIMA", "SeasonalNaive"),
                 "lightgbm": ("LightGBM",)}
#: Días de errores pasados con que el ingenuo estacional hace sus intervalos.
NAIVE_WINDOW = 364

__all__ = ["LightGBMForecaster", "SeasonalNaiveForecaster", "StatsForecastForecaster",
           "missing_peers", "missing_peers_note", "peer_forecasters"]


class _Local:
    """Lo común a los métodos locales: guarda el horizonte y los niveles en ``fit``."""

    horizon: int | None = None
    levels: tuple[int, ...] = ()

    def fit(self, train: pd.DataFrame, schema: SeriesSchema, horizon: int,
            levels: tuple[int, ...] = ()) -> None:
        """Los métodos locales se ajustan serie a serie en ``predict``, con su historia."""
        self.horizon = check_int(horizon, "horizon", maximum=MAX_HORIZON, where=self.name)
        self.levels = check_levels(levels, where=self.name)
        self.schema = schema

    def _ready(self) -> int:
        if self.horizon is None:
            raise ArgumentError(f"{self.name}: llama a fit antes de predict.")
        return self.horizon


def seasonal_naive_forecast(y: np.ndarray, horizon: int, levels, *, season: int = SEASON,
                            window: int = NAIVE_WINDOW):
    """Ingenuo estacional de una serie: ``(media, {nivel: (inferior, superior)})``.

    El día ``T + h`` repite el último día conocido con el mismo día de la semana,
    ``T + h − m`` con ``m = season · ⌈h / season⌉``. El intervalo de nivel L son los
    cuantiles ``(1 ∓ L/100) / 2`` de los errores de ese mismo pronóstico a ``m`` días
    (``y_t − y_{t−m}``) en los últimos ``window`` días; con ventas no negativas, el
    inferior no baja de 0.
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n < season + 1:
        raise DataError(f"ingenuo estacional: hacen falta al menos {season + 1} días de "
                        f"historia; hay {n}.")
    steps = np.arange(1, horizon + 1)
    lags = season * np.ceil(steps / season).astype(np.int64)
    mean = y[n - 1 + steps - lags]
    bounds = {level: (np.empty(horizon), np.empty(horizon)) for level in levels}
    for lag in np.unique(lags):
        usable = lag if lag < n else season * ((n - 1) // season)  # errores que existan
        tail = y[-(window + usable):]
        errors = tail[usable:] - tail[:-usable]
        where = lags == lag
        for level in levels:
            low, high = np.quantile(errors, [(1 - level / 100) / 2, (1 + level / 100) / 2])
            bounds[level][0][where] = mean[where] + low
            bounds[level][1][where] = mean[where] + high
    if (y >= 0).all():
        for low, _ in bounds.values():
            np.maximum(low, 0.0, out=low)
    return mean, bounds


class SeasonalNaiveForecaster(_Local):
    """El ingenuo estacional (t−7) con intervalos empíricos de sus errores pasados."""

    def __init__(self, *, season: int = SEASON, window: int = NAIVE_WINDOW,
                 name: str = "Ingenuo estacional (t−7)"):
        self.name = name
        self.season = check_int(season, "season", maximum=MAX_HORIZON, where=name)
        self.window = check_int(window, "window", where=name)

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None = None
                ) -> pd.DataFrame:
        horizon = self._ready()
        values = history[VALUE].to_numpy(np.float64)
        dates = history[DATE].to_numpy()
        forecasts = []
        for key, rows in series_slices(history):
            mean, intervals = seasonal_naive_forecast(values[rows], horizon, self.levels,
                                                      season=self.season, window=self.window)
            forecasts.append((key, dates[rows][-1], mean, intervals))
        return stacked_forecasts(forecasts, horizon, self.levels)


def stacked_forecasts(forecasts, horizon: int, levels) -> pd.DataFrame:
    """El ``DataFrame`` del contrato a partir de ``(serie, último día, media, {nivel:
    (inferior, superior)})`` de cada serie, en su orden."""
    keys = [key for key, _, _, _ in forecasts]
    means = np.array([mean for _, _, mean, _ in forecasts]).reshape(len(forecasts), horizon)
    bounds = {level: tuple(np.array([found[level][side] for _, _, _, found in forecasts])
                           for side in (0, 1)) for level in levels}
    return forecast_frame(keys, [last for _, last, _, _ in forecasts], means, bounds)


# Lo que statsforecast puede lanzar al ajustar una serie difícil (todo ceros, constante).
_FIT_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError, IndexError, RuntimeError)


class StatsForecastForecaster(_Local):
    """Un modelo local de statsforecast (``AutoETS``, ``AutoARIMA`` o ``SeasonalNaive``).

    Cada serie se ajusta con sus últimos ``window`` días (todos con ``None``) y se
    pronostica con ``forecast(y, h, level=...)``. Con ``exogenous=True`` (solo
    ``AutoARIMA``) las covariables futuras entran como regresores (las constantes en la
    historia de la serie se quitan). Si el ajuste de una serie falla, esa serie usa el
    ingenuo estacional y se anota en ``notes``.
    """

    def __init__(self, model: str = "AutoETS", *, season: int = SEASON,
                 window: int | None = None, exogenous: bool = False):
        if model not in STATSFORECAST_MODELS:
            raise ArgumentError(f"StatsForecastForecaster: «model» debe ser uno de "
                                f"{', '.join(STATSFORECAST_MODELS)}; recibido {model!r}.")
        if exogenous and model != "AutoARIMA":
            raise ArgumentError("StatsForecastForecaster: «exogenous» solo vale con AutoARIMA.")
        self.model = model
        self.exogenous = bool(exogenous)
        self.name = f"{model}{' + covariables' if exogenous else ''} (statsforecast)"
        self.season = check_int(season, "season", maximum=MAX_HORIZON, where=self.name)
        self.window = None if window is None else check_int(window, "window", where=self.name)
        self.notes: list[str] = []

    def fit(self, train, schema, horizon, levels=()) -> None:
        require_package("statsforecast", self.name)
        super().fit(train, schema, horizon, levels)

    def _model(self):
        from statsforecast import models

        return getattr(models, self.model)(season_length=self.season)

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None = None
                ) -> pd.DataFrame:
        horizon = self._ready()
        covariates = list(self.schema.future_covariates) if self.exogenous else []
        if covariates and future is None:
            raise DataError(f"{self.name}: faltan las covariables futuras de los días que se "
                            "pronostican.")
        values = history[VALUE].to_numpy(np.float64)
        dates = history[DATE].to_numpy()
        known = history[covariates].to_numpy(np.float64) if covariates else None
        ahead = {}
        if covariates:
            upcoming = future[covariates].to_numpy(np.float64)
            ahead = {key: upcoming[rows] for key, rows in series_slices(future)}
        forecasts, failed = [], []
        for key, rows in series_slices(history):
            y = values[rows] if self.window is None else values[rows][-self.window:]
            x = known[rows][-len(y):] if covariates else None
            x_future = ahead[key] if covariates else None
            try:
                mean, intervals = self._one(y, horizon, x, x_future)
            except _FIT_ERRORS as error:
                failed.append(f"{key} ({type(error).__name__})")
                mean, intervals = seasonal_naive_forecast(y, horizon, self.levels,
                                                          season=self.season)
            forecasts.append((key, dates[rows][-1], mean, intervals))
        if failed:
            self.notes.append(f"{len(failed)} series con el ingenuo estacional porque el "
                              f"ajuste falló: {', '.join(failed[:5])}"
                              f"{'…' if len(failed) > 5 else ''}")
        return stacked_forecasts(forecasts, horizon, self.levels)

    def _one(self, y, horizon, x, x_future):
        """``(media, {nivel: (inferior, superior)})`` de una serie."""
        options = {"level": list(self.levels)} if self.levels else {}
        if x is not None:
            varies = x.std(axis=0) > 0
            if varies.any():
                options.update(X=x[:, varies], X_future=x_future[:, varies])
        with warnings.catch_warnings():  # avisos de convergencia y de matrices singulares
            warnings.simplefilter("ignore")
            out = self._model().forecast(y=y, h=horizon, **options)
        mean = np.asarray(out["mean"], dtype=np.float64)
        intervals = {level: (np.asarray(out[f"lo-{level}"], dtype=np.float64),
                             np.asarray(out[f"hi-{level}"], dtype=np.float64))
                     for level in self.levels}
        if not np.isfinite(mean).all() or not all(
                np.isfinite(part).all() for pair in intervals.values() for part in pair):
            raise ArithmeticError("pronóstico no finito")
        return mean, intervals


def missing_peers() -> list[str]:
    """Los paquetes de :data:`PEER_PACKAGES` que no se pueden importar."""
    return [package for package in PEER_PACKAGES if importlib.util.find_spec(package) is None]


def missing_peers_note(missing=None) -> str | None:
    """Una línea que dice qué métodos faltan y cómo instalarlos (``None`` si no falta ninguno)."""
    missing = missing_peers() if missing is None else list(missing)
    if not missing:
        return None
    methods = [method for package in missing for method in PEER_PACKAGES[package]]
    return (f"Sin {' ni '.join(missing)}, la comparación no incluye {', '.join(methods)}; "
            f"para incluirlos: {PEERS_INSTALL}.")


def peer_forecasters(*, season: int = SEASON, seed: int = 0, arima_window: int | None = 364,
                     exogenous: bool = False) -> list:
    """Los métodos de comparación instalados: AutoETS, AutoARIMA y SeasonalNaive de
    statsforecast (AutoARIMA con los últimos ``arima_window`` días) y LightGBM.

    Args:
        season: estacionalidad (días).
        seed: semilla de LightGBM.
        arima_window: días de historia de AutoARIMA (``None``: todos; con años de
            historia diaria, la búsqueda de AutoARIMA es la parte lenta).
        exogenous: AutoARIMA con las covariables futuras como regresores.
    """
    missing = missing_peers()
    peers: list = []
    if "statsforecast" not in missing:
        peers += [StatsForecastForecaster("AutoETS", season=season),
                  StatsForecastForecaster("AutoARIMA", season=season, window=arima_window,
                                          exogenous=exogenous),
                  StatsForecastForecaster("SeasonalNaive", season=season)]
    if "lightgbm" not in missing:
        peers.append(LightGBMForecaster(seed=seed))
    return peers
