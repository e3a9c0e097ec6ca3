"""ST1, STMV, STE, LSTM, GRU, SimpleRNN y referencias clásicas con el mismo protocolo:
``redes pronostico comparar``.

Las redes se entrenan con :func:`entrenamiento.entrenar.train` en memoria
(``run_dir=None``: sin archivos, los pesos de la época de menor pérdida de entrenamiento
se guardan en memoria) y con toda la época en una sola llamada
(``steps_per_execution="epoch"``), así muchas semillas caben en poco tiempo. Mismos
datos, semilla, lotes barajados y regla de selección que :func:`train_sales`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError, DataError
from nucleo.validacion import check_int
from datos.ventas import SalesData
from datos.ventas import SalesSeries
from datos.ventas import prepare_sales
from datos.ventas import required_rows
from informes.resultado import TaskResult
from tareas.ventas.comun import BLOG_EPOCHS
from tareas.ventas.comun import BLOG_STEPS
from tareas.ventas.comun import BLOG_VALIDATION
from tareas.ventas.comun import COMPARE_PLOT
from tareas.ventas.comun import LEARNING_RATE
from tareas.ventas.comun import check_training_settings
from tareas.ventas.comun import check_variant
from tareas.ventas.comun import errors_in_units
from tareas.ventas.comun import load_series
from tareas.ventas.comun import model_inputs
from tareas.ventas.comun import predict_part
from tareas.ventas.comun import sales_builder
from tareas.ventas.comun import scaled_errors
from tareas.ventas.referencias import BASELINES
from tareas.ventas.referencias import importable

logger = logging.getLogger("redes")

# El protocolo, tal cual se imprime con la tabla de la comparación.
PROTOCOL = ("pronóstico a un paso de cada uno de los últimos {v} días, con los días reales "
            "anteriores como retardos; escalador y entrenamiento solo con los días anteriores")

# Variantes de la comparación: (nombre en la tabla, variante, blog_ste[, ajustes]).
# La última fila es la STE con dropout 0,3 tras la capa oculta, elegida solo con el
# origen móvil de 4 bloques de 30 días ANTERIORES a la validación final (las cifras de
# esa búsqueda están en bench/RESULTS.md).
CHOSEN_CASE = ("STE + dropout 0,3 (elegida por backtest)", "ste", False, {"dropout": 0.3})
# Las recurrentes (modelos.ventas.rnn, 8 unidades + embeddings de la STE) van detrás.
RNN_CASES = (("LSTM", "lstm", False), ("GRU", "gru", False), ("SimpleRNN", "rnn", False))
MODEL_CASES = (("ST1", "st1", False), ("STMV", "stmv", False), ("STE", "ste", False),
               ("STE (blog)", "ste", True), CHOSEN_CASE) + RNN_CASES

# Ajustes propios que admite el cuarto elemento de una fila de ``models`` en :func:`compare`;
# el resto de claves van a :func:`~modelos.ventas.mlp.build_sales_mlp` (o a
# :func:`~modelos.ventas.rnn.build_sales_rnn` en las recurrentes).
CASE_SETTINGS = ("steps", "epochs", "batch_size", "learning_rate", "decay")


def _model_case(case, **defaults) -> dict[str, Any]:
    """``(nombre, variante, blog_ste[, ajustes])`` → diccionario con todos los ajustes."""
    if not isinstance(case, (tuple, list)) or len(case) not in (3, 4):
        raise ArgumentError(
            "compare: cada modelo debe ser (nombre, variante, blog_ste[, ajustes]); "
            f"recibido {case!r}."
        )
    name, variant, blog_ste = case[:3]
    where = f"compare ({name})"
    check_variant(variant, blog_ste, where=where)
    if len(case) == 4 and not isinstance(case[3], dict):
        raise ArgumentError(f"{where}: los ajustes deben ser un diccionario; recibido "
                            f"{case[3]!r}.")
    settings = dict(case[3]) if len(case) == 4 else {}
    result = {"name": name, "variant": variant, "blog_ste": blog_ste, "decay": False,
              **defaults}
    for key in CASE_SETTINGS:
        if key in settings:
            result[key] = settings.pop(key)
    check_training_settings(steps=result["steps"], epochs=result["epochs"], validation=1,
                            batch_size=result["batch_size"],
                            learning_rate=result["learning_rate"], where=where)
    result["builder"] = settings
    return result


def _fit_case(case: dict[str, Any], data: SalesData, seed: int):
    """Entrena la red de ``case`` en memoria con ``seed``; devuelve ``(modelo, loss, mse)``.

    ``loss`` y ``mse`` son los de entrenamiento de la época elegida (la de menor
    pérdida), cuyos pesos tiene el modelo.
    """
    from entrenamiento.entrenar import train

    builder, kwargs = sales_builder(case["variant"], data.steps, case["learning_rate"],
                                    case["blog_ste"], **case["builder"])
    if case["decay"]:
        from nucleo.keras_listo import keras

        steps_per_epoch = math.ceil(len(data.train) / case["batch_size"])
        schedule = keras.optimizers.schedules.CosineDecay(
            case["learning_rate"], decay_steps=case["epochs"] * steps_per_epoch)
        kwargs["optimizer"] = keras.optimizers.Adam(schedule)
    result = train(builder, kwargs,
                   (model_inputs(case["variant"], data.train),
                    data.train.target[:, None].astype(np.float32)), None,
                   run_dir=None, epochs=case["epochs"], batch_size=case["batch_size"],
                   seed=seed, monitor="loss", verbose=0, steps_per_execution="epoch")
    kept = result.best_epoch
    if kept is None:  # ninguna época con pérdida finita
        return result.model, math.nan, math.nan
    return (result.model, float(result.history["loss"][kept]),
            float(result.history.get("mse", [math.nan] * (kept + 1))[kept]))


class _Runs:
    """Las corridas de cada modelo por pliegue, en el orden en que aparecen."""

    def __init__(self, folds: int):
        self.folds = folds
        self.by_name: dict[str, list[list[dict[str, float]]]] = {}  # nombre → pliegue → corridas
        self.kinds: dict[str, str] = {}

    def add(self, fold: int, name: str, kind: str, run: dict[str, float]) -> None:
        self.kinds[name] = kind
        self.by_name.setdefault(name, [[] for _ in range(self.folds)])[fold].append(run)


def _run(prepared: SalesData, predicted_units, seconds: float, **extra) -> dict[str, float]:
    """Errores de validación de una corrida: MAE/MSE escalados y MAE/RMSE en unidades."""
    real_units = prepared.series.values[prepared.validation.index]
    scaled = scaled_errors(prepared.scaler.transform(real_units),
                           prepared.scaler.transform(predicted_units))
    units = errors_in_units(real_units, predicted_units)
    return {"val_loss": scaled["mae"], "val_mse": scaled["mse"], "segundos": seconds,
            **{f"val_{k}": v for k, v in units.items()}, **extra}


def _fold_series(series: SalesSeries, fold: int, validation: int) -> SalesSeries:
    """La serie cortada para el pliegue ``fold`` (0 = los últimos días)."""
    end = len(series) - fold * validation
    return SalesSeries(series.dates[:end], series.values[:end], series.source)


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    return float(np.mean(array)), float(np.std(array))


def _seed_list(seeds) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        return list(range(check_int(seeds, "seeds", where="compare")))
    if not isinstance(seeds, Sequence) or isinstance(seeds, str):
        raise ArgumentError(f"compare: «seeds» debe ser un número de semillas o una lista de "
                            f"semillas; recibido {seeds!r}.")
    seed_list = list(seeds)
    if not seed_list:
        raise ArgumentError("compare: «seeds» no puede estar vacío.")
    return [check_int(seed, "seeds", minimum=0, where="compare") for seed in seed_list]


def _check_length(series: SalesSeries, steps: int, validation: int, folds: int) -> None:
    """Hay filas para los retardos, todos los bloques de validación y entrenar el primero."""
    needed = required_rows(steps, validation) + (folds - 1) * validation
    if len(series) < needed:
        blocks = f"{folds} bloques de {validation}" if folds > 1 else f"{validation}"
        raise DataError(
            f"«{series.source}» tiene {len(series)} filas y hacen falta al menos {needed}: "
            f"{steps} retardos + {blocks} días de validación + 1 fila para entrenar."
        )


def compare(
    data,
    *,
    seeds: int | Sequence[int] = 5,
    folds: int = 1,
    steps: int = BLOG_STEPS,
    epochs: int = BLOG_EPOCHS,
    validation: int = BLOG_VALIDATION,
    batch_size: int = BLOG_STEPS,
    learning_rate: float = LEARNING_RATE,
    models: Sequence[tuple] = MODEL_CASES,
    baselines: bool = True,
    ensembles: bool = True,
    out_dir=None,
    date_column=None,
    value_column=None,
) -> TaskResult:
    """ST1, STMV, STE (nuestra y la del blog) y referencias clásicas con el mismo protocolo.

    Todos predicen a un paso cada día de la validación con los días reales anteriores;
    el escalador y el entrenamiento solo ven los días anteriores. Las redes se entrenan
    con cada semilla (media ± desviación); las referencias son deterministas. Con
    ``folds > 1`` se hace además una validación con origen móvil: ``folds`` bloques
    consecutivos de ``validation`` días terminando en el último, cada uno entrenado solo
    con los días anteriores a él.

    Args:
        data: ruta del CSV o :class:`~datos.ventas.SalesSeries`.
        seeds: número de semillas (0, 1, ...) o lista de semillas.
        folds: pliegues de origen móvil (1: solo los últimos ``validation`` días).
        steps: retardos.
        epochs: épocas.
        validation: días de cada bloque de validación.
        batch_size: filas por lote.
        learning_rate: tasa de Adam.
        models: ``(nombre, variante, blog_ste[, ajustes])`` de cada red; ``ajustes``
            cambia ``steps``, ``epochs``, ``batch_size``, ``learning_rate`` o ``decay``
            (decaimiento coseno) de esa red y pasa el resto a
            :func:`~modelos.ventas.mlp.build_sales_mlp` (p. ej. ``{"dropout": 0.3}``).
        baselines: incluir las referencias clásicas.
        ensembles: añadir, por red, la media de las predicciones de todas las semillas.
        out_dir: carpeta del gráfico de barras (``None``: sin archivos).
        date_column: nombre o posición de la columna de fecha.
        value_column: nombre o posición de la columna de valor.

    Returns:
        Un :class:`~informes.resultado.TaskResult`; ``data`` tiene ``protocolo``,
        ``filas``, ``omitidos``, ``mejor``... (cada fila con ``val_loss``, el MAE
        escalado, ``val_mse``, MAE/RMSE en unidades, media y desviación sobre semillas
        del último bloque y, con pliegues, ``backtest_mae``); ``text`` tiene la tabla de
        :func:`format_comparison`.
    """
    plan = _Plan(_seed_list(seeds), folds, steps, epochs, validation, batch_size,
                 learning_rate, models, baselines, ensembles)
    series = load_series(data, date_column, value_column, where="compare")
    # El primer pliegue (el más antiguo) también necesita sus filas de entrenamiento.
    _check_length(series, max([steps] + [case["steps"] for case in plan.cases]), validation,
                  folds)
    start = time.perf_counter()
    runs = _Runs(folds)
    skipped: list[dict[str, str]] = []
    for fold in range(folds):
        _run_fold(plan, fold, _fold_series(series, fold, validation), runs, skipped)
    summary = _summary(plan, runs, skipped, start)
    files = {}
    if out_dir is not None:
        files["grafico"] = plot_comparison(summary, Path(out_dir) / COMPARE_PLOT)
    return TaskResult(
        title="Comparación de ventas: resumen",
        metrics={"mejor": summary["mejor"], "mejor_red": summary["mejor_red"],
                 "segundos": summary["segundos"]},
        files=files,
        data=summary,
        text=[format_comparison(summary, best_line=False)],
    )


@dataclasses.dataclass
class _Plan:
    """Lo que :func:`compare` entrena y mide; se comprueba al crearlo, antes de leer la
    serie (``cases``: cada fila de ``models`` con todos sus ajustes)."""

    seeds: list[int]
    folds: int
    steps: int
    epochs: int
    validation: int
    batch_size: int
    learning_rate: float
    models: Sequence[tuple]
    baselines: bool
    ensembles: bool
    cases: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def __post_init__(self):
        where = "compare"
        check_int(self.folds, "folds", where=where)
        check_training_settings(steps=self.steps, epochs=self.epochs,
                                validation=self.validation, batch_size=self.batch_size,
                                learning_rate=self.learning_rate, where=where,
                                min_validation=1)
        models = self.models
        if isinstance(models, (str, bytes)) or not isinstance(models, Sequence) or not models:
            raise ArgumentError(f"{where}: «models» debe ser una lista no vacía de (nombre, "
                                f"variante, blog_ste[, ajustes]); recibido {models!r}.")
        self.cases = [_model_case(case, steps=self.steps, epochs=self.epochs,
                                  batch_size=self.batch_size,
                                  learning_rate=self.learning_rate) for case in models]


def _run_fold(plan: _Plan, fold: int, fold_series: SalesSeries, runs: _Runs,
              skipped: list[dict[str, str]]) -> None:
    """Entrena y mide cada red (con cada semilla) y cada referencia en un pliegue."""
    prepared = prepare_sales(fold_series, plan.steps, plan.validation)
    # Mismos días de validación y mismo escalador para cualquier número de retardos.
    by_steps = {plan.steps: prepared}
    seeds = plan.seeds
    for case in plan.cases:
        name, variant = case["name"], case["variant"]
        if case["steps"] not in by_steps:
            by_steps[case["steps"]] = prepare_sales(fold_series, case["steps"], plan.validation)
        case_data = by_steps[case["steps"]]
        predictions = []
        for seed in seeds:
            began = time.perf_counter()
            model, loss, mse = _fit_case(case, case_data, seed)
            predicted = predict_part(model, case_data.scaler, variant, case_data.validation)
            predictions.append(predicted)
            runs.add(fold, name, "red", _run(prepared, predicted, time.perf_counter() - began,
                                             loss=loss, mse=mse))
        if plan.ensembles and len(seeds) > 1:
            # La media de las redes de todas las semillas: un modelo más, no una selección.
            runs.add(fold, f"{name} (media de {len(seeds)} semillas)", "conjunto",
                     _run(prepared, np.mean(predictions, axis=0), 0.0))
        logger.info("Pliegue %d/%d: %s entrenado con %d semilla%s.", fold + 1, plan.folds,
                    name, len(seeds), "" if len(seeds) == 1 else "s")
    if not plan.baselines:
        return
    index = prepared.validation.index
    for name, function, package in BASELINES:
        if not importable(package):
            if fold == 0:
                skipped.append({"modelo": name, "motivo": f"falta el paquete «{package}» "
                                "(pip install redes-keras[clasicos])"})
            continue
        began = time.perf_counter()
        predicted = function(prepared.series, index, prepared.cut)
        runs.add(fold, name, "referencia", _run(prepared, predicted, time.perf_counter() - began))


def _summary(plan: _Plan, runs: _Runs, skipped, start: float) -> dict[str, Any]:
    """El resumen de :func:`compare`: una fila por modelo, el mejor y la mejor red."""
    rows = [_summary_row(name, runs.kinds[name], fold_runs)
            for name, fold_runs in runs.by_name.items()]
    best = min(rows, key=lambda row: row["val_loss"])
    best_network = min((r for r in rows if r["tipo"] != "referencia"),
                       key=lambda row: row["val_loss"], default={}).get("modelo")
    return {
        "protocolo": PROTOCOL.format(v=plan.validation),
        "semillas": plan.seeds, "pliegues": plan.folds, "validacion": plan.validation,
        "pasos": plan.steps, "epocas": plan.epochs, "lote": plan.batch_size, "filas": rows,
        "omitidos": skipped, "mejor": best["modelo"], "mejor_red": best_network,
        "segundos": round(time.perf_counter() - start, 2),
    }


def _summary_row(name: str, kind: str, fold_runs: list[list[dict[str, float]]]) -> dict[str, Any]:
    """Media ± desviación sobre semillas en el último bloque; media por pliegue si hay varios."""
    last = fold_runs[0]
    row: dict[str, Any] = {"modelo": name, "tipo": kind, "corridas": len(last)}
    for key in ("val_loss", "val_mse", "val_mae_unidades", "val_rmse_unidades", "loss", "mse"):
        if key in last[0]:
            row[key], row[f"{key}_std"] = _mean_std([run[key] for run in last])
    row["segundos"] = round(sum(run["segundos"] for fold in fold_runs for run in fold), 2)
    if len(fold_runs) > 1:
        per_fold = [float(np.mean([run["val_loss"] for run in fold])) for fold in fold_runs]
        row["pliegues_val_loss"] = per_fold
        row["backtest_mae"], row["backtest_mae_std"] = _mean_std(per_fold)
    return row


def format_comparison(result, *, best_line: bool = True) -> str:
    """Tabla de texto de :func:`compare`, ordenada por MAE de validación.

    Args:
        result: el :class:`~informes.resultado.TaskResult` de :func:`compare` (o su
            ``data``).
        best_line: terminar con la línea «Mejor: ...» (el resumen de ``report`` ya la da).
    """
    from informes.tablas import format_columns

    if isinstance(result, TaskResult):
        result = result.data
    with_folds = result["pliegues"] > 1
    header = ["Modelo", "val MAE (escalado)", "val MSE (escalado)", "MAE (unid.)",
              "RMSE (unid.)"]
    if with_folds:
        header.append(f"origen móvil ({result['pliegues']} bloques)")
    body = []
    for row in sorted(result["filas"], key=lambda r: r["val_loss"]):
        cells = [row["modelo"]]
        for key in ("val_loss", "val_mse", "val_mae_unidades", "val_rmse_unidades"):
            digits = 4 if key in ("val_loss", "val_mse") else 1
            cell = f"{row[key]:.{digits}f}"
            if row["tipo"] == "red":
                cell += f" ± {row[key + '_std']:.{digits}f}"
            cells.append(cell)
        if with_folds:
            cells.append(f"{row['backtest_mae']:.4f} ± {row['backtest_mae_std']:.4f}")
        body.append(cells)
    seeds = len(result["semillas"])
    title = (f"Comparación en los últimos {result['validacion']} días "
             f"(redes: media ± desviación sobre {seeds} semilla{'s' if seeds != 1 else ''}, "
             f"{result['epocas']} épocas, lotes de {result['lote']})")
    lines = [format_columns(header, body, title), f"Protocolo: {result['protocolo']}."]
    if with_folds:
        lines.append(f"Origen móvil: media ± desviación del MAE escalado de {result['pliegues']} "
                     f"bloques consecutivos de {result['validacion']} días (cada uno con su "
                     "escalador y entrenado solo con los días anteriores).")
    lines += [f"Omitido: {item['modelo']}: {item['motivo']}." for item in result["omitidos"]]
    if best_line:
        lines.append(f"Mejor: {result['mejor']} ({result['segundos']:.1f} s en total).")
    return "\n".join(lines)


def plot_comparison(result: dict[str, Any], path) -> Path:
    """Barras del MAE escalado de validación (con la desviación de las redes)."""
    from informes.graficos import new_figure, save_figure

    rows = sorted(result["filas"], key=lambda r: r["val_loss"])
    fig = new_figure(9, 0.5 * len(rows) + 1.5)
    ax = fig.add_subplot()
    positions = np.arange(len(rows))
    colors = ["tab:gray" if row["tipo"] == "referencia" else "tab:blue" for row in rows]
    ax.barh(positions, [row["val_loss"] for row in rows],
            xerr=[row.get("val_loss_std", 0.0) for row in rows], color=colors, capsize=3)
    ax.set_yticks(positions, labels=[row["modelo"] for row in rows])
    ax.invert_yaxis()
    ax.set_xlabel("MAE de validación (escala [-1, 1]); azul: redes, gris: referencias")
    ax.set_title(f"Últimos {result['validacion']} días, a un paso")
    ax.grid(True, axis="x", alpha=0.3)
    return save_figure(fig, path)
