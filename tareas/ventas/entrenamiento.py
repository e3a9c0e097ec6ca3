"""Entrenar un perceptrón de ventas con los últimos días aparte: ``redes ventas entrenar``.

El modelo que se guarda es el de menor pérdida de *entrenamiento*: elegir la época por
la pérdida de validación sería ajustar sobre la validación.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from nucleo.validacion import check_int
from datos.ventas import SalesData
from datos.ventas import prepare_sales
from informes.resultado import Table
from informes.resultado import TaskResult
from informes.resultado import training_files
from tareas.ventas.comun import BLOG_EPOCHS
from tareas.ventas.comun import BLOG_STEPS
from tareas.ventas.comun import BLOG_VALIDATION
from tareas.ventas.comun import LEARNING_RATE
from tareas.ventas.comun import TASK
from tareas.ventas.comun import VALIDATION_PLOT
from tareas.ventas.comun import case_name
from tareas.ventas.comun import check_training_settings
from tareas.ventas.comun import check_variant
from tareas.ventas.comun import errors_in_units
from tareas.ventas.comun import load_series
from tareas.ventas.comun import model_inputs
from tareas.ventas.comun import plot_series
from tareas.ventas.comun import predict_part
from tareas.ventas.comun import sales_builder

# Días de validación que se muestran en la tabla de la terminal (todos van al JSON).
SHOWN_VALIDATION_DAYS = 7


def default_run_dir(variant: str, blog_ste: bool = False) -> Path:
    """La carpeta por defecto de :func:`train_sales`: ``pesos/ventas_<variante>[_blog]``."""
    return Path("pesos") / f"ventas_{variant}{'_blog' if blog_ste else ''}"


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


def train_sales(
    data,
    variant: str = "st1",
    *,
    steps: int = BLOG_STEPS,
    epochs: int = BLOG_EPOCHS,
    validation: int = BLOG_VALIDATION,
    batch_size: int = BLOG_STEPS,
    learning_rate: float = LEARNING_RATE,
    blog_ste: bool = False,
    seed: int = 0,
    run_dir=None,
    date_column=None,
    value_column=None,
    verbose: Any = 0,
) -> TaskResult:
    """Entrena un perceptrón de ventas y deja modelo, escalador, registro y gráficos.

    Usa :func:`entrenamiento.entrenar.train` (semilla, ``registro.csv``, ``curvas.png``,
    reanudación) con ``monitor="loss"``: se guarda la época de menor pérdida de
    entrenamiento, nunca la elegida por la validación. El escalador y los ajustes van
    en los metadatos de ``modelo.h5``: :func:`~tareas.ventas.forecast` no
    necesita nada más.

    Args:
        data: ruta del CSV o :class:`~datos.ventas.SalesSeries`.
        variant: ``"st1"``, ``"stmv"`` o ``"ste"``.
        steps: retardos (7 en el blog).
        epochs: épocas (40 en el blog).
        validation: últimos días de validación (30 en el blog; 0: ninguno).
        batch_size: filas por lote (el blog usa ``PASOS`` = 7).
        learning_rate: tasa de Adam.
        blog_ste: con ``ste``, el modelo del blog (retardos sin conectar).
        seed: semilla.
        run_dir: carpeta de resultados (por defecto :func:`default_run_dir`).
        date_column: nombre o posición de la columna de fecha del CSV.
        value_column: nombre o posición de la columna de valor.
        verbose: barra de progreso de Keras.

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` con
        ``loss``/``val_loss``/``mse``/``val_mse`` en la escala [-1, 1] (como la tabla
        del blog) y ``val_mae_unidades``/``val_rmse_unidades`` en unidades; ``files``
        con ``pesos``, ``registro``, ``curvas`` y ``validacion``; ``data`` con
        ``validacion`` (real y predicho de cada día) y ``ajustes``.

    Raises:
        ArgumentError: un argumento no válido (lo nombra).
        DataError: CSV no válido o serie demasiado corta.
    """
    from entrenamiento.entrenar import train

    where = "train_sales"
    check_variant(variant, blog_ste, where=where)
    check_training_settings(steps=steps, epochs=epochs, validation=validation,
                            batch_size=batch_size, learning_rate=learning_rate, where=where)
    check_int(seed, "seed", minimum=0, where=where)
    series = load_series(data, date_column, value_column, where=where)
    prepared = prepare_sales(series, steps, validation)
    has_validation = len(prepared.validation) > 0
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(variant, blog_ste)
    settings = {"epocas": epochs, "lote": batch_size, "tasa": learning_rate,
                "blog_ste": blog_ste, "semilla": seed}
    builder, kwargs = sales_builder(variant, prepared.steps, learning_rate, blog_ste)

    start = time.perf_counter()
    result = train(
        builder, kwargs,
        (model_inputs(variant, prepared.train), prepared.train.target[:, None].astype(np.float32)),
        (model_inputs(variant, prepared.validation),
         prepared.validation.target[:, None].astype(np.float32)) if has_validation else None,
        run_dir=run_dir, epochs=epochs, batch_size=batch_size, seed=seed, monitor="loss",
        metadata=_sales_metadata(prepared, variant, settings), verbose=verbose,
    )
    seconds = time.perf_counter() - start

    n_epochs = len(result.history.get("loss", []))
    kept = (result.best_epoch if result.best_epoch is not None
            else _kept_epoch(result.weights_path, n_epochs))
    name = case_name(variant, blog_ste)
    metrics: dict[str, Any] = {"modelo": name, "epocas": kept + 1}
    for key in ("loss", "val_loss", "mse", "val_mse"):
        if key in result.history:
            metrics[key] = float(result.history[key][kept])
    files: dict[str, Any] = training_files(result)
    rows: list[dict[str, Any]] = []
    tables = []
    if has_validation:
        predicted = predict_part(result.model, prepared.scaler, variant, prepared.validation)
        real = series.values[prepared.validation.index]
        metrics.update({f"val_{k}": v for k, v in errors_in_units(real, predicted).items()})
        rows = [{"fecha": str(d), "real": float(r), "prediccion": float(p)}
                for d, r, p in zip(prepared.validation.dates, real, predicted, strict=True)]
        files["validacion"] = plot_series(
            run_dir / VALIDATION_PLOT,
            f"Validación ({len(real)} días, a un paso): real frente a predicho",
            [(prepared.validation.dates, real, "real", "o-"),
             (prepared.validation.dates, predicted, name, "s--")])
        tables.append(Table("Últimos días de validación (a un paso)", ("Fecha", "Real / predicho"),
                            [(row["fecha"], f"{row['real']:.0f} / {row['prediccion']:.1f}")
                             for row in rows[-SHOWN_VALIDATION_DAYS:]]))
    metrics["segundos"] = round(seconds, 2)
    return TaskResult(
        title=(f"Ventas «{name}»: métricas (pérdida MAE y MSE en escala [-1, 1]; MAE y RMSE "
               "de validación en unidades)"),
        metrics=metrics,
        files=files,
        data={"validacion": rows,
              "ajustes": {"variante": variant, "pasos": prepared.steps, "validacion": validation,
                          "filas_entrenamiento": len(prepared.train), **settings}},
        tables=tables,
        model=result.model,
        history=result.history,
    )
