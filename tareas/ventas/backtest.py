"""Backtests con origen móvil sobre muchas series, con el mismo protocolo para todos.

Un :class:`Forecaster` (la red global, el ingenuo estacional, statsforecast, LightGBM) se
ajusta en cada pliegue solo con los días hasta el **corte** y pronostica los ``horizon``
días siguientes de cada serie. Los cortes van hacia atrás desde el último día, de
``step`` en ``step`` días. Por paso del horizonte (1..H) se mide:

- **MAE** en unidades y **sMAPE** (``200·|y−ŷ| / (|y|+|ŷ|)``, de 0 a 200; 0 cuando real y
  pronóstico son 0);
- **MASE**: el error absoluto dividido por el MAE del ingenuo estacional (t−7) de esa
  serie dentro de su parte de entrenamiento del pliegue (la definición de Hyndman y
  Koehler, 2006). Una serie cuyo ingenuo estacional no se equivoca nunca dentro de la
  muestra (toda a cero, p. ej.) no tiene escala: queda fuera del MASE, cuenta en MAE y
  sMAPE, y el resumen dice cuántas hubo;
- la **cobertura** empírica y la **anchura** media de cada intervalo
  (``inferior_L``/``superior_L``).

Ejemplo::

    df, schema = make_multi_series(50, 400)
    r = run_backtest(df, schema, [SeasonalNaiveForecaster()], horizon=28, folds=3)
    print(format_backtest(r.summary))
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from nucleo.errores import ArgumentError, DataError
from nucleo.validacion import check_int
from nucleo.vocabulario import MAX_HORIZON, MAX_INTERVAL_LEVEL
from datos.ventas_multiples import DATE, KEY, VALUE, SeriesSchema

logger = logging.getLogger("redes")

#: Periodo de la estacionalidad del ingenuo y de la escala del MASE (días).
SEASON = 7
#: Columna del pronóstico puntual.
MEAN = "media"
#: Lo que se imprime con la tabla.
PROTOCOL = ("origen móvil: {f} cortes cada {s} días; en cada uno, cada método se ajusta "
            "solo con los días hasta el corte y pronostica los {h} siguientes de cada serie")


#: Cómo se instalan las bibliotecas de los métodos de comparación (statsforecast, LightGBM).
PEERS_INSTALL = ('pip install "redes-keras[pronostico]" (o, desde el repositorio, '
                 'pip install ".[pronostico]")')


def require_package(package: str, what: str) -> None:
    """Comprueba que ``package`` se puede importar.

    Raises:
        EnvironmentSetupError: si falta, con la orden de pip que lo instala.
    """
    import importlib.util

    from nucleo.errores import EnvironmentSetupError

    if importlib.util.find_spec(package) is None:
        raise EnvironmentSetupError(f"{what} necesita el paquete «{package}», que no está "
                                    f"instalado: {PEERS_INSTALL}.")


class Forecaster(Protocol):
    """Lo que el backtest necesita de un método de pronóstico.

    ``fit`` recibe la parte de entrenamiento (formato largo, hasta el corte) y ``predict``
    la historia de cada serie y sus covariables futuras; devuelve una fila por (serie,
    fecha) de los ``horizon`` días siguientes al último de cada serie, con ``serie``,
    ``fecha``, ``media`` y, por cada nivel L, ``inferior_L`` y ``superior_L``.

    Un método sin intervalos da ``NaN`` en sus límites (su cobertura queda vacía).
    Opcionales: ``group`` (las semillas de una misma red comparten grupo y el resumen da
    su media ± desviación) y ``notes`` (lista de avisos que el resumen recoge).
    """

    name: str

    def fit(self, train: pd.DataFrame, schema: SeriesSchema, horizon: int,
            levels: tuple[int, ...] = ()) -> None: ...

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None) -> pd.DataFrame: ...


def lower_column(level: int) -> str:
    """``inferior_80`` para el nivel 80."""
    return f"inferior_{level}"


def upper_column(level: int) -> str:
    """``superior_80`` para el nivel 80."""
    return f"superior_{level}"


def forecast_columns(levels: Sequence[int]) -> list[str]:
    """Las columnas que devuelve ``predict`` con esos niveles."""
    return [KEY, DATE, MEAN] + [name for level in levels
                                for name in (lower_column(level), upper_column(level))]


def check_levels(levels, *, where: str) -> tuple[int, ...]:
    """Los niveles de los intervalos: enteros distintos de 1 a 99, ordenados."""
    if isinstance(levels, (str, bytes)) or not isinstance(levels, Sequence):
        raise ArgumentError(f"{where}: «levels» debe ser una lista de enteros de 1 a "
                            f"{MAX_INTERVAL_LEVEL}; recibido {levels!r}.")
    checked = [check_int(level, "levels", maximum=MAX_INTERVAL_LEVEL, where=where)
               for level in levels]
    if len(set(checked)) != len(checked):
        raise ArgumentError(f"{where}: «levels» repite un nivel: {list(levels)}.")
    return tuple(sorted(checked))


def forecast_frame(keys: Sequence[str], last_dates, mean: np.ndarray,
                   bounds: dict[int, tuple[np.ndarray, np.ndarray]] | None = None
                   ) -> pd.DataFrame:
    """El ``DataFrame`` que devuelve ``predict``, desde matrices ``(series, horizonte)``.

    Args:
        keys: la clave de cada serie.
        last_dates: el último día conocido de cada serie.
        mean: ``(n, H)`` pronóstico puntual.
        bounds: nivel → ``(inferior, superior)``, cada uno ``(n, H)``.
    """
    mean = np.asarray(mean, dtype=np.float64)
    n, horizon = mean.shape
    starts = np.asarray(pd.to_datetime(pd.Series(list(last_dates))).to_numpy(),
                        dtype="datetime64[D]")
    dates = (starts[:, None] + np.arange(1, horizon + 1)).reshape(-1)
    frame = pd.DataFrame({KEY: np.repeat(np.asarray(list(keys), dtype=object), horizon),
                          DATE: dates.astype("datetime64[ns]"), MEAN: mean.reshape(-1)})
    for level, (low, high) in sorted((bounds or {}).items()):
        frame[lower_column(level)] = np.asarray(low, dtype=np.float64).reshape(-1)
        frame[upper_column(level)] = np.asarray(high, dtype=np.float64).reshape(-1)
    frame[KEY] = frame[KEY].astype(str)
    return frame


def series_slices(frame: pd.DataFrame) -> list[tuple[str, slice]]:
    """``(serie, filas)`` de cada serie de un ``DataFrame`` largo ordenado por (serie, fecha)."""
    keys = frame[KEY].to_numpy()
    if not len(keys):
        return []
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    return [(str(keys[a]), slice(int(a), int(b))) for a, b in zip(starts, ends, strict=True)]


def _check_daily(data: pd.DataFrame, schema: SeriesSchema) -> pd.DataFrame:
    """Columnas del formato largo y días consecutivos en cada serie; ordena si hace falta."""
    missing = [name for name in (KEY, DATE, VALUE, *schema.covariates) if name not in data]
    if missing:
        raise DataError(f"backtest: faltan las columnas {', '.join(missing)} en los datos "
                        f"(hay {', '.join(map(str, data.columns))}).")
    data = data.sort_values([KEY, DATE], kind="stable").reset_index(drop=True)
    keys = data[KEY].to_numpy()
    days = data[DATE].to_numpy().astype("datetime64[D]").astype(np.int64)
    same = keys[1:] == keys[:-1]
    bad = np.flatnonzero(same & (np.diff(days) != 1))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"backtest: la serie «{keys[i]}» no tiene días consecutivos entre el "
                        f"{data[DATE].iloc[i].date()} y el {data[DATE].iloc[i + 1].date()}; "
                        "léela con gaps='rellenar' (--huecos rellenar).")
    return data


def fold_cutoffs(data: pd.DataFrame, *, horizon: int, folds: int, step: int,
                 min_history: int) -> list[pd.Timestamp]:
    """Los cortes, del más antiguo al más reciente; el último deja ``horizon`` días detrás.

    Raises:
        DataError: si el primer corte deja menos de ``min_history`` días de entrenamiento.
    """
    first, last = data[DATE].min(), data[DATE].max()
    cutoffs = [last - pd.Timedelta(days=horizon + k * step) for k in range(folds)][::-1]
    available = (cutoffs[0] - first).days + 1
    if available < min_history:
        needed = min_history + horizon + (folds - 1) * step
        raise DataError(f"backtest: los datos van del {first.date()} al {last.date()} "
                        f"({(last - first).days + 1} días) y hacen falta al menos {needed}: "
                        f"{min_history} de historia + {folds} corte(s) cada {step} días + "
                        f"{horizon} de horizonte.")
    return cutoffs


@dataclasses.dataclass
class FoldData:
    """Un pliegue: entrenamiento hasta el corte, covariables futuras y lo real después."""

    cutoff: pd.Timestamp
    train: pd.DataFrame
    future: pd.DataFrame | None
    actual: pd.DataFrame
    scale: pd.Series
    excluded: int


def split_fold(data: pd.DataFrame, schema: SeriesSchema, cutoff: pd.Timestamp, horizon: int,
               min_history: int, season: int = SEASON) -> FoldData:
    """Corta el pliegue; solo entran las series con ``min_history`` días hasta el corte y
    los ``horizon`` días siguientes completos (las demás se cuentan en ``excluded``).

    ``future`` lleva solo ``serie``, ``fecha`` y las covariables *futuras*: ni las ventas
    ni las covariables pasadas de después del corte llegan a ningún método.
    """
    end = cutoff + pd.Timedelta(days=horizon)
    before = data[DATE] <= cutoff
    after = (data[DATE] > cutoff) & (data[DATE] <= end)
    counts_before = data.loc[before, KEY].value_counts()
    counts_after = data.loc[after, KEY].value_counts()
    every = data[KEY].unique()
    keep = set(counts_before.index[counts_before >= min_history]) & set(
        counts_after.index[counts_after == horizon])
    train = data[before & data[KEY].isin(keep)].reset_index(drop=True)
    window = data[after & data[KEY].isin(keep)].reset_index(drop=True)
    future = (window[[KEY, DATE, *schema.future_covariates]].copy()
              if schema.future_covariates else None)
    return FoldData(cutoff, train, future, window[[KEY, DATE, VALUE]].copy(),
                    seasonal_scale(train, season), len(every) - len(keep))


def seasonal_scale(train: pd.DataFrame, season: int = SEASON) -> pd.Series:
    """MAE del ingenuo estacional dentro de la muestra de cada serie (``NaN`` si es 0)."""
    scale = {}
    values = train[VALUE].to_numpy(np.float64)
    for key, rows in series_slices(train):
        y = values[rows]
        error = np.abs(y[season:] - y[:-season]) if len(y) > season else np.array([])
        mae = float(error.mean()) if error.size else 0.0
        scale[key] = mae if mae > 0 else np.nan
    return pd.Series(scale, name="escala", dtype=np.float64)


def _check_forecast(name: str, predicted, actual: pd.DataFrame,
                    levels: tuple[int, ...]) -> pd.DataFrame:
    """Comprueba las columnas y las filas de ``predict`` y las une con lo real."""
    columns = forecast_columns(levels)
    if not isinstance(predicted, pd.DataFrame):
        raise DataError(f"backtest: «{name}».predict debe devolver un DataFrame; devolvió "
                        f"{type(predicted).__name__}.")
    missing = [column for column in columns if column not in predicted]
    if missing:
        raise DataError(f"backtest: al pronóstico de «{name}» le faltan las columnas "
                        f"{', '.join(missing)}.")
    predicted = predicted[columns].copy()
    predicted[KEY] = predicted[KEY].astype(str)
    predicted[DATE] = pd.to_datetime(predicted[DATE]).astype("datetime64[ns]")
    repeated = predicted.duplicated([KEY, DATE])
    if repeated.any():
        bad = predicted.loc[repeated].iloc[0]
        raise DataError(f"backtest: el pronóstico de «{name}» repite la serie «{bad[KEY]}» el "
                        f"{bad[DATE].date()}.")
    merged = actual.merge(predicted, on=[KEY, DATE], how="left", indicator=True)
    found = (merged.pop("_merge") == "both").to_numpy()
    bounds = merged[columns[3:]].to_numpy(np.float64)
    finite = found & np.isfinite(merged[MEAN].to_numpy(np.float64)) & (
        np.isfinite(bounds) | np.isnan(bounds)).all(axis=1)  # NaN en un límite: sin intervalo
    if not finite.all():
        bad = merged.loc[~finite].iloc[0]
        raise DataError(f"backtest: el pronóstico de «{name}» no tiene un valor finito para "
                        f"la serie «{bad[KEY]}» el {bad[DATE].date()} (falta la fila, o la "
                        "media no es finita, o un límite es ±inf).")
    return merged


@dataclasses.dataclass
class BacktestResult:
    """``summary``: el resumen JSON (ver :func:`summarize`); ``cells``: una fila por método,
    pliegue, serie y día pronosticado, con lo real, el pronóstico y la escala."""

    summary: dict
    cells: pd.DataFrame


def run_backtest(data: pd.DataFrame, schema: SeriesSchema, forecasters: Sequence, *,
                 horizon: int = 28, folds: int = 3, step: int | None = None,
                 levels: Sequence[int] = (80, 95), season: int = SEASON,
                 min_history: int | None = None, progress: bool | None = None
                 ) -> BacktestResult:
    """Backtest con origen móvil de varios :class:`Forecaster` con los mismos pliegues.

    Args:
        data: formato largo (``serie``, ``fecha``, ``unidades``, covariables) con días
            consecutivos en cada serie (:func:`~datos.ventas_multiples.read_long_sales`).
        schema: el :class:`~datos.ventas_multiples.SeriesSchema` de ``data``.
        forecasters: los métodos; cada uno se ajusta de nuevo en cada pliegue.
        horizon: días pronosticados desde cada corte.
        folds: cortes (pliegues).
        step: días entre cortes (por defecto ``horizon``: bloques que no se solapan).
        levels: niveles de los intervalos (enteros de 1 a 99).
        season: periodo del ingenuo de la escala del MASE.
        min_history: días que una serie necesita antes del corte para entrar en el
            pliegue (por defecto ``max(2·season, horizon)``).
        progress: barra de progreso (``None``: solo en una terminal).

    Returns:
        Un :class:`BacktestResult`.
    """
    where = "run_backtest"
    check_int(horizon, "horizon", maximum=MAX_HORIZON, where=where)
    check_int(folds, "folds", maximum=1000, where=where)
    step = horizon if step is None else check_int(step, "step", where=where)
    check_int(season, "season", maximum=MAX_HORIZON, where=where)
    min_history = (max(2 * season, horizon) if min_history is None
                   else check_int(min_history, "min_history", where=where))
    levels = check_levels(levels, where=where)
    names = [getattr(f, "name", None) for f in forecasters]
    if not names or not all(isinstance(n, str) and n for n in names) or \
            len(set(names)) != len(names):
        raise ArgumentError(f"{where}: hace falta al menos un método y cada uno con un "
                            f"«name» propio; recibidos {names!r}.")
    data = _check_daily(data, schema)
    cutoffs = fold_cutoffs(data, horizon=horizon, folds=folds, step=step,
                           min_history=min_history)
    cells, timing, excluded = _run_folds(data, schema, forecasters, cutoffs, horizon,
                                         levels, min_history, season, progress)
    summary = summarize(cells, levels, horizon)
    summary.update({
        "protocolo": PROTOCOL.format(f=folds, s=step, h=horizon), "horizonte": horizon,
        "pliegues": folds, "paso": step, "niveles": list(levels), "estacionalidad": season,
        "cortes": [str(c.date()) for c in cutoffs], "series": int(data[KEY].nunique()),
        "series_excluidas": excluded, "avisos": _notes(forecasters),
    })
    for row in summary["metodos"]:
        row.update(timing[row["metodo"]])
        row["grupo"] = getattr(forecasters[names.index(row["metodo"])], "group", row["metodo"])
    summary["grupos"] = group_spread(summary["metodos"], levels)
    return BacktestResult(summary, cells)


def _run_folds(data, schema, forecasters, cutoffs, horizon, levels, min_history, season,
               progress):
    """Ajusta y pronostica cada método en cada pliegue; devuelve las celdas y los tiempos."""
    from tqdm import tqdm

    parts, excluded = [], []
    timing = {f.name: {"segundos_ajuste": 0.0, "segundos_prediccion": 0.0}
              for f in forecasters}
    disable = None if progress is None else not progress
    with tqdm(total=len(cutoffs) * len(forecasters), desc="Backtest", unit="ajuste",
              disable=disable, leave=False, file=sys.stderr) as bar:
        for index, cutoff in enumerate(cutoffs):
            fold = split_fold(data, schema, cutoff, horizon, min_history, season)
            excluded.append(fold.excluded)
            if fold.train.empty:
                raise DataError(f"backtest: ninguna serie tiene {min_history} días antes del "
                                f"corte {cutoff.date()} y {horizon} después.")
            for forecaster in forecasters:
                bar.set_postfix_str(f"{forecaster.name}, corte {cutoff.date()}")
                began = time.perf_counter()
                forecaster.fit(fold.train.copy(), schema, horizon, levels)
                fitted = time.perf_counter()
                future = None if fold.future is None else fold.future.copy()
                predicted = forecaster.predict(fold.train.copy(), future)
                timing[forecaster.name]["segundos_ajuste"] += fitted - began
                timing[forecaster.name]["segundos_prediccion"] += time.perf_counter() - fitted
                merged = _check_forecast(forecaster.name, predicted, fold.actual, levels)
                merged.insert(0, "metodo", forecaster.name)
                merged.insert(1, "pliegue", index)
                days = (merged[DATE] - cutoff).dt.days.to_numpy()
                merged.insert(2, "paso", days)
                merged["escala"] = merged[KEY].map(fold.scale).to_numpy(np.float64)
                parts.append(merged)
                bar.update()
            logger.info("Corte %s: %d series, %d excluidas.", cutoff.date(),
                        fold.train[KEY].nunique(), fold.excluded)
    for row in timing.values():
        for key in row:
            row[key] = round(row[key], 2)
    return pd.concat(parts, ignore_index=True), timing, excluded


def _notes(forecasters) -> list[str]:
    notes = []
    for forecaster in forecasters:
        notes += [f"{forecaster.name}: {note}" for note in getattr(forecaster, "notes", ())]
    return notes


def cell_errors(cells: pd.DataFrame, levels: Sequence[int]) -> pd.DataFrame:
    """Añade a las celdas ``error_abs``, ``smape``, ``error_escalado`` y, por nivel,
    ``dentro_L`` (0/1) y ``anchura_L``."""
    out = cells.copy()
    real, mean = out[VALUE].to_numpy(np.float64), out[MEAN].to_numpy(np.float64)
    error = np.abs(real - mean)
    denominator = np.abs(real) + np.abs(mean)
    out["error_abs"] = error
    # Con signos opuestos |y − ŷ| = |y| + |ŷ|: el redondeo puede pasar de 200 por 1e-14.
    out["smape"] = np.minimum(np.divide(200.0 * error, denominator, out=np.zeros_like(error),
                                        where=denominator > 0), 200.0)
    out["error_escalado"] = error / out["escala"].to_numpy(np.float64)
    for level in levels:
        low = out[lower_column(level)].to_numpy(np.float64)
        high = out[upper_column(level)].to_numpy(np.float64)
        inside = ((real >= low) & (real <= high)).astype(np.float64)
        # Un método sin intervalos da NaN en los límites: no cuenta en la cobertura.
        out[f"dentro_{level}"] = np.where(np.isnan(low) | np.isnan(high), np.nan, inside)
        out[f"anchura_{level}"] = high - low
    return out


def summarize(cells: pd.DataFrame, levels: Sequence[int], horizon: int) -> dict:
    """Una fila por método: MASE, MAE y sMAPE (media de los pasos 1..H y por paso),
    cobertura y anchura de cada nivel, y el MASE de cada pliegue."""
    errors = cell_errors(cells, levels)
    rows = []
    for name, part in errors.groupby("metodo", sort=False):
        by_step = part.groupby("paso")
        row = {"metodo": name, "mase": _mean(part["error_escalado"]),
               "mae": _mean(part["error_abs"]), "smape": _mean(part["smape"]),
               "cobertura": {}, "anchura": {}, "anchura_escalada": {},
               "por_paso": {"paso": [int(s) for s in by_step.groups],
                            "mase": _rounded(by_step["error_escalado"].mean()),
                            "mae": _rounded(by_step["error_abs"].mean()),
                            "smape": _rounded(by_step["smape"].mean())},
               "mase_pliegues": _rounded(part.groupby("pliegue")["error_escalado"].mean()),
               "celdas": len(part),
               "series_sin_escala": int(part.loc[part["escala"].isna(), KEY].nunique())}
        for level in levels:
            key = str(level)
            row["cobertura"][key] = _mean(part[f"dentro_{level}"])
            row["anchura"][key] = _mean(part[f"anchura_{level}"])
            row["anchura_escalada"][key] = _mean(part[f"anchura_{level}"] / part["escala"])
            row["por_paso"][f"cobertura_{level}"] = _rounded(by_step[f"dentro_{level}"].mean())
        rows.append(row)
    rows.sort(key=lambda r: (np.inf if r["mase"] is None else r["mase"]))
    return {"metodos": rows, "mejor": rows[0]["metodo"] if rows else None}


def _mean(values) -> float | None:
    """Media sin los ``NaN`` (``None`` si no queda ninguno), con 6 decimales."""
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    return round(float(array.mean()), 6) if array.size else None


def _rounded(series: pd.Series) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), 6) for v in series.to_numpy()]


def group_spread(rows: list[dict], levels: Sequence[int]) -> list[dict]:
    """Media ± desviación de los métodos de un mismo grupo (las semillas de una red)."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["grupo"], []).append(row)
    out = []
    for group, members in groups.items():
        if len(members) < 2:
            continue
        item = {"grupo": group, "metodos": [m["metodo"] for m in members]}
        for key in ("mase", "mae", "smape"):
            values = [m[key] for m in members if m[key] is not None]
            item[key], item[f"{key}_std"] = (round(float(np.mean(values)), 6),
                                             round(float(np.std(values)), 6))
        item["cobertura"] = {str(level): _mean([m["cobertura"][str(level)] for m in members
                                                if m["cobertura"][str(level)] is not None])
                             for level in levels}
        item["segundos"] = round(sum(m.get("segundos_ajuste", 0.0)
                                     + m.get("segundos_prediccion", 0.0) for m in members), 2)
        out.append(item)
    return out
