"""Entrenar un perceptrón de ventas con los últimos días aparte: ``redes pronostico entrenar``.

El modelo que se guarda es el de menor pérdida de *entrenamiento*: elegir la época por
la pérdida de validación sería ajustar sobre la validación. La parada temprana
(``patience``) vigila esa misma pérdida. :func:`train_sales` recibe
una :class:`~tareas.ventas.configuracion.SalesConfig`; prepara los datos
(:func:`_prepare`), entrena con :func:`entrenamiento.entrenar.train` e informa de la
validación (:func:`_report`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from datos.ventas import SalesData
from datos.ventas import prepare_sales
from informes.resultado import Table
from informes.resultado import TaskResult
from informes.resultado import training_files
from tareas.configuracion import save_run_config
from tareas.ventas.comun import TASK
from tareas.ventas.comun import VALIDATION_PLOT
from tareas.ventas.comun import case_name
from tareas.ventas.comun import errors_in_units
from tareas.ventas.comun import load_series
from tareas.ventas.comun import model_inputs
from tareas.ventas.comun import plot_series
from tareas.ventas.comun import predict_part
from tareas.ventas.comun import sales_builder
from tareas.ventas.configuracion import SalesConfig

# Días de validación que se muestran en la tabla de la terminal (todos van al JSON).
SHOWN_VALIDATION_DAYS = 7


def default_run_dir(variant: str, blog_ste: bool = False) -> Path:
    """La carpeta por defecto de :func:`train_sales`: ``pesos/ventas_<variante>[_blog]``."""
    return SalesConfig(variant=variant, blog_ste=blog_ste).resolved_run_dir()


def _sales_metadata(data: SalesData, variant: str, settings: dict[str, Any]) -> dict[str, Any]:
    series = data.series
    return {
        "tarea": TASK,
        "escalador": data.scaler.to_json(),
        "ventas": {
            "variante": variant, "pasos": data.steps, "validacion": len(data.validation),
            "csv": series.source, "primera_fecha": str(series.dates[0]),
            "ultima_fecha": str(series.dates[-1]), "filas": len(series), **settings,
        },
    }


def _kept_epoch(weights_path: Path, n_epochs: int) -> int:
    """Índice de la época guardada en ``modelo.h5`` (la última si no consta)."""
    import modelos

    best = modelos.load_metadata(weights_path)["metadata"].get("mejor", {})
    epoch = best.get("epoca") if isinstance(best, dict) else None
    return int(epoch) if isinstance(epoch, int) and 0 <= epoch < n_epochs else n_epochs - 1


def _prepare(config: SalesConfig, series) -> SalesData:
    """La serie (la dada o la del CSV de la configuración) con retardos y validación."""
    from nucleo.errores import ArgumentError

    where = "train_sales"
    if series is None:
        if config.csv is None:
            raise ArgumentError(f"{where}: falta «csv (--csv)», el CSV de ventas (o dé la "
                                "serie con series=...).")
        series = config.csv
    series = load_series(series, config.date_column, config.value_column, where=where)
    return prepare_sales(series, config.steps, config.validation)


def _supervised(variant: str, part):
    """``(entradas, objetivo)`` de una parte de los datos de ventas."""
    return model_inputs(variant, part), part.target[:, None].astype(np.float32)


def train_sales(config: SalesConfig | None = None, *, series=None, verbose: Any = 0,
                cluster=None, devices=None, **overrides) -> TaskResult:
    """Entrena un perceptrón de ventas y deja modelo, escalador, registro y gráficos.

    Usa :func:`entrenamiento.entrenar.train` (semilla, ``registro.csv``, ``curvas.png``,
    reanudación) con ``monitor="loss"``: se guarda la época de menor pérdida de
    entrenamiento, nunca la elegida por la validación; ``patience`` para tras tantas
    épocas sin mejorar esa pérdida y ``minutes`` al terminar el lote en que se cumple el
    tope (con varios procesos manda el reloj del proceso 0). Con ``precision``
    ``"mixed_bfloat16"`` la red calcula en bfloat16 y su salida sigue en float32. El
    escalador y los ajustes van en los metadatos de ``modelo.h5``:
    :func:`~tareas.ventas.forecast` no necesita nada más; la configuración completa, en
    ``configuracion.json``.

    Args:
        config: la :class:`~tareas.ventas.configuracion.SalesConfig` (``None``: la del
            blog).
        series: una :class:`~datos.ventas.SalesSeries` en memoria, en lugar del CSV de
            la configuración.
        verbose: barra de progreso de Keras.
        cluster: con varios procesos, el :class:`~entrenamiento.distribuido.Cluster`.
        devices: ``--dispositivos``: datos en paralelo en varios dispositivos de este
            proceso (:func:`entrenamiento.distribuido.local_devices`); ``None``, uno.
        **overrides: campos de la configuración que cambian (``variant="ste"``).

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` con
        ``loss``/``val_loss``/``mse``/``val_mse`` en la escala [-1, 1] (como la tabla
        del blog) y ``val_mae_unidades``/``val_rmse_unidades`` en unidades; ``files``
        con ``pesos``, ``registro``, ``curvas``, ``validacion`` y ``configuracion``;
        ``data`` con ``validacion`` (real y predicho de cada día) y ``ajustes``.

    Raises:
        ArgumentError: un argumento no válido (lo nombra).
        DataError: CSV no válido o serie demasiado corta.
    """
    from entrenamiento.callbacks import TimeLimit
    from entrenamiento.entrenar import train

    config = SalesConfig.build(config, **overrides)
    prepared = _prepare(config, series)
    run_dir = config.resolved_run_dir()
    settings = {"epocas": config.epochs, "lote": config.batch_size,
                "tasa": config.learning_rate, "blog_ste": config.blog_ste,
                "semilla": config.seed}
    builder, kwargs = sales_builder(config.variant, prepared.steps, config.learning_rate,
                                    config.blog_ste)
    config_file = save_run_config(config.replace(run_dir=run_dir), run_dir, cluster)
    limit = [] if config.minutes is None else [TimeLimit(config.minutes * 60.0, cluster)]
    start = time.perf_counter()
    result = train(
        builder, kwargs, _supervised(config.variant, prepared.train),
        _supervised(config.variant, prepared.validation) if len(prepared.validation) else None,
        run_dir=run_dir, cluster=cluster, devices=devices, epochs=config.epochs,
        batch_size=config.batch_size,
        seed=config.seed, monitor="loss", patience=config.patience,
        precision=config.precision, callbacks=limit,
        metadata=_sales_metadata(prepared, config.variant, settings), verbose=verbose,
        tensorboard=config.tensorboard,
    )
    seconds = time.perf_counter() - start
    report = _report(config, prepared, result, run_dir)
    report.metrics["segundos"] = round(seconds, 2)
    report.files["configuracion"] = config_file
    report.data["ajustes"] = {"variante": config.variant, "pasos": prepared.steps,
                              "validacion": config.validation,
                              "filas_entrenamiento": len(prepared.train), **settings}
    return report


def _report(config: SalesConfig, prepared: SalesData, result, run_dir: Path) -> TaskResult:
    """Las métricas de la época guardada y, con validación, su tabla y su gráfico."""
    n_epochs = len(result.history.get("loss", []))
    kept = (result.best_epoch if result.best_epoch is not None
            else _kept_epoch(result.weights_path, n_epochs))
    name = case_name(config.variant, config.blog_ste)
    metrics: dict[str, Any] = {"modelo": name, "epocas": kept + 1}
    for key in ("loss", "val_loss", "mse", "val_mse"):
        if key in result.history:
            metrics[key] = float(result.history[key][kept])
    metrics.update(result.summary())
    files: dict[str, Any] = training_files(result)
    rows: list[dict[str, Any]] = []
    tables = []
    if len(prepared.validation):
        validation = prepared.validation
        predicted = predict_part(result.model, prepared.scaler, config.variant, validation)
        real = prepared.series.values[validation.index]
        metrics.update({f"val_{k}": v for k, v in errors_in_units(real, predicted).items()})
        rows = [{"fecha": str(d), "real": float(r), "prediccion": float(p)}
                for d, r, p in zip(validation.dates, real, predicted, strict=True)]
        files["validacion"] = plot_series(
            run_dir / VALIDATION_PLOT,
            f"Validación ({len(real)} días, a un paso): real frente a predicho",
            [(validation.dates, real, "real", "o-"), (validation.dates, predicted, name, "s--")])
        tables.append(Table("Últimos días de validación (a un paso)", ("Fecha", "Real / predicho"),
                            [(row["fecha"], f"{row['real']:.0f} / {row['prediccion']:.1f}")
                             for row in rows[-SHOWN_VALIDATION_DAYS:]]))
    return TaskResult(
        title=(f"Ventas «{name}»: métricas (pérdida MAE y MSE en escala [-1, 1]; MAE y RMSE "
               "de validación en unidades)"),
        metrics=metrics,
        files=files,
        data={"validacion": rows},
        tables=tables,
        model=result.model,
        history=result.history,
    )
