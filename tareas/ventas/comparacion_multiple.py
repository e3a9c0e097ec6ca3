"""``redes pronostico comparar`` con muchas series: el backtest de la red global y sus pares.

:func:`compare_many` lee un CSV largo (o toma un ``DataFrame`` con su esquema) y pasa por
los mismos cortes de origen móvil (:func:`~tareas.ventas.backtest.run_backtest`):

- el ingenuo estacional (t−7), con intervalos de sus errores pasados;
- los pares instalados (extra ``pronostico``): AutoETS, AutoARIMA y SeasonalNaive de
  statsforecast y LightGBM global (:mod:`tareas.ventas.pares`); los que faltan se dicen
  en una línea con la orden que los instala;
- la red global (:class:`~tareas.ventas.global_red.GlobalNetworkForecaster`), una vez por
  semilla; el resumen da la media ± desviación de las semillas.

Devuelve un :class:`~informes.resultado.TaskResult` con la tabla, el JSON (cifras por
paso del horizonte incluidas) y dos gráficos: el MASE por paso y la cobertura.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nucleo.errores import ArgumentError
from informes.resultado import TaskResult
from tareas.ventas.backtest import SEASON
from tareas.ventas.backtest import run_backtest
from tareas.ventas.backtest_informe import COVERAGE_PLOT
from tareas.ventas.backtest_informe import HORIZON_PLOT
from tareas.ventas.backtest_informe import format_backtest
from tareas.ventas.backtest_informe import plot_coverage
from tareas.ventas.backtest_informe import plot_horizon_errors
from tareas.ventas.pares import SeasonalNaiveForecaster
from tareas.ventas.pares import missing_peers_note
from tareas.ventas.pares import peer_forecasters

#: El grupo de las semillas de la red global en el resumen.
NETWORK_GROUP = "Red global"
#: Horizonte y cortes por defecto.
DEFAULT_HORIZON = 28
DEFAULT_FOLDS = 3


def network_forecasters(seeds: Sequence[int], settings: dict[str, Any] | None = None) -> list:
    """Una :class:`~tareas.ventas.global_red.GlobalNetworkForecaster` por semilla.

    Args:
        seeds: semillas.
        settings: campos de
            :class:`~tareas.ventas.global_configuracion.GlobalSalesConfig` (``epochs``,
            ``steps``, ``batch_size``, ``variant``...).
    """
    from tareas.ventas.global_red import GlobalNetworkForecaster

    forecasters = []
    for seed in seeds:
        forecaster = GlobalNetworkForecaster(name=f"{NETWORK_GROUP} (semilla {seed})",
                                             **{**(settings or {}), "seed": seed})
        forecaster.group = NETWORK_GROUP
        forecasters.append(forecaster)
    return forecasters


def network_min_history(horizon: int, settings: dict[str, Any] | None = None) -> int:
    """Días que la red global necesita antes del corte: retardos + horizonte + calibración."""
    from tareas.ventas.global_configuracion import GlobalSalesConfig

    config = GlobalSalesConfig(**{**(settings or {}), "horizon": horizon, "validation": 0})
    return config.steps + horizon + config.held_calibration


def _seed_list(seeds) -> list[int]:
    from nucleo.validacion import check_int

    if isinstance(seeds, int) and not isinstance(seeds, bool):
        return list(range(check_int(seeds, "seeds", where="compare_many")))
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds:
        raise ArgumentError(f"compare_many: «seeds» debe ser un número de semillas o una "
                            f"lista no vacía; recibido {seeds!r}.")
    return [check_int(seed, "seeds", minimum=0, where="compare_many") for seed in seeds]


def _load(data, schema, read_options: dict[str, Any]):
    """``(DataFrame, SeriesSchema)`` de una ruta de CSV largo o de un ``DataFrame``."""
    import pandas as pd

    from datos.ventas_multiples import SeriesSchema, frame_table, read_long_sales

    if isinstance(data, (str, Path)):
        return read_long_sales(data, **read_options)
    if isinstance(data, pd.DataFrame):
        if not isinstance(schema, SeriesSchema):
            raise ArgumentError("compare_many: con un DataFrame hace falta su «schema» "
                                "(un SeriesSchema).")
        table = frame_table(data, schema, gaps=read_options.get("gaps", "rechazar"))
        return table.frame, schema
    raise ArgumentError(f"compare_many: «data» debe ser la ruta de un CSV largo o un DataFrame; "
                        f"recibido {type(data).__name__}.")


def compare_many(data, schema=None, *, horizon: int = DEFAULT_HORIZON,
                 folds: int = DEFAULT_FOLDS, step: int | None = None,
                 levels: Sequence[int] = (80, 95), seeds: int | Sequence[int] = 1,
                 peers: bool = True, network: bool = True,
                 network_settings: dict[str, Any] | None = None,
                 extra: Sequence = (), out_dir=None, progress: bool | None = None,
                 **read_options) -> TaskResult:
    """El backtest de todos los métodos sobre muchas series, con los mismos cortes.

    Args:
        data: ruta de un CSV largo o ``DataFrame`` largo.
        schema: el :class:`~datos.ventas_multiples.SeriesSchema` de un ``DataFrame``.
        horizon: días pronosticados desde cada corte.
        folds: cortes de origen móvil.
        step: días entre cortes (por defecto el horizonte).
        levels: niveles de los intervalos.
        seeds: semillas de la red global (número o lista).
        peers: incluir statsforecast y LightGBM si están instalados.
        network: incluir la red global.
        network_settings: campos de ``GlobalSalesConfig`` para la red (``epochs``...).
        extra: más :class:`~tareas.ventas.backtest.Forecaster` que añadir.
        out_dir: carpeta de los gráficos (``None``: sin archivos).
        progress: barra de progreso (``None``: solo en una terminal).
        **read_options: las de :func:`~datos.ventas_multiples.read_long_sales`
            (``series_columns``, ``future_covariates``, ``gaps``...).

    Returns:
        Un :class:`~informes.resultado.TaskResult`; ``data`` es el resumen del backtest
        (``metodos`` con ``mase``, ``mae``, ``smape``, ``cobertura``, ``anchura`` y
        ``por_paso``; ``grupos``, ``cortes``, ``omitidos``...).
    """
    began = time.perf_counter()
    seed_list = _seed_list(seeds) if network else []
    frame, schema = _load(data, schema, read_options)
    forecasters: list = [SeasonalNaiveForecaster(season=SEASON)]
    skipped: list[dict[str, str]] = []
    if peers:
        forecasters += peer_forecasters(season=SEASON)
        note = missing_peers_note()
        if note:
            skipped.append({"metodo": "statsforecast / LightGBM", "motivo": note})
    min_history = max(2 * horizon, 2 * SEASON)
    if network:
        forecasters += network_forecasters(seed_list, network_settings)
        min_history = max(min_history, network_min_history(horizon, network_settings))
    forecasters += list(extra)
    result = run_backtest(frame, schema, forecasters, horizon=horizon, folds=folds, step=step,
                          levels=levels, min_history=min_history, progress=progress)
    summary = {"tipo": "backtest", **result.summary, "omitidos": skipped,
               "segundos": round(time.perf_counter() - began, 2)}
    files = {}
    if out_dir is not None:
        files["error_por_horizonte"] = plot_horizon_errors(summary, Path(out_dir) / HORIZON_PLOT)
        files["cobertura"] = plot_coverage(summary, Path(out_dir) / COVERAGE_PLOT)
    best_peer = next((row["metodo"] for row in summary["metodos"]
                      if row["grupo"] != NETWORK_GROUP), None)
    return TaskResult(
        title="Backtest de muchas series: resumen",
        metrics={"mejor": summary["mejor"], "mejor_sin_red": best_peer,
                 "series": summary["series"], "segundos": summary["segundos"]},
        files=files, data=summary, text=[format_backtest(summary)])
