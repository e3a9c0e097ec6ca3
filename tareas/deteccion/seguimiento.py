"""Seguir objetos en vídeo: identidades estables entre fotogramas con ByteTrack.

Es ``redes deteccion predecir --video v.mp4 --seguir``. Las detecciones de cada fotograma
(las del mismo YOLOv2 que ``predecir``) pasan por ByteTrack (Zhang et al., 2022), el de
la biblioteca ``trackers`` de Roboflow: un filtro de Kalman predice dónde estará cada
objeto y la asignación húngara por IoU le da su detección, primero con las de
puntuación alta y luego con las bajas (así no se pierde un objeto medio tapado); un
objeto sin detección se conserva un segundo antes de darlo por ido.

- :class:`ObjectTracker` sigue los objetos fotograma a fotograma, guarda las filas en el
  formato de MOTChallenge (:mod:`datos.mot`) y, con una línea, cuenta los cruces;
- :func:`frame_by_frame_rows` es la referencia sin seguimiento: en cada fotograma las
  detecciones numeradas en orden (lo que hace ``predecir --video`` sin ``--seguir``);
- :func:`mot_metrics` mide un seguimiento contra la verdad de terreno con ``motmetrics``
  (MOTA, IDF1 y cambios de identidad).

Ni ``trackers`` ni ``motmetrics`` usan la red ni descargan modelos; vienen en el extra
``seguimiento``.
"""

from __future__ import annotations

import colorsys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from datos.mot import mot_rows
from datos.mot import write_mot
from informes.resultado import Table
from nucleo.errores import ArgumentError
from nucleo.errores import EnvironmentSetupError

#: Sufijo del CSV de seguimiento: ``VIDEO_seguimiento.csv`` junto al vídeo dibujado.
TRACKS_SUFFIX = "_seguimiento"
INSTALL_HINT = ('instálalo con pip install "redes-keras[seguimiento]" (o, desde el '
                'repositorio, pip install ".[seguimiento]")')


def require_tracking(what: str = "trackers") -> None:
    """Comprueba que se puede importar ``what`` (``trackers`` o ``motmetrics``).

    Raises:
        EnvironmentSetupError: si no está instalado, con la orden de pip que lo instala.
    """
    import importlib

    try:
        importlib.import_module(what)
    except ImportError:
        use = "seguir objetos (--seguir)" if what == "trackers" else "medir el seguimiento"
        raise EnvironmentSetupError(f"Para {use} hace falta «{what}», que no está "
                                    f"instalado: {INSTALL_HINT}.") from None


def tracks_path(video, out_dir=None) -> Path:
    """``calle.mp4`` → ``calle_seguimiento.csv`` (en ``out_dir`` si se da)."""
    video = Path(video)
    folder = video.parent if out_dir is None else Path(out_dir)
    return folder / f"{video.stem}{TRACKS_SUFFIX}.csv"


def id_color(identity: int) -> tuple[int, int, int]:
    """Un color RGB vivo y fijo para cada identidad (tonos separados por la razón áurea)."""
    hue = (int(identity) * 0.618033988749895) % 1.0
    return tuple(round(255 * c) for c in colorsys.hsv_to_rgb(hue, 0.9, 1.0))


class ObjectTracker:
    """ByteTrack sobre las detecciones de un vídeo, fotograma a fotograma.

    Args:
        frame_rate: fotogramas por segundo del vídeo (escala el tiempo que se conserva un
            objeto perdido).
        lost_seconds: segundos que se conserva un objeto sin detección.
        high_threshold: puntuación que separa las detecciones altas (primera asignación)
            de las bajas (segunda); como mucho, ``new_track_threshold``.
        new_track_threshold: puntuación mínima para empezar un objeto nuevo. 0.5 y 0.6 son
            los de ByteTrack (``track_thresh`` y ``det_thresh``); en otros tres vídeos
            generados, con el detector de ``bench/seguimiento.py``, fueron los mejores.
        min_iou: IoU mínima entre la caja predicha y la detección para asignarlas.
        line: ``(x1, y1, x2, y2)`` en píxeles: cuenta los objetos que la cruzan.

    Raises:
        EnvironmentSetupError: sin el extra ``seguimiento``.
        ArgumentError: un umbral fuera de [0, 1] o una línea sin longitud.

    Example:
        >>> tracker = ObjectTracker(25.0)                      # doctest: +SKIP
        >>> rows, ids = tracker.update(detecciones)             # doctest: +SKIP
        >>> tracker.save("calle_seguimiento.csv")               # doctest: +SKIP
    """

    def __init__(self, frame_rate: float = 30.0, *, lost_seconds: float = 1.0,
                 high_threshold: float = 0.5, new_track_threshold: float = 0.6,
                 min_iou: float = 0.1, line: Sequence[float] | None = None):
        require_tracking()
        from trackers import ByteTrackTracker

        for name, value in (("high_threshold", high_threshold), ("min_iou", min_iou),
                            ("new_track_threshold", new_track_threshold)):
            if not 0.0 <= float(value) <= 1.0:
                raise ArgumentError(f"ObjectTracker: «{name}» debe estar entre 0 y 1; "
                                    f"recibido {value!r}.")
        if not (np.isfinite(frame_rate) and frame_rate > 0 and lost_seconds >= 0):
            raise ArgumentError("ObjectTracker: «frame_rate» debe ser positivo y "
                                "«lost_seconds», no negativo.")
        self._bytetrack = ByteTrackTracker(
            lost_track_buffer=round(30 * lost_seconds), frame_rate=float(frame_rate),
            track_activation_threshold=new_track_threshold, minimum_iou_threshold=min_iou,
            high_conf_det_threshold=min(high_threshold, new_track_threshold),
            minimum_consecutive_frames=2)
        self.line = None if line is None else check_line(line)
        self.frame = 0
        self.rows: list[list] = []
        self.crossings: Counter = Counter()     # (clase, "entradas" | "salidas") → cuántos
        self._last_center: dict[int, np.ndarray] = {}

    def update(self, detections) -> tuple[np.ndarray, np.ndarray]:
        """Sigue las detecciones del fotograma siguiente.

        Args:
            detections: (N, 6) ``xmin, ymin, xmax, ymax, puntuación, clase`` en píxeles.

        Returns:
            ``(filas, ids)``: las detecciones con identidad, (M, 6) como la entrada, e
            ``ids`` (M,), enteros positivos estables entre fotogramas. Las que aún no se
            han confirmado (un objeto nuevo se confirma en su segundo fotograma) no salen.
        """
        import supervision as sv

        rows = np.asarray(detections, dtype=np.float64).reshape(-1, 6)
        self.frame += 1
        tracked = self._bytetrack.update(sv.Detections(
            xyxy=rows[:, :4].astype(np.float32), confidence=rows[:, 4].astype(np.float32),
            class_id=rows[:, 5].astype(int), data={"fila": np.arange(len(rows))}))
        keep = np.asarray(tracked.tracker_id) >= 0
        order = np.asarray(tracked.data.get("fila", np.zeros(0, int)), dtype=int)[keep]
        ids = np.asarray(tracked.tracker_id, dtype=int)[keep] + 1   # MOT: desde 1
        out = rows[order]
        self.rows += mot_rows(self.frame, ids, out[:, :4], out[:, 4])
        if self.line is not None:
            self._count_crossings(out, ids)
        return out, ids

    def _count_crossings(self, rows: np.ndarray, ids: np.ndarray) -> None:
        x1, y1, x2, y2 = self.line
        start, end = np.array([x1, y1]), np.array([x2, y2])
        for row, identity in zip(rows, ids, strict=True):
            center = np.array([(row[0] + row[2]) / 2, (row[1] + row[3]) / 2])
            after = _side(start, end, center)
            if after == 0:      # encima de la línea: cuenta cuando acabe de pasar
                continue
            previous = self._last_center.get(int(identity))   # el último fuera de la línea
            self._last_center[int(identity)] = center
            if previous is None:
                continue
            if _side(start, end, previous) * after < 0 and _side(previous, center, start) \
                    * _side(previous, center, end) <= 0:
                self.crossings[(int(row[5]), "entradas" if after > 0 else "salidas")] += 1

    def draw_line(self, image: np.ndarray) -> np.ndarray:
        """Dibuja la línea de conteo (si hay) sobre ``image`` (la modifica) y la devuelve."""
        import cv2

        if self.line is not None:
            x1, y1, x2, y2 = (round(v) for v in self.line)
            cv2.line(image, (x1, y1), (x2, y2), (255, 255, 0), max(1, image.shape[0] // 200))
        return image

    @property
    def identities(self) -> int:
        """Cuántas identidades distintas se han dado."""
        return len({row[1] for row in self.rows})

    def save(self, path) -> Path:
        """Escribe las filas en ``path`` (formato MOT, de forma atómica)."""
        return write_mot(path, self.rows)

    def summary(self, labels: Sequence[str]) -> tuple[dict, list[Table]]:
        """``(cifras, tablas)`` para el resultado: identidades y, con línea, los cruces."""
        metrics = {"identidades": self.identities}
        if self.line is None:
            return metrics, []
        metrics["entradas"] = sum(n for (_, way), n in self.crossings.items()
                                  if way == "entradas")
        metrics["salidas"] = sum(n for (_, way), n in self.crossings.items()
                                 if way == "salidas")
        rows = [(name, self.crossings[(k, "entradas")], self.crossings[(k, "salidas")])
                for k, name in enumerate(labels)]
        line = ", ".join(f"{v:g}" for v in self.line)
        return metrics, [Table(f"Cruces de la línea ({line})", ("Clase", "Entradas",
                                                                  "Salidas"), rows)]

    def add_to(self, result, path, labels: Sequence[str]):
        """Escribe el CSV ``path`` y añade a ``result``, el
        :class:`~informes.resultado.TaskResult` de la detección, el archivo
        (``files["seguimiento"]``), las identidades y los cruces."""
        metrics, tables = self.summary(labels)
        result.files["seguimiento"] = self.save(path)
        result.metrics.update(metrics)
        result.tables += tables
        result.title = result.title.replace("Detección", "Seguimiento", 1)
        return result


def check_line(line) -> tuple[float, float, float, float]:
    """La línea de conteo ``(x1, y1, x2, y2)`` como 4 números finitos.

    Raises:
        ArgumentError: si no son 4 números finitos o los dos puntos coinciden.
    """
    values = tuple(float(v) for v in line)
    if len(values) != 4 or not all(np.isfinite(values)) \
            or values[:2] == values[2:]:
        raise ArgumentError("La línea de conteo debe ser X1 Y1 X2 Y2 en píxeles, dos puntos "
                            f"distintos; recibido {list(line)!r}.")
    return values


def _side(start: np.ndarray, end: np.ndarray, point: np.ndarray) -> float:
    """Positivo a la derecha de ``start → end`` (con el eje y hacia abajo), negativo a la
    izquierda, 0 encima."""
    return float((end[0] - start[0]) * (point[1] - start[1])
                 - (end[1] - start[1]) * (point[0] - start[0]))


def track_detections(per_frame: Sequence, frame_rate: float = 30.0, **options) -> np.ndarray:
    """Sigue con :class:`ObjectTracker` las detecciones de cada fotograma, ya calculadas.

    Args:
        per_frame: por fotograma, (N, 6) ``xmin, ymin, xmax, ymax, puntuación, clase``.
        frame_rate: fotogramas por segundo.
        **options: los de :class:`ObjectTracker`.

    Returns:
        Las filas MOT (M, 10).
    """
    tracker = ObjectTracker(frame_rate, **options)
    for detections in per_frame:
        tracker.update(detections)
    return np.asarray(tracker.rows, dtype=np.float64).reshape(-1, 10)


def frame_by_frame_rows(per_frame: Sequence) -> np.ndarray:
    """La referencia sin seguimiento: las detecciones de cada fotograma numeradas 1, 2, ...
    en su orden (el del detector: por puntuación descendente), sin asociarlas entre
    fotogramas. Devuelve las filas MOT (M, 10)."""
    rows = []
    for frame, detections in enumerate(per_frame, start=1):
        detections = np.asarray(detections, dtype=np.float64).reshape(-1, 6)
        rows += mot_rows(frame, range(1, len(detections) + 1), detections[:, :4],
                         detections[:, 4])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 10)


def mot_metrics(truth, hypotheses, *, iou: float = 0.5) -> dict[str, float]:
    """MOTA, IDF1 y cambios de identidad de ``hypotheses`` frente a ``truth`` (motmetrics).

    Una hipótesis corresponde a un objeto verdadero si su IoU es ≥ ``iou`` (0.5, como en
    MOTChallenge).

    Args:
        truth: filas MOT (N, 10) de la verdad (:func:`datos.mot.read_mot`).
        hypotheses: filas MOT (M, 10) del seguimiento.
        iou: IoU mínima de una correspondencia.

    Returns:
        ``mota``, ``idf1``, ``cambios_identidad``, ``falsos_positivos``, ``perdidos``,
        ``objetos`` (identidades verdaderas) y ``fotogramas``.

    Raises:
        EnvironmentSetupError: sin ``motmetrics`` (extra ``seguimiento``).
    """
    require_tracking("motmetrics")
    import motmetrics

    truth = np.asarray(truth, dtype=np.float64).reshape(-1, 10)
    hypotheses = np.asarray(hypotheses, dtype=np.float64).reshape(-1, 10)
    accumulator = motmetrics.MOTAccumulator(auto_id=False)
    for frame in np.unique(np.concatenate([truth[:, 0], hypotheses[:, 0]])):
        objects, guesses = truth[truth[:, 0] == frame], hypotheses[hypotheses[:, 0] == frame]
        accumulator.update(objects[:, 1].astype(int), guesses[:, 1].astype(int),
                           iou_distances(objects[:, 2:6], guesses[:, 2:6], iou),
                           frameid=int(frame))
    names = {"mota": "mota", "idf1": "idf1", "num_switches": "cambios_identidad",
             "num_false_positives": "falsos_positivos", "num_misses": "perdidos",
             "num_unique_objects": "objetos", "num_frames": "fotogramas"}
    summary = motmetrics.metrics.create().compute(accumulator, metrics=list(names))
    return {ours: (float(summary[theirs].iloc[0]) if ours in ("mota", "idf1")
                   else int(summary[theirs].iloc[0])) for theirs, ours in names.items()}


def iou_distances(truth_xywh, guess_xywh, iou: float = 0.5) -> np.ndarray:
    """``1 − IoU`` entre cajas ``x, y, ancho, alto``; ``NaN`` (sin correspondencia posible)
    donde la IoU es menor que ``iou``. Es la de ``motmetrics.distances.iou_matrix``, que
    usa ``np.asfarray`` (ya no existe en numpy 2)."""
    a = np.asarray(truth_xywh, dtype=np.float64).reshape(-1, 1, 4)
    b = np.asarray(guess_xywh, dtype=np.float64).reshape(1, -1, 4)
    width = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) \
        - np.maximum(a[..., 0], b[..., 0])
    height = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) \
        - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return np.where(overlap >= iou, 1.0 - overlap, np.nan)
