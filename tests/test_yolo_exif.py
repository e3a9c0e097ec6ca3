"""Una sola orientación para detección: la foto EXIF girada se ve igual al entrenar, al
evaluar y al detectar, y las cajas de ``detect`` caen sobre el objeto anotado.

Las fotos se guardan de 96×64 (ancho × alto) con la etiqueta EXIF de orientación 6 (o 8):
se ven de 64×96, que es como las anota labelImg (desde 2020 lee con
``QImageReader.setAutoTransform``) y como las decodifica ``datos.imagenes.read_rgb``. Las
anotaciones de la prueba están en ese marco visible.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PIL import ImageOps

from datos.anotaciones import read_voc
from datos.anotaciones import write_voc
from datos.cajas import box_iou
from datos.imagenes import read_rgb

# (ancho, alto) tal como se ve la foto y tal como está guardada con orientación 6 u 8.
SHOWN = (64, 96)
STORED = (96, 64)
# Transposición que, aplicada a la imagen visible, da los píxeles guardados (la inversa de
# la que aplica ImageOps.exif_transpose para cada orientación).
TO_STORED = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270,
             3: Image.Transpose.ROTATE_180}
# Un cuadrado claro por foto, en el marco visible: xmin, ymin, xmax, ymax.
OBJECTS = [(6, (8, 52, 40, 88)), (6, (24, 8, 56, 40)), (8, (4, 30, 36, 62)),
           (3, (30, 60, 62, 92)), (6, (16, 20, 48, 52)), (8, (28, 56, 60, 88))]


def _scene(box, seed):
    """Imagen visible (alto 96, ancho 64): fondo oscuro con ruido y un cuadrado claro."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 40, (SHOWN[1], SHOWN[0], 3)).astype(np.uint8)
    xmin, ymin, xmax, ymax = box
    pixels[ymin:ymax, xmin:xmax] = (230, 220, 60)
    return pixels


def write_exif_jpeg(path, shown: np.ndarray, orientation: int):
    """Guarda ``shown`` de modo que, con la etiqueta EXIF aplicada, se vea igual."""
    stored = Image.fromarray(shown).transpose(TO_STORED[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, quality=95, exif=exif)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("exif")
    (root / "images").mkdir()
    for i, (orientation, box) in enumerate(OBJECTS):
        name = f"foto{i}.jpg"
        write_exif_jpeg(root / "images" / name, _scene(box, i), orientation)
        # La anotación en el marco visible, como la escribe labelImg: <size> 64×96.
        write_voc(root / "annotations" / f"foto{i}.xml", name, *SHOWN, [box], ["cuadrado"])
    return root


def test_the_file_is_stored_landscape_and_shown_portrait(folder):
    with Image.open(folder / "images" / "foto0.jpg") as img:
        assert img.size == STORED
        assert ImageOps.exif_transpose(img).size == SHOWN
    shown = read_rgb(folder / "images" / "foto0.jpg")
    assert shown.shape == (SHOWN[1], SHOWN[0], 3)
    assert np.abs(shown.astype(int) - _scene(OBJECTS[0][1], 0)).mean() < 8


def test_reading_and_training_batches_see_the_shown_frame(folder):
    from modelos.yolo import YoloDataset
    from modelos.yolo.preprocesado import read_record

    records, _ = read_voc(folder / "annotations", folder / "images")
    assert not records.report  # <size> 64×96 coincide con la foto girada
    for record, (_, box) in zip(records, OBJECTS, strict=True):
        assert (record.width, record.height) == SHOWN
        np.testing.assert_array_equal(record.boxes[0], box)
        pixels = read_record(record, (SHOWN[1], SHOWN[0]))
        xmin, ymin, xmax, ymax = box
        inside = pixels[ymin + 3:ymax - 3, xmin + 3:xmax - 3].mean()
        assert inside > 150 and pixels.mean() < 100  # el objeto está donde dice la caja
    # Los lotes de entrenamiento (sin aumento) muestran lo mismo.
    data = YoloDataset(records, ["cuadrado"], image_size=(96, 64), anchors=[[1, 1]],
                       batch_size=len(records), shuffle=False)
    x, _ = data[0]
    assert x.shape == (len(OBJECTS), 96, 64, 3)
    xmin, ymin, xmax, ymax = OBJECTS[0][1]
    assert x[0, ymin + 3:ymax - 3, xmin + 3:xmax - 3].mean() > 0.6


def test_annotation_made_without_exif_is_refused_with_the_reason(folder, tmp_path):
    """Una anotación en el marco guardado (un labelImg antiguo) declara 96×64: se omite."""
    ann = tmp_path / "ann"
    write_voc(ann / "foto0.xml", "foto0.jpg", *STORED, [[4, 4, 20, 20]], ["cuadrado"])
    write_voc(ann / "foto1.xml", "foto1.jpg", *SHOWN, [[4, 4, 20, 20]], ["cuadrado"])
    records, _ = read_voc(ann, folder / "images")
    assert [r.path.name for r in records] == ["foto1.jpg"]
    (skipped, reason), = records.report.skipped
    assert skipped.name == "foto0.xml"
    assert "96×64" in reason and "64×96" in reason and "EXIF" in reason


@pytest.fixture(scope="module")
def exif_detector(folder, tmp_path_factory):
    """YOLOv2 tiny diminuto que memoriza las 6 fotos de un lote de YoloDataset."""
    import keras

    import modelos
    from modelos.yolo import YoloDataset
    from modelos.yolo import YoloLoss
    from modelos.yolo import build_yolo

    records, _ = read_voc(folder / "annotations", folder / "images")
    anchors = [[1.0, 1.0]]
    x, y = YoloDataset(records, ["cuadrado"], image_size=(96, 64), anchors=anchors,
                       batch_size=len(records), shuffle=False)[0]
    keras.utils.set_random_seed(0)
    model = build_yolo(["cuadrado"], anchors=anchors, input_size=(96, 64), backbone="tiny",
                       width_multiplier=0.25, compile=False)
    # 64 copias del lote y 64 pasos por llamada: 512 pasos sin el coste de 512 llamadas.
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=YoloLoss(anchors),
                  steps_per_execution=64)
    model.fit(np.tile(x, (64, 1, 1, 1)), np.tile(y, (64, 1, 1)), batch_size=len(records),
              epochs=8, verbose=0)
    path = tmp_path_factory.mktemp("modelo") / "exif.h5"
    modelos.save(model, path)
    return path, records


@pytest.mark.slow
def test_evaluation_and_detect_agree_with_the_annotation(exif_detector, folder, tmp_path,
                                                         capsys):
    import modelos
    from cli.principal import main
    from tareas.deteccion.evaluar import evaluate_records
    from modelos.yolo import detect

    path, records = exif_detector
    model = modelos.load(path)
    # Evaluación: lee igual que el entrenamiento.
    assert evaluate_records(model, records, ["cuadrado"], progress=False)["map"]["0.5"] >= 0.8
    # detect sobre la ruta: cajas en el marco visible, sobre el objeto anotado.
    image = folder / "images" / "foto0.jpg"
    found = detect(model, image, obj_threshold=0.3)
    assert len(found) >= 1
    assert box_iou(found[:1, :4], [OBJECTS[0][1]])[0, 0] >= 0.5
    assert (found[:, [0, 2]] <= SHOWN[0]).all() and (found[:, [1, 3]] <= SHOWN[1]).all()
    # redes deteccion predecir dibuja en una copia de 64×96 y la caja verde rodea el objeto.
    out_json = tmp_path / "det.json"
    assert main(["yolo", "detectar", "--pesos", str(path), str(image), "--salida",
                 str(tmp_path), "--json", str(out_json)]) == 0
    capsys.readouterr()
    (item,) = json.loads(out_json.read_text())
    box = item["detecciones"][0]["caja"]
    assert box_iou([box], [OBJECTS[0][1]])[0, 0] >= 0.5
    drawn = read_rgb(item["archivos"]["detectada"])
    assert drawn.shape == (SHOWN[1], SHOWN[0], 3)
    green = (drawn[..., 1] == 255) & (drawn[..., 0] == 0) & (drawn[..., 2] == 0)
    rows, cols = np.nonzero(green)
    xmin, ymin, xmax, ymax = (int(v) for v in box)
    # El marco verde está sobre el borde de la caja detectada (± el grosor de la línea).
    assert abs(cols.min() - xmin) <= 2 and abs(rows.max() - ymax) <= 2
