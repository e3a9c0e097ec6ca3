"""modelos.save / modelos.load: ida y vuelta, errores con nombre de archivo y atomicidad."""

import json

import h5py
import numpy as np
import pytest

import modelos
from datos.errores import ArgumentError
from datos.errores import ModelFileError
from datos.errores import UnknownBuilderError
from datos.errores import WeightsMismatchError
from modelos import guardado
from tests.helpers import run_model_saving_test

RNG = np.random.default_rng(0)
ROUND_TRIPS = {
    "xor": (lambda: modelos.build_xor(), (4, 2)),
    "mlp": (lambda: modelos.build_mlp(input_dim=12, hidden=[7, 5], num_classes=3), (5, 12)),
    "deportes": (lambda: modelos.build_sports_cnn(num_classes=4), (3, 21, 28, 3)),
    "cifar": (lambda: modelos.build_cifar_cnn(input_shape=(16, 16, 1), num_classes=2), (3, 16, 16, 1)),
}


def _perturb(model):
    """Pesos distintos de los iniciales, para que la carga tenga algo que probar."""
    model.set_weights([w + RNG.normal(0, 0.1, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_round_trip_gives_identical_predictions(name, tmp_path):
    make, shape = ROUND_TRIPS[name]
    model = _perturb(make())
    restored = run_model_saving_test(model, RNG.random(shape, "float32"), tmp_path / f"{name}.h5")
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_file_records_builder_kwargs_and_metadata(tmp_path):
    model = modelos.build_mlp(input_dim=12, hidden=(7,), num_classes=3)
    modelos.save(model, tmp_path / "m.h5", metadata={"clases": ["a", "b", "c"], "tamanio": (8, 8)})
    info = modelos.load_metadata(tmp_path / "m.h5")
    assert info["builder"] == "mlp"
    assert info["kwargs"] == {"input_dim": 12, "hidden": [7], "num_classes": 3}
    assert info["metadata"] == {"clases": ["a", "b", "c"], "tamanio": [8, 8]}
    assert modelos.load(tmp_path / "m.h5").count_params() == model.count_params()


def test_non_json_kwargs_are_omitted_and_rebuilt_from_defaults(tmp_path):
    import keras

    model = modelos.build_xor(optimizer=keras.optimizers.SGD(0.5))
    modelos.save(model, tmp_path / "x.h5")
    info = modelos.load_metadata(tmp_path / "x.h5")
    assert info["omitted"] == ["optimizer"]
    assert isinstance(modelos.load(tmp_path / "x.h5").optimizer, keras.optimizers.Adam)


def test_any_h5_name_is_accepted_and_keras_native_weights_still_work(tmp_path):
    model = _perturb(modelos.build_xor())
    modelos.save(model, tmp_path / "red_xor.h5")  # sin el sufijo .weights.h5
    model.save_weights(tmp_path / "x.weights.h5")
    other = modelos.build_xor()
    other.load_weights(tmp_path / "x.weights.h5")
    x = RNG.random((4, 2), "float32")
    np.testing.assert_allclose(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_load_without_compile(tmp_path):
    modelos.save(modelos.build_xor(), tmp_path / "x.h5")
    assert getattr(modelos.load(tmp_path / "x.h5", compile=False), "optimizer", None) is None


# === Errores ===

def test_save_rejects_models_not_from_a_builder(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ArgumentError, match="save_weights"):
        modelos.save(model, tmp_path / "x.h5")


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no_existe.h5"):
        modelos.load(tmp_path / "no_existe.h5")


def test_non_hdf5_file(tmp_path):
    path = tmp_path / "texto.h5"
    path.write_text("esto no es HDF5")
    with pytest.raises(ModelFileError, match="texto.h5.*HDF5"):
        modelos.load(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "cortado.h5"
    modelos.save(_perturb(modelos.build_mlp(input_dim=64, hidden=(256,))), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="cortado.h5"):
        modelos.load(path)


def test_hdf5_not_written_by_save(tmp_path):
    path = tmp_path / "ajeno.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(ModelFileError, match="ajeno.h5.*modelos.save"):
        modelos.load(path)


def test_unknown_builder_name(tmp_path):
    path = tmp_path / "desconocido.h5"
    modelos.save(modelos.build_xor(), path)
    with h5py.File(path, "a") as f:
        f.attrs["builder"] = "red_que_no_existe"
    with pytest.raises(UnknownBuilderError, match="red_que_no_existe.*Conocidos: .*xor"):
        modelos.load(path)


def test_corrupt_kwargs_attribute(tmp_path):
    path = tmp_path / "kwargs.h5"
    modelos.save(modelos.build_xor(), path)
    with h5py.File(path, "a") as f:
        f.attrs["kwargs"] = "{no es json"
    with pytest.raises(ModelFileError, match="kwargs.h5.*kwargs"):
        modelos.load(path)


def test_stored_kwargs_rejected_by_builder(tmp_path):
    path = tmp_path / "args.h5"
    modelos.save(modelos.build_xor(), path)
    with h5py.File(path, "a") as f:
        f.attrs["kwargs"] = json.dumps({"__import__": "os"})
    with pytest.raises(ModelFileError, match="args.h5"):
        modelos.load(path)


def test_weights_of_the_wrong_shape(tmp_path):
    path = tmp_path / "forma.h5"
    modelos.save(modelos.build_mlp(input_dim=12, hidden=(7,), num_classes=3), path)
    with h5py.File(path, "a") as f:
        del f["weights/000000"]
        f["weights/000000"] = np.zeros((12, 9), "float32")
        f["weights/000000"].attrs["path"] = "dense_1/kernel"
    with pytest.raises(WeightsMismatchError, match=r"forma.h5.*dense_1/kernel.*\(12, 9\).*\(12, 7\)"):
        modelos.load(path)


def test_wrong_number_of_weights(tmp_path):
    path = tmp_path / "cuenta.h5"
    modelos.save(modelos.build_xor(), path)
    with h5py.File(path, "a") as f:
        del f["weights/000003"]
    with pytest.raises(WeightsMismatchError, match="cuenta.h5.*3 variables"):
        modelos.load(path)


# === Atomicidad ===

def test_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "modelo.h5"
    original = _perturb(modelos.build_xor())
    modelos.save(original, path)
    before = path.read_bytes()

    calls = {"n": 0}
    real = guardado._weight_array

    def fail_midway(variable):
        calls["n"] += 1
        if calls["n"] == 3:  # ya se han escrito dos variables en el temporal
            raise OSError("disco lleno (simulado)")
        return real(variable)

    monkeypatch.setattr(guardado, "_weight_array", fail_midway)
    with pytest.raises(ModelFileError, match="modelo.h5.*disco lleno.*intacto"):
        modelos.save(_perturb(modelos.build_xor()), path)
    assert calls["n"] == 3
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["modelo.h5"]  # sin temporales
    x = RNG.random((4, 2), "float32")
    np.testing.assert_allclose(modelos.load(path).predict(x, verbose=0), original.predict(x, verbose=0))


def test_load_weights_into_an_existing_model(tmp_path):
    path = tmp_path / "w.h5"
    source = _perturb(modelos.build_mlp(input_dim=12, hidden=(7,), num_classes=3))
    modelos.save(source, path)
    target = modelos.build_mlp(input_dim=12, hidden=(7,), num_classes=3)
    modelos.load_weights(target, path)
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(WeightsMismatchError, match="w.h5"):
        modelos.load_weights(modelos.build_mlp(input_dim=12, hidden=(8,), num_classes=3), path)
