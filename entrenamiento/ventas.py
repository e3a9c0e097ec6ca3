"""Pronóstico de ventas diarias: entrenar, pronosticar varios días y comparar con referencias.

Son las funciones de ``redes ventas entrenar|pronosticar|comparar``; devuelven
diccionarios con las cifras para la tabla en pantalla o el JSON.

Protocolo (igual para todos los modelos y referencias): los últimos ``validation`` días
son la validación; nunca se usan para entrenar ni para ajustar el escalador. Cada día de
validación se predice **a un paso**, con los días reales anteriores como retardos (lo
que ve el perceptrón en el blog). El modelo que se guarda es el de menor pérdida de
*entrenamiento*: elegir la época por la pérdida de validación sería ajustar sobre la
validación.

Ejemplo::

    r = train_sales("time_series.csv", "ste", run_dir="pesos/ventas")
    p = forecast(r["archivos"]["pesos"], "time_series.csv", days=7)
    c = compare("time_series.csv", seeds=5)
    print(format_comparison(c))

Referencia: «Pronóstico de Series Temporales con Redes Neuronales en Python» y
«Pronóstico de Ventas con Redes Neuronales – Parte 2», Aprende Machine Learning.
"""

from __future__ import annotations

import csv
import logging
import math
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from datos.archivos import atomic_write
from datos.errores import ArgumentError, DataError, ModelFileError
from datos.validacion import check_int
from datos.ventas import SalesData
from datos.ventas import SalesSeries
from datos.ventas import MinMaxScaler
from datos.ventas import calendar_features
from datos.ventas import check_series_length
from datos.ventas import make_sales_series
from datos.ventas import prepare_sales
from datos.ventas import read_sales_csv
from datos.ventas import write_sales_csv

logger = logging.getLogger("redes")

TASK = "ventas"
VALIDATION_PLOT = "validacion.png"
FORECAST_CSV = "pronostico.csv"
FORECAST_PLOT = "pronostico.png"
COMPARE_PLOT = "comparacion.png"
COMPARE_JSON = "comparacion.json"

# Los valores del blog: 7 retardos, 40 épocas, lotes de PASOS = 7 filas, 30 días de validación.
BLOG_STEPS = 7
BLOG_EPOCHS = 40
BLOG_VALIDATION = 30
# El protocolo, tal cual se imprime con la tabla de la comparación.
PROTOCOL = ("pronóstico a un paso de cada uno de los últimos {v} días, con los días reales "
            "anteriores como retardos; escalador y entrenamiento solo con los días anteriores")

# Variantes de la comparación: (nombre en la tabla, variante, blog_ste[, ajustes]).
# La última fila es la STE con dropout 0,3 tras la capa oculta, elegida solo con el
# origen móvil de 4 bloques de 30 días ANTERIORES a la validación final (2 + 2 semillas):
# MAE escalado medio 0,124 frente a 0,130 de la STE del blog; más retardos (14/21/28),
# capa oculta de 16/32, L2, Huber, 80 épocas o decaimiento coseno no mejoraban.
CHOSEN_CASE = ("STE + dropout 0,3 (elegida por backtest)", "ste", False, {"dropout": 0.3})
MODEL_CASES = (("ST1", "st1", False), ("STMV", "stmv", False), ("STE", "ste", False),
               ("STE (blog)", "ste", True), CHOSEN_CASE)


# === Utilidades ===

def _series(data, date_column=None, value_column=None) -> SalesSeries:
    """Acepta una :class:`SalesSeries` o la ruta de un CSV."""
    if isinstance(data, SalesSeries):
        return data
    if isinstance(data, (str, Path)):
        return read_sales_csv(data, date_column=date_column, value_column=value_column)
    raise ArgumentError(
        f"«data» debe ser la ruta de un CSV o una SalesSeries; recibido {type(data).__name__}."
    )


def _check_variant(variant: str, blog_ste: bool) -> None:
    from modelos.ventas import VARIANTS

    if variant not in VARIANTS:
        raise ArgumentError(
            f"«modelo» debe ser uno de {', '.join(VARIANTS)}; recibido {variant!r}."
        )
    if blog_ste and variant != "ste":
        raise ArgumentError("«blog_ste» (la variante del blog) solo existe para el modelo ste.")


def _inputs(variant: str, part):
    from modelos.ventas import sales_inputs

    return sales_inputs(variant, part.lags, part.weekday, part.month)


def _errors_in_units(real, predicted) -> dict[str, float]:
    error = np.asarray(predicted, dtype=np.float64) - np.asarray(real, dtype=np.float64)
    return {"mae_unidades": float(np.mean(np.abs(error))),
            "rmse_unidades": float(np.sqrt(np.mean(error ** 2)))}


def _scaled_errors(real, predicted) -> dict[str, float]:
    error = np.asarray(predicted, dtype=np.float64) - np.asarray(real, dtype=np.float64)
    return {"mae": float(np.mean(np.abs(error))), "mse": float(np.mean(error ** 2))}


def plot_series(path, title: str, lines: Sequence[tuple[Any, Any, str, str]],
                ylabel: str = "Unidades") -> Path:
    """Dibuja varias series fecha → valor en un PNG (atómico).

    Args:
        path: PNG de destino.
        title: título.
        lines: ``(fechas, valores, etiqueta, estilo)`` por serie.
        ylabel: etiqueta del eje vertical.
    """
    from entrenamiento.graficos import new_figure, save_figure

    fig = new_figure(10, 4)
    ax = fig.add_subplot()
    for dates, values, label, style in lines:
        ax.plot(np.asarray(dates, dtype="datetime64[D]"), values, style, markersize=3, label=label)
    ax.set_title(title)
    ax.set_xlabel("Fecha")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.autofmt_xdate()
    return save_figure(fig, path)


# === Entrenar ===

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


def train_sales(
    data,
    variant: str = "st1",
    *,
    steps: int = BLOG_STEPS,
    epochs: int = BLOG_EPOCHS,
    validation: int = BLOG_VALIDATION,
    batch_size: int = BLOG_STEPS,
    learning_rate: float = 1e-3,
    blog_ste: bool = False,
    seed: int = 0,
    run_dir=None,
    date_column=None,
    value_column=None,
    verbose: Any = 0,
) -> dict[str, Any]:
    """Entrena un perceptrón de ventas y deja modelo, escalador, registro y gráficos.

    Usa :func:`entrenamiento.entrenar.train` (semilla, ``registro.csv``, ``curvas.png``,
    reanudación) con ``monitor="loss"``: se guarda la época de menor pérdida de
    entrenamiento, nunca la elegida por la validación. El escalador y los ajustes van
    en los metadatos de ``modelo.h5``: :func:`forecast` no necesita nada más.

    Args:
        data: ruta del CSV o :class:`~datos.ventas.SalesSeries`.
        variant: ``"st1"``, ``"stmv"`` o ``"ste"``.
        steps: retardos (7 en el blog).
        epochs: épocas (40 en el blog).
        validation: últimos días de validación (30 en el blog).
        batch_size: filas por lote (el blog usa ``PASOS`` = 7).
        learning_rate: tasa de Adam.
        blog_ste: con ``ste``, el modelo del blog (retardos sin conectar).
        seed: semilla.
        run_dir: carpeta de resultados (por defecto ``pesos/ventas_<variante>``).
        date_column: nombre o posición de la columna de fecha del CSV.
        value_column: nombre o posición de la columna de valor.
        verbose: barra de progreso de Keras.

    Returns:
        ``{"metricas", "validacion", "archivos", "ajustes"}``; las métricas son
        ``loss``/``val_loss``/``mse``/``val_mse`` en la escala [-1, 1] (como la tabla
        del blog) y ``val_mae_unidades``/``val_rmse_unidades`` en unidades.
    """
    from entrenamiento.entrenar import train

    _check_variant(variant, blog_ste)
    check_int(batch_size, "batch_size", where="train_sales")
    series = _series(data, date_column, value_column)
    prepared = prepare_sales(series, steps, validation)
    has_validation = len(prepared.validation) > 0
    run_dir = Path(run_dir or Path("pesos") / f"ventas_{variant}{'_blog' if blog_ste else ''}")
    settings = {"epocas": epochs, "lote": batch_size, "tasa": learning_rate,
                "blog_ste": blog_ste, "semilla": seed}
    kwargs = {"variant": variant, "steps": prepared.steps, "learning_rate": learning_rate}
    if blog_ste:
        kwargs["blog_ste"] = True

    start = time.perf_counter()
    result = train(
        "ventas", kwargs,
        (_inputs(variant, prepared.train), prepared.train.target[:, None].astype(np.float32)),
        (_inputs(variant, prepared.validation),
         prepared.validation.target[:, None].astype(np.float32)) if has_validation else None,
        run_dir=run_dir, epochs=epochs, batch_size=batch_size, seed=seed, monitor="loss",
        metadata=_sales_metadata(prepared, variant, settings), verbose=verbose,
    )
    seconds = time.perf_counter() - start

    kept = _kept_epoch(result.weights_path, len(result.history.get("loss", [])))
    metrics: dict[str, Any] = {"modelo": _case_name(variant, blog_ste), "epocas": kept + 1}
    for key in ("loss", "val_loss", "mse", "val_mse"):
        if key in result.history:
            metrics[key] = float(result.history[key][kept])
    files = {"pesos": str(result.weights_path), "registro": str(result.log_path),
             "curvas": str(result.plot_path)}
    rows: list[dict[str, Any]] = []
    if has_validation:
        predicted = predict_part(result.model, prepared.scaler, variant, prepared.validation)
        real = series.values[prepared.validation.index]
        metrics.update({f"val_{k}": v for k, v in _errors_in_units(real, predicted).items()})
        rows = [{"fecha": str(d), "real": float(r), "prediccion": float(p)}
                for d, r, p in zip(prepared.validation.dates, real, predicted)]
        files["validacion"] = str(plot_series(
            run_dir / VALIDATION_PLOT,
            f"Validación ({len(real)} días, a un paso): real frente a predicho",
            [(prepared.validation.dates, real, "real", "o-"),
             (prepared.validation.dates, predicted, _case_name(variant, blog_ste), "s--")]))
    metrics["segundos"] = round(seconds, 2)
    return {"metricas": metrics, "validacion": rows, "archivos": files,
            "ajustes": {"variante": variant, "pasos": prepared.steps, "validacion": validation,
                        "filas_entrenamiento": len(prepared.train), **settings}}


def _kept_epoch(weights_path: Path, n_epochs: int) -> int:
    """Índice de la época guardada en ``modelo.h5`` (la última si no consta)."""
    import modelos

    best = modelos.load_metadata(weights_path)["metadata"].get("mejor", {})
    epoch = best.get("epoca") if isinstance(best, dict) else None
    return int(epoch) if isinstance(epoch, int) and 0 <= epoch < n_epochs else n_epochs - 1


def _case_name(variant: str, blog_ste: bool) -> str:
    return variant.upper() + (" (blog)" if blog_ste else "")


def predict_part(model, scaler: MinMaxScaler, variant: str, part) -> np.ndarray:
    """Predicción a un paso de cada fila de ``part``, en unidades."""
    scaled = model.predict(_inputs(variant, part), verbose=0, batch_size=256)[:, 0]
    return scaler.inverse_transform(scaled)


# === Pronosticar ===

def _load_sales_model(weights):
    """Carga un modelo de :func:`train_sales` y su escalador desde el mismo HDF5."""
    import modelos

    info = modelos.load_metadata(weights)
    metadata = info["metadata"]
    if info["builder"] != "ventas" or metadata.get("tarea") != TASK:
        raise ModelFileError(
            f"«{weights}» no es un modelo de ventas (constructor «{info['builder']}»); "
            "entrena uno con «redes ventas entrenar»."
        )
    try:
        scaler = MinMaxScaler.from_json(metadata["escalador"])
    except (KeyError, DataError) as exc:
        raise ModelFileError(f"«{weights}»: el escalador guardado no es válido: {exc}") from None
    kwargs = info["kwargs"]
    return modelos.load(weights), scaler, kwargs.get("variant", "st1"), int(kwargs.get("steps", 7))


def open_weekdays(dates) -> np.ndarray:
    """Días de la semana en que la serie suele tener ventas (0 = lunes).

    Un día cuenta como cerrado si aparece menos de la mitad de veces que el más
    frecuente (el domingo en el CSV del blog: 25 de ~100 semanas).
    """
    counts = np.bincount(calendar_features(dates)[0], minlength=7)
    return np.flatnonzero(counts >= 0.5 * counts.max())


def next_dates(last_date, days: int, weekdays: Sequence[int] = range(7)) -> np.ndarray:
    """Las ``days`` fechas siguientes a ``last_date`` que caen en ``weekdays``."""
    allowed = set(int(day) for day in weekdays)
    dates, current = [], np.datetime64(last_date, "D")
    while len(dates) < days:
        current = current + np.timedelta64(1, "D")
        if int(calendar_features([current])[0][0]) in allowed:
            dates.append(current)
    return np.array(dates, dtype="datetime64[D]")


def recursive_forecast(model, scaler: MinMaxScaler, variant: str, steps: int,
                       series: SalesSeries, dates) -> np.ndarray:
    """Pronóstico recursivo: cada predicción pasa a ser el último retardo de la siguiente.

    Args:
        model: perceptrón de ventas.
        scaler: escalador con que se entrenó.
        variant: variante del modelo.
        steps: retardos.
        series: historia; se usan sus últimos ``steps`` valores.
        dates: fechas a pronosticar (su calendario alimenta ``stmv`` y ``ste``).

    Returns:
        Un valor en unidades por fecha.
    """
    from modelos.ventas import sales_inputs

    window = list(scaler.transform(series.values[-steps:]))
    weekday, month = calendar_features(dates)
    predicted = []
    for day, mon in zip(weekday, month):
        x = sales_inputs(variant, np.array([window[-steps:]]), [day], [mon])
        value = float(np.asarray(model(x, training=False))[0, 0])
        predicted.append(value)
        window.append(value)
    return scaler.inverse_transform(predicted)


def forecast(
    weights,
    data,
    days: int = 7,
    *,
    out_dir=None,
    date_column=None,
    value_column=None,
    all_days: bool = False,
    history_days: int = 90,
) -> dict[str, Any]:
    """Pronostica los ``days`` días siguientes al último del CSV, de forma recursiva.

    Como el blog (la primera semana de diciembre de 2018): se parte de los últimos
    ``steps`` días conocidos y cada predicción se usa como retardo de la siguiente. Las
    fechas siguen el calendario; los días de la semana en que la tienda casi nunca
    vende (los domingos del CSV del blog) se saltan salvo con ``all_days=True``.

    Args:
        weights: ``modelo.h5`` de :func:`train_sales` (lleva escalador y ajustes).
        data: ruta del CSV o :class:`~datos.ventas.SalesSeries` con la historia.
        days: días a pronosticar.
        out_dir: carpeta de ``pronostico.csv`` y ``pronostico.png`` (por defecto la
            del modelo).
        date_column: nombre o posición de la columna de fecha.
        value_column: nombre o posición de la columna de valor.
        all_days: pronosticar también los días que casi nunca tienen ventas.
        history_days: días de historia que se dibujan antes del pronóstico.

    Returns:
        ``{"pronostico": [{"fecha", "unidades"}], "metricas", "archivos"}``.
    """
    check_int(days, "days", where="forecast")
    check_int(history_days, "history_days", where="forecast")
    model, scaler, variant, steps = _load_sales_model(weights)
    series = _series(data, date_column, value_column)
    if len(series) < steps:
        raise DataError(
            f"«{series.source}» tiene {len(series)} filas y el modelo necesita los "
            f"{steps} últimos días para pronosticar."
        )
    weekdays = range(7) if all_days else open_weekdays(series.dates)
    dates = next_dates(series.dates[-1], days, weekdays)
    values = recursive_forecast(model, scaler, variant, steps, series, dates)

    out_dir = Path(out_dir) if out_dir is not None else Path(weights).parent
    csv_path = out_dir / FORECAST_CSV

    def write(handle) -> None:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("fecha", "unidades"))
        writer.writerows((str(d), f"{v:.2f}") for d, v in zip(dates, values))

    atomic_write(csv_path, write, text=True)
    recent = slice(max(0, len(series) - history_days), len(series))
    plot_path = plot_series(out_dir / FORECAST_PLOT,
                            f"Historia y pronóstico de {days} días ({variant.upper()})",
                            [(series.dates[recent], series.values[recent], "historia", "o-"),
                             (dates, values, "pronóstico", "s--")])
    return {
        "pronostico": [{"fecha": str(d), "unidades": float(v)} for d, v in zip(dates, values)],
        "metricas": {"modelo": variant.upper(), "dias": days,
                     "desde": str(dates[0]), "hasta": str(dates[-1])},
        "archivos": {"pronostico": str(csv_path), "grafico": str(plot_path)},
    }


# === Referencias clásicas (a un paso, con los días reales anteriores) ===

def _last_value(series: SalesSeries, index: np.ndarray, cut: int) -> np.ndarray:
    return series.values[index - 1]


def _seasonal_naive(series: SalesSeries, index: np.ndarray, cut: int) -> np.ndarray:
    """El último día anterior con el mismo día de la semana (t − 7 si existe)."""
    weekday = series.weekdays
    out = []
    for i in index:
        same = np.flatnonzero(weekday[:i] == weekday[i])
        out.append(series.values[same[-1]] if same.size else series.values[i - 1])
    return np.array(out)


def _weekday_median(series: SalesSeries, index: np.ndarray, cut: int) -> np.ndarray:
    """Mediana de cada día de la semana en la parte de entrenamiento."""
    weekday, train = series.weekdays, series.values[:cut]
    overall = float(np.median(train))
    medians = {day: float(np.median(train[weekday[:cut] == day]))
               for day in np.unique(weekday[:cut])}
    return np.array([medians.get(weekday[i], overall) for i in index])


def _exponential_smoothing(series: SalesSeries, index: np.ndarray, cut: int) -> np.ndarray:
    """Suavizado exponencial con estacionalidad semanal (statsmodels, espacio de estados).

    La serie se lleva al calendario diario completo con 0 en los días sin fila (días sin
    ventas), se ajusta solo con los días anteriores al corte y se filtra el resto con
    esos mismos parámetros: cada predicción es a un paso con los datos reales anteriores.
    """
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    first = series.dates[0]
    offset = (series.dates - first).astype(np.int64)
    daily = np.zeros(int(offset[-1]) + 1)
    daily[offset] = series.values
    train_days = int(offset[cut])  # días de calendario anteriores al primer día evaluado
    with warnings.catch_warnings():  # avisos de convergencia del optimizador de statsmodels
        warnings.simplefilter("ignore")
        fitted = ExponentialSmoothing(daily[:train_days], seasonal=7,
                                      initialization_method="estimated").fit(disp=False)
    one_step = np.asarray(fitted.apply(daily).fittedvalues)
    return one_step[offset[index]]


# (nombre, función, paquete que necesita o None).
BASELINES: tuple[tuple[str, Callable, str | None], ...] = (
    ("Último valor", _last_value, None),
    ("Ingenuo estacional (t−7)", _seasonal_naive, None),
    ("Mediana por día de la semana", _weekday_median, None),
    ("Suavizado exponencial semanal (statsmodels)", _exponential_smoothing, "statsmodels"),
)


def _importable(package: str | None) -> bool:
    if package is None:
        return True
    import importlib.util

    return importlib.util.find_spec(package) is not None


# === Comparar ===

def _fit_in_memory(variant: str, blog_ste: bool, prepared: SalesData, *, epochs: int,
                   batch_size: int, learning_rate: float, seed: int,
                   builder_kwargs: dict[str, Any] | None = None, decay: bool = False):
    """Entrena como :func:`train_sales`, sin archivos, para las corridas de la comparación.

    Mismos datos, semilla, lotes barajados (el ``tf.data`` de :func:`~entrenamiento.entrenar.train`)
    y la misma regla de selección (la época de menor pérdida de entrenamiento). Sin
    registro, respaldo, ``modelo.h5`` por época ni validación por época, y con toda la
    época en una sola llamada (``steps_per_execution``): 1,6 s por modelo frente a 6,7 s
    aquí, lo que deja la comparación de 4 modelos × 5 semillas por debajo de 2 minutos.

    Args:
        builder_kwargs: argumentos extra de :func:`~modelos.ventas.build_sales_mlp`
            (``hidden_units``, ``l2``, ``dropout``, ``loss``...).
        decay: tasa de Adam con decaimiento coseno hasta 0 a lo largo de las épocas.

    Returns:
        ``(modelo, pérdida de entrenamiento, mse de entrenamiento)`` de la época elegida.
    """
    import keras

    from entrenamiento.entrenar import repeated_dataset
    from modelos.ventas import build_sales_mlp

    keras.utils.set_random_seed(seed)
    extra = dict(builder_kwargs or {})
    if decay:
        schedule = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=epochs * math.ceil(len(prepared.train) / batch_size))
        extra["optimizer"] = keras.optimizers.Adam(schedule)
    model = build_sales_mlp(variant, prepared.steps, learning_rate=learning_rate,
                            blog_ste=blog_ste, **extra)
    fit_kwargs = repeated_dataset(_inputs(variant, prepared.train),
                                   prepared.train.target[:, None].astype(np.float32),
                                   batch_size, True, seed)
    model.steps_per_execution = fit_kwargs["steps_per_epoch"]  # una llamada por época
    best: dict[str, Any] = {}

    class KeepBest(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            loss = float((logs or {}).get("loss", math.nan))
            if not math.isnan(loss) and loss < best.get("loss", math.inf):
                best.update(loss=loss, mse=float(logs.get("mse", math.nan)),
                            weights=self.model.get_weights())

    model.fit(**fit_kwargs, epochs=epochs, verbose=0, callbacks=[KeepBest()])
    if "weights" in best:
        model.set_weights(best["weights"])
    return model, best.get("loss", math.nan), best.get("mse", math.nan)


# Ajustes propios que admite el cuarto elemento de una fila de ``models`` en :func:`compare`;
# el resto de claves van a :func:`~modelos.ventas.build_sales_mlp`.
CASE_SETTINGS = ("steps", "epochs", "batch_size", "learning_rate", "decay")


def _model_case(case, **defaults) -> dict[str, Any]:
    """``(nombre, variante, blog_ste[, ajustes])`` → diccionario con todos los ajustes."""
    if not isinstance(case, (tuple, list)) or len(case) not in (3, 4):
        raise ArgumentError(
            "compare: cada modelo debe ser (nombre, variante, blog_ste[, ajustes]); "
            f"recibido {case!r}."
        )
    name, variant, blog_ste = case[:3]
    _check_variant(variant, blog_ste)
    settings = dict(case[3]) if len(case) == 4 else {}
    result = {"name": name, "variant": variant, "blog_ste": blog_ste, "decay": False,
              **defaults}
    for key in CASE_SETTINGS:
        if key in settings:
            result[key] = settings.pop(key)
    check_int(result["steps"], "steps", where=f"compare ({name})")
    check_int(result["epochs"], "epochs", where=f"compare ({name})")
    result["builder"] = settings
    return result


def _fold_series(series: SalesSeries, fold: int, validation: int) -> SalesSeries:
    """La serie cortada para el pliegue ``fold`` (0 = los últimos días)."""
    end = len(series) - fold * validation
    return SalesSeries(series.dates[:end], series.values[:end], series.source)


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    return float(np.mean(array)), float(np.std(array))


def compare(
    data,
    *,
    seeds: int | Sequence[int] = 5,
    folds: int = 1,
    steps: int = BLOG_STEPS,
    epochs: int = BLOG_EPOCHS,
    validation: int = BLOG_VALIDATION,
    batch_size: int = BLOG_STEPS,
    learning_rate: float = 1e-3,
    models: Sequence[tuple] = MODEL_CASES,
    baselines: bool = True,
    ensembles: bool = True,
    out_dir=None,
    date_column=None,
    value_column=None,
) -> dict[str, Any]:
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
            :func:`~modelos.ventas.build_sales_mlp` (p. ej. ``{"dropout": 0.3}``).
        baselines: incluir las referencias clásicas.
        ensembles: añadir, por red, la media de las predicciones de todas las semillas.
        out_dir: carpeta del gráfico de barras y del JSON (``None``: sin archivos).
        date_column: nombre o posición de la columna de fecha.
        value_column: nombre o posición de la columna de valor.

    Returns:
        ``{"protocolo", "filas": [...], "omitidos": [...], "mejor", ...}``; cada fila
        tiene ``val_loss`` (MAE escalado), ``val_mse``, MAE/RMSE en unidades (media y
        desviación sobre semillas del último bloque) y, con pliegues, ``backtest_mae``.
    """
    seed_list = list(range(check_int(seeds, "seeds", where="compare"))) \
        if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool) else list(seeds)
    if not seed_list:
        raise ArgumentError("compare: «seeds» no puede estar vacío.")
    for seed in seed_list:
        check_int(seed, "seeds", minimum=0, where="compare")
    check_int(folds, "folds", where="compare")
    check_int(validation, "validation", where="compare")
    cases = [_model_case(case, steps=steps, epochs=epochs, batch_size=batch_size,
                         learning_rate=learning_rate) for case in models]
    series = _series(data, date_column, value_column)
    # El primer pliegue (el más antiguo) también necesita sus filas de entrenamiento.
    check_series_length(len(series) - (folds - 1) * validation,
                        max([steps] + [case["steps"] for case in cases]), validation,
                        source=series.source)

    start = time.perf_counter()
    runs: dict[str, list[list[dict[str, float]]]] = {}  # nombre → pliegue → corridas
    kinds: dict[str, str] = {}
    skipped = []
    for fold in range(folds):
        fold_series = _fold_series(series, fold, validation)
        prepared = prepare_sales(fold_series, steps, validation)
        # Mismos días de validación y mismo escalador para cualquier número de retardos.
        by_steps = {steps: prepared}
        index = prepared.validation.index
        real_units = prepared.series.values[index]
        scale = prepared.scaler.transform(real_units)  # valores reales escalados

        def record(name: str, kind: str, predicted_units, seconds: float, **extra) -> None:
            kinds[name] = kind
            scaled = _scaled_errors(scale, prepared.scaler.transform(predicted_units))
            units = _errors_in_units(real_units, predicted_units)
            run = {"val_loss": scaled["mae"], "val_mse": scaled["mse"], "segundos": seconds,
                   **{f"val_{k}": v for k, v in units.items()}, **extra}
            runs.setdefault(name, [[] for _ in range(folds)])[fold].append(run)

        for case in cases:
            name, variant = case["name"], case["variant"]
            if case["steps"] not in by_steps:
                by_steps[case["steps"]] = prepare_sales(fold_series, case["steps"], validation)
            case_data = by_steps[case["steps"]]
            predictions = []
            for seed in seed_list:
                began = time.perf_counter()
                model, loss, mse = _fit_in_memory(
                    variant, case["blog_ste"], case_data, epochs=case["epochs"],
                    batch_size=case["batch_size"], learning_rate=case["learning_rate"],
                    seed=seed, builder_kwargs=case["builder"], decay=case["decay"])
                predicted = predict_part(model, case_data.scaler, variant, case_data.validation)
                predictions.append(predicted)
                record(name, "red", predicted, time.perf_counter() - began, loss=loss, mse=mse)
            if ensembles and len(seed_list) > 1:
                # La media de las redes de todas las semillas: un modelo más, no una selección.
                record(f"{name} (media de {len(seed_list)} semillas)", "conjunto",
                       np.mean(predictions, axis=0), 0.0)
            logger.info("Pliegue %d/%d: %s entrenado con %d semilla%s.", fold + 1, folds, name,
                        len(seed_list), "" if len(seed_list) == 1 else "s")
        if not baselines:
            continue
        for name, function, package in BASELINES:
            if not _importable(package):
                if fold == 0:
                    skipped.append({"modelo": name, "motivo": f"falta el paquete «{package}» "
                                    "(pip install redes-keras[clasicos])"})
                continue
            began = time.perf_counter()
            predicted = function(prepared.series, index, prepared.cut)
            record(name, "referencia", predicted, time.perf_counter() - began)

    rows = [_summary_row(name, kinds[name], fold_runs) for name, fold_runs in runs.items()]
    best = min(rows, key=lambda row: row["val_loss"])
    result = {
        "protocolo": PROTOCOL.format(v=validation),
        "semillas": seed_list, "pliegues": folds, "validacion": validation, "pasos": steps,
        "epocas": epochs, "lote": batch_size, "filas": rows, "omitidos": skipped,
        "mejor": best["modelo"],
        "mejor_red": min((r for r in rows if r["tipo"] != "referencia"),
                         key=lambda row: row["val_loss"], default={}).get("modelo"),
        "segundos": round(time.perf_counter() - start, 2),
        "archivos": {},
    }
    if out_dir is not None:
        result["archivos"]["grafico"] = str(plot_comparison(result, Path(out_dir) / COMPARE_PLOT))
    return result


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


def format_comparison(result: dict[str, Any]) -> str:
    """Tabla de texto de :func:`compare`, ordenada por MAE de validación."""
    from entrenamiento.informes import format_columns

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
    lines.append(f"Mejor: {result['mejor']} ({result['segundos']:.1f} s en total).")
    return "\n".join(lines)


def plot_comparison(result: dict[str, Any], path) -> Path:
    """Barras del MAE escalado de validación (con la desviación de las redes)."""
    rows = sorted(result["filas"], key=lambda r: r["val_loss"])
    from entrenamiento.graficos import new_figure, save_figure

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


# === Demo ===

# La demo de ``make demo``: una serie sintética de ~1 año y la STE con pocas épocas.
DEMO_SETTINGS = {"variant": "ste", "epochs": 20, "validation": 30}


def run_sales_demo(out_dir, *, seed: int = 0, verbose: Any = 0) -> dict[str, Any]:
    """Pronóstico de ventas corto sobre datos sintéticos (≈ 5–10 s, sin red).

    Genera ventas diarias sintéticas (patrón semanal, pico de verano, días sin ventas),
    las escribe como CSV, entrena la STE con los últimos 30 días aparte, compara su
    error con el ingenuo estacional en esos días y pronostica la semana siguiente.

    Args:
        out_dir: carpeta de la demo; se escribe en ``out_dir/ventas``.
        seed: semilla de los datos y del entrenamiento.
        verbose: barra de progreso de Keras.

    Returns:
        ``{"metricas", "pronostico", "archivos"}`` (las métricas incluyen el MAE en
        unidades de la red y del ingenuo estacional).
    """
    out_dir = Path(out_dir) / "ventas"
    series = make_sales_series(days=400, seed=seed)
    csv_path = out_dir / "ventas_sinteticas.csv"
    write_sales_csv(series, csv_path)
    trained = train_sales(csv_path, DEMO_SETTINGS["variant"], epochs=DEMO_SETTINGS["epochs"],
                          validation=DEMO_SETTINGS["validation"], seed=seed,
                          run_dir=out_dir, verbose=verbose)
    cut = len(series) - DEMO_SETTINGS["validation"]
    index = np.arange(cut, len(series))
    naive = _errors_in_units(series.values[index], _seasonal_naive(series, index, cut))
    predicted = forecast(trained["archivos"]["pesos"], csv_path, days=7, out_dir=out_dir)
    metrics = dict(trained["metricas"])
    metrics["val_mae_unidades_ingenuo"] = naive["mae_unidades"]
    return {"metricas": metrics, "pronostico": predicted["pronostico"],
            "archivos": {"csv": str(csv_path), **trained["archivos"], **predicted["archivos"]}}
