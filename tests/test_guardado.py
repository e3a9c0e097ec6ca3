"""modelos.save / modelos.load: ida y vuelta, errores con nombre de archivo y atomicidad."""

import json

import h5py
import numpy as np
import pytest

import modelos
from nucleo.errores import ArgumentError
from nucleo.errores import ModelFileError
from nucleo.errores import UnknownBuilderError
from nucleo.errores import WeightsMismatchError
from modelos import guardado
from tests.helpers import TINY_BUILDS
from tests.helpers import run_model_saving_test

RNG = np.random.default_rng(0)
ROUND_TRIPS = {
    "xor": (lambda: modelos.build_xor(), (4, 2)),
    "mlp": (lambda: modelos.build_mlp(input_dim=12, hidden=[7, 5], num_classes=3), (5, 12)),
    "deportes": (lambda: modelos.build_sports_cnn(num_classes=4), (3, 21, 28, 3)),
    "cifar": (lambda: modelos.build_cifar_cnn(input_shape=(16, 16, 1), num_classes=2),
              (3, 16, 16, 1)),
}


def _perturb(model):
    """Pesos distintos de los iniciales, para que la carga tenga algo que probar."""
    model.set_weights([w + RNG.normal(0, 0.1, w.shape).astype(w.dtype)
                       for w in model.get_weights()])
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
    # Todos los argumentos, también los que tomaron su valor por defecto.
    assert info["kwargs"] == {"input_dim": 12, "hidden": [7], "num_classes": 3,
                              "learning_rate": 1e-3, "compile": True, "optimizer": None,
                              "loss": None, "metrics": None}
    with h5py.File(tmp_path / "m.h5") as f:  # escritos en el archivo, no solo al leer
        assert json.loads(f.attrs["kwargs"]) == info["kwargs"]
    # La tarea que declara su familia se anota sola; una tarea dada en los metadatos manda.
    assert info["metadata"] == {"clases": ["a", "b", "c"], "tamanio": [8, 8],
                                "tarea": "clasificacion"}
    assert modelos.load(tmp_path / "m.h5").count_params() == model.count_params()
    modelos.save(model, tmp_path / "n.h5", metadata={"tarea": "xor"})
    assert modelos.load_metadata(tmp_path / "n.h5")["metadata"] == {"tarea": "xor"}


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
    with pytest.raises(ModelFileError, match="No existe.*no_existe.h5"):
        modelos.load(tmp_path / "no_existe.h5")


def test_a_directory_is_reported_as_a_directory(tmp_path):
    (tmp_path / "modelo.h5").mkdir()
    for read in (modelos.load, modelos.load_metadata):
        with pytest.raises(ModelFileError, match="modelo.h5» es una carpeta") as info:
            read(tmp_path / "modelo.h5")
        assert "No existe" not in str(info.value)


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
    with pytest.raises(WeightsMismatchError,
                       match=r"forma.h5.*dense_1/kernel.*\(12, 9\).*\(12, 7\)"):
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
    np.testing.assert_allclose(modelos.load(path).predict(x, verbose=0),
                               original.predict(x, verbose=0))


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


# === Formato anterior y valores antiguos ===

def _write_old_format_mlp(path, weights):
    """Un archivo como los de la versión anterior: solo los argumentos explícitos."""
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "redes-keras"
        f.attrs["format_version"] = 1
        f.attrs["builder"] = "mlp"
        f.attrs["kwargs"] = json.dumps({"input_dim": 12, "hidden": [7], "num_classes": 3})
        f.attrs["omitted"] = "[]"
        f.attrs["metadata"] = json.dumps({"clases": ["a", "b", "c"]})
        f.attrs["keras_version"] = "3.15.1"
        group = f.create_group("weights")
        names = ["dense_1/kernel", "dense_1/bias", "salida/kernel", "salida/bias"]
        for index, (name, value) in enumerate(zip(names, weights, strict=True)):
            group[f"{index:06d}"] = value
            group[f"{index:06d}"].attrs["path"] = name


def test_files_of_the_previous_format_still_load(tmp_path):
    source = _perturb(modelos.build_mlp(input_dim=12, hidden=(7,), num_classes=3))
    path = tmp_path / "antiguo.h5"
    _write_old_format_mlp(path, source.get_weights())
    restored = modelos.load(path)
    x = RNG.random((5, 12), "float32")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), source.predict(x, verbose=0))
    info = modelos.load_metadata(path)
    # Los que faltan se completan con los valores por defecto actuales del constructor.
    assert info["kwargs"]["learning_rate"] == 1e-3 and info["kwargs"]["compile"] is True
    assert info["kwargs"]["hidden"] == [7]
    assert info["metadata"] == {"clases": ["a", "b", "c"]}


def test_legacy_values_of_saved_arguments_are_translated(tmp_path, monkeypatch):
    from modelos import registro

    path = tmp_path / "viejo.h5"
    modelos.save(modelos.build_xor(loss="mean_squared_error"), path)
    with h5py.File(path, "a") as f:
        kwargs = json.loads(f.attrs["kwargs"])
        f.attrs["kwargs"] = json.dumps({**kwargs, "loss": "ecm_antiguo"})
    with pytest.raises(ModelFileError, match="ecm_antiguo"):
        modelos.load(path)
    monkeypatch.setitem(registro._LEGACY_VALUES, "xor",
                        {"loss": {"ecm_antiguo": "mean_squared_error"}})
    assert modelos.load(path).loss == "mean_squared_error"
    assert modelos.load_metadata(path)["kwargs"]["loss"] == "mean_squared_error"


# === Archivos hostiles: nada se reserva ni se lee antes de comprobarlo ===

def _saved_xor(tmp_path, name="x.h5"):
    path = tmp_path / name
    modelos.save(_perturb(modelos.build_xor()), path)
    return path


def _set_kwargs(path, **changes):
    with h5py.File(path, "a") as f:
        f.attrs["kwargs"] = json.dumps({**json.loads(f.attrs["kwargs"]), **changes})


def _replace_weight(path, key, **create):
    with h5py.File(path, "a") as f:
        stored_path = f[f"weights/{key}"].attrs["path"]
        del f[f"weights/{key}"]
        f["weights"].create_dataset(key, **create)
        if isinstance(f[f"weights/{key}"], h5py.Dataset):
            f[f"weights/{key}"].attrs["path"] = stored_path


@pytest.mark.parametrize("shape", [(10**8,), (2**40,)], ids=["400MB", "4TiB"])
def test_a_huge_declared_dataset_is_refused_before_reading(tmp_path, shape):
    path = _saved_xor(tmp_path)
    # Declarado pero sin datos escritos: el archivo sigue ocupando unos KB.
    _replace_weight(path, "000000", shape=shape, dtype="float32", chunks=(1024,))
    assert path.stat().st_size < 64 * 1024
    with pytest.raises(WeightsMismatchError, match=r"dense_1/kernel.*forma.*\(2, 16\)"):
        modelos.load(path)
    with pytest.raises(WeightsMismatchError):
        modelos.load_weights(modelos.build_xor(), path)


@pytest.mark.parametrize("builder, kwargs, message", [
    ("xor", {"hidden_units": 10**12}, "hidden_units"),
    ("mlp", {"input_dim": 12, "hidden": [10**6] * 10**5}, "hidden"),
    ("deportes", {"input_shape": [30000, 30000, 3]}, "input_shape"),
    # Cada argumento dentro de sus límites, pero el producto no: lo para el recuento en seco.
    ("cifar", {"input_shape": [4096, 4096, 3]}, "parámetros"),
    ("mlp", {"input_dim": 2**24, "hidden": [2**24]}, "parámetros"),
])
def test_huge_builder_arguments_are_refused_before_building(tmp_path, builder, kwargs,
                                                            message):
    import resource

    path = tmp_path / "enorme.h5"
    modelos.save(modelos.get_builder(builder)(**({"num_classes": 2} if builder != "xor"
                                                   else {})), path)
    _set_kwargs(path, **kwargs)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ModelFileError, match=f"enorme.h5.*{message}"):
        modelos.load(path)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 512 * 1024  # nada de los GB que pedía


def test_a_refused_dry_run_leaves_no_variables_pending_in_keras(tmp_path):
    import keras
    from keras.src.backend.common import global_state

    path = tmp_path / "enorme.h5"
    modelos.save(modelos.build_cifar_cnn(num_classes=2), path)
    _set_kwargs(path, input_shape=[4096, 4096, 3])
    pending = list(global_state.get_global_attribute("uninitialized_variables") or [])
    with pytest.raises(ModelFileError, match="parámetros"):
        modelos.load(path)
    assert list(global_state.get_global_attribute("uninitialized_variables") or []) == pending
    with keras.StatelessScope():  # al salir inicializaría lo pendiente
        pass
    assert modelos.load(_saved_xor(tmp_path)).count_params() == 65


def _deep_json(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("attribute, value, message", [
    ("kwargs", '{"hidden_units": ' + _deep_json(100_000) + "}", "niveles"),
    ("kwargs", '{"hidden_units": ' + _deep_json(200) + "}", "niveles"),
    ("metadata", _deep_json(100_000), "niveles"),
    ("kwargs", "[1, 2]", "kwargs.*dict"),
    ("kwargs", json.dumps({"optimizer": {"class_name": "Adam"}}), "optimizer.*diccionario"),
    ("kwargs", json.dumps({"optimizer": {"config": {}}}), "optimizer.*diccionario"),
    ("kwargs", json.dumps({"optimizer": 3}), "optimizer.*nombre"),
    ("kwargs", json.dumps({"optimizer": "optimizador_inventado"}), "optimizador_inventado"),
    ("kwargs", json.dumps({"loss": "perdida_inventada"}), "perdida_inventada"),
    ("kwargs", '{"hidden_units": NaN}', "hidden_units.*finito"),
    ("kwargs", '{"hidden_units": 1e999}', "hidden_units.*finito"),
    ("kwargs", '{"hidden_units": ' + "9" * 5000 + "}", "kwargs.*JSON"),
    ("kwargs", '{"hidden_units": 16.5}', "hidden_units"),
    ("omitted", "[1]", "omitted"),
    ("omitted", "{}", "omitted.*list"),
    # Atributos del tipo equivocado.
    ("format", np.array([b"redes-keras", b"x"]), "texto"),
    ("format", 7, "texto"),
    ("builder", 7, "builder.*texto"),
    ("builder", np.zeros(3), "builder.*texto"),
    ("kwargs", np.arange(4), "kwargs.*texto"),
    ("kwargs", b"\xff\xfe", "kwargs"),
    ("format_version", 99, "versión de formato 99"),
    ("format_version", np.arange(2), "versión de formato"),
    ("format_version", "uno", "format_version"),
])
def test_malformed_attributes_give_model_file_errors(tmp_path, attribute, value, message):
    path = _saved_xor(tmp_path, "raro.h5")
    with h5py.File(path, "a") as f:
        f.attrs[attribute] = value
    with pytest.raises(ModelFileError, match=f"raro.h5.*{message}"):
        modelos.load(path)


def test_missing_attributes(tmp_path):
    for attribute in ("builder", "kwargs", "omitted", "metadata"):
        path = _saved_xor(tmp_path, f"sin_{attribute}.h5")
        with h5py.File(path, "a") as f:
            del f.attrs[attribute]
        with pytest.raises(ModelFileError, match=f"sin_{attribute}.h5.*falta.*{attribute}"):
            modelos.load(path)


@pytest.mark.parametrize("create, message", [
    ({"data": np.array([b"0.5"] * 32).reshape(2, 16)}, "textos"),
    ({"data": np.array([["0.5"] * 16] * 2, dtype=object),
      "dtype": h5py.string_dtype()}, "textos"),
    ({"data": np.zeros((2, 16), dtype=[("a", "f4"), ("b", "f4")])}, "compuesto"),
    ({"data": np.zeros((2, 16), dtype="complex64")}, "complejos"),
    ({"data": np.zeros((2, 16), dtype="f4, f4")}, "compuesto"),
    ({"data": np.zeros((2, 16, 2), dtype="f4").view("V8")}, "tipo"),
    ({"shape": (2,), "dtype": h5py.vlen_dtype("f4")}, "longitud variable"),
    ({"data": h5py.Empty("f4")}, "sin forma|no tiene forma"),
])
def test_weights_that_are_not_numbers_are_refused(tmp_path, create, message):
    path = _saved_xor(tmp_path, "tipos.h5")
    _replace_weight(path, "000000", **create)
    with pytest.raises(ModelFileError, match=f"tipos.h5.*weights/000000.*({message})"):
        modelos.load(path)


@pytest.mark.parametrize("dtype", ["int32", "int8", "uint16", "bool"])
def test_integer_and_boolean_weights_are_refused(tmp_path, dtype):
    path = _saved_xor(tmp_path, "enteros.h5")
    _replace_weight(path, "000000", data=np.ones((2, 16), dtype=dtype))
    with pytest.raises(WeightsMismatchError,
                       match=r"enteros.h5.*dense_1/kernel.*(enteros|booleanos).*float32"):
        modelos.load(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e300])
def test_non_finite_weights_are_refused(tmp_path, bad):
    path = _saved_xor(tmp_path, "nan.h5")
    values = np.zeros((2, 16), "float64")
    values[1, 3] = bad  # 1e300 no cabe en float32: infinito al convertir
    _replace_weight(path, "000000", data=values)
    with pytest.raises(ModelFileError, match="nan.h5.*dense_1/kernel.*1 valores NaN o infinitos"):
        modelos.load(path)
    model = modelos.build_xor()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ModelFileError):
        modelos.load_weights(model, path)
    for a, b in zip(before, model.get_weights(), strict=True):  # nada a medias
        np.testing.assert_array_equal(a, b)


def test_float16_and_float64_weights_of_the_right_shape_load(tmp_path):
    path = _saved_xor(tmp_path, "f16.h5")
    _replace_weight(path, "000000", data=np.full((2, 16), 0.5, "float16"))
    _replace_weight(path, "000001", data=np.full((16,), 0.25, "float64"))
    model = modelos.load(path)
    np.testing.assert_array_equal(model.get_weights()[0], np.full((2, 16), 0.5, "float32"))


def test_a_renamed_weight_entry_is_refused(tmp_path):
    path = _saved_xor(tmp_path, "renombrado.h5")
    with h5py.File(path, "a") as f:
        f["weights/000000"].attrs["path"] = "otra_capa/kernel"
    with pytest.raises(WeightsMismatchError,
                       match="renombrado.h5.*otra_capa/kernel.*dense_1/kernel"):
        modelos.load(path)


def test_swapped_weights_of_the_same_shape_are_refused(tmp_path):
    path = tmp_path / "cruzados.h5"
    modelos.save(modelos.build_mlp(input_dim=4, hidden=(4, 4), num_classes=4), path)
    with h5py.File(path, "a") as f:  # dense_2/kernel y salida/kernel: ambas (4, 4)
        a, b = f["weights/000002"].attrs["path"], f["weights/000004"].attrs["path"]
        f["weights/000002"].attrs["path"], f["weights/000004"].attrs["path"] = b, a
    with pytest.raises(WeightsMismatchError, match="cruzados.h5.*salida/kernel.*dense_2/kernel"):
        modelos.load(path)



@pytest.mark.parametrize("change, message", [
    (lambda f: f.__delitem__("weights"), "falta el grupo «weights»"),
    (lambda f: (f.__delitem__("weights"), f.create_dataset("weights", data=[1.0])),
     "«weights» debería ser un grupo"),
    (lambda f: f["weights"].move("000001", "abc"), "weights/abc"),
    (lambda f: f["weights"].move("000003", "000007"), "weights/000007"),
    (lambda f: (f["weights"].__delitem__("000000"), f["weights"].create_group("000000")),
     "weights/000000» es un grupo"),
    (lambda f: (f["weights"].__delitem__("000000"),
                f["weights"].__setitem__("000000", h5py.SoftLink("/weights/000001"))),
     "weights/000000» es un enlace"),
    (lambda f: (f["weights"].__delitem__("000000"),
                f["weights"].__setitem__("000000", h5py.ExternalLink("/etc/passwd", "/x"))),
     "weights/000000» es un enlace"),
    (lambda f: f["weights/000000"].attrs.__delitem__("path"), "falta el atributo «path»"),
    (lambda f: f["weights/000000"].attrs.__setitem__("path", np.arange(3)), "path.*texto"),
])
def test_malformed_weight_layout(tmp_path, change, message):
    path = _saved_xor(tmp_path, "capas.h5")
    with h5py.File(path, "a") as f:
        change(f)
    with pytest.raises(ModelFileError, match=f"capas.h5.*{message}"):
        modelos.load(path)


def test_weights_stored_in_an_external_raw_file_are_refused(tmp_path):
    path = _saved_xor(tmp_path, "externo.h5")
    raw = tmp_path / "crudo.bin"
    raw.write_bytes(np.ones(32, "float32").tobytes())
    _replace_weight(path, "000000", shape=(2, 16), dtype="float32",
                    external=[(str(raw), 0, 128)])
    with pytest.raises(ModelFileError, match="externo.h5.*weights/000000.*otro archivo"):
        modelos.load(path)


def test_randomly_corrupted_files_never_escape_as_raw_exceptions(tmp_path):
    import random

    from nucleo.errores import RedesError

    source = tmp_path / "base.h5"
    modelos.save(modelos.build_mlp(input_dim=6, hidden=(4,), num_classes=2), source)
    data = source.read_bytes()
    rng = random.Random(0)
    refused = 0
    for attempt in range(60):
        corrupted = bytearray(data)
        if attempt % 3 == 0:
            corrupted = corrupted[:rng.randrange(len(corrupted))]
        else:
            for _ in range(rng.randint(1, 8)):
                corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
        path = tmp_path / f"roto_{attempt}.h5"
        path.write_bytes(bytes(corrupted))
        try:
            modelos.load(path)
        except RedesError:
            refused += 1
        path.unlink()
    assert refused > 0  # el daño se detecta (un error de redes), nunca una excepción cruda


def test_every_registered_builder_survives_the_checked_load(tmp_path):
    tiny = TINY_BUILDS
    # Un constructor nuevo se añade a TINY_BUILDS (los «prueba_*» los registran otras pruebas).
    assert sorted(tiny) == [n for n in modelos.builder_names() if not n.startswith("prueba_")]
    for name, kwargs in tiny.items():
        model = _perturb(modelos.get_builder(name)(**kwargs))
        modelos.save(model, tmp_path / f"{name}.h5")
        restored = modelos.load(tmp_path / f"{name}.h5")
        for a, b in zip(model.get_weights(), restored.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
