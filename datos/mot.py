"""Archivos de seguimiento en el formato de MOTChallenge (texto CSV, sin cabecera).

Una fila por objeto y fotograma, con 10 columnas::

    fotograma, id, bb_left, bb_top, bb_width, bb_height, conf, -1, -1, -1

Los fotogramas empiezan en 1 y los ``id`` son enteros positivos; la caja va en píxeles
(esquina superior izquierda, ancho y alto). ``conf`` es la puntuación de la detección
(1 en la verdad de terreno). Es lo que leen ``motmetrics`` (``loadtxt(..., fmt="mot15-2D")``),
TrackEval y el paquete ``trackers``.

Referencia: Milan et al., «MOT16: A Benchmark for Multi-Object Tracking» (2016), §3.3.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from nucleo.errores import DataError

#: Las columnas de una fila, en orden.
MOT_COLUMNS = ("fotograma", "id", "bb_left", "bb_top", "bb_width", "bb_height", "conf",
               "x", "y", "z")
#: Tamaño máximo de un archivo MOT que se lee (64 MiB).
MAX_MOT_BYTES = 64 * 2 ** 20


def mot_rows(frame: int, ids, boxes, scores=None) -> list[list]:
    """Las filas MOT de un fotograma: ``boxes`` (N, 4) ``xmin, ymin, xmax, ymax`` en píxeles,
    ``ids`` (N,) enteros positivos y ``scores`` (N,) (1 si no se dan)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.ones(len(boxes)) if scores is None else np.asarray(scores, dtype=np.float64)
    return [[int(frame), int(i), round(float(x1), 2), round(float(y1), 2),
             round(float(x2 - x1), 2), round(float(y2 - y1), 2), round(float(s), 4), -1, -1, -1]
            for i, (x1, y1, x2, y2), s in zip(ids, boxes, scores, strict=True)]


def write_mot(path, rows) -> Path:
    """Escribe ``rows`` (listas de 10 valores) en ``path`` de forma atómica, sin cabecera."""
    from nucleo.archivos import atomic_write

    def write(handle) -> None:
        csv.writer(handle, lineterminator="\n").writerows(rows)

    return atomic_write(path, write, text=True)


def read_mot(path) -> np.ndarray:
    """Lee un archivo MOT validado: (N, 10) ``float64``, en el orden del archivo.

    Raises:
        DataError: si no existe, es demasiado grande o una línea no tiene 10 números
            finitos, un fotograma ≥ 1 y un ``id`` entero positivo (nombra el archivo y la
            línea).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"El archivo de seguimiento {path} no existe o no es un archivo.")
    if path.stat().st_size > MAX_MOT_BYTES:
        raise DataError(f"{path} ocupa más de {MAX_MOT_BYTES // 2 ** 20} MiB: no parece un "
                        "archivo MOT.")
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        for number, fields in enumerate(csv.reader(handle), start=1):
            if not fields or not "".join(fields).strip():
                continue
            rows.append(_parse_row(fields, path, number))
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(MOT_COLUMNS))


def _parse_row(fields: list[str], path: Path, number: int) -> list[float]:
    where = f"{path}, línea {number}"
    if len(fields) != len(MOT_COLUMNS):
        raise DataError(f"{where}: se esperaban {len(MOT_COLUMNS)} columnas "
                        f"({', '.join(MOT_COLUMNS)}); hay {len(fields)}.")
    try:
        values = [float(v) for v in fields]
    except ValueError:
        raise DataError(f"{where}: todas las columnas deben ser números; "
                        f"recibido {','.join(fields)!r}.") from None
    if not all(math.isfinite(v) for v in values):
        raise DataError(f"{where}: hay un valor infinito o NaN.")
    frame, identity, _, _, width, height = values[:6]
    if frame < 1 or frame != int(frame):
        raise DataError(f"{where}: el fotograma debe ser un entero ≥ 1 (recibido {frame:g}).")
    if identity < 1 or identity != int(identity):
        raise DataError(f"{where}: el id debe ser un entero positivo (recibido {identity:g}).")
    if width < 0 or height < 0:
        raise DataError(f"{where}: el ancho y el alto de la caja no pueden ser negativos.")
    return values
