"""Entrenar el modelo global de muchas series: ``redes pronostico entrenar --columna-serie``.

:func:`train_sales_global` lee el CSV largo (o los datos en memoria), aparta de cada serie
la validación y la calibración (:mod:`tareas.ventas.global_datos`), entrena la red con
:func:`entrenamiento.entrenar.train` (la época de menor pérdida de *entrenamiento*),
calibra los intervalos y guarda todo en un solo ``modelo.h5``. En la validación, que ni
la red ni la calibración vieron, mide MAE y MASE frente al ingenuo estacional y la
cobertura y la anchura de cada intervalo.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datos.ventas_multiples import DATE, KEY, VALUE
from informes.resultado import Table
from informes.resultado import TaskResult
from informes.resultado import training_files
from tareas.configuracion import save_run_config
from tareas.ventas.comun import VALIDATION_PLOT
from tareas.ventas.global_configuracion import GlobalSalesConfig
from tareas.ventas.global_datos import GlobalData, prepare_global, read_global
from tareas.ventas.global_prediccion import pick_series, plot_grid
from tareas.ventas.global_red import GlobalModel, fit_global, forecast_frame, global_metadata
from tareas.ventas.intervalos import SEASON, interval_report, mase


def train_sales_global(config: GlobalSalesConfig | None = None, *, data=None,
                       verbose: Any = 0, cluster=None, devices=None,
                       **overrides) -> TaskResult:
    """Entrena la red global de ventas y deja modelo, registro, curvas y validación.

    Args:
        config: la :class:`~tareas.ventas.global_configuracion.GlobalSalesConfig`.
        data: ``(DataFrame largo, SeriesSchema)`` en memoria, en lugar del CSV.
        verbose: barra de progreso de Keras.
        cluster: con varios procesos, el :class:`~entrenamiento.distribuido.Cluster`.
        devices: datos en paralelo en varios dispositivos de este proceso.
        **overrides: campos de la configuración que cambian.

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` con la pérdida
        (*pinball* en la escala de cada serie) y, con validación, ``val_mae_unidades``,
        ``val_mase``, ``val_mase_ingenuo``, ``cobertura_L`` (%) y ``anchura_L``
        (unidades) de cada nivel; ``files`` con ``pesos``, ``registro``, ``curvas``,
        ``validacion`` y ``configuracion``.

    Raises:
        ArgumentError: un ajuste no válido (lo nombra).
        DataError: CSV no válido: columna, fila repetida, hueco, serie corta...
    """
    from entrenamiento.callbacks import TimeLimit

    config = GlobalSalesConfig.build(config, **overrides)
    config, prepared = prepare_global(read_global(config, data), config)
    run_dir = config.resolved_run_dir()
    config_file = save_run_config(config.replace(run_dir=run_dir), run_dir, cluster)
    limit = [] if config.minutes is None else [TimeLimit(config.minutes * 60.0, cluster)]
    start = time.perf_counter()
    model, result = fit_global(prepared, config, run_dir=run_dir, verbose=verbose,
                               cluster=cluster, devices=devices, callbacks=limit,
                               metadata=global_metadata(prepared.encoding, config,
                                                        prepared.table.source))
    model.metadata = global_metadata(prepared.encoding, config, prepared.table.source,
                                     model.factors)["global"]
    if result.weights_path is not None and (cluster is None or cluster.chief):
        import modelos

        # Los factores conformales se conocen al final: el mismo archivo, con ellos.
        modelos.save(result.model, result.weights_path, metadata={
            "tarea": "pronostico", "global": model.metadata})
    report = _report(config, prepared, model, result, run_dir)
    report.metrics["segundos"] = round(time.perf_counter() - start, 2)
    if config_file is not None:
        report.files["configuracion"] = config_file
    return report


def validation_figures(model: GlobalModel, data: GlobalData) -> tuple[dict[str, Any],
                                                                      pd.DataFrame]:
    """Las cifras de la validación y su tabla larga (real, mediana e intervalos).

    El ingenuo estacional de cada ejemplo repite los 7 días anteriores a su origen.
    """
    windows = data.validation
    units = model.units(windows)
    scales = model.encoding.scales[windows.series][:, None]
    real = windows.target * scales
    metrics: dict[str, Any] = {}
    error = np.abs(units[..., 0] - real)
    metrics["val_mae_unidades"] = float(error.mean())
    metrics["val_mase"] = mase(real, units[..., 0], data.naive_scales[windows.series])
    if data.steps >= SEASON:
        naive = np.resize(windows.lags[:, -SEASON:], (len(windows), SEASON))
        naive = np.tile(naive, (1, -(-data.horizon // SEASON)))[:, :data.horizon] * scales
        metrics["val_mae_unidades_ingenuo"] = float(np.abs(naive - real).mean())
        metrics["val_mase_ingenuo"] = mase(real, naive, data.naive_scales[windows.series])
    metrics.update(interval_report(real, units, model.levels))
    table = forecast_frame(windows, units, model.encoding, model.levels)
    table.insert(2, "real", real.reshape(-1))
    return metrics, table


def _report(config: GlobalSalesConfig, data: GlobalData, model: GlobalModel, result,
            run_dir: Path | None) -> TaskResult:
    n_epochs = len(result.history.get("loss", []))
    kept = result.best_epoch if result.best_epoch is not None else n_epochs - 1
    metrics: dict[str, Any] = {"modelo": f"global {config.variant}",
                               "series": len(model.encoding.keys),
                               "ejemplos_entrenamiento": len(data.train), "epocas": kept + 1}
    for key in ("loss", "val_loss"):
        if key in result.history and n_epochs:
            metrics[key] = float(result.history[key][kept])
    metrics.update({f"factor_conformal_{level}": round(factor, 4)
                    for level, factor in model.factors.items()})
    metrics.update(result.summary())
    files: dict[str, Any] = training_files(result) if run_dir is not None else {}
    rows, tables = [], []
    if data.validation is not None:
        figures, table = validation_figures(model, data)
        metrics.update(figures)
        rows = [{**row, "fecha": str(row["fecha"])[:10]} for row in table.to_dict("records")]
        tables.append(Table("Intervalos en la validación (días que nadie vio al entrenar ni "
                            "al calibrar)", ("Nivel", "Cobertura", "Anchura media"),
                            [(f"{level} %", f"{figures[f'cobertura_{level}']:.1f} %",
                              f"{figures[f'anchura_{level}']:.1f}") for level in model.levels]))
        if run_dir is not None:
            history = data.table.frame
            keys = pick_series(model.encoding.keys, model.encoding.scales)
            real = table.rename(columns={"real": VALUE})[[KEY, DATE, VALUE]]
            cut = history.groupby(KEY, sort=False).cumcount(ascending=False) >= len(
                np.unique(table[DATE]))
            files["validacion"] = plot_grid(
                run_dir / VALIDATION_PLOT, "Validación: pronóstico, intervalos y lo que pasó",
                history[cut], table, keys, model.levels, real=real)
    return TaskResult(
        title=(f"Ventas, red global «{config.variant}» de {len(model.encoding.keys)} series: "
               "métricas (pérdida pinball en la escala de cada serie; MAE en unidades)"),
        metrics=metrics, files=files, data={"validacion": rows}, tables=tables,
        model=result.model, history=result.history)
