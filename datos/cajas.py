"""Utilidades de cajas delimitadoras, vectorizadas con numpy y en un solo sitio.

Convención de todo el proyecto: una caja es ``(xmin, ymin, xmax, ymax)`` (``xyxy``)
en coordenadas continuas de píxel: el píxel de la columna ``i`` ocupa ``[i, i + 1)``,
así que una caja que cubre exactamente las columnas 10..19 es ``xmin=10, xmax=20``.
Es la convención de imgaug. La forma centro/tamaño es ``(cx, cy, w, h)``
(``cxcywh``). Los anchos y altos sueltos (``wh``), para las anclas, son ``(w, h)``.

Las funciones aceptan cualquier secuencia convertible a arreglo y devuelven
``float64`` salvo que se diga otra cosa; una caja vacía (ancho o alto ≤ 0) tiene
área 0 y su IoU con cualquier otra es 0 (nunca NaN).
"""

from __future__ import annotations

import numpy as np

from nucleo.errores import ArgumentError


def _as_boxes(boxes, name: str, columns: int = 4) -> np.ndarray:
    """Convierte a ``float64`` (N, columns); acepta una sola caja (columns,)."""
    array = np.asarray(boxes, dtype=np.float64)
    if array.ndim == 1 and array.shape[0] == columns:
        array = array[np.newaxis]
    if array.size == 0:
        return array.reshape(0, columns)
    if array.ndim != 2 or array.shape[1] != columns:
        raise ArgumentError(
            f"«{name}» debe tener forma (N, {columns}); recibida {array.shape}."
        )
    return array


def box_area(boxes) -> np.ndarray:
    """Área de cada caja ``xyxy``; 0 si está vacía.

    Args:
        boxes: (N, 4) ``xmin, ymin, xmax, ymax``.

    Returns:
        (N,) áreas.
    """
    boxes = _as_boxes(boxes, "boxes")
    widths = np.clip(boxes[:, 2] - boxes[:, 0], 0.0, None)
    heights = np.clip(boxes[:, 3] - boxes[:, 1], 0.0, None)
    return widths * heights


def box_iou(boxes_a, boxes_b) -> np.ndarray:
    """IoU (intersección sobre unión) de cada caja de ``a`` con cada caja de ``b``.

    Args:
        boxes_a: (N, 4) ``xyxy``.
        boxes_b: (M, 4) ``xyxy``.

    Returns:
        (N, M) con valores en [0, 1].

    Example:
        >>> box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3], [0, 0, 2, 2]])
        array([[0.14285714, 1.        ]])
    """
    a = _as_boxes(boxes_a, "boxes_a")
    b = _as_boxes(boxes_b, "boxes_b")
    # (N, 1, 2) frente a (1, M, 2): esquinas de la intersección
    top_left = np.maximum(a[:, np.newaxis, :2], b[np.newaxis, :, :2])
    bottom_right = np.minimum(a[:, np.newaxis, 2:], b[np.newaxis, :, 2:])
    sides = np.clip(bottom_right - top_left, 0.0, None)
    intersection = sides[..., 0] * sides[..., 1]  # (N, M)
    union = box_area(a)[:, np.newaxis] + box_area(b)[np.newaxis, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection),
                     where=union > 0)


def wh_iou(wh_a, wh_b) -> np.ndarray:
    """IoU de pares ancho/alto como si compartieran centro (para anclas de YOLOv2).

    Args:
        wh_a: (N, 2) ``w, h``.
        wh_b: (M, 2) ``w, h``.

    Returns:
        (N, M) con valores en [0, 1].

    Example:
        >>> wh_iou([[2, 2]], [[1, 4], [2, 2]])
        array([[0.33333333, 1.        ]])

    Referencia:
        Redmon y Farhadi, «YOLO9000: Better, Faster, Stronger» (2016), sección 2
        (*Dimension Clusters*).
    """
    a = np.clip(_as_boxes(wh_a, "wh_a", columns=2), 0.0, None)
    b = np.clip(_as_boxes(wh_b, "wh_b", columns=2), 0.0, None)
    intersection = (np.minimum(a[:, np.newaxis, 0], b[np.newaxis, :, 0])
                    * np.minimum(a[:, np.newaxis, 1], b[np.newaxis, :, 1]))  # (N, M)
    union = (a[:, 0] * a[:, 1])[:, np.newaxis] + (b[:, 0] * b[:, 1])[np.newaxis, :] \
        - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection),
                     where=union > 0)


def xyxy_to_cxcywh(boxes) -> np.ndarray:
    """``(xmin, ymin, xmax, ymax)`` → ``(cx, cy, w, h)``.

    Args:
        boxes: (N, 4).

    Returns:
        (N, 4).
    """
    boxes = _as_boxes(boxes, "boxes")
    sizes = boxes[:, 2:] - boxes[:, :2]
    return np.concatenate([boxes[:, :2] + sizes / 2.0, sizes], axis=1)


def cxcywh_to_xyxy(boxes) -> np.ndarray:
    """``(cx, cy, w, h)`` → ``(xmin, ymin, xmax, ymax)``.

    Args:
        boxes: (N, 4).

    Returns:
        (N, 4).
    """
    boxes = _as_boxes(boxes, "boxes")
    half = boxes[:, 2:] / 2.0
    return np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1)


def clip_boxes(boxes, width: float, height: float) -> np.ndarray:
    """Recorta cajas ``xyxy`` al rectángulo ``[0, width] × [0, height]``.

    Una caja totalmente fuera queda con ancho o alto 0 (ver :func:`box_area`).

    Args:
        boxes: (N, 4).
        width: ancho de la imagen en píxeles.
        height: alto de la imagen en píxeles.

    Returns:
        (N, 4) recortadas (copia).
    """
    boxes = _as_boxes(boxes, "boxes").copy()
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0.0, float(width))
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0.0, float(height))
    return boxes


def scale_boxes(boxes, scale_x: float, scale_y: float) -> np.ndarray:
    """Multiplica las coordenadas x por ``scale_x`` y las y por ``scale_y``.

    Es lo que se hace con las cajas al redimensionar su imagen.

    Args:
        boxes: (N, 4) ``xyxy``.
        scale_x: factor horizontal (ancho nuevo / ancho original).
        scale_y: factor vertical (alto nuevo / alto original).

    Returns:
        (N, 4).
    """
    return _as_boxes(boxes, "boxes") * np.array([scale_x, scale_y, scale_x, scale_y])


# === Tamaños de imagen ===

def as_size(value, name: str = "image_size") -> tuple[int, int]:
    """Un entero o un par de enteros positivos como ``(alto, ancho)``.

    Raises:
        ArgumentError: que nombra ``name``.
    """
    from nucleo.validacion import check_int

    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ArgumentError(f"«{name}» debe ser un entero o un par (alto, ancho); "
                            f"recibido {value!r}.")
    return check_int(value[0], name), check_int(value[1], name)
