"""``build_yolo``: parámetros de darknet, formas, valores del blog, fit, guardado y precisión."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import modelos
from nucleo.errores import ArgumentError
from modelos.yolo.darknet_pesos import load_darknet_weights
from modelos.yolo.darknet_pesos import save_darknet_weights
from modelos.yolo import VOC_ANCHORS
from modelos.yolo import YoloDataset
from modelos.yolo import YoloLoss
from modelos.yolo import build_yolo
from modelos.yolo import yolo_config
from tests.helpers import run_model_saving_test

VOC_LABELS = [f"clase{i}" for i in range(20)]


@pytest.mark.parametrize("backbone, expected", [("darknet19", 50_676_061), ("tiny", 15_867_885)])
def test_parameter_count_equals_darknet_float_count(backbone, expected):
    model = build_yolo(VOC_LABELS, VOC_ANCHORS, 416, backbone)
    assert model.count_params() == expected
    assert model.output_shape == (None, 13, 13, 5, 25)
    names = {layer.name for layer in model.layers}
    last = 22 if backbone == "darknet19" else 8
    assert {f"conv_{i}" for i in range(1, last + 2)} <= names
    assert {f"norm_{i}" for i in range(1, last + 1)} <= names


@pytest.mark.parametrize("size, backbone, grid", [(320, "tiny", (10, 10)), (224, "tiny", (7, 7)),
                                                  ((64, 128), "tiny", (2, 4)),
                                                  (96, "darknet19", (3, 3))])
def test_any_multiple_of_32(size, backbone, grid):
    model = build_yolo(["a", "b", "c"], anchors=[1, 1, 2, 2], input_size=size,
                       backbone=backbone, compile=False)
    assert model.output_shape == (None, *grid, 2, 8)
    side = (size, size) if isinstance(size, int) else size
    out = model(np.zeros((1, *side, 3), np.float32))
    assert tuple(out.shape) == (1, *grid, 2, 8)


def test_blog_defaults():
    model = build_yolo(backbone="tiny")
    config = yolo_config(model)
    assert config["labels"] == ["lego"]
    assert config["input_size"] == (416, 416) and config["grid"] == (13, 13)
    assert config["max_boxes"] == 5
    np.testing.assert_allclose(config["anchors"], VOC_ANCHORS)
    assert model.output_shape == (None, 13, 13, 5, 6)
    assert isinstance(model.loss, YoloLoss)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4)


@pytest.mark.parametrize("kwargs, message", [
    ({"input_size": 100}, "múltiplo de 32"),
    ({"labels": []}, "«labels»"),
    ({"labels": ["a", "a"]}, "distintos"),
    ({"backbone": "resnet"}, "«backbone»"),
    ({"anchors": [[1, -1]]}, "«anchors»"),
    ({"max_boxes": 0}, "max_boxes"),
    ({"learning_rate": -1.0}, "learning_rate"),
])
def test_bad_arguments_have_spanish_errors(kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        build_yolo(**{"backbone": "tiny", "input_size": 64, **kwargs})


def test_yolo_config_rejects_other_models():
    with pytest.raises(ArgumentError, match="build_yolo"):
        yolo_config(modelos.build_xor())


def test_yolo_config_reads_the_complete_saved_arguments(tmp_path):
    import inspect
    import json

    import h5py

    from modelos.registro import builder_spec

    model = build_yolo(["a", "b"], anchors=[[1.0, 2.0]], input_size=64, backbone="tiny",
                       max_boxes=7, compile=False)
    assert set(builder_spec(model).kwargs) == set(inspect.signature(build_yolo).parameters)
    path = modelos.save(model, tmp_path / "yolo.h5")
    config = yolo_config(modelos.load(path))
    assert (config["max_boxes"], config["backbone"], config["labels"]) == (7, "tiny", ["a", "b"])
    # Un archivo anterior guardaba solo los argumentos explícitos: el resto, de la firma.
    with h5py.File(path, "r+") as handle:
        handle.attrs["kwargs"] = json.dumps({"labels": ["a", "b"], "anchors": [[1.0, 2.0]],
                                             "input_size": 64, "backbone": "tiny",
                                             "compile": False})
    config = yolo_config(modelos.load(path))
    assert config["max_boxes"] == 5 and config["anchors"] == [[1.0, 2.0]]


def test_model_with_warmup_counter_saves_and_loads(tmp_path):
    """Regresión: la variable «seen» de YoloLoss se creaba con un valor y no se podía
    construir en el ``StatelessScope`` en que ``modelos.load`` comprueba el archivo."""
    model = build_yolo(["a"], input_size=64, backbone="tiny", width_multiplier=0.25,
                       warmup_batches=5)
    restored = modelos.load(modelos.save(model, tmp_path / "calentamiento.h5"))
    assert restored.loss.warmup_batches == 5 and int(restored.loss.seen.numpy()) == 0


def test_blog_fit_works_as_written(shapes_records):
    """``build_yolo().fit(YoloDataset(...))`` con la configuración del blog: 416, Darknet-19."""
    keras.utils.set_random_seed(0)
    model = build_yolo()
    relabelled = [type(r)(r.path, r.width, r.height, r.boxes, ["lego"] * len(r.labels))
                  for r in shapes_records[:2]]
    before = model.get_layer("conv_23").get_weights()[0].copy()
    history = model.fit(YoloDataset(relabelled, ["lego"], augmenter=True, batch_size=2),
                        epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(model.get_layer("conv_23").get_weights()[0], before)


def test_save_load_round_trip_and_darknet_weights(tmp_path):
    keras.utils.set_random_seed(1)
    model = build_yolo(["a", "b"], anchors=[[1.0, 1.5], [2.0, 1.0]], input_size=64,
                       backbone="tiny", reorg_order="space_to_depth")
    x = np.random.default_rng(0).random((2, 64, 64, 3), np.float32)
    restored = run_model_saving_test(model, x, tmp_path / "yolo.h5", atol=1e-5)
    assert yolo_config(restored)["labels"] == ["a", "b"]
    assert isinstance(restored.loss, YoloLoss)
    # Los mismos pesos en formato darknet, cargados en un modelo nuevo.
    save_darknet_weights(model, tmp_path / "yolo.weights")
    fresh = build_yolo(["a", "b"], anchors=[[1.0, 1.5], [2.0, 1.0]], input_size=64,
                       backbone="tiny")
    load_darknet_weights(fresh, tmp_path / "yolo.weights")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-4)


def test_full_model_with_space_to_depth_round_trips(tmp_path):
    keras.utils.set_random_seed(2)
    model = build_yolo(["a"], input_size=64, reorg_order="space_to_depth")
    x = np.random.default_rng(1).random((1, 64, 64, 3), np.float32)
    run_model_saving_test(model, x, tmp_path / "full.h5", atol=1e-4)


@pytest.mark.neutral
def test_mixed_bfloat16_outputs_float32_and_trains(shapes_records):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(3)
        model = build_yolo(["circulo", "cuadrado"], input_size=96, backbone="tiny",
                           width_multiplier=0.25)
        assert model.get_layer("conv_1").compute_dtype == "bfloat16"
        data = YoloDataset(shapes_records[:4], ["circulo", "cuadrado"], image_size=96,
                           batch_size=4)
        x, _ = data[0]
        assert keras.backend.standardize_dtype(model(x).dtype) == "float32"
        loss = model.fit(data, epochs=1, verbose=0).history["loss"][0]
        assert np.isfinite(loss)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
