"""Los dibujos de ``redes deteccion revisar``: una muestra de imágenes con sus cajas y la
distribución de las cajas (como el ``labels.jpg`` de Ultralytics).

- :func:`plot_sample_mosaic`: ~16 imágenes elegidas con la semilla, cada una con sus
  cajas anotadas en el color de su clase.
- :func:`plot_box_statistics`: cajas por clase, dónde caen los centros, anchos frente a
  altos (con las anclas encima) y la mejor IoU de cada caja con las anclas.

Se dibuja con :func:`informes.graficos.new_figure` y se guarda de forma atómica con
:func:`informes.graficos.save_figure`. El análisis (qué se cuenta) está en
:mod:`tareas.deteccion.revisar`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from informes.graficos import new_figure
from informes.graficos import save_figure

#: Lado, en píxeles, al que se reduce cada imagen de la muestra antes de dibujarla.
TILE_SIDE = 256


def class_colors(classes: Sequence[str]) -> dict[str, tuple[float, float, float, float]]:
    """Un color por clase (la paleta ``tab10``, o ``tab20`` con más de 10 clases), siempre
    el mismo para la misma lista de clases."""
    from matplotlib import colormaps

    palette = colormaps["tab10" if len(classes) <= 10 else "tab20"]
    return {name: palette(index % palette.N) for index, name in enumerate(classes)}


def _thumbnail(path: Path) -> tuple[np.ndarray, float]:
    """La imagen reducida a :data:`TILE_SIDE` de lado mayor, y la escala aplicada."""
    import cv2

    from datos.imagenes import read_rgb

    image = read_rgb(path)
    scale = min(1.0, TILE_SIDE / max(image.shape[:2]))
    if scale < 1.0:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image, scale


def plot_sample_mosaic(records, classes: Sequence[str], path, *, seed: int = 0,
                       count: int = 16) -> Path:
    """Un mosaico de ``count`` imágenes de ``records`` (elegidas con ``seed``) con sus cajas.

    Args:
        records: los :class:`~datos.anotaciones.VocImage` del conjunto.
        classes: las clases, en el orden de sus colores (y de la leyenda).
        path: PNG de destino.
        seed: la misma semilla elige las mismas imágenes.
        count: imágenes de la muestra (todas si hay menos).

    Returns:
        La ruta del PNG escrito.
    """
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(records), size=min(count, len(records)), replace=False))
    columns = max(1, math.ceil(math.sqrt(len(chosen))))
    rows = max(1, math.ceil(len(chosen) / columns))
    colors = class_colors(classes)
    fig = new_figure(2.6 * columns, 2.6 * rows + 0.6)
    fig.suptitle(f"Muestra de {len(chosen)} de {len(records)} imágenes con sus cajas "
                 f"(semilla {seed})")
    for number, index in enumerate(chosen):
        record = records[index]
        ax = fig.add_subplot(rows, columns, number + 1)
        image, scale = _thumbnail(record.path)
        ax.imshow(image)
        for (x1, y1, x2, y2), label in zip(record.boxes * scale, record.labels, strict=True):
            ax.add_patch(_rectangle(x1, y1, x2 - x1, y2 - y1, colors.get(label, "black")))
        ax.set_title(f"{Path(record.path).name} ({len(record.labels)})", fontsize=8)
        ax.set_axis_off()
    _legend(fig, colors)
    return save_figure(fig, path)


def _rectangle(x, y, width, height, color):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), width, height, fill=False, edgecolor=color, linewidth=1.5)


def _legend(fig, colors) -> None:
    from matplotlib.patches import Patch

    if colors:
        fig.legend(handles=[Patch(color=color, label=name) for name, color in colors.items()],
                   loc="lower center", ncols=min(len(colors), 6), fontsize=8, frameon=False)


def plot_box_statistics(records, classes: Sequence[str], path, *, anchors=None, grid=None,
                        best_iou=None, threshold: float = 0.5) -> Path:
    """Cuatro gráficas de las cajas de ``records`` en un PNG.

    Arriba, las cajas por clase (barras) y los centros ``x/ancho``, ``y/alto`` (histograma
    2-D, con el origen arriba a la izquierda como en la imagen); abajo, el ancho frente al
    alto relativos a la imagen (un punto por caja en el color de su clase, con las anclas
    como cruces) y el histograma de la mejor IoU de cada caja con las anclas, con la
    línea de ``threshold``.

    Args:
        records: los :class:`~datos.anotaciones.VocImage` del conjunto.
        classes: las clases, en el orden de sus colores.
        path: PNG de destino.
        anchors: anclas ``(A, 2)`` en celdas, o ``None``.
        grid: rejilla ``(S_h, S_w)`` de las anclas (para pasarlas a fracción de la imagen).
        best_iou: la mejor IoU de cada caja con las anclas, o ``None``.
        threshold: la IoU que se marca en el histograma.

    Returns:
        La ruta del PNG escrito.
    """
    colors = class_colors(classes)
    boxes = [(r.boxes, r.width, r.height, r.labels) for r in records if len(r.boxes)]
    rel = (np.concatenate([b / np.array([w, h, w, h], dtype=np.float64)
                           for b, w, h, _ in boxes]) if boxes else np.zeros((0, 4)))
    labels = [label for *_, names in boxes for label in names]
    fig = new_figure(11, 9)
    bars, centres, sizes, ious = (fig.add_subplot(2, 2, i) for i in range(1, 5))
    counts = [labels.count(name) for name in classes]
    bars.bar(range(len(classes)), counts, color=[colors[name] for name in classes])
    bars.set_xticks(range(len(classes)), labels=classes, rotation=30, ha="right")
    bars.set_ylabel("Cajas")
    bars.set_title("Cajas por clase")
    centre_x, centre_y = (rel[:, 0] + rel[:, 2]) / 2, (rel[:, 1] + rel[:, 3]) / 2
    centres.hist2d(centre_x, centre_y, bins=20, range=[[0, 1], [0, 1]], cmap="Blues")
    centres.invert_yaxis()
    centres.set(xlabel="x del centro / ancho", ylabel="y del centro / alto",
                title="Dónde caen los centros")
    sizes.scatter(rel[:, 2] - rel[:, 0], rel[:, 3] - rel[:, 1], s=6, alpha=0.5,
                  c=[colors.get(name, "black") for name in labels])
    if anchors is not None and grid is not None:
        anchors = np.asarray(anchors, dtype=np.float64)
        sizes.scatter(anchors[:, 0] / grid[1], anchors[:, 1] / grid[0], marker="x", s=60,
                      color="black", label="anclas")
        sizes.legend(loc="upper left", fontsize=8)
    sizes.set(xlim=(0, 1), ylim=(0, 1), xlabel="ancho / ancho de la imagen",
              ylabel="alto / alto de la imagen", title="Tamaño de las cajas")
    if best_iou is not None and len(best_iou):
        best_iou = np.asarray(best_iou, dtype=np.float64)
        ious.hist(best_iou, bins=20, range=(0, 1), color="tab:blue")
        ious.axvline(threshold, color="tab:red", linestyle="--")
        ious.set_title(f"Mejor IoU con las anclas ({np.mean(best_iou < threshold):.0%} "
                       f"de las cajas < {threshold:g})")
    else:
        ious.set_title("Sin anclas")
    ious.set(xlabel="IoU (ancho y alto, centros alineados)", ylabel="Cajas", xlim=(0, 1))
    return save_figure(fig, path)
