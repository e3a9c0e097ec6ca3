"""Detectar objetos en imágenes, vídeos y la cámara con un modelo YOLOv2 guardado.

Es ``redes deteccion predecir``:

- ``IMAGEN...`` → ``nombre_detected.png`` con cajas verdes, etiqueta y puntuación
  (como ``draw_boxes`` del artículo) y una línea por detección;
- ``--video entrada.mp4`` → ``entrada_detected.mp4`` fotograma a fotograma, con barra
  de progreso;
- ``--camara 0`` → una ventana de OpenCV (``cv2.imshow``) con la imagen de la cámara y
  sus cajas; ``q`` o Esc (o cerrar la ventana) termina. Usa el mismo código que el vídeo:
  solo cambian la fuente (la cámara) y el destino (la ventana).

Las imágenes se leen con :func:`modelos.yolo.preprocesado.read_image`, el mismo
decodificador (con la orientación EXIF aplicada) que el entrenamiento y la evaluación:
las cajas se dibujan en el marco en que se anotó.
"""

from __future__ import annotations

import dataclasses
import io
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.errores import EnvironmentSetupError
from nucleo.validacion import check_int
from informes.resultado import TaskResult
from nucleo.errores import ModelFileError
from tareas.base import Predictor
from modelos.registro import builder_spec
from modelos.registro import family_of
from modelos.yolo.preprocesado import resize_image
from tareas.deteccion.seguimiento import ObjectTracker
from tareas.deteccion.seguimiento import id_color

logger = logging.getLogger("redes")

GREEN = (0, 255, 0)
SUFFIX = "_detected"


def draw_boxes(image: np.ndarray, detections, labels: Sequence[str], ids=None) -> np.ndarray:
    """Dibuja cada detección como el ``draw_boxes`` del artículo: caja verde y texto.

    Args:
        image: ``uint8`` (alto, ancho, 3) RGB (no se modifica).
        detections: (N, 6) ``xmin, ymin, xmax, ymax, puntuación, clase`` en píxeles.
        labels: nombres de las clases.
        ids: con seguimiento, la identidad de cada detección: la caja toma su color
            (:func:`~tareas.deteccion.seguimiento.id_color`) y el texto, ``#3 circulo 0.87``.

    Returns:
        Una copia de ``image`` con las cajas.
    """
    import cv2

    out = np.ascontiguousarray(image, dtype=np.uint8).copy()
    height = out.shape[0]
    thickness = max(1, round(height / 200))
    scale = max(0.35, 1e-3 * height)
    rows = np.asarray(detections).reshape(-1, 6)
    for (xmin, ymin, xmax, ymax, score, cls), identity in zip(
            rows, [None] * len(rows) if ids is None else ids, strict=True):
        p1, p2 = (int(xmin), int(ymin)), (int(xmax), int(ymax))
        color = GREEN if identity is None else id_color(identity)
        cv2.rectangle(out, p1, p2, color, thickness)
        text = ("" if identity is None else f"#{identity} ") + f"{labels[int(cls)]} {score:.2f}"
        (text_w, text_h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        # Encima de la caja, o dentro si no cabe por arriba; fondo oscuro para leerlo.
        top = p1[1] - text_h - base - 2 if p1[1] - text_h - base - 2 >= 0 else p1[1]
        cv2.rectangle(out, (p1[0], top), (p1[0] + text_w + 2, top + text_h + base + 2),
                      (0, 0, 0), -1)
        cv2.putText(out, text, (p1[0] + 1, top + text_h + 1), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, color, thickness, cv2.LINE_AA)
    return out


def describe(detections, labels: Sequence[str]) -> list[dict[str, Any]]:
    """Detecciones como diccionarios JSON: etiqueta, puntuación y caja en píxeles."""
    return [{"etiqueta": labels[int(row[5])], "puntuacion": round(float(row[4]), 4),
             "caja": [round(float(v), 1) for v in row[:4]]}
            for row in np.asarray(detections).reshape(-1, 6)]


def detected_path(path, out_dir=None, suffix: str = ".png") -> Path:
    """``foto.jpg`` → ``foto_detected.png`` (en ``out_dir`` si se da)."""
    path = Path(path)
    folder = path.parent if out_dir is None else Path(out_dir)
    return folder / f"{path.stem}{SUFFIX}{suffix}"


def detect_images(model, paths: Sequence, *, out_dir=None, obj_threshold: float = 0.3,
                  nms_threshold: float = 0.3) -> list[TaskResult]:
    """Detecta en cada imagen y escribe ``nombre_detected.png`` con las cajas.

    Cada imagen pasa por :meth:`DetectionPredictor.prepare` y
    :meth:`~DetectionPredictor.run_batch`, como en el servicio: las mismas cajas y el
    mismo PNG dibujado.

    Args:
        model: el :class:`DetectionPredictor` de :func:`load`, la ruta de los pesos
            (``.h5`` o exportación; se abren con keras) o un YOLOv2 ya cargado (el modelo
            de Keras o un motor de :mod:`inferencia.motores`).
        paths: rutas de las imágenes.
        out_dir: carpeta de los PNG (por defecto, la de cada imagen).
        obj_threshold: puntuación mínima.
        nms_threshold: umbral de IoU de la NMS.

    Returns:
        Un :class:`~informes.resultado.TaskResult` por imagen: ``files["detectada"]``
        y en ``data`` ``imagen`` y ``detecciones`` (etiqueta, puntuación y caja en píxeles).

    Example:
        >>> from tareas.deteccion import detect_images, load
        >>> detector = load("pesos/yolo/modelo.h5", "openvino")       # doctest: +SKIP
        >>> (r,) = detect_images(detector, ["foto.jpg"], out_dir="salida")  # doctest: +SKIP
        >>> r.data["detecciones"]                                    # doctest: +SKIP
        [{'etiqueta': 'lego', 'puntuacion': 0.91, 'caja': [12.0, 30.5, 80.0, 96.0]}]
    """
    from nucleo.archivos import atomic_write

    predictor = as_predictor(model)
    results = []
    for path in paths:
        (answer,) = predictor.run_batch([predictor.prepare(
            Path(path), obj_threshold, True, nms_threshold=nms_threshold)])
        out = detected_path(path, out_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda handle, png=answer["png"]: handle.write(png))
        found = [{"etiqueta": box["etiqueta"], "puntuacion": box["puntuacion"],
                  "caja": [box["x1"], box["y1"], box["x2"], box["y2"]]}
                 for box in answer["cajas"]]
        lines = [f"{path}: {len(found)} objeto{'' if len(found) == 1 else 's'}"]
        lines += [f"  {d['etiqueta']} {d['puntuacion']:.2f} ["
                  + ", ".join(f"{v:.0f}" for v in d["caja"]) + "]" for d in found]
        results.append(TaskResult(title=str(path), files={"detectada": out},
                                  data={"imagen": str(path), "detecciones": found},
                                  text=["\n".join(lines)]))
    return results


class FrameWindow:
    """Ventana de OpenCV (``cv2.imshow``) que muestra fotogramas; ``q``, Esc o cerrarla
    la termina.

    :func:`run_stream` solo necesita ``show(frame) -> bool`` y ``close()``: las pruebas
    usan una ventana falsa con esos dos métodos.

    Raises:
        EnvironmentSetupError: si no hay pantalla (``DISPLAY`` en Linux) o el OpenCV
            instalado no tiene interfaz gráfica (``opencv-python-headless``).
    """

    QUIT_KEYS = frozenset({ord("q"), ord("Q"), 27})  # 27 = Esc

    def __init__(self, title: str = "redes deteccion predecir (q para salir)"):
        import cv2

        if sys.platform.startswith(("linux", "freebsd", "openbsd")) \
                and not os.environ.get("DISPLAY"):
            raise EnvironmentSetupError(
                "No hay ventana donde mostrar la cámara: no hay pantalla (la variable DISPLAY "
                "está vacía). Ejecútalo en un escritorio o graba un vídeo con --video.")
        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
            raise EnvironmentSetupError(
                "No hay ventana donde mostrar la cámara: este OpenCV no puede abrir ventanas "
                f"({reason}). Instala opencv-python (no la versión headless) o graba un "
                "vídeo con --video.") from None

    def show(self, frame: np.ndarray) -> bool:
        """Muestra ``frame`` (RGB); devuelve ``False`` cuando hay que terminar."""
        import cv2

        cv2.imshow(self.title, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        key = cv2.waitKey(1)
        if key != -1 and (key & 0xFF) in self.QUIT_KEYS:
            return False
        # La ventana cerrada con el ratón deja de ser visible.
        return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1

    def close(self) -> None:
        import cv2

        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)  # deja que la ventana se cierre de verdad


def open_capture(source):
    """Abre un vídeo (ruta) o una cámara (índice entero) con OpenCV.

    Raises:
        DataError: si no se puede abrir (nombra la fuente).
    """
    import cv2

    if isinstance(source, (str, Path)) and not str(source).isdigit():
        if not Path(source).is_file():
            raise DataError(f"El vídeo {source} no existe o no es un archivo.")
        capture = cv2.VideoCapture(str(source))
        what = f"el vídeo {source}"
    else:
        capture = cv2.VideoCapture(int(source))
        what = f"la cámara {source}"
    if not capture.isOpened():
        raise DataError(f"No se puede abrir {what}: OpenCV no lo reconoce "
                        "(¿formato o dispositivo correctos?).")
    return capture


def run_stream(model, source, *, output=None, window=None, obj_threshold: float = 0.3,
               nms_threshold: float = 0.3, max_frames: int | None = None,
               batch_size: int = 4, tracks=None, tracking=None) -> TaskResult:
    """Detecta fotograma a fotograma de un vídeo o una cámara.

    ``model`` es como en :func:`detect_images`. Los fotogramas se procesan por lotes de
    ``batch_size`` (uno si hay ventana, para no retrasar la imagen); cada lote pasa por
    :meth:`DetectionPredictor.prepare` y :meth:`DetectionPredictor.detect`, la misma red,
    decodificación y NMS que las fotos y el servicio. Cada fotograma con sus cajas va a
    ``output`` (un MP4 con los mismos fotogramas por segundo y tamaño) y/o a ``window``
    (un objeto con ``show(frame) -> bool``, como :class:`FrameWindow`; ``False`` termina).
    Con ``tracks`` (un CSV), sigue los objetos con ByteTrack (``tracking``: las opciones de
    :class:`~tareas.deteccion.seguimiento.ObjectTracker`, como ``line``, que cuenta sus
    cruces): cada caja lleva su identidad y las filas van a ``tracks`` en el formato MOT.

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` (``fotogramas``,
        ``detecciones``), ``files["video"]`` si se grabó y ``data["interrumpido"]``; con
        seguimiento, ``files["seguimiento"]``, ``identidades`` y los cruces de la línea.

    Raises:
        DataError: fuente que no se abre o destino que no se puede escribir.
    """
    import cv2
    from tqdm.auto import tqdm

    from nucleo.archivos import atomic_path

    if output is None and window is None:
        raise ArgumentError("run_stream: indique un vídeo de salida, una ventana o ambos.")
    predictor = as_predictor(model)
    labels = predictor.labels
    batch_size = 1 if window is not None else check_int(batch_size, "batch_size")
    frames = detections_total = 0
    interrupted = False
    with contextlib.ExitStack() as stack:
        capture = open_capture(source)
        stack.callback(capture.release)
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        tracker = None if tracks is None else ObjectTracker(fps, **(tracking or {}))
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        if max_frames is not None:
            total = max_frames if total is None else min(total, max_frames)
        tmp = None if output is None else stack.enter_context(
            atomic_path(output, keep_suffix=True))
        writer = None
        bar = stack.enter_context(tqdm(total=total, desc="Fotogramas", unit="fotograma"))
        while not interrupted:
            wanted = batch_size if max_frames is None else min(batch_size, max_frames - frames)
            batch = _read_frames(capture, wanted) if wanted > 0 else []
            if not batch:
                break
            found = predictor.detect([predictor.prepare(frame, obj_threshold, False,
                                                        nms_threshold=nms_threshold)
                                      for frame in batch])
            for frame, rows in zip(batch, found, strict=True):
                drawn = _draw(frame, rows, labels, tracker)
                detections_total += len(rows)
                if tmp is not None:
                    if writer is None:
                        writer = _open_writer(tmp, fps, drawn.shape, output)
                        stack.callback(writer.release)
                    writer.write(cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
                if window is not None and not window.show(drawn):
                    interrupted = True
                    break
            frames += len(batch)
            bar.update(len(batch))
        if tmp is not None and writer is None:
            raise DataError(f"{source} no tiene ningún fotograma legible.")
    result = TaskResult(title=f"Detección en {source}",
                        metrics={"fotogramas": frames, "detecciones": detections_total},
                        files={} if output is None else {"video": Path(output)},
                        data={"interrumpido": interrupted},
                        text=["interrumpido con q"] if interrupted else [])
    return result if tracker is None else tracker.add_to(result, tracks, labels)


def _draw(frame: np.ndarray, rows, labels, tracker) -> np.ndarray:
    """Las cajas de un fotograma; con seguimiento, las de los objetos seguidos con su
    identidad, y la línea de conteo."""
    if tracker is None:
        return draw_boxes(frame, rows, labels)
    rows, ids = tracker.update(rows)
    return tracker.draw_line(draw_boxes(frame, rows, labels, ids))


def _read_frames(capture, count: int) -> list[np.ndarray]:
    import cv2

    frames = []
    for _ in range(count):
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    return frames


def _open_writer(path, fps: float, shape, output):
    import cv2

    height, width = shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise DataError(f"No se puede escribir el vídeo {output} (códec mp4v de OpenCV).")
    return writer


# === El predictor de la tarea (CLI, API y servicio) ===

def encode_png(image: np.ndarray) -> bytes:
    """``uint8`` RGB → bytes de un PNG, en memoria."""
    from PIL import Image

    with io.BytesIO() as handle:
        Image.fromarray(image).save(handle, format="PNG")
        return handle.getvalue()


@dataclasses.dataclass
class DetectionInput:
    image: np.ndarray       # uint8 (H, W, 3) original, para dibujar y medir
    resized: np.ndarray     # uint8 (alto, ancho, 3), la entrada de la red
    threshold: float        # puntuación mínima
    draw: bool              # devolver también el PNG con las cajas
    nms_threshold: float = 0.3


class DetectionPredictor(Predictor):
    """Un YOLOv2 cargado: detecta en las imágenes de varias peticiones a la vez."""

    task = "deteccion"

    def __init__(self, weights, engine):
        super().__init__(weights, engine)
        from modelos.yolo.constructor import yolo_config
        from modelos.yolo.decodificacion import input_size, model_anchors

        self.labels = list(yolo_config(engine)["labels"])
        self.anchors = model_anchors(engine)
        self.input_size = input_size(engine)

    def details(self):
        return {"entrada": [*self.input_size, 3], "etiquetas": self.labels}

    def prepare(self, image, threshold: float = 0.3, draw: bool = False, *,
                nms_threshold: float = 0.3) -> DetectionInput:
        """Una imagen (``uint8`` RGB o gris, o una ruta) redimensionada a la red.

        Una ruta se lee como en el entrenamiento (:func:`modelos.yolo.preprocesado.read_image`,
        con la orientación EXIF aplicada). ``threshold`` es la puntuación mínima,
        ``nms_threshold`` el umbral de IoU de la NMS y ``draw`` pide el PNG con las cajas.

        Raises:
            ArgumentError: un arreglo que no es una imagen ``uint8``.
            DataError: una ruta que no se puede leer como imagen (la nombra).
        """
        from modelos.yolo.preprocesado import read_image

        image = read_image(image)
        return DetectionInput(image, resize_image(image, self.input_size), threshold, draw,
                              nms_threshold)

    def example_input(self):
        return self.prepare(np.zeros((*self.input_size, 3), np.uint8), 0.3, False)

    def detect(self, items: list[DetectionInput]) -> list[np.ndarray]:
        """Las cajas de cada entrada: una pasada de la red, la decodificación y la NMS.

        Returns:
            Por entrada, (N, 6) ``xmin, ymin, xmax, ymax, puntuación, clase`` en píxeles
            de la imagen original, por puntuación descendente.
        """
        from modelos.yolo.decodificacion import decode, network_outputs, to_pixels

        netouts = network_outputs(self.engine, np.stack([item.resized for item in items]))
        return [to_pixels(decode(netout, self.anchors, item.threshold, item.nms_threshold),
                          item.image.shape[1], item.image.shape[0])
                for item, netout in zip(items, netouts, strict=True)]

    def run_batch(self, items: list[DetectionInput]) -> list[dict[str, Any]]:
        results = []
        for item, found in zip(items, self.detect(items), strict=True):
            result = {"ancho": int(item.image.shape[1]), "alto": int(item.image.shape[0]),
                      "cajas": [{"etiqueta": row["etiqueta"], "puntuacion": row["puntuacion"],
                                 "x1": row["caja"][0], "y1": row["caja"][1],
                                 "x2": row["caja"][2], "y2": row["caja"][3]}
                                for row in describe(found, self.labels)]}
            if item.draw:
                result["png"] = encode_png(draw_boxes(item.image, found, self.labels))
            results.append(result)
        return results


def load(weights, engine: str = "keras") -> DetectionPredictor:
    """Carga un detector YOLOv2 (``.h5`` o exportación) para predecir.

    Raises:
        ModelFileError: el archivo no es un detector YOLOv2.
    """
    from inferencia.motores import load_engine

    model = load_engine(weights, engine)
    family = family_of(model)
    if family is None or family.task != "deteccion":
        spec = builder_spec(model)
        raise ModelFileError(f"«{weights}» no es un detector YOLOv2 (constructor "
                             f"«{spec.name if spec else '?'}»); entrena uno con «redes "
                             "deteccion entrenar».")
    return DetectionPredictor(weights, model)


def as_predictor(model) -> DetectionPredictor:
    """``model`` como :class:`DetectionPredictor`: el mismo si ya lo es, los pesos (una ruta)
    cargados con :func:`load` (motor keras), o un YOLOv2 ya cargado (de Keras o un motor)."""
    if isinstance(model, DetectionPredictor):
        return model
    if isinstance(model, (str, Path)):
        return load(model)
    return DetectionPredictor("", model)   # cargado en memoria: sin archivo que nombrar
