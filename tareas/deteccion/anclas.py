"""Anclas de YOLOv2 por k-means sobre los anchos y altos de las cajas anotadas.

Como en el artículo YOLO9000 (*Dimension Clusters*) y en ``gen_anchors.py`` de
keras-yolo2: la distancia entre una caja y un centro es ``1 − IoU`` de sus anchos y
altos con los centros alineados, así las cajas grandes no pesan más que las
pequeñas (lo que pasaría con la distancia euclídea). Con 5 centros, el artículo
obtiene una IoU media de 61.0 en VOC 2007.

Referencia:
    Redmon y Farhadi, «YOLO9000: Better, Faster, Stronger» (2016), sección 2;
    experiencor/keras-yolo2, ``gen_anchors.py``.
"""

from __future__ import annotations

import logging

import numpy as np

from datos.cajas import as_size
from datos.cajas import wh_iou
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.validacion import check_int
from informes.resultado import Table
from informes.resultado import TaskResult

logger = logging.getLogger("redes")


def kmeans_anchors(wh, k: int = 5, seed: int = 0, *, n_init: int = 5,
                   max_iter: int = 300) -> tuple[np.ndarray, float]:
    """Agrupa anchos/altos con k-means y distancia ``1 − IoU``.

    Inicialización k-means++ con esa misma distancia; cada centro es la media de su
    grupo (como en YOLO9000); un grupo que se queda vacío se reinicia en la caja
    peor cubierta. Se hacen ``n_init`` arranques y se queda el de mayor IoU media.

    Args:
        wh: (N, 2) anchos y altos positivos, p. ej. en unidades de celda (ver
            :func:`boxes_wh`); las anclas salen en las mismas unidades.
        k: número de anclas (YOLOv2: 5).
        seed: semilla; la misma semilla da las mismas anclas.
        n_init: arranques independientes.
        max_iter: iteraciones máximas por arranque.

    Returns:
        ``(anchors, mean_iou)``: ``float64`` (k, 2) ``w, h`` ordenadas por área
        creciente, y la media sobre las cajas de su mejor IoU con alguna ancla.

    Raises:
        ArgumentError: si ``wh`` no es (N, 2) positivo o ``k`` no es válido.
        DataError: si hay menos cajas que anclas.

    Example:
        >>> anchors, iou = kmeans_anchors(boxes_wh(images, image_size=416), k=5)
    """
    wh = np.asarray(wh, dtype=np.float64)
    if wh.ndim != 2 or wh.shape[1] != 2 or not np.isfinite(wh).all() or (wh <= 0).any():
        raise ArgumentError(f"kmeans_anchors: «wh» debe ser un arreglo (N, 2) de anchos y "
                            f"altos positivos; recibida forma {wh.shape}.")
    k = check_int(k, "k", where="kmeans_anchors")
    check_int(seed, "seed", minimum=0, where="kmeans_anchors")
    check_int(n_init, "n_init", where="kmeans_anchors")
    check_int(max_iter, "max_iter", where="kmeans_anchors")
    if len(wh) < k:
        raise DataError(f"kmeans_anchors: hay {len(wh)} cajas y se piden {k} anclas: se "
                        "necesitan al menos tantas cajas como anclas.")
    rng = np.random.default_rng(seed)
    best, best_iou = None, -1.0
    for _ in range(n_init):
        centers = _run_kmeans(wh, _init_centers(wh, k, rng), max_iter)
        iou = mean_iou(wh, centers)
        if iou > best_iou:
            best, best_iou = centers, iou
    order = np.argsort(best[:, 0] * best[:, 1], kind="stable")
    return best[order], best_iou


def mean_iou(wh, anchors) -> float:
    """Media, sobre las cajas, de su mejor IoU ancho/alto con alguna ancla."""
    return float(wh_iou(wh, anchors).max(axis=1).mean())


def boxes_wh(records, image_size=416, grid=None) -> np.ndarray:
    """Anchos y altos de todas las cajas en unidades de celda de la red.

    Cada caja se lleva al tamaño de entrada de la red (la imagen se estira a
    ``image_size`` entera, como en el entrenamiento) y se divide por el tamaño de
    celda, que es lo que esperan las anclas de YOLOv2.

    Args:
        records: registros de :func:`datos.anotaciones.read_voc`.
        image_size: entrada de la red, entero o ``(alto, ancho)``.
        grid: rejilla ``(S_h, S_w)`` o entero; por defecto ``image_size / 32``.

    Returns:
        ``float64`` (N, 2) ``w, h``.

    Raises:
        ArgumentError: si ``image_size`` no es múltiplo de 32 y no se da ``grid``.
    """
    from modelos.yolo.objetivos import grid_size

    grid_h, grid_w = grid_size(image_size, grid)
    parts = [np.stack([(r.boxes[:, 2] - r.boxes[:, 0]) / r.width * grid_w,
                       (r.boxes[:, 3] - r.boxes[:, 1]) / r.height * grid_h], axis=1)
             for r in records if len(r.boxes)]
    return np.concatenate(parts).astype(np.float64) if parts else np.zeros((0, 2))


def anchors_from_voc(ann_dir=None, img_dir=None, labels=None, *, k: int = 5,
                     image_size=416, seed: int = 0, data=None, fmt: str | None = None,
                     split: str | None = None) -> TaskResult:
    """Lee un conjunto y calcula sus anclas (lo que hace ``redes deteccion anclas``).

    Args:
        ann_dir: carpeta de los XML (Pascal-VOC).
        img_dir: carpeta de las imágenes.
        labels: clases a tener en cuenta (todas si es ``None``).
        data: en lugar de ``ann_dir`` e ``img_dir``, un conjunto en cualquier formato;
            ``fmt`` y ``split`` como en :func:`datos.conjuntos.read_dataset`.
        k: número de anclas.
        image_size: entrada de la red, entero o ``(alto, ancho)``.
        seed: semilla de k-means.

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` (``iou_media``,
        ``cajas``, ``imagenes``) y en ``data`` ``anclas`` (lista de ``[w, h]`` en celdas),
        ``anclas_planas`` (la lista plana de keras-yolo2), ``rejilla``, ``tamanio`` y
        ``etiquetas`` (cuenta por clase).
    """
    from datos.conjuntos import read_dataset
    from modelos.yolo.objetivos import grid_size

    images, counts = read_dataset(data, labels, fmt=fmt, ann_dir=ann_dir, img_dir=img_dir,
                                  split=split)
    height, width = as_size(image_size)
    grid = grid_size((height, width))
    wh = boxes_wh(images, (height, width))
    anchors, iou = kmeans_anchors(wh, k=k, seed=seed)
    logger.info("Anclas de %d cajas (k=%d): IoU media %.4f", len(wh), k, iou)
    pairs = [[round(float(w), 5), round(float(h), 5)] for w, h in anchors]
    flat = [round(float(v), 5) for v in anchors.reshape(-1)]
    cell_h, cell_w = height / grid[0], width / grid[1]
    return TaskResult(
        title="Resumen",
        metrics={"iou_media": round(iou, 6), "cajas": int(len(wh)), "imagenes": len(images)},
        data={"anclas": pairs, "anclas_planas": flat, "rejilla": list(grid),
              "tamanio": [height, width], "etiquetas": counts},
        tables=[Table(f"Anclas (k={k}, rejilla {grid[0]}×{grid[1]})",
                      ("Ancla", "Ancho × alto en celdas (en píxeles)"),
                      [(f"{i + 1}", f"{w:.4f} × {h:.4f}  ({w * cell_w:.1f} × "
                                    f"{h * cell_h:.1f} px)")
                       for i, (w, h) in enumerate(pairs)])],
        text=["anclas: " + ", ".join(f"{v:g}" for v in flat)],
    )


def _init_centers(wh: np.ndarray, k: int, rng) -> np.ndarray:
    """k-means++ con distancia 1 − IoU."""
    centers = [wh[rng.integers(len(wh))]]
    for _ in range(1, k):
        distance = 1.0 - wh_iou(wh, np.array(centers)).max(axis=1)
        weights = distance ** 2
        total = weights.sum()
        index = rng.choice(len(wh), p=weights / total) if total > 0 else rng.integers(len(wh))
        centers.append(wh[index])
    return np.array(centers)


def _run_kmeans(wh: np.ndarray, centers: np.ndarray, max_iter: int) -> np.ndarray:
    assignment = None
    for _ in range(max_iter):
        iou = wh_iou(wh, centers)  # (N, k)
        new_assignment = iou.argmax(axis=1)
        if assignment is not None and np.array_equal(new_assignment, assignment):
            break
        assignment = new_assignment
        for j in range(len(centers)):
            members = wh[assignment == j]
            if len(members):
                centers[j] = members.mean(axis=0)
            else:  # grupo vacío: a la caja peor cubierta
                centers[j] = wh[np.argmin(iou.max(axis=1))]
    return centers
