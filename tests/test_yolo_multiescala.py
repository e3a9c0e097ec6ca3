"""Entrenamiento multiescala de YOLOv2: tamaños, lotes, capas y pérdida con rejilla variable.

- :func:`modelos.yolo.lotes.multiscale_sizes` y ``YoloDataset(sizes=...)``: cada lote a
  un tamaño, con la rejilla de ese tamaño en su objetivo, determinista por semilla.
- :class:`modelos.yolo.constructor.GridReshape` y :class:`modelos.yolo.darknet.Reorg` con alto
  y ancho desconocidos dan lo mismo que con la forma estática.
- :class:`YoloLoss` con una rejilla que solo se conoce al ejecutar (el grafo de
  TensorFlow que sirve a todos los tamaños) vale lo mismo que con la forma estática.
- ``train_yolo(multiscale=True)`` y ``--multiescala`` entrenan de punta a punta; el
  modelo guardado conserva su tamaño.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import modelos
from nucleo.errores import ArgumentError
from cli.principal import main
from tareas.deteccion.entrenar import train_yolo
from modelos.yolo.darknet import Reorg
from modelos.yolo import YoloDataset
from modelos.yolo import YoloLoss
from modelos.yolo import allow_multiscale
from modelos.yolo import build_yolo
from modelos.yolo import unpack_target
from modelos.yolo.constructor import GridReshape
from modelos.yolo.lotes import multiscale_sizes

SHAPES = ("circulo", "cuadrado")
SIZE = 64
ANCHORS = [[0.6, 0.6], [1.2, 1.0]]


# === Tamaños ===
@pytest.mark.neutral
def test_multiscale_sizes_follow_darknet():
    assert multiscale_sizes(320) == [(s, s) for s in range(224, 417, 32)]
    assert multiscale_sizes(416)[0] == (320, 320) and multiscale_sizes(416)[-1] == (512, 512)
    # Rectangular: el ancho en la misma proporción, redondeado a 32.
    assert multiscale_sizes((320, 416), steps=1) == [(288, 384), (320, 416), (352, 448)]
    # Nunca por debajo de 96 (ni del tamaño base si es menor).
    assert multiscale_sizes(64) == [(64, 64), (96, 96), (128, 128), (160, 160)]
    assert multiscale_sizes(128)[0] == (96, 96)
    with pytest.raises(ArgumentError, match="múltiplo de 32"):
        multiscale_sizes(100)
    with pytest.raises(ArgumentError, match="steps"):
        multiscale_sizes(320, steps=0)


# === Lotes ===
@pytest.mark.neutral
def test_each_batch_has_its_size_and_grid(shapes_records):
    sizes = [(64, 64), (96, 128), (128, 96)]
    data = YoloDataset(shapes_records, list(SHAPES), image_size=SIZE, anchors=ANCHORS,
                       batch_size=4, sizes=sizes, seed=5)
    assert data.sizes == sizes and len(data) == 6
    seen = [data.batch_image_size(i) for i in range(len(data))]
    # Por vueltas de 3 lotes: cada tamaño una vez por vuelta; dos seguidos no se repiten.
    assert sorted(seen[:3]) == sorted(sizes) and sorted(seen[3:]) == sorted(sizes)
    for index, (height, width) in enumerate(seen):
        x, y = data[index]
        grid = (height // 32, width // 32)
        assert x.shape == (4, height, width, 3)
        assert y.shape == (4, grid[0] * grid[1] * len(ANCHORS) + 5, 5 + len(SHAPES))
        target, boxes = (keras.ops.convert_to_numpy(part)
                         for part in unpack_target(y, grid, len(ANCHORS)))
        # Cada objeto en su celda de la rejilla de ese tamaño: el centro cae dentro.
        responsible = np.argwhere(target[..., 4] == 1.0)
        assert len(responsible) > 0
        for b, row, col, a in responsible:
            cx, cy = target[b, row, col, a, :2]
            assert col <= cx <= col + 1 and row <= cy <= row + 1
        assert (boxes[..., 0] <= grid[1]).all() and (boxes[..., 1] <= grid[0]).all()
    # Lo mismo con otra instancia (semilla, época, lote); otro orden en la época siguiente.
    again = YoloDataset(shapes_records, list(SHAPES), image_size=SIZE, anchors=ANCHORS,
                        batch_size=4, sizes=sizes, seed=5)
    assert [again.batch_image_size(i) for i in range(len(again))] == seen
    np.testing.assert_array_equal(again[2][0], data[2][0])
    orders = set()
    for _ in range(4):
        again.on_epoch_end()
        orders.add(tuple(again.batch_image_size(i) for i in range(3)))
    assert len(orders) > 1


@pytest.mark.neutral
@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sizes": [64, 96], "grid": 2}, "«grid» no van juntos"),
    ({"sizes": [64, 100]}, r"múltiplo de 32; no lo son \[\(100, 100\)\]"),
    ({"sizes": [64, 64]}, "al menos dos tamaños"),
    ({"sizes": 64}, "lista de tamaños"),
    ({"sizes": ["grande", 64]}, "sizes"),
    ({"sizes": [64, 96], "batch_size": 32}, "al menos 2 lotes por época; hay 1"),
])
def test_bad_sizes_are_clear_errors(shapes_records, kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        YoloDataset(shapes_records, list(SHAPES), image_size=SIZE, **kwargs)


# === Capas con alto y ancho desconocidos ===
@pytest.mark.neutral
def test_grid_reshape_layer():
    # La prueba común de capas registradas está en tests/test_registrados.py.
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 12)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(GridReshape(2, 6)(x)),
                                  x.reshape(2, 3, 4, 2, 6))
    with pytest.raises(ArgumentError, match="12 canales; se esperaban 3·6"):
        GridReshape(3, 6).compute_output_shape((None, 3, 4, 12))


@pytest.mark.neutral
@pytest.mark.parametrize("order", ["darknet", "space_to_depth"])
def test_layers_accept_any_grid_with_the_same_result(order):
    rng = np.random.default_rng(1)
    inputs = keras.Input((None, None, 16))
    dynamic = keras.Model(inputs, GridReshape(4, 16)(Reorg(2, order)(inputs)))
    for height, width in ((4, 6), (8, 2)):
        x = rng.normal(size=(2, height, width, 16)).astype("float32")
        static_in = keras.Input((height, width, 16))
        fixed = keras.Model(static_in, GridReshape(4, 16)(Reorg(2, order)(static_in)))
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(dynamic(x)),
                                      keras.ops.convert_to_numpy(fixed(x)))


@pytest.mark.neutral
def test_allow_multiscale_keeps_the_declared_input(tmp_path):
    model = build_yolo(list(SHAPES), anchors=ANCHORS, input_size=SIZE, backbone="tiny",
                       width_multiplier=0.25)
    x = np.random.default_rng(2).uniform(size=(1, 96, 128, 3)).astype("float32")
    with pytest.raises(ValueError, match="incompatible"):
        model(x)
    assert allow_multiscale(model) is model
    assert tuple(model(x).shape) == (1, 3, 4, len(ANCHORS), 5 + len(SHAPES))
    assert model.input_shape == (None, SIZE, SIZE, 3)
    assert model.output_shape == (None, 2, 2, len(ANCHORS), 5 + len(SHAPES))
    # Se guarda y se carga con su tamaño (la entrada relajada no viaja con el archivo).
    modelos.save(model, tmp_path / "m.h5")
    restored = modelos.load(tmp_path / "m.h5")
    assert restored.input_shape == (None, SIZE, SIZE, 3)
    same = x[:, :SIZE, :SIZE]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(same)),
                               keras.ops.convert_to_numpy(model(same)), atol=1e-5)
    with pytest.raises(ArgumentError, match="build_yolo"):
        allow_multiscale(keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)]))


# === Pérdida con la rejilla como tensor (TensorFlow) ===
def _loss_batch(rng, grid, n_anchors, n_classes, boxes=3):
    depth = 5 + n_classes
    target = np.zeros((2, grid[0], grid[1], n_anchors, depth), "float32")
    true_boxes = np.zeros((2, boxes, 4), "float32")
    for b in range(2):
        row, col, a = rng.integers(grid[0]), rng.integers(grid[1]), rng.integers(n_anchors)
        box = [col + rng.uniform(), row + rng.uniform(), rng.uniform(0.3, 2), rng.uniform(0.3, 2)]
        target[b, row, col, a, :4] = box
        target[b, row, col, a, 4] = 1.0
        target[b, row, col, a, 5 + rng.integers(n_classes)] = 1.0
        true_boxes[b, 0] = box
    rows = target.reshape(2, -1, depth)
    packed = np.concatenate([rows, np.pad(true_boxes, ((0, 0), (0, 0), (0, depth - 4)))], 1)
    pred = rng.normal(size=(2, grid[0], grid[1], n_anchors, depth)).astype("float32")
    return packed.astype("float32"), pred


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="la rejilla dinámica solo aparece en el grafo de TensorFlow")
@pytest.mark.parametrize("box_loss", ["darknet", "giou", "ciou"])
def test_loss_with_an_unknown_grid_equals_the_static_one(box_loss):
    import tensorflow as tf

    n_anchors, n_classes = len(ANCHORS), 2
    depth = 5 + n_classes
    loss = YoloLoss(ANCHORS, box_loss=box_loss)
    graph = tf.function(loss.call, input_signature=[
        tf.TensorSpec((None, None, depth)), tf.TensorSpec((None, None, None, n_anchors, depth))])
    rng = np.random.default_rng(4)
    for grid in ((3, 4), (5, 2), (2, 2)):  # el mismo grafo para las tres rejillas
        y_true, y_pred = _loss_batch(rng, grid, n_anchors, n_classes)
        static = keras.ops.convert_to_numpy(loss.call(y_true, y_pred))
        assert np.isfinite(static).all() and static.shape == (2,)
        np.testing.assert_allclose(graph(y_true, y_pred).numpy(), static, rtol=1e-6)
    assert graph.experimental_get_tracing_count() == 1


# === De punta a punta ===
@pytest.mark.neutral
def test_train_yolo_multiscale_learns_and_saves_at_its_size(shapes, tmp_path):
    common = dict(input_size=SIZE, backbone="tiny", width_multiplier=0.25, anchors=ANCHORS,
                  epochs=3, train_times=2, batch_size=8, warmup_epochs=0,
                  learning_rate=3e-3, patience=None, verbose=0, seed=0)
    result = train_yolo(ann_dir=shapes / "annotations", img_dir=shapes / "images",
                        labels=list(SHAPES), run_dir=tmp_path / "run", multiscale=True,
                        **common)
    losses = result.history["loss"]
    assert len(losses) == 3 and np.isfinite(losses).all() and losses[-1] < losses[0]
    saved = modelos.load(result.file("pesos"))
    assert saved.input_shape == (None, SIZE, SIZE, 3)
    meta = modelos.load_metadata(result.file("pesos"))["metadata"]
    assert meta["multiescala"] == [[64, 64], [96, 96], [128, 128], [160, 160]]
    x = np.random.default_rng(0).uniform(size=(2, SIZE, SIZE, 3)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(saved(x)),
                               keras.ops.convert_to_numpy(result.model(x)), atol=1e-5)


def test_multiscale_with_a_single_batch_is_a_clear_error(shapes, tmp_path, capsys):
    args = ["yolo", "entrenar", "--anotaciones", str(shapes / "annotations"),
            "--imagenes", str(shapes / "images"), "--tamanio", str(SIZE), "--backbone",
            "tiny", "--ancho", "0.25", "--epocas", "1", "--repeticiones", "1", "--lote", "32",
            "--receta", "fotos", "--salida", str(tmp_path / "r")]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "al menos 2 lotes por época" in err and "--sin-multiescala" in err
    assert "Traceback" not in err


def test_cli_multiscale_option(shapes, tmp_path):
    summary = tmp_path / "resumen.json"
    args = ["yolo", "entrenar", "--anotaciones", str(shapes / "annotations"),
            "--imagenes", str(shapes / "images"), "--tamanio", str(SIZE), "--backbone",
            "tiny", "--ancho", "0.25", "--epocas", "1", "--repeticiones", "1",
            "--calentamiento", "0", "--multiescala", "--pesos", str(tmp_path / "m.h5"),
            "--json", str(summary)]
    assert main(args) == 0
    assert json.loads(summary.read_text())["metricas"]["epocas"] == 1
    meta = modelos.load_metadata(tmp_path / "m.h5")["metadata"]
    assert meta["multiescala"][0] == [64, 64] and len(meta["multiescala"]) == 4
