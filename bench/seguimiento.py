"""Seguimiento en vídeo: ByteTrack frente a la detección fotograma a fotograma.

Con un detector de verdad, sobre el vídeo generado de figuras que se cruzan y se tapan
(:func:`datos.video_sintetico.make_tracking_video`, con su verdad en formato MOT):

1. El detector: ``--pesos`` (un YOLOv2 de círculos y cuadrados a 160×160, como el de
   ``redes demo``) o, sin él, uno con la red y la receta de la demo (tiny, un cuarto de
   los filtros, desde cero) entrenado aquí durante como mucho ``--minutos`` con
   fotogramas de otros 40 vídeos generados (otras semillas; nunca el que se mide).
2. Las detecciones de cada fotograma, una sola vez (la misma red, decodificación y NMS
   que ``redes deteccion predecir``, con ``--umbral``).
3. Sobre ellas, la referencia (cada fotograma numerado en su orden, sin asociar: lo que
   da ``predecir --video`` sin ``--seguir``) y ByteTrack (``ObjectTracker``): MOTA, IDF1 y
   cambios de identidad con ``motmetrics`` (IoU ≥ 0.5). Lo mismo con las detecciones
   simuladas de la prueba (la verdad con ruido: ``simulated_detections``), que miden el
   seguidor sin el detector.
4. La velocidad de la orden entera (leer, detectar, dibujar y escribir el MP4;
   :func:`~tareas.deteccion.predecir.run_stream`) sin y con ``--seguir``, la mejor de
   ``--rondas``, intercaladas; y comprueba que el CSV de ``run_stream`` es el del paso 3.

Uso::

    python bench/seguimiento.py                       # entrena ≤ 3.5 minutos y mide
    python bench/seguimiento.py --pesos pesos/demo/deteccion/modelo.h5
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def train_detector(work: Path, minutes: float, epochs: int, seed: int,
                   size: int | None = None) -> Path:
    """Un detector con la red y la receta del de la demo (tiny con un cuarto de los
    filtros, 160×160, desde cero), ``epochs`` épocas durante como mucho ``minutes``
    minutos, con 800 fotogramas de otros 40 vídeos generados (otras semillas: otros fondos,
    colores, figuras y trayectorias; nunca el que se mide) y sus cajas visibles. Con
    ``size``, la red ve los fotogramas a ese lado (320: una rejilla de 10×10 en vez de
    5×5, para que dos figuras que se tocan no caigan en la misma celda)."""
    from tareas.deteccion.demo import DEMO
    from tareas.deteccion.entrenar import train_yolo

    frames = video_frames_dataset(work / "fotogramas", 40, seed + 1000)
    trained = train_yolo(DEMO.training.replace(
        ann_dir=frames / "annotations", img_dir=frames / "images",
        run_dir=work / "detector", seed=seed, minutes=minutes, epochs=epochs,
        **({"input_size": (size, size)} if size else {})), verbose=0)
    print(f"detector: {trained.metrics['epocas']} épocas, mAP@0.5 de validación "
          f"{trained.metrics['map_50']:.3f}")
    return trained.file("pesos")


def video_frames_dataset(out: Path, videos: int, seed: int, every: int = 5) -> Path:
    """Carpeta VOC con uno de cada ``every`` fotogramas de ``videos`` vídeos generados de
    100 fotogramas (semillas ``seed``, ``seed + 1``...; de 3 a 5 figuras)."""
    import cv2

    from datos.anotaciones_escritura import write_voc
    from datos.mot import read_mot
    from datos.video_sintetico import make_tracking_video

    (out / "images").mkdir(parents=True, exist_ok=True)
    for k in range(videos):
        video = make_tracking_video(out / "videos", name=f"v{k}", n_frames=100,
                                    n_objects=3 + k % 3, seed=seed + k)
        truth = read_mot(video.ground_truth)
        capture = cv2.VideoCapture(str(video.video))
        for frame in range(1, video.frames + 1):
            ok, image = capture.read()
            if not ok:
                break
            if frame % every:
                continue
            rows, name = truth[truth[:, 0] == frame], f"v{k:02d}_{frame:03d}"
            cv2.imwrite(str(out / "images" / f"{name}.jpg"), image)
            write_voc(out / "annotations" / f"{name}.xml", f"{name}.jpg", image.shape[1],
                      image.shape[0], np.c_[rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]],
                      [video.labels[int(i)] for i in rows[:, 1]])
        capture.release()
    return out


def detect_video(predictor, video: Path, threshold: float) -> list:
    """Las detecciones (N, 6) de cada fotograma, en lotes de 4 como ``run_stream``."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    found = []
    for start in range(0, len(frames), 4):
        found += predictor.detect([predictor.prepare(frame, threshold)
                                   for frame in frames[start:start + 4]])
    return found


def stream_speed(predictor, video: Path, work: Path, threshold: float, rounds: int):
    """Fotogramas por segundo de ``run_stream`` sin y con seguimiento (la mejor ronda) y
    el CSV de la última ronda con seguimiento."""
    from tareas.deteccion.predecir import run_stream

    best = {"fotograma a fotograma": 0.0, "ByteTrack": 0.0}
    tracks = work / "figuras_seguimiento.csv"
    for _ in range(rounds):
        for name in best:
            start = time.perf_counter()
            result = run_stream(predictor, video, output=work / "figuras_detected.mp4",
                                obj_threshold=threshold,
                                tracks=tracks if name == "ByteTrack" else None)
            fps = result.metrics["fotogramas"] / (time.perf_counter() - start)
            best[name] = max(best[name], fps)
    return best, tracks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pesos", help="detector de las figuras (si no, se entrena uno)")
    parser.add_argument("--minutos", type=float, default=3.5,
                        help="tope del entrenamiento sin --pesos (por defecto 3.5)")
    parser.add_argument("--epocas", type=int, default=40,
                        help="épocas como mucho sin --pesos (por defecto 40)")
    parser.add_argument("--tamanio", type=int, default=None,
                        help="lado de entrada del detector que se entrena (por defecto el de "
                             "la demo, 160; 320 separa mejor las figuras que se tocan)")
    parser.add_argument("--fotogramas", type=int, default=150)
    parser.add_argument("--umbral", type=float, default=0.3)
    parser.add_argument("--rondas", type=int, default=2)
    parser.add_argument("--semilla", type=int, default=0)
    parser.add_argument("--carpeta", help="carpeta de trabajo (por defecto una temporal)")
    parser.add_argument("--json", help="escribe las cifras en JSON")
    args = parser.parse_args(argv)

    from datos.mot import read_mot
    from datos.video_sintetico import make_tracking_video
    from datos.video_sintetico import simulated_detections
    from tareas.deteccion.predecir import load
    from tareas.deteccion.seguimiento import track_detections

    work = Path(args.carpeta or tempfile.mkdtemp(prefix="seguimiento_"))
    began = time.perf_counter()
    weights = Path(args.pesos) if args.pesos else train_detector(
        work, args.minutos, args.epocas, args.semilla, args.tamanio)
    video = make_tracking_video(work, n_frames=args.fotogramas, seed=args.semilla)
    truth = read_mot(video.ground_truth)
    predictor = load(weights)
    found = detect_video(predictor, video.video, args.umbral)
    start = time.perf_counter()
    tracked = track_detections(found, video.fps)
    track_ms = (time.perf_counter() - start) / len(found) * 1e3
    quality = {"detector": compare(truth, found, video.fps),
               "simuladas": compare(truth, simulated_detections(video, truth, seed=0),
                                    video.fps)}
    speed, tracks = stream_speed(predictor, video.video, work, args.umbral, args.rondas)
    same = np.array_equal(read_mot(tracks), tracked)

    print(f"\nvídeo: {video.frames} fotogramas {video.fps:g} fps, {len(video.labels)} figuras, "
          f"{video.occluded_frames} fotogramas con una figura tapada; ByteTrack "
          f"{track_ms:.2f} ms por fotograma; CSV de run_stream = el medido: {same}\n")
    print("| detecciones | método | MOTA | IDF1 | cambios de identidad | falsos positivos | "
          "perdidos | FPS de `predecir --video` |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for source, methods in quality.items():
        for name, m in methods.items():
            fps = f"{speed[name]:.1f}" if source == "detector" else "—"
            print(f"| {source} | {name} | {m['mota']:.3f} | {m['idf1']:.3f} | "
                  f"{m['cambios_identidad']} | {m['falsos_positivos']} | {m['perdidos']} | "
                  f"{fps} |")
    print(f"\n{time.perf_counter() - began:.0f} s en total; carpeta {work}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"calidad": quality, "fps": speed, "ms_seguimiento": track_ms,
             "csv_igual": bool(same), "fotogramas": video.frames}, indent=2,
            ensure_ascii=False), encoding="utf-8")
    return 0


def compare(truth, found, fps: float) -> dict:
    """Las cifras MOT de la referencia y de ByteTrack sobre las mismas detecciones."""
    from tareas.deteccion.seguimiento import frame_by_frame_rows
    from tareas.deteccion.seguimiento import mot_metrics
    from tareas.deteccion.seguimiento import track_detections

    return {"fotograma a fotograma": mot_metrics(truth, frame_by_frame_rows(found)),
            "ByteTrack": mot_metrics(truth, track_detections(found, fps))}


if __name__ == "__main__":
    sys.exit(main())
