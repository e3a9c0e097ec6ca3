"""``redes deteccion entrenar / evaluar / predecir`` de principio a fin sobre figuras generadas.

``redes deteccion entrenar`` se prueba con un entrenamiento corto (archivos, resumen y una
pérdida que baja); ese modelo sirve para las pruebas de vídeo, cámara y errores. La
calidad de un detector entrenado de verdad se prueba en ``tests/test_demo.py``, con el
detector de ``redes demo``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

import modelos
from nucleo.errores import DataError
from nucleo.errores import EnvironmentSetupError
from tareas.deteccion import predecir as deteccion
from cli.principal import main
from tareas.deteccion.demo import DEMO
from tareas.deteccion.evaluar import ground_truths
from tareas.deteccion.entrenar import split_records

CLASSES = ["circulo", "cuadrado"]
SIZE = DEMO.image_size  # el tamaño del detector de la demo


def _voc(root):
    return ["--anotaciones", str(root / "annotations"), "--imagenes", str(root / "images")]


# ``trained_detector`` (tests/conftest.py): el entrenamiento corto por la orden, 160 imágenes
# con 1-2 figuras, tiny con ancho 0.25; ``held_out_shapes``: 100 figuras que no vio.
def test_training_writes_everything_and_learns(trained_detector, tmp_path):
    weights, summary = trained_detector
    assert weights.is_file()
    run_dir = Path(summary["archivos"]["registro"]).parent
    for name in ("registro.csv", "curvas.png", "precision_recall_circulo.png",
                 "precision_recall_cuadrado.png"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "respaldo").exists()
    metrics = summary["metricas"]
    assert summary["division"] == {"entrenamiento": 128, "validacion": 32,
                                   "cajas_validacion": summary["division"]["cajas_validacion"]}
    assert set(summary["ap_por_clase"]) == set(CLASSES)
    assert len(summary["anclas"]) == 5
    # La pérdida baja (la calidad se mide con el detector de la demo, más abajo).
    history = np.genfromtxt(run_dir / "registro.csv", delimiter=",", names=True)
    assert len(history) == 4 and history["loss"][-1] < 0.5 * history["loss"][0]
    assert metrics["map_50"] <= metrics["map_30"]
    # El mAP del resumen es el del modelo guardado en las 32 imágenes de validación:
    # «redes deteccion evaluar» solo con sus anotaciones da lo mismo.
    from datos.anotaciones import read_voc

    source = modelos.load_metadata(weights)["metadata"]
    records, _ = read_voc(source["anotaciones"], source["imagenes"], CLASSES)
    _, val = split_records(records, 0.2, seed=0)
    annotations = tmp_path / "validacion"
    annotations.mkdir()
    for record in val:
        shutil.copy(record.annotation, annotations)
    out = tmp_path / "evaluacion.json"
    assert main(["deteccion", "evaluar", "--pesos", str(weights),
                 "--anotaciones", str(annotations), "--imagenes", source["imagenes"],
                 "--salida", str(tmp_path), "--json", str(out)]) == 0
    again = json.loads(out.read_text())
    assert again["imagenes"] == 32
    assert again["metricas"]["map_50"] == pytest.approx(metrics["map_50"], abs=1e-6)
    assert again["metricas"]["map_30"] == pytest.approx(metrics["map_30"], abs=1e-6)
    for label in CLASSES:
        assert again["ap_por_clase"][label] == pytest.approx(summary["ap_por_clase"][label],
                                                             abs=1e-6)


def _write_video(path, images, fps=5):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (SIZE, SIZE))
    for image in images:
        writer.write(cv2.imread(str(image)))
    writer.release()
    return path


def _count_frames(path):
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_detect_video_writes_detected_mp4(trained_detector, held_out_shapes, tmp_path,
                                          capsys):
    images = sorted((held_out_shapes / "images").glob("*.jpg"))
    video = _write_video(tmp_path / "figuras.mp4", images[:9])
    out_json = tmp_path / "video.json"
    assert main(["yolo", "detectar", "--pesos", str(trained_detector[0]), "--video", str(video),
                 "--json", str(out_json)]) == 0
    out = tmp_path / "figuras_detected.mp4"
    assert out.is_file() and _count_frames(out) == 9
    result = json.loads(out_json.read_text())
    assert result["metricas"]["fotogramas"] == 9 and result["archivos"]["video"] == str(out)
    assert not result["interrumpido"] and f"video: {out}" in capsys.readouterr().out
    assert not list(tmp_path.glob(".*.tmp*"))


class _FakeWindow:
    """Ventana de prueba: «pulsa q» al mostrar el tercer fotograma."""

    shown: list = []

    def __init__(self):
        _FakeWindow.shown = []

    def show(self, frame):
        _FakeWindow.shown.append(frame.shape)
        return len(_FakeWindow.shown) < 3

    def close(self):
        pass


def test_camera_path_shows_frames_and_quits_on_q(trained_detector, held_out_shapes, tmp_path,
                                                  monkeypatch, capsys):
    images = sorted((held_out_shapes / "images").glob("*.jpg"))
    video = _write_video(tmp_path / "camara.mp4", images[:8])
    monkeypatch.setattr(deteccion, "FrameWindow", _FakeWindow)
    out_json = tmp_path / "camara.json"
    assert main(["yolo", "detectar", "--pesos", str(trained_detector[0]), "--camara", str(video),
                 "--json", str(out_json)]) == 0
    assert _FakeWindow.shown == [(SIZE, SIZE, 3)] * 3
    assert "interrumpido con q" in capsys.readouterr().out
    result = json.loads(out_json.read_text())
    assert result["metricas"]["fotogramas"] == 3 and result["interrumpido"]


def test_camera_without_display_is_a_clear_error(trained_detector, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["yolo", "detectar", "--pesos", str(trained_detector[0]), "--camara", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: No hay ventana") and "DISPLAY" in err[-1]


class _FakeCv2Gui:
    """Las funciones de ventana de cv2, grabadas; ``keys`` son las teclas de waitKey."""

    def __init__(self, keys, visible=1.0):
        self.keys, self.visible, self.calls = list(keys), visible, []

    def install(self, monkeypatch):
        monkeypatch.setattr(cv2, "namedWindow", lambda *a: self.calls.append(("abrir", a)))
        monkeypatch.setattr(cv2, "imshow", lambda title, img: self.calls.append(
            ("mostrar", img.shape, tuple(img[0, 0]))))
        monkeypatch.setattr(cv2, "waitKey", lambda ms: self.keys.pop(0) if self.keys else -1)
        monkeypatch.setattr(cv2, "getWindowProperty", lambda *a: self.visible)
        monkeypatch.setattr(cv2, "destroyWindow", lambda *a: self.calls.append(("cerrar", a)))


@pytest.mark.parametrize("keys, visible, expected", [
    ([-1, -1], 1.0, [True, True]),
    ([-1, ord("q")], 1.0, [True, False]),
    ([27], 1.0, [False]),
    ([ord("Q") | 0x100000], 1.0, [False]),  # waitKey con modificadores en los bits altos
    ([-1], 0.0, [False]),                    # ventana cerrada con el ratón
])
def test_frame_window_uses_cv2_imshow_and_quits_on_q(monkeypatch, keys, visible, expected):
    gui = _FakeCv2Gui(keys, visible)
    gui.install(monkeypatch)
    monkeypatch.setenv("DISPLAY", ":0")
    window = deteccion.FrameWindow("prueba")
    frame = np.zeros((4, 6, 3), np.uint8)
    frame[..., 0] = 255  # rojo en RGB
    assert [window.show(frame) for _ in expected] == expected
    window.close()
    assert gui.calls[0][0] == "abrir" and gui.calls[-1][0] == "cerrar"
    assert gui.calls[1] == ("mostrar", (4, 6, 3), (0, 0, 255))  # cv2 recibe BGR


def test_frame_window_without_gui_opencv_is_a_clear_error(monkeypatch):
    def no_gui(*args):
        raise cv2.error("The function is not implemented. Rebuild the library with GTK+")

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(cv2, "namedWindow", no_gui)
    with pytest.raises(EnvironmentSetupError, match="no puede abrir ventanas.*opencv-python"):
        deteccion.FrameWindow()


@pytest.mark.parametrize("extra, message", [
    ([], "indique imágenes, --video o --camara"),
    (["x.jpg", "--video", "v.mp4"], "una sola de las tres"),
    (["no_existe.jpg"], "no existe"),
    (["--video", "no_existe.mp4"], "no existe"),
])
def test_detect_errors_are_one_spanish_line(trained_detector, tmp_path, capsys, extra,
                                            message):
    assert main(["yolo", "detectar", "--pesos", str(trained_detector[0]), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]


def test_not_a_yolo_model_is_refused(tmp_path, held_out_shapes, capsys):
    modelos.save(modelos.build_xor(), tmp_path / "xor.h5")
    assert main(["yolo", "evaluar", "--pesos", str(tmp_path / "xor.h5"),
                 *_voc(held_out_shapes)]) == 2
    assert "build_yolo" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--anclas", "1", "x"], "--anclas"),
    (["--backbone", "tiny", "--anclas", "auto", "--etiquetas", "estrella"], "ningún objeto"),
])
def test_train_errors(shapes, tmp_path, capsys, extra, message):
    code = main(["yolo", "entrenar", *_voc(shapes), "--epocas", "1", "--salida",
                 str(tmp_path), *extra])
    assert code == 2
    assert message in capsys.readouterr().err


def test_split_and_ground_truths(held_out_shapes):
    from datos.anotaciones import read_voc

    images, _ = read_voc(held_out_shapes / "annotations", held_out_shapes / "images",
                         CLASSES)
    train, val = split_records(images, 0.2, seed=3)
    assert len(train) == 80 and len(val) == 20
    assert not {r.path for r in train} & {r.path for r in val}
    assert [r.path for r in split_records(images, 0.2, seed=3)[1]] == [r.path for r in val]
    truths = ground_truths(val, CLASSES)
    for record, rows in zip(val, truths, strict=True):
        assert rows.shape == (len(record.boxes), 5)
        np.testing.assert_allclose(rows[:, :4], record.boxes)
        assert [CLASSES[int(c)] for c in rows[:, 4]] == record.labels
    with pytest.raises(DataError, match="al menos 2"):
        split_records(images[:1])


def test_draw_boxes_marks_the_box_edges():
    image = np.zeros((100, 120, 3), np.uint8)
    drawn = deteccion.draw_boxes(image, np.array([[10, 20, 60, 80, 0.9, 1]]), CLASSES)
    assert image.sum() == 0  # la entrada no cambia
    assert tuple(drawn[50, 10]) == (0, 255, 0) and tuple(drawn[80, 40]) == (0, 255, 0)
    assert tuple(drawn[50, 35]) == (0, 0, 0)  # el interior queda libre
    assert deteccion.detected_path("a/b/foto.jpg").as_posix() == "a/b/foto_detected.png"
