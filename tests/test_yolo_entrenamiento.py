"""``redes yolo entrenar / evaluar / detectar`` de principio a fin sobre figuras generadas.

``redes yolo entrenar`` se prueba con un entrenamiento corto (archivos, resumen y una
pérdida que baja); ese modelo sirve para las pruebas de vídeo, cámara y errores. La
calidad de un detector entrenado de verdad se prueba en ``tests/test_demo.py``, con el
detector de ``redes demo``.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import modelos
from nucleo.errores import DataError
from nucleo.errores import EnvironmentSetupError
from datos.sinteticos import make_shapes_dataset
from tareas.deteccion import predecir as deteccion
from cli.principal import main
from tareas.deteccion.entrenar import DEMO_SETTINGS
from tareas.deteccion.evaluar import ground_truths
from tareas.deteccion.entrenar import split_records

CLASSES = ["circulo", "cuadrado"]
SIZE = DEMO_SETTINGS["image_size"]  # el tamaño del detector de la demo
# Entrenamiento corto por la orden: 160 imágenes con 1-2 figuras, tiny con ancho 0.25.
TRAIN_ARGS = ["--tamanio", str(SIZE), "--backbone", "tiny", "--ancho", "0.25",
              "--anclas", "auto", "--epocas", "4", "--repeticiones", "1", "--lote", "16",
              "--tasa", "2e-3", "--coseno", "--calentamiento", "1", "--paciencia", "0",
              "--precision", "auto"]


def _voc(root):
    return ["--anotaciones", str(root / "annotations"), "--imagenes", str(root / "images")]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("yolo")
    train = make_shapes_dataset(base / "entrenamiento", n_images=160, image_size=(SIZE, SIZE),
                                classes=CLASSES, max_objects=2, seed=0)
    test = make_shapes_dataset(base / "prueba", n_images=100, image_size=(SIZE, SIZE),
                               classes=CLASSES, max_objects=2, seed=100)
    return base, train, test


@pytest.fixture(scope="module")
def trained(data):
    base, train, _ = data
    weights = base / "pesos" / "red_figuras.h5"
    summary = base / "resumen.json"
    code = main(["yolo", "entrenar", *_voc(train), "--etiquetas", *CLASSES, *TRAIN_ARGS,
                 "--pesos", str(weights), "--json", str(summary)])
    assert code == 0
    return weights, json.loads(summary.read_text())


def test_training_writes_everything_and_learns(trained):
    weights, summary = trained
    assert weights.is_file()
    run_dir = weights.with_suffix("")
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
    assert 0 <= metrics["map_50"] <= metrics["map_30"] <= 1


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


def test_detect_video_writes_detected_mp4(trained, data, tmp_path, capsys):
    _, _, test = data
    video = _write_video(tmp_path / "figuras.mp4", sorted((test / "images").glob("*.jpg"))[:9])
    out_json = tmp_path / "video.json"
    assert main(["yolo", "detectar", "--pesos", str(trained[0]), "--video", str(video),
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


def test_camera_path_shows_frames_and_quits_on_q(trained, data, tmp_path, monkeypatch, capsys):
    _, _, test = data
    video = _write_video(tmp_path / "camara.mp4", sorted((test / "images").glob("*.jpg"))[:8])
    monkeypatch.setattr(deteccion, "FrameWindow", _FakeWindow)
    out_json = tmp_path / "camara.json"
    assert main(["yolo", "detectar", "--pesos", str(trained[0]), "--camara", str(video),
                 "--json", str(out_json)]) == 0
    assert _FakeWindow.shown == [(SIZE, SIZE, 3)] * 3
    assert "interrumpido con q" in capsys.readouterr().out
    result = json.loads(out_json.read_text())
    assert result["metricas"]["fotogramas"] == 3 and result["interrumpido"]


def test_camera_without_display_is_a_clear_error(trained, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["yolo", "detectar", "--pesos", str(trained[0]), "--camara", "0"]) == 2
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
def test_detect_errors_are_one_spanish_line(trained, tmp_path, capsys, extra, message):
    assert main(["yolo", "detectar", "--pesos", str(trained[0]), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]


def test_not_a_yolo_model_is_refused(tmp_path, data, capsys):
    _, _, test = data
    modelos.save(modelos.build_xor(), tmp_path / "xor.h5")
    assert main(["yolo", "evaluar", "--pesos", str(tmp_path / "xor.h5"), *_voc(test)]) == 2
    assert "build_yolo" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--anclas", "1", "x"], "--anclas"),
    (["--backbone", "tiny", "--anclas", "auto", "--etiquetas", "estrella"], "ningún objeto"),
])
def test_train_errors(data, tmp_path, capsys, extra, message):
    _, train, _ = data
    code = main(["yolo", "entrenar", *_voc(train), "--epocas", "1", "--salida",
                 str(tmp_path), *extra])
    assert code == 2
    assert message in capsys.readouterr().err


def test_split_and_ground_truths(data):
    from datos.anotaciones import read_voc

    _, _, test = data
    images, _ = read_voc(test / "annotations", test / "images", CLASSES)
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
