"""La receta «fotos» de ``train_yolo`` y la métrica de cajas tragonas.

- ``oversized_boxes``: cuenta las detecciones cuya caja es ≥ 1,5 veces la verdadera con
  la que se emparejan (misma clase, IoU mínima, puntuación mínima).
- ``make_augmenter(hue=..., saturation=...)``: cambia el color y no las cajas.
- ``build_yolo(ema_momentum=...)``: Adam con la media móvil de los pesos.
- ``train_yolo(recipe="fotos")`` (y ``--receta fotos``): el registro trae ``val_map_50``
  de cada época, el modelo guardado es el de la mejor (con los pesos EMA: da ese mismo
  mAP) y con tope de tiempo no hay parada temprana.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import modelos
from datos.anotaciones import read_voc
from datos.aumento import make_augmenter
from nucleo.errores import ArgumentError
from cli.principal import main
from informes.metricas import oversized_boxes
from tareas.deteccion.evaluar import evaluate_records
from tareas.deteccion.entrenar import split_records
from tareas.deteccion.entrenar import train_yolo
from modelos.yolo import build_yolo

SIZE = 64
SHAPES = ("circulo", "cuadrado")


# === Cajas tragonas ===
@pytest.mark.neutral
def test_oversized_boxes_counts_big_boxes_of_the_same_class():
    truths = [np.array([[10, 10, 30, 30, 0], [50, 50, 60, 60, 1]], np.float32)]
    detections = [np.array([
        [10, 10, 30, 30, 0.9, 0],   # exacta
        [0, 0, 40, 40, 0.8, 0],     # 4 veces el área: tragona
        [48, 48, 62, 62, 0.7, 1],   # 1,96 veces: tragona
        [51, 51, 59, 59, 0.6, 1],   # más pequeña
        [0, 0, 40, 40, 0.2, 0],     # puntuación baja: no cuenta
        [100, 100, 140, 140, 0.9, 0],  # no toca ninguna caja: sin pareja
    ], np.float32)]
    result = oversized_boxes(detections, truths)
    assert (result.oversized, result.matched) == (2, 4)
    assert result.rate == 0.5
    # Una caja grande de otra clase no se empareja con la caja de la clase 0.
    other = [np.array([[0, 0, 40, 40, 0.9, 1]], np.float32)]
    assert oversized_boxes(other, [truths[0][:1]]).matched == 0
    assert np.isnan(oversized_boxes(other, [truths[0][:1]]).rate)
    assert oversized_boxes(detections, truths, area_factor=5.0).oversized == 0


@pytest.mark.neutral
def test_oversized_boxes_errors():
    with pytest.raises(ArgumentError, match="deben coincidir"):
        oversized_boxes([np.zeros((0, 6))], [])
    with pytest.raises(ArgumentError, match=r"detections\[0\].*\(N, 6\)"):
        oversized_boxes([np.zeros((2, 5))], [np.zeros((0, 5))])
    with pytest.raises(ArgumentError, match="area_factor"):
        oversized_boxes([], [], area_factor=0.5)


# === Aumento de color ===
@pytest.mark.neutral
def test_hue_and_saturation_change_colour_not_boxes():
    rng = np.random.default_rng(0)
    images = rng.integers(30, 220, (4, 32, 32, 3), dtype=np.uint8)
    boxes = [np.array([[4.0, 4.0, 20.0, 20.0]])] * 4
    plain = make_augmenter(seed=1, geometric=False, max_photometric=0)
    coloured = make_augmenter(seed=1, geometric=False, max_photometric=0,
                              hue=(-40, 40), saturation=(0.3, 1.7))
    same, same_boxes, _ = plain.augment_with_boxes(images, boxes, seed=3)
    out, out_boxes, _ = coloured.augment_with_boxes(images, boxes, seed=3)
    np.testing.assert_array_equal(same, images)
    assert np.abs(out.astype(int) - images).mean() > 5
    for before, after in zip(boxes, out_boxes, strict=True):
        np.testing.assert_allclose(after, before)
    # Misma semilla, mismo color.
    again, _, _ = coloured.augment_with_boxes(images, boxes, seed=3)
    np.testing.assert_array_equal(again, out)
    with pytest.raises(ArgumentError, match="hue"):
        make_augmenter(hue=(10, -10))
    with pytest.raises(ArgumentError, match="saturation"):
        make_augmenter(saturation=(-1.0, 1.0))


# === EMA ===
def test_build_yolo_with_ema_momentum():
    model = build_yolo(["a"], input_size=SIZE, backbone="tiny", width_multiplier=0.25,
                       ema_momentum=0.9)
    assert model.optimizer.use_ema and model.optimizer.ema_momentum == pytest.approx(0.9)
    assert not build_yolo(["a"], input_size=SIZE, backbone="tiny",
                          width_multiplier=0.25).optimizer.use_ema
    with pytest.raises(ArgumentError, match="ema_momentum"):
        build_yolo(["a"], input_size=SIZE, backbone="tiny", ema_momentum=1.5)


# === La receta === (con las figuras de tests/conftest.py, ``shapes``)
def test_photo_recipe_keeps_the_epoch_with_the_best_validation_map(shapes, tmp_path):
    result = train_yolo(
        ann_dir=shapes / "annotations", img_dir=shapes / "images", labels=list(SHAPES),
        run_dir=tmp_path / "run", input_size=SIZE, backbone="tiny", width_multiplier=0.25,
        anchors="auto", epochs=4, train_times=1, batch_size=8, warmup_epochs=0,
        learning_rate=2e-3, patience=1, minutes=60, recipe="fotos", verbose=0)
    with open(tmp_path / "run" / "registro.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    maps = [float(row["val_map_50"]) for row in rows]
    # Con tope de tiempo no hay parada temprana: las 4 épocas, aunque patience=1.
    assert len(rows) == 4
    best = int(np.argmax(maps))
    assert result.metrics["mejor_epoca"] == best + 1
    # El modelo guardado es el de esa época con los pesos con que se midió (los EMA):
    # vuelve a dar exactamente su mAP en las mismas imágenes de validación.
    records, _ = read_voc(shapes / "annotations", shapes / "images", list(SHAPES))
    _, val_records = split_records(records, 0.2, 0)
    saved = modelos.load(result.file("pesos"))
    again = evaluate_records(saved, val_records, list(SHAPES), progress=False)
    assert again["map"]["0.5"] == pytest.approx(maps[best], abs=1e-6)
    assert result.metrics["map_50"] == pytest.approx(maps[best], abs=1e-6)
    meta = modelos.load_metadata(result.file("pesos"))["metadata"]
    assert meta["receta"] == "fotos"
    # La receta entrena en multiescala (DetectionConfig.preset("fotos")); el modelo guardado,
    # a su tamaño.
    assert meta["multiescala"] == [[64, 64], [96, 96], [128, 128], [160, 160]]
    assert saved.input_shape == (None, SIZE, SIZE, 3)
    # Las cajas tragonas del resumen son las de las detecciones que se dibujan del modelo
    # guardado en la validación (nan si ninguna se empareja).
    from tareas.deteccion.evaluar import DRAW_THRESHOLD
    from tareas.deteccion.evaluar import ground_truths

    expected = oversized_boxes(again["predicciones"], ground_truths(val_records, list(SHAPES)),
                               score_threshold=DRAW_THRESHOLD)
    np.testing.assert_allclose(result.metrics["cajas_tragonas"], expected.rate, equal_nan=True)
    assert again["tragonas"] == expected


def test_cli_recipe_option(shapes, tmp_path, capsys):
    voc = ["--anotaciones", str(shapes / "annotations"), "--imagenes", str(shapes / "images")]
    summary = tmp_path / "resumen.json"
    args = ["yolo", "entrenar", *voc, "--tamanio", str(SIZE), "--backbone", "tiny",
            "--ancho", "0.25", "--epocas", "2", "--repeticiones", "1", "--calentamiento",
            "0", "--tasa", "2e-3", "--receta", "fotos", "--perdida-cajas", "ciou",
            "--sin-multiescala", "--pesos", str(tmp_path / "m.h5"), "--json", str(summary)]
    assert main(args) == 0
    data = json.loads(summary.read_text())
    assert "cajas_tragonas" in data["metricas"]
    header = (tmp_path / "m" / "registro.csv").read_text().splitlines()[0]
    assert "val_map_50" in header
    restored = modelos.load(tmp_path / "m.h5")  # la pérdida elegida viaja con el modelo
    assert restored.loss.box_loss == "ciou"
    # --sin-multiescala quita la multiescala de la receta.
    assert modelos.load_metadata(tmp_path / "m.h5")["metadata"]["multiescala"] is None
    capsys.readouterr()
    for wrong, option in (("rapida", "--receta"), ("diou", "--perdida-cajas")):
        with pytest.raises(SystemExit) as exit_info:
            main([*args[:-4], option, wrong])
        assert exit_info.value.code == 2
        assert option in capsys.readouterr().err


def test_unknown_recipe_is_a_clear_error(shapes, tmp_path):
    with pytest.raises(ArgumentError, match="recipe"):
        train_yolo(ann_dir=shapes / "annotations", img_dir=shapes / "images",
                   labels=list(SHAPES), run_dir=tmp_path, input_size=SIZE, recipe="rapida")
