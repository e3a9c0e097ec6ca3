"""Un vídeo generado de figuras en movimiento, con sus identidades conocidas (sin red).

Para medir el seguimiento (``redes deteccion predecir --video ... --seguir``): figuras
rellenas como las de :func:`datos.sinteticos.make_shapes_dataset` (círculos, cuadrados,
triángulos de color liso sobre un fondo con textura) que se mueven en línea recta y
rebotan en los bordes. El guion asegura lo difícil para un seguidor:

- las dos primeras figuras van una hacia la otra por la misma fila y se cruzan hacia el
  primer tercio del vídeo; la segunda, mayor y dibujada encima, **tapa** a la primera
  unos fotogramas (una oclusión corta);
- la tercera baja en vertical y corta la trayectoria de las dos primeras;
- el resto se mueven al azar (con la semilla) y se cruzan con las demás.

La verdad de terreno va en el formato de MOTChallenge (:mod:`datos.mot`): una fila por
figura y fotograma en que se ve al menos la mitad de su área, con la caja mínima de sus
píxeles **visibles** (como anota :func:`~datos.sinteticos.make_shapes_dataset`) y el ``id``
de la figura (1, 2, ...). :func:`simulated_detections` saca de ella las detecciones de un
detector casi perfecto (con ruido), para medir un seguidor sin el detector. Todo es
determinista con la semilla.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from datos.mot import mot_rows
from datos.mot import write_mot
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.validacion import check_int

logger = logging.getLogger("redes")

#: Las figuras que sabe dibujar el vídeo (las mismas formas que ``datos.sinteticos``).
VIDEO_SHAPES = ("circulo", "cuadrado", "triangulo")
#: Fracción mínima del área de una figura que debe verse para contar en la verdad.
MIN_VISIBLE = 0.5


@dataclasses.dataclass(frozen=True)
class SyntheticVideo:
    """Lo que escribe :func:`make_tracking_video`.

    Attributes:
        video: el MP4 (códec mp4v de OpenCV).
        ground_truth: el CSV de la verdad de terreno en formato MOT (sin cabecera).
        labels: la clase de cada ``id`` (``labels[id]``).
        frames: número de fotogramas.
        fps: fotogramas por segundo.
        size: ``(alto, ancho)`` de los fotogramas.
        occluded_frames: fotogramas en que alguna figura está tapada (menos de la mitad a
            la vista) sin haberse ido.
    """

    video: Path
    ground_truth: Path
    labels: dict[int, str]
    frames: int
    fps: float
    size: tuple[int, int]
    occluded_frames: int


def make_tracking_video(out_dir, *, name: str = "figuras", n_frames: int = 120,
                        image_size: tuple[int, int] = (160, 160), n_objects: int = 4,
                        classes: Sequence[str] = ("circulo", "cuadrado"), fps: float = 25.0,
                        seed: int = 0) -> SyntheticVideo:
    """Escribe ``out_dir/NOMBRE.mp4`` y su verdad ``out_dir/NOMBRE_gt.csv`` (formato MOT).

    Args:
        out_dir: carpeta de salida (se crea si no existe).
        name: nombre de los archivos.
        n_frames: fotogramas del vídeo.
        image_size: ``(alto, ancho)``; 160×160 es el tamaño del detector de la demo.
        n_objects: figuras (al menos 3: las del guion).
        classes: figuras que se dibujan, de :data:`VIDEO_SHAPES`; se alternan.
        fps: fotogramas por segundo del MP4.
        seed: semilla; la misma semilla escribe el mismo vídeo.

    Returns:
        Un :class:`SyntheticVideo`.

    Raises:
        ArgumentError: un argumento no válido (el mensaje lo nombra).

    Example:
        >>> video = make_tracking_video("videos", n_frames=90)    # doctest: +SKIP
        >>> video.video, video.ground_truth                       # doctest: +SKIP
        (PosixPath('videos/figuras.mp4'), PosixPath('videos/figuras_gt.csv'))
    """
    import cv2

    where = "make_tracking_video"
    check_int(n_frames, "n_frames", minimum=2, where=where)
    check_int(n_objects, "n_objects", minimum=3, maximum=12, where=where)
    check_int(seed, "seed", minimum=0, where=where)
    height, width = (check_int(v, "image_size", minimum=64, maximum=4096, where=where)
                     for v in image_size)
    classes = [classes] if isinstance(classes, str) else list(classes)
    if not classes or any(c not in VIDEO_SHAPES for c in classes):
        raise ArgumentError(f"{where}: «classes» debe ser una lista de figuras de "
                            f"{list(VIDEO_SHAPES)}; recibido {classes!r}.")
    if not 0 < float(fps) <= 240:
        raise ArgumentError(f"{where}: «fps» debe estar entre 0 y 240; recibido {fps!r}.")
    rng = np.random.default_rng(seed)
    background = _background(rng, height, width)
    objects = _script(rng, n_objects, n_frames, height, width, classes, background)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    video, truth = out / f"{name}.mp4", out / f"{name}_gt.csv"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), float(fps),
                             (width, height))
    if not writer.isOpened():
        raise DataError(f"No se puede escribir el vídeo {video} (códec mp4v de OpenCV).")
    rows, occluded = [], 0
    try:
        for frame in range(n_frames):
            image, boxes, hidden = _render(rng, background, objects, frame)
            occluded += hidden
            ids = sorted(boxes)
            rows += mot_rows(frame + 1, ids, [boxes[i] for i in ids])
            writer.write(image[:, :, ::-1])
    finally:
        writer.release()
    write_mot(truth, rows)
    logger.info("Escrito el vídeo %s (%d fotogramas, %d figuras) y su verdad %s", video,
                n_frames, n_objects, truth)
    return SyntheticVideo(video, truth, {k + 1: o["label"] for k, o in enumerate(objects)},
                          n_frames, float(fps), (height, width), occluded)


def _background(rng, height: int, width: int) -> np.ndarray:
    """Fondo fijo (H, W, 3) float: manchas de color suaves y líneas finas, como el de
    :mod:`datos.sinteticos`."""
    import cv2

    cells = int(rng.integers(3, 7))
    coarse = rng.uniform(40, 215, size=(cells, cells, 3)).astype(np.float32)
    image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(2, 5))):
        start = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.line(image, start, end, tuple(float(c) for c in rng.uniform(40, 215, size=3)), 1)
    return image


def _script(rng, n_objects: int, n_frames: int, height: int, width: int, classes, background):
    """Cada figura: clase, tamaño, color, posición inicial y velocidad (píxeles/fotograma)."""
    side = min(height, width)
    speed = 0.016 * width                       # píxeles por fotograma
    # Cuándo se cruzan las dos primeras: hacia el primer tercio, sin rebotar antes.
    meet = max(1, min(n_frames // 3, int((width / 2 - 0.1 * side) / speed)))
    row = rng.uniform(0.3, 0.45) * height
    objects = []
    for k in range(n_objects):
        label = classes[k % len(classes)]
        size = side * (0.17 if k == 0 else 0.28 if k == 1 else rng.uniform(0.16, 0.26))
        if k < 2:   # de frente por la misma fila: la 2.ª, mayor y encima, tapa a la 1.ª
            sign = 1 if k == 0 else -1
            position = (width / 2 - sign * speed * meet, row + (0 if k == 0 else 2))
            velocity = (sign * speed, 0.0)
        elif k == 2:  # baja en vertical por el cuarto derecho y corta su fila
            position = (0.78 * width, size / 2 + 1)
            velocity = (rng.uniform(-0.2, 0.2), speed * 0.8)
        else:
            position = (rng.uniform(size / 2, width - size / 2),
                        rng.uniform(size / 2, height - size / 2))
            angle = rng.uniform(0, 2 * np.pi)
            velocity = (speed * np.cos(angle), speed * np.sin(angle))
        objects.append({"label": label, "size": size, "angle": rng.uniform(0, np.pi),
                        "color": _contrasting_color(rng, background),
                        "position": np.array(position, float),
                        "velocity": np.array(velocity, float)})
    return objects


def _contrasting_color(rng, background: np.ndarray) -> np.ndarray:
    """El color, de 32 al azar, que más se distingue del fondo por donde pase la figura:
    el de mayor distancia L1 al 10 % de píxeles del fondo que más se le parecen."""
    pixels = background.reshape(-1, 3)[::7]
    candidates = rng.uniform(0, 255, size=(32, 3))
    distances = np.abs(pixels[None, :, :] - candidates[:, None, :]).sum(axis=2)
    return candidates[int(np.argmax(np.quantile(distances, 0.1, axis=1)))]


def _position(obj, frame: int, height: int, width: int) -> tuple[float, float]:
    """Posición en ``frame``: línea recta que rebota en los bordes (sin salirse)."""
    half = obj["size"] / 2
    coords = []
    for start, step, limit in zip(obj["position"], obj["velocity"], (width, height)):
        low, span = half, max(1e-6, limit - 2 * half)
        t = (start + step * frame - low) % (2 * span)
        coords.append(low + (t if t <= span else 2 * span - t))
    return coords[0], coords[1]


def _render(rng, background: np.ndarray, objects, frame: int):
    """El fotograma ``frame`` (uint8 RGB), las cajas visibles por ``id`` y si alguna
    figura está tapada."""
    height, width = background.shape[:2]
    image = background.copy()
    masks = []
    for obj in objects:
        mask = np.zeros((height, width), np.uint8)
        _draw_shape(mask, obj["label"], _position(obj, frame, height, width), obj["size"],
                    obj["angle"])
        mask = mask.astype(bool)
        image[mask] = obj["color"]
        masks.append(mask)
    boxes, hidden = {}, False
    for k, mask in enumerate(masks):
        covered = np.zeros_like(mask)
        for above in masks[k + 1:]:
            covered |= above
        visible = mask & ~covered
        if visible.sum() < MIN_VISIBLE * mask.sum():
            hidden = True
            continue
        rows, cols = np.flatnonzero(visible.any(axis=1)), np.flatnonzero(visible.any(axis=0))
        boxes[k + 1] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    image += rng.normal(0.0, 5.0, size=image.shape)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8), boxes, hidden


def _draw_shape(mask: np.ndarray, kind: str, center, size: float, angle: float) -> None:
    """La figura rellena con valor 1 en ``mask``: las de ``datos.sinteticos`` (el círculo,
    el cuadrado sin girar y el triángulo equilátero girado)."""
    import cv2

    cx, cy = center
    if kind == "circulo":
        cv2.circle(mask, (round(cx), round(cy)), max(2, round(size / 2)), 1, -1)
        return
    if kind == "cuadrado":
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * size / 2
    else:
        angles = angle + np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3]) - np.pi / 2
        corners = np.stack([np.cos(angles), np.sin(angles)], axis=1) * size / 2
    cv2.fillPoly(mask, [np.round(corners + np.array([cx, cy])).astype(np.int32)], 1)


def simulated_detections(video: SyntheticVideo, truth: np.ndarray, *, seed: int = 0,
                         jitter: float = 1.5, miss: float = 0.05,
                         false_frames: Sequence[int] = (40, 41, 90)) -> list[np.ndarray]:
    """Las detecciones de un detector casi perfecto, sacadas de la verdad con ruido fijado
    por la semilla: para medir un seguidor sin que cuente el detector.

    Cada caja verdadera se mueve ``jitter`` píxeles (desviación típica), falta con
    probabilidad ``miss`` y lleva una puntuación al azar entre 0.55 y 0.95 (así el orden
    cambia de un fotograma a otro, como el de un detector); en cada fotograma de
    ``false_frames`` hay además un falso positivo en la esquina inferior izquierda.

    Args:
        video: el :class:`SyntheticVideo` (sus clases y fotogramas).
        truth: su verdad, (N, 10) de :func:`datos.mot.read_mot`.

    Returns:
        Por fotograma, (M, 6) ``xmin, ymin, xmax, ymax, puntuación, clase`` por puntuación
        descendente; la clase es el índice en el orden alfabético de las clases del vídeo.
    """
    rng = np.random.default_rng(seed)
    classes = {name: k for k, name in enumerate(sorted(set(video.labels.values())))}
    per_frame = []
    for frame in range(1, video.frames + 1):
        rows = truth[truth[:, 0] == frame]
        rows = rows[rng.random(len(rows)) >= miss]
        boxes = np.c_[rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]]
        found = np.c_[boxes + rng.normal(0.0, jitter, boxes.shape),
                      rng.uniform(0.55, 0.95, len(rows)),
                      [classes[video.labels[int(i)]] for i in rows[:, 1]]].reshape(-1, 6)
        if frame in false_frames:
            side = 0.12 * min(video.size)
            bottom = video.size[0] - 2
            found = np.r_[found, [[2.0, bottom - side, 2.0 + side, bottom, 0.6, 0.0]]]
        per_frame.append(found[np.argsort(-found[:, 4], kind="stable")])
    return per_frame
