"""Seguimiento en vídeo (``redes deteccion predecir --video ... --seguir``): ByteTrack sobre
el vídeo generado de figuras que se cruzan y se tapan, el CSV MOT y sus errores."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from cli.principal import main
from datos.mot import MOT_COLUMNS
from datos.mot import read_mot
from datos.video_sintetico import make_tracking_video
from datos.video_sintetico import simulated_detections


def test_bytetrack_keeps_identities_through_crossings_and_occlusions(tmp_path):
    pytest.importorskip("trackers")
    pytest.importorskip("motmetrics")
    from tareas.deteccion.seguimiento import frame_by_frame_rows
    from tareas.deteccion.seguimiento import mot_metrics
    from tareas.deteccion.seguimiento import track_detections

    video = make_tracking_video(tmp_path, n_frames=150, seed=0)
    truth = read_mot(video.ground_truth)
    assert video.occluded_frames > 0 and set(truth[:, 1]) == set(video.labels)
    # Detecciones de la verdad con ruido (cajas movidas, fallos, un falso positivo): se
    # mide el seguidor, no el detector.
    per_frame = simulated_detections(video, truth, seed=0)
    tracked = mot_metrics(truth, track_detections(per_frame, video.fps))
    baseline = mot_metrics(truth, frame_by_frame_rows(per_frame))
    assert tracked["fotogramas"] == baseline["fotogramas"] == 150
    assert tracked["mota"] >= 0.8, tracked
    assert tracked["cambios_identidad"] < baseline["cambios_identidad"], (tracked, baseline)
    assert tracked["idf1"] > baseline["idf1"]


def test_the_generated_video_is_deterministic_and_its_truth_is_mot(tmp_path):
    first = make_tracking_video(tmp_path / "a", n_frames=20, seed=3)
    second = make_tracking_video(tmp_path / "b", n_frames=20, seed=3)
    assert first.ground_truth.read_bytes() == second.ground_truth.read_bytes()
    truth = read_mot(first.ground_truth)
    assert truth.shape[1] == len(MOT_COLUMNS) and truth[:, 0].min() == 1
    assert truth[:, 0].max() == 20 and (truth[:, 4:6] > 0).all()


def test_predecir_seguir_writes_video_and_mot_csv(trained_detector, tmp_path, capsys):
    pytest.importorskip("trackers")
    import cv2

    video = make_tracking_video(tmp_path, name="calle", n_frames=14, seed=1)
    out, summary = tmp_path / "salida", tmp_path / "resumen.json"
    assert main(["deteccion", "predecir", "--pesos", str(trained_detector[0]), "--video",
                 str(video.video), "--seguir", "--max-fotogramas", "12", "--umbral", "0.1",
                 "--umbral-nuevo", "0.1",   # el detector de 4 épocas puntúa bajo
                 "--salida", str(out), "--json", str(summary)]) == 0
    drawn, tracks = out / "calle_detected.mp4", out / "calle_seguimiento.csv"
    capture = cv2.VideoCapture(str(drawn))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    assert frames == 12
    rows = [line.split(",") for line in tracks.read_text().splitlines()]
    assert all(len(row) == len(MOT_COLUMNS) for row in rows)
    table = read_mot(tracks)          # fotogramas ≥ 1 e ids enteros positivos, o falla
    assert table[:, 0].max() <= 12 and (table[:, 7:] == -1).all()
    result = json.loads(summary.read_text())
    assert result["archivos"]["seguimiento"] == str(tracks)
    assert result["metricas"]["identidades"] == len(set(table[:, 1]))
    # Identidades estables: cada una sigue a su objeto varios fotogramas, no una por caja.
    assert len(table) and len(set(table[:, 1])) <= len(table) / 2, table[:, :2]
    assert f"seguimiento: {tracks}" in capsys.readouterr().out
    assert not list(out.glob(".*.tmp*"))


def test_line_counts_objects_crossing_it_by_class():
    pytest.importorskip("trackers")
    from tareas.deteccion.seguimiento import ObjectTracker

    tracker = ObjectTracker(25.0, line=(0, 50, 100, 50))   # horizontal, de izquierda a derecha
    for step in range(12):
        tracker.update(np.array([
            [10, 20 + 5 * step, 30, 40 + 5 * step, 0.9, 0],     # baja y la cruza: entra
            [60, 80 - 5 * step, 80, 100 - 5 * step, 0.9, 1],    # sube y la cruza: sale
            [150, 20 + 5 * step, 170, 40 + 5 * step, 0.9, 1],   # baja fuera del segmento
        ]))
    metrics, (table,) = tracker.summary(["circulo", "cuadrado"])
    assert metrics == {"identidades": 3, "entradas": 1, "salidas": 1}
    assert table.rows == [("circulo", 1, 0), ("cuadrado", 0, 1)]
    rows = np.asarray(tracker.rows)
    assert sorted(set(rows[:, 1])) == [1, 2, 3] and rows[:, 0].min() == 2   # confirmados


@pytest.mark.parametrize("extra, message", [
    (["foto.jpg", "--seguir"], "--seguir sigue los objetos de un vídeo; indique --video"),
    (["--video", "v.mp4", "--linea", "0", "0", "9", "9"], "--linea es del seguimiento"),
    (["--video", "v.mp4", "--umbral-nuevo", "0.2"], "úsela con --video ... --seguir"),
])
def test_seguir_needs_a_video(tmp_path, capsys, extra, message):
    assert main(["deteccion", "predecir", "--pesos", str(tmp_path / "no_existe.h5"),
                 *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and message in err


def test_seguir_without_the_extra_names_the_pip_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "trackers", None)    # como si no estuviera instalado
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    # Falla antes de cargar el modelo (que ni existe) y sin escribir nada.
    assert main(["deteccion", "predecir", "--pesos", str(tmp_path / "no_existe.h5"),
                 "--video", str(video), "--seguir"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "redes-keras[seguimiento]"' in err and "no_existe" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]
