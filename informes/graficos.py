"""Gráficos de entrenamiento y evaluación en PNG: curvas de aprendizaje y matriz de confusión.

Se dibuja con la API orientada a objetos de matplotlib (``Figure`` con un lienzo
``FigureCanvasAgg``) sin importar ``pyplot`` ni llamar a ``matplotlib.use``: el
backend global y las figuras abiertas del usuario (p. ej. en un cuaderno) no se
tocan, y funciona en máquinas sin pantalla.

Cada PNG se escribe de forma atómica: un temporal en la misma carpeta que se
renombra con ``os.replace``; si algo falla, el archivo anterior queda intacto.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from nucleo.archivos import atomic_write
from nucleo.errores import ArgumentError, DataError

# Nombres legibles de las métricas habituales de Keras (sin el prefijo «val_»).
METRIC_LABELS = {
    "loss": "Pérdida",
    "accuracy": "Exactitud",
    "acc": "Exactitud",
    "binary_accuracy": "Exactitud binaria",
    "categorical_accuracy": "Exactitud categórica",
    "sparse_categorical_accuracy": "Exactitud categórica",
    "mse": "Error cuadrático medio",
    "mean_squared_error": "Error cuadrático medio",
    "mae": "Error absoluto medio",
    "mean_absolute_error": "Error absoluto medio",
    "rmse": "Raíz del error cuadrático medio",
    "root_mean_squared_error": "Raíz del error cuadrático medio",
    "learning_rate": "Tasa de aprendizaje",
    "masked_accuracy": "Exactitud por token",
    "exact_match": "Acierto exacto",
}


def metric_label(name: str) -> str:
    """Nombre en castellano de una métrica de Keras (el propio nombre si no se conoce)."""
    return METRIC_LABELS.get(name, name)


def read_history(path) -> dict[str, list[float]]:
    """Lee el registro CSV de ``keras.callbacks.CSVLogger`` como un historial.

    Las filas se ordenan por la columna ``epoch``; si una época aparece repetida
    cuenta la última fila. Las celdas «NA» se leen como NaN y se descartan las
    columnas sin ningún valor (p. ej. las ``val_*`` que CSVLogger añade cuando no
    hay validación). Una última línea incompleta (proceso interrumpido) se ignora.

    Args:
        path: ruta del CSV.

    Returns:
        Diccionario métrica → lista de valores por época, sin la columna ``epoch``
        (como ``History.history`` de Keras).

    Raises:
        DataError: si el archivo no existe o no tiene la columna ``epoch``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"No existe el registro de entrenamiento «{path}».")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            return {}
        if "epoch" not in reader.fieldnames:
            raise DataError(
                f"«{path}» no es un registro de CSVLogger: falta la columna «epoch»."
            )
        names = [name for name in reader.fieldnames if name != "epoch"]
        rows: dict[int, dict[str, float]] = {}
        for row in reader:
            if any(row.get(name) is None for name in reader.fieldnames):
                continue  # línea cortada por una interrupción
            try:
                epoch = int(row["epoch"])
                rows[epoch] = {name: _to_float(row[name]) for name in names}
            except ValueError:
                continue
    history = {name: [rows[epoch][name] for epoch in sorted(rows)] for name in names}
    return {
        name: values
        for name, values in history.items()
        if values and not all(math.isnan(value) for value in values)
    }


def _to_float(text: str) -> float:
    return math.nan if text in ("", "NA", "nan") else float(text)


def _metric_groups(names: Sequence[str]) -> list[tuple[str, str | None, str | None]]:
    """Agrupa (métrica, clave de entrenamiento, clave de validación) en orden estable."""
    groups: dict[str, list[str | None]] = {}
    for name in names:
        base = name[4:] if name.startswith("val_") else name
        slot = groups.setdefault(base, [None, None])
        slot[1 if name.startswith("val_") else 0] = name
    # La pérdida primero, el resto en el orden en que aparecen.
    order = sorted(groups, key=lambda base: (base != "loss", list(groups).index(base)))
    return [(base, groups[base][0], groups[base][1]) for base in order]


def new_figure(width: float, height: float) -> Figure:
    """Figura de ``width`` × ``height`` pulgadas con su lienzo Agg, sin ``pyplot``."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path) -> Path:
    """Guarda ``fig`` en PNG de forma atómica y devuelve la ruta."""
    return atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=100))


def plot_history(history, path, title: str | None = None) -> Path:
    """Dibuja las curvas de entrenamiento y validación, una gráfica por métrica.

    Args:
        history: diccionario métrica → valores por época (``History.history``) o
            ruta del CSV de ``CSVLogger``.
        path: PNG de destino; se crean las carpetas que falten.
        title: título general (por defecto «Curvas de entrenamiento»).

    Returns:
        La ruta del PNG escrito.

    Raises:
        DataError: si el historial no tiene ninguna métrica.

    Example:
        >>> historial = {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]}
        >>> plot_history(historial, "resultados/curvas.png")  # doctest: +SKIP
    """
    if isinstance(history, (str, os.PathLike)):
        source = f"«{history}»"
        history = read_history(history)
    else:
        source = "el historial"
    if not isinstance(history, Mapping):
        raise ArgumentError(
            f"plot_history: «history» debe ser un diccionario o la ruta de un CSV; "
            f"recibido {type(history).__name__}."
        )
    series = {name: np.asarray(values, dtype=float) for name, values in history.items()
              if name != "epoch" and len(values) > 0}
    if not series:
        raise DataError(f"plot_history: {source} no tiene ninguna métrica que dibujar.")

    groups = _metric_groups(list(series))
    ncols = min(len(groups), 3)
    nrows = math.ceil(len(groups) / ncols)
    fig = new_figure(5 * ncols, 3.8 * nrows)
    fig.suptitle(title or "Curvas de entrenamiento")
    for index, (base, train_key, val_key) in enumerate(groups):
        ax = fig.add_subplot(nrows, ncols, index + 1)
        curves = ((train_key, "entrenamiento", "o-"), (val_key, "validación", "s--"))
        for key, label, style in curves:
            if key is None:
                continue
            values = series[key]
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, style, markersize=3, label=label)
        ax.set_title(metric_label(base))
        ax.set_xlabel("Época")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric_label(base))
        ax.grid(True, alpha=0.3)
        ax.legend()
    return save_figure(fig, path)


def plot_confusion_matrix(
    matrix,
    class_names: Sequence[str],
    path,
    normalize: bool = False,
    title: str | None = None,
) -> Path:
    """Dibuja una matriz de confusión como mapa de calor con los valores anotados.

    Args:
        matrix: matriz cuadrada (filas: clase real; columnas: clase predicha).
        class_names: nombre de cada clase, en el orden de las filas.
        path: PNG de destino; se crean las carpetas que falten.
        normalize: si es ``True`` cada fila se divide por su total (proporción de
            cada clase real) y se anota con dos decimales; si no, los conteos.
        title: título (por defecto «Matriz de confusión»).

    Returns:
        La ruta del PNG escrito.

    Raises:
        ArgumentError: si la matriz no es cuadrada o no casa con ``class_names``.
    """
    counts = np.asarray(matrix, dtype=float)
    names = [str(name) for name in class_names]
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ArgumentError(
            "plot_confusion_matrix: «matrix» debe ser cuadrada y no vacía; "
            f"forma {counts.shape}."
        )
    if len(names) != counts.shape[0]:
        raise ArgumentError(
            f"plot_confusion_matrix: «class_names» tiene {len(names)} nombres y la matriz "
            f"{counts.shape[0]} clases."
        )
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    else:
        values = counts

    n = len(names)
    side = max(4.0, 0.6 * n + 2.5)
    fig = new_figure(side + 1, side)
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, label="Proporción" if normalize else "Ejemplos")
    ax.set_xticks(range(n), labels=names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), labels=names)
    ax.set_xlabel("Clase predicha")
    ax.set_ylabel("Clase real")
    default = "Matriz de confusión" + (" (normalizada por clase real)" if normalize else "")
    ax.set_title(title or default)
    threshold = values.max() / 2 if values.size else 0
    for row in range(n):
        for col in range(n):
            value = values[row, col]
            text = f"{value:.2f}" if normalize else f"{int(round(value))}"
            ax.text(col, row, text, ha="center", va="center",
                    color="white" if value > threshold else "black",
                    fontsize=9 if n <= 15 else 6)
    return save_figure(fig, path)
