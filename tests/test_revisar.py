"""``redes deteccion revisar``: cada problema de un conjunto contado exactamente, los dos
PNG y el aviso de ``--max-cajas`` al empezar a entrenar.

El conjunto es uno pequeño de figuras (:func:`datos.sinteticos.make_shapes_dataset`) al
que se añaden a mano: dos cajas duplicadas (una idéntica y otra casi), una caja que se
sale en parte de la imagen y otra entera fuera, una de área cero, una imagen sin XML, un
XML sin imagen y una imagen dañada.
"""

from __future__ import annotations

import json
import logging
import shutil
from xml.sax.saxutils import escape

import numpy as np
import pytest
from PIL import Image

from cli.principal import main
from datos.anotaciones import read_voc
from datos.sinteticos import make_shapes_dataset
from tareas.deteccion.revisar import BOXES_PLOT_NAME
from tareas.deteccion.revisar import MOSAIC_NAME
from tareas.deteccion.revisar import duplicate_boxes
from tareas.deteccion.revisar import max_boxes_summary
from tareas.deteccion.revisar import warn_max_boxes

CLASSES = ("circulo", "cuadrado")
SIDE = 64


def _write_xml(path, filename: str, objects) -> None:
    """Un XML de Pascal-VOC escrito a mano (``write_voc`` no escribe cajas malas)."""
    items = "".join(
        f"<object><name>{escape(name)}</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
        f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
        for name, (x1, y1, x2, y2) in objects)
    path.write_text(f"<annotation><filename>{filename}</filename><size><width>{SIDE}</width>"
                    f"<height>{SIDE}</height><depth>3</depth></size>{items}</annotation>",
                    encoding="utf-8")


@pytest.fixture
def flawed(tmp_path):
    """El conjunto con un caso de cada problema; devuelve su carpeta."""
    root = make_shapes_dataset(tmp_path / "figuras", n_images=8, image_size=(SIDE, SIDE),
                               classes=CLASSES, max_objects=2, seed=3)
    ann, img = root / "annotations", root / "images"
    records = {r.path.stem: r for r in read_voc(ann, img)[0]}
    assert duplicate_boxes(records.values()) == []   # el conjunto de partida está limpio

    def rewrite(stem: str, *extra) -> None:
        record = records[stem]
        boxes = [(name, tuple(float(v) for v in box))
                 for name, box in zip(record.labels, record.boxes, strict=True)]
        _write_xml(ann / f"{stem}.xml", record.path.name, [*boxes, *extra])

    first = records["00000"]
    rewrite("00000", (first.labels[0], tuple(float(v) for v in first.boxes[0])))  # idéntica
    second = records["00001"]
    x1, y1, x2, y2 = (float(v) for v in second.boxes[0])
    rewrite("00001", (second.labels[0], (x1 + 0.25, y1, x2 + 0.25, y2)))  # IoU > 0.9
    rewrite("00002", ("circulo", (50, 50, 80, 80)))      # se sale en parte: se recorta
    rewrite("00003", ("cuadrado", (100, 100, 120, 120)))  # entera fuera: se descarta
    rewrite("00004", ("cuadrado", (10, 10, 10, 30)))      # área cero: se descarta
    shutil.copy(img / "00005.jpg", img / "sin_xml.jpg")     # imagen sin anotación
    _write_xml(ann / "huerfano.xml", "no_esta.jpg", [("circulo", (1, 1, 9, 9))])
    data = (img / "00007.jpg").read_bytes()
    (img / "00007.jpg").write_bytes(data[:len(data) // 3])  # JPEG truncado
    return root


def test_each_problem_is_counted_exactly_and_both_plots_are_written(flawed, tmp_path):
    out, summary = tmp_path / "revision", tmp_path / "revision.json"
    code = main(["deteccion", "revisar", "--anotaciones", str(flawed / "annotations"),
                 "--imagenes", str(flawed / "images"), "--tamanio", "64", "--max-cajas", "1",
                 "--salida", str(out), "--json", str(summary)])
    assert code == 0
    result = json.loads(summary.read_text(encoding="utf-8"))
    counts = result["conteos"]
    assert {name: n for name, n in counts.items() if n} == {
        "cajas_duplicadas": 2, "cajas_fuera_recortadas": 1, "cajas_fuera_descartadas": 1,
        "cajas_area_cero": 1, "imagenes_sin_anotacion": 1, "anotaciones_sin_imagen": 1,
        "imagenes_danadas": 1}
    problems = result["problemas"]
    assert problems["anotaciones_sin_imagen"][0]["archivo"].endswith("huerfano.xml")
    assert problems["imagenes_danadas"][0]["archivo"].endswith("00007.xml")
    assert problems["imagenes_sin_anotacion"][0]["archivo"].endswith("sin_xml.jpg")
    assert {d["imagen"].rsplit("/", 1)[-1] for d in result["duplicadas"]} == {"00000.jpg",
                                                                            "00001.jpg"}
    # Lo que se cuenta de las cajas leídas, comparado con los registros del lector.
    records, _ = read_voc(flawed / "annotations", flawed / "images")
    per_image = np.array([len(r.boxes) for r in records])
    metrics = result["metricas"]
    assert metrics["imagenes"] == len(records) == 7
    assert metrics["cajas"] == per_image.sum()
    assert metrics["max_cajas_por_imagen"] == per_image.max()
    assert metrics["cajas_que_no_caben"] == (per_image - 1).clip(min=0).sum()
    assert result["por_clase"] == {
        name: {"cajas": sum(r.labels.count(name) for r in records),
               "imagenes": sum(name in r.labels for r in records)} for name in CLASSES}
    assert sum(result["anclas"]["histograma"].values()) == metrics["cajas"]
    for name in (MOSAIC_NAME, BOXES_PLOT_NAME):
        with Image.open(out / name) as image:
            image.verify()
            assert image.format == "PNG" and min(image.size) > 200


@pytest.mark.neutral
def test_the_max_boxes_check_warns_with_the_suggested_value(shapes_records, caplog):
    counts = np.array([len(r.boxes) for r in shapes_records])
    most = int(counts.max())
    assert most >= 2   # las figuras tienen imágenes con 2 cajas
    with caplog.at_level(logging.INFO, logger="redes"):
        summary = warn_max_boxes(shapes_records, 1)
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert f"Sugerencia: --max-cajas {most}" in warning.getMessage()
    assert summary["cajas_que_no_caben"] == int((counts - 1).clip(min=0).sum())
    assert summary["imagenes_con_mas"] == int((counts > 1).sum())
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="redes"):
        assert warn_max_boxes(shapes_records, most)["cajas_que_no_caben"] == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert max_boxes_summary([])["maximo"] == 0


def test_training_warns_before_fitting_when_max_boxes_is_too_small(shapes, caplog, tmp_path):
    from nucleo.errores import ArgumentError
    from tareas.deteccion.entrenar import train_yolo

    records, _ = read_voc(shapes / "annotations", shapes / "images")
    most = max(len(r.boxes) for r in records)
    # La receta «fotos» es multiescala y con un solo lote por época se niega a entrenar:
    # así la prueba para justo después de leer los datos (sin construir ni entrenar).
    with caplog.at_level(logging.INFO, logger="redes"), \
            pytest.raises(ArgumentError, match="multiescala necesita al menos 2 lotes"):
        train_yolo(ann_dir=shapes / "annotations", img_dir=shapes / "images",
                   labels=list(CLASSES), run_dir=tmp_path / "run", input_size=SIDE,
                   max_boxes=1, recipe="fotos", batch_size=64, train_times=1, verbose=0)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                and "--max-cajas 1" in r.getMessage()]
    assert len(warnings) == 1 and f"Sugerencia: --max-cajas {most}" in warnings[0]
