"""Lo que comparten entrenar, pronosticar y comparar: constantes, la serie y los errores.

Protocolo (igual para todos los modelos y referencias): los últimos ``validation`` días
son la validación; nunca se usan para entrenar ni para ajustar el escalador. Cada día de
validación se predice **a un paso**, con los días reales anteriores como retardos (lo
que ve el perceptrón en el blog).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError
from nucleo.validacion import check_int, check_number
from datos.ventas import MinMaxScaler
from datos.ventas import SalesSeries
from datos.ventas import check_sales_values
from datos.ventas import read_sales_csv
from datos.ventas import sales_inputs
from nucleo.vocabulario import MAX_LEARNING_RATE

# La tarea que anotan sus modelos (los de versiones anteriores decían «ventas»).
TASK = "pronostico"
VALIDATION_PLOT = "validacion.png"
FORECAST_CSV = "pronostico.csv"
FORECAST_PLOT = "pronostico.png"
COMPARE_PLOT = "comparacion.png"

# Los valores del blog: 7 retardos, 40 épocas, lotes de PASOS = 7 filas, 30 días de validación.
BLOG_STEPS = 7
BLOG_EPOCHS = 40
BLOG_VALIDATION = 30
# La tasa de Adam por defecto de Keras (la del blog) y el mayor valor admitido.
LEARNING_RATE = 1e-3


def load_series(data, date_column=None, value_column=None, *, where: str) -> SalesSeries:
    """Acepta una :class:`~datos.ventas.SalesSeries` o la ruta de un CSV.

    Raises:
        ArgumentError: ``data`` no es ninguna de las dos cosas.
        DataError: CSV no válido, o una serie con valores no finitos o desmesurados.
    """
    if isinstance(data, SalesSeries):
        return check_sales_values(data)
    if isinstance(data, (str, Path)):
        return read_sales_csv(data, date_column=date_column, value_column=value_column)
    raise ArgumentError(
        f"{where}: «data» debe ser la ruta de un CSV o una SalesSeries; "
        f"recibido {type(data).__name__}."
    )


def check_variant(variant: str, blog_ste: bool, *, where: str) -> None:
    """Comprueba la variante (``st1``, ``stmv``, ``ste``, ``lstm``, ``gru``, ``rnn``) y
    ``blog_ste``."""
    from modelos.ventas.mlp import VARIANTS
    from modelos.ventas.rnn import MODELS

    if variant not in VARIANTS + tuple(MODELS):
        raise ArgumentError(
            f"{where}: «variant» debe ser uno de {', '.join(VARIANTS + tuple(MODELS))}; "
            f"recibido {variant!r}."
        )
    if not isinstance(blog_ste, bool):
        raise ArgumentError(f"{where}: «blog_ste» debe ser True o False; recibido {blog_ste!r}.")
    if blog_ste and variant != "ste":
        raise ArgumentError(f"{where}: «blog_ste» (la variante del blog) solo existe para "
                            "variant='ste'.")


def check_training_settings(*, steps, epochs, validation, batch_size, learning_rate,
                            where: str, min_validation: int = 0) -> None:
    """Comprueba los ajustes de entrenamiento con los nombres de los argumentos de Python."""
    from modelos.ventas.mlp import MAX_STEPS

    check_int(steps, "steps", maximum=MAX_STEPS, where=where)
    check_int(epochs, "epochs", where=where)
    check_int(validation, "validation", minimum=min_validation, where=where)
    check_int(batch_size, "batch_size", where=where)
    check_number(learning_rate, "learning_rate", minimum=0.0, maximum=MAX_LEARNING_RATE,
                 where=where)
    if learning_rate == 0:
        raise ArgumentError(f"{where}: «learning_rate» debe ser mayor que 0; recibido "
                            f"{learning_rate!r}.")


def sales_builder(variant: str, steps: int, learning_rate: float, blog_ste: bool,
                  **extra) -> tuple[str, dict[str, Any]]:
    """Constructor registrado y argumentos de ``variant``.

    Las del blog van a :func:`~modelos.ventas.mlp.build_sales_mlp` (``"ventas"``); ``lstm``,
    ``gru`` y ``rnn``, a :func:`~modelos.ventas.rnn.build_sales_rnn` (``"ventas_rnn"``).
    """
    from modelos.ventas.rnn import MODELS

    if variant in MODELS:
        return "ventas_rnn", {"cell": MODELS[variant], "steps": steps,
                              "learning_rate": learning_rate, **extra}
    return "ventas", {"variant": variant, "steps": steps, "learning_rate": learning_rate,
                      "blog_ste": blog_ste, **extra}


def model_inputs(variant: str, part) -> np.ndarray:
    """La entrada de ``variant`` para las filas de una :class:`~datos.ventas.SupervisedPart`."""
    return sales_inputs(variant, part.lags, part.weekday, part.month)


def errors_in_units(real, predicted) -> dict[str, float]:
    """MAE y RMSE en unidades (``mae_unidades``, ``rmse_unidades``)."""
    error = np.asarray(predicted, dtype=np.float64) - np.asarray(real, dtype=np.float64)
    return {"mae_unidades": float(np.mean(np.abs(error))),
            "rmse_unidades": float(np.sqrt(np.mean(error ** 2)))}


def scaled_errors(real, predicted) -> dict[str, float]:
    """MAE y MSE en la escala del modelo ([-1, 1])."""
    error = np.asarray(predicted, dtype=np.float64) - np.asarray(real, dtype=np.float64)
    return {"mae": float(np.mean(np.abs(error))), "mse": float(np.mean(error ** 2))}


def case_name(variant: str, blog_ste: bool) -> str:
    """Nombre de la variante en tablas y títulos: ``STE``, ``STE (blog)``..."""
    return variant.upper() + (" (blog)" if blog_ste else "")


def predict_part(model, scaler: MinMaxScaler, variant: str, part) -> np.ndarray:
    """Predicción a un paso de cada fila de ``part``, en unidades."""
    scaled = model.predict(model_inputs(variant, part), verbose=0, batch_size=256)[:, 0]
    return scaler.inverse_transform(scaled)


def plot_series(path, title: str, lines: Sequence[tuple[Any, Any, str, str]],
                ylabel: str = "Unidades") -> Path:
    """Dibuja varias series fecha → valor en un PNG (atómico).

    Args:
        path: PNG de destino.
        title: título.
        lines: ``(fechas, valores, etiqueta, estilo)`` por serie.
        ylabel: etiqueta del eje vertical.
    """
    from informes.graficos import new_figure, save_figure

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
