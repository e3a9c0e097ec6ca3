"""Puntos de partida preentrenados (``--backbone-pesos``) y ``--congelar``.

Cada tipo de archivo se escribe aquí en su disposición real (un ``.conv.N`` como lo
deja ``darknet partial``; el HDF5 de Keras 2 de keras-yolo2, con ``layer_names`` y
``weight_names``; un ``modelos.save`` de otro YOLO) con valores aleatorios conocidos, y
se comprueba que cada valor llega a su capa y que lo demás no se toca. Modelos tiny (y
Darknet-19) con un cuarto de los filtros y entradas de 64 para que sea rápido.
"""

from __future__ import annotations

import json

import h5py
import keras
import numpy as np
import pytest

import modelos
from nucleo.errores import ArgumentError
from nucleo.errores import ModelFileError
from nucleo.errores import WeightsMismatchError
from cli.principal import main
from modelos.yolo.darknet_pesos import save_darknet_weights
from modelos.yolo import build_yolo
from modelos.yolo.transferencia import backbone_layers
from modelos.yolo.transferencia import load_backbone_weights
from modelos.yolo.transferencia import weights_kind

SIZE = 64
WIDTH = 0.25
HEAD = {"tiny": "conv_9", "darknet19": "conv_23"}
# Convoluciones de los archivos parciales de darknet: darknet19_448.conv.23 (23 capas de
# la cfg = 18 convoluciones) y yolov2-tiny.conv.13 (13 capas = 7 convoluciones).
PARTIAL_CONVS = {"darknet19": 18, "tiny": 7}


_CACHE: dict = {}


def _yolo(backbone="tiny", labels=("a", "b"), seed=0, **kwargs):
    """Un modelo por combinación de argumentos, construido una sola vez (construir cuesta
    segundos en esta máquina). Con ``seed`` distinto de 0, con valores aleatorios conocidos
    (un origen); con 0, un destino: cada prueba toma sus valores antes de cargar."""
    key = (backbone, tuple(labels), seed, tuple(sorted(kwargs.items())))
    if key not in _CACHE:
        keras.utils.set_random_seed(seed)
        model = build_yolo(list(labels), input_size=SIZE, backbone=backbone,
                           width_multiplier=WIDTH, **kwargs)
        _CACHE[key] = _randomize(model, seed) if seed else model
    return _CACHE[key]


def _randomize(model, seed):
    """Valores conocidos y distintos en cada variable (varianzas positivas)."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        if variable.path.endswith("moving_variance"):
            variable.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        else:
            variable.assign(rng.normal(0, 0.3, shape).astype("float32"))
    return model


def _values(model):
    return {v.path: np.array(keras.ops.convert_to_numpy(v)) for v in model.weights}


def _layer_of(path):
    return path.split("/")[0]


def _assert_transferred(after, source, before, filled):
    """Las variables de las capas ``filled`` valen lo de ``source``; las demás, lo de antes."""
    for path, value in after.items():
        expected = source[path] if _layer_of(path) in filled else before[path]
        np.testing.assert_array_equal(value, expected, err_msg=path)


def _conv_floats(layer_shapes):
    return sum(int(np.prod(s)) for s in layer_shapes)


def _darknet_partial(tmp_path, backbone, n_convs):
    """Un ``.conv.N``: la cabecera y las ``n_convs`` primeras convoluciones, como
    ``darknet partial``. Devuelve (ruta, valores del modelo de origen)."""
    # Los orígenes de Darknet-19 y tiny de las demás pruebas (el reorg no cuenta aquí).
    source = _yolo("darknet19", seed=4) if backbone == "darknet19" else _yolo("tiny", seed=1)
    full = save_darknet_weights(source, tmp_path / f"{backbone}_full.weights")
    keep = 0
    for n in range(1, n_convs + 1):
        conv, norm = source.get_layer(f"conv_{n}"), source.get_layer(f"norm_{n}")
        keep += _conv_floats([w.shape for w in conv.weights + norm.weights
                              if "moving" in w.path or w.path.split("/")[1] in
                              ("kernel", "gamma", "beta")])
    data = full.read_bytes()
    path = tmp_path / f"{backbone}.conv.{n_convs}"
    path.write_bytes(data[:20 + 4 * keep])
    return path, _values(source)


def _names(n_convs):
    return {f"{kind}_{n}" for n in range(1, n_convs + 1) for kind in ("conv", "norm")}


# === darknet ===
@pytest.mark.neutral
@pytest.mark.parametrize("backbone", ["tiny"])
def test_darknet_partial_file_fills_the_first_convolutions(tmp_path, backbone, caplog):
    n = PARTIAL_CONVS[backbone]
    path, source = _darknet_partial(tmp_path, backbone, n)
    model = _yolo(backbone)
    before = _values(model)
    with caplog.at_level("INFO", logger="redes"):
        report = load_backbone_weights(model, path)
    assert report["tipo"] == "darknet"
    assert report["convoluciones"] == n
    assert report["convoluciones_extractor"] == int(HEAD[backbone][5:]) - 1
    assert not report["cabeza"]
    _assert_transferred(_values(model), source, before, _names(n))
    assert f"{n} de {int(HEAD[backbone][5:])} convoluciones del modelo llenas" in caplog.text


@pytest.mark.neutral
def test_complete_darknet_file_skips_only_its_detection_layer(tmp_path):
    source_model = _yolo("tiny", labels=("x", "y", "z"), seed=2)
    source = _values(source_model)
    path = save_darknet_weights(source_model, tmp_path / "otras_clases.weights")
    model = _yolo("tiny")
    before = _values(model)
    report = load_backbone_weights(model, path)
    assert report["convoluciones"] == 8 and not report["cabeza"]
    _assert_transferred(_values(model), source, before, _names(8))
    # Entero (cabeza incluida) no cabe: 3 clases frente a 2, y el error lo dice.
    with pytest.raises(WeightsMismatchError,
                       match=r"última convolución tiene 40 salidas.*conv_9.*tiene 35.*"
                             r"otro número de clases"):
        load_backbone_weights(model, path, head=True)
    _assert_transferred(_values(model), source, before, _names(8))  # intacto


@pytest.mark.neutral
def test_darknet_truncated_and_wrong_architecture(tmp_path):
    path, _ = _darknet_partial(tmp_path, "tiny", 7)
    cut = tmp_path / "cortado.conv.7"
    cut.write_bytes(path.read_bytes()[:-100])
    model = _yolo("tiny")
    before = _values(model)
    with pytest.raises(ModelFileError, match=r"cortado.conv.7» está truncado: en «conv_7»"):
        load_backbone_weights(model, cut)
    darknet19, _ = _darknet_partial(tmp_path, "darknet19", 18)
    with pytest.raises(WeightsMismatchError, match="otra arquitectura"):
        load_backbone_weights(model, darknet19)
    _assert_transferred(_values(model), before, before, set())


# === keras-yolo2 (HDF5 de Keras 2) ===
def _write_keras2(path, model, *, layout="save_weights"):
    """Un HDF5 de Keras 2 como los de keras-yolo2.

    ``save_weights``: ``layer_names`` en la raíz, un grupo por capa (también las que no
    tienen pesos) y ``weight_names`` como ``conv_1/kernel:0`` (dataset anidado).
    ``model_save``: ``model.save`` de keras-yolo2: grupo ``model_weights``, el extractor
    como submodelo ``model_1`` y la capa ``DetectionLayer`` de la cabeza.
    """
    weights = [(layer.name, layer.weights) for layer in model.layers]
    head = max((layer.name for layer in model.layers if layer.name.startswith("conv_")),
               key=lambda name: int(name[5:]))
    with h5py.File(path, "w") as f:
        root = f
        if layout == "model_save":
            f.attrs["model_config"] = json.dumps({"class_name": "Model"}).encode()
            root = f.create_group("model_weights")
        root.attrs["backend"] = b"tensorflow"
        root.attrs["keras_version"] = b"2.2.4"
        groups = []
        if layout == "model_save":
            groups = [("input_1", []), ("model_1", [w for _, ws in weights for w in ws
                                                    if _layer_of(w.path) != head]),
                      ("DetectionLayer", [])]
        else:
            groups = [(name, ws) for name, ws in weights if name != head]
            groups.insert(1, ("leaky_re_lu_1", []))
        root.attrs["layer_names"] = np.array([name.encode() for name, _ in groups])
        for name, ws in groups:
            group = root.create_group(name)
            names = [f"{w.path}:0".encode() for w in ws]
            if name == "DetectionLayer":
                names = [b"DetectionLayer/kernel:0", b"DetectionLayer/bias:0"]
                group.create_dataset("DetectionLayer/kernel:0", data=np.ones((1, 1, 4, 4)))
                group.create_dataset("DetectionLayer/bias:0", data=np.ones(4))
            group.attrs["weight_names"] = np.array(names, dtype="S")
            for w in ws:
                group.create_dataset(f"{w.path}:0",
                                     data=np.array(keras.ops.convert_to_numpy(w)))
    return path


@pytest.mark.neutral
@pytest.mark.parametrize("layout", ["save_weights", "model_save"])
def test_keras_yolo2_backend_maps_by_layer_name(tmp_path, layout):
    source_model = _yolo("tiny", labels=("x",), seed=3)
    source = _values(source_model)
    # Extensión engañosa a propósito: el tipo se reconoce por el contenido.
    path = _write_keras2(tmp_path / "tiny_yolo_backend.weights", source_model, layout=layout)
    assert weights_kind(path) == "keras-yolo2"
    model = _yolo("tiny")
    before = _values(model)
    report = load_backbone_weights(model, path)
    assert report["tipo"] == "keras-yolo2" and report["convoluciones"] == 8
    assert report["capas"][:3] == ["conv_1", "norm_1", "conv_2"]
    _assert_transferred(_values(model), source, before, _names(8))


@pytest.mark.neutral
def test_darknet19_backends_and_the_reorg(tmp_path):
    """Darknet-19: el backend de keras-yolo2 (reorg de space_to_depth) y darknet19_448.conv.23."""
    source_model = _yolo("darknet19", seed=4)       # reorg de darknet: sirve también de destino
    source = _values(source_model)
    path = _write_keras2(tmp_path / "full_yolo_backend.h5", source_model)
    with pytest.raises(WeightsMismatchError, match="reorg_order='space_to_depth'"):
        load_backbone_weights(source_model, path)
    model = _yolo("darknet19", reorg_order="space_to_depth")
    before = _values(model)
    report = load_backbone_weights(model, path)
    assert report["convoluciones"] == 22 and report["convoluciones_extractor"] == 22
    _assert_transferred(_values(model), source, before, _names(22))
    # darknet19_448.conv.23: las 18 convoluciones de ImageNet, con cualquier reorg.
    conv23, _ = _darknet_partial(tmp_path, "darknet19", 18)
    model_values = _values(model)
    assert load_backbone_weights(model, conv23)["convoluciones"] == 18
    _assert_transferred(_values(model), source, model_values, _names(18))
    # Un .weights completo de darknet trae conv_22 tras su propio reorg: no en space_to_depth.
    full = save_darknet_weights(source_model, tmp_path / "yolov2.weights")
    with pytest.raises(WeightsMismatchError, match="reorg_order='darknet'"):
        load_backbone_weights(model, full)
    _assert_transferred(_values(model), source, model_values, _names(18))
    # El de tiny en un Darknet-19: la forma de conv_2 no encaja, y se dice.
    tiny = _write_keras2(tmp_path / "tiny_yolo_backend.h5", _yolo("tiny", seed=1))
    with pytest.raises(WeightsMismatchError,
                       match=r"«conv_2/kernel» tiene forma \(3, 3, 8, 8\).*otra arquitectura"):
        load_backbone_weights(model, tiny)
    # Y el de Darknet-19 en tiny: trae capas que tiny no tiene.
    with pytest.raises(WeightsMismatchError, match="otra arquitectura"):
        load_backbone_weights(_yolo("tiny"), path)
    # Truncado: el HDF5 no se puede abrir, y se dice.
    cut = tmp_path / "cortado.h5"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="cortado.h5.*truncado"):
        load_backbone_weights(model, cut)
    _assert_transferred(_values(model), source, model_values, _names(18))


# === modelos.save de otro YOLO ===
@pytest.mark.neutral
def test_previous_yolo_with_other_classes_transfers_all_but_the_head(tmp_path):
    source_model = _yolo("tiny", labels=("x", "y", "z"), seed=2)
    source = _values(source_model)
    path = modelos.save(source_model, tmp_path / "anterior.weights")  # extensión engañosa
    assert weights_kind(path) == "redes"
    model = _yolo("tiny")
    before = _values(model)
    report = load_backbone_weights(model, path)
    assert report["tipo"] == "redes" and report["convoluciones"] == 8
    _assert_transferred(_values(model), source, before, _names(8))
    with pytest.raises(WeightsMismatchError, match=r"clases \['x', 'y', 'z'\].*\['a', 'b'\]"):
        load_backbone_weights(model, path, head=True)
    # Con las mismas clases y anclas, head=True transfiere también la cabeza.
    same = _yolo("tiny", labels=("x", "y", "z"))
    assert load_backbone_weights(same, path, head=True)["cabeza"]
    _assert_transferred(_values(same), source, source, set())


@pytest.mark.neutral
def test_previous_model_errors(tmp_path):
    model = _yolo("tiny")
    darknet19 = modelos.save(_yolo("darknet19"), tmp_path / "d19.h5")
    with pytest.raises(WeightsMismatchError, match="extractor 'darknet19'.*'tiny'"):
        load_backbone_weights(model, darknet19)
    xor = modelos.save(modelos.build_xor(), tmp_path / "xor.h5")
    with pytest.raises(WeightsMismatchError, match="modelo «xor».*no de YOLO"):
        load_backbone_weights(model, xor)
    good = modelos.save(_yolo("tiny", labels=("x",), seed=3), tmp_path / "bueno.h5")
    cut = tmp_path / "cortado.h5"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="cortado.h5"):
        load_backbone_weights(model, cut)


@pytest.mark.neutral
def test_unknown_files_and_non_yolo_models(tmp_path):
    text = tmp_path / "notas.h5"
    text.write_text("esto no son pesos, es un archivo de texto cualquiera")
    with pytest.raises(ModelFileError, match="notas.h5» no es un archivo de pesos reconocible"):
        weights_kind(text)
    short = tmp_path / "corto.weights"
    short.write_bytes(b"\x00" * 10)
    with pytest.raises(ModelFileError, match="10 bytes"):
        weights_kind(short)
    with pytest.raises(ModelFileError, match="No existe"):
        weights_kind(tmp_path / "nada.weights")
    with pytest.raises(ArgumentError, match="no tiene capas conv_1"):
        backbone_layers(modelos.build_xor())


# === --congelar === (con las figuras de tests/conftest.py, ``shapes``)
def test_cli_trains_from_a_backbone_freezing_it_k_epochs(shapes, tmp_path, monkeypatch):
    """De punta a punta: el backend llega a las capas, --congelar 2 las deja exactamente
    iguales (pesos y estadísticas de BatchNorm) mientras la cabeza aprende, y en la
    tercera época cambian, con la tasa 10 veces más baja."""
    import entrenamiento.callbacks as callbacks_module

    source = _values(_yolo("tiny", labels=("x",), seed=3))
    backend = _write_keras2(tmp_path / "tiny_yolo_backend.h5", _yolo("tiny", labels=("x",),
                                                                      seed=3))
    snapshots, rates, trainable = [], [], []

    class Recording(callbacks_module.FreezeLayers):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(_values(self.model))
            rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

        def on_train_end(self, logs=None):
            super().on_train_end(logs)
            trainable.append(all(layer.trainable for layer in self.model.layers))

    monkeypatch.setattr(callbacks_module, "FreezeLayers", Recording)
    weights, summary = tmp_path / "pesos" / "figuras.h5", tmp_path / "resumen.json"
    voc = ["--anotaciones", str(shapes / "annotations"), "--imagenes", str(shapes / "images")]
    args = ["yolo", "entrenar", *voc, "--tamanio", str(SIZE), "--backbone", "tiny",
            "--ancho", str(WIDTH), "--epocas", "3", "--repeticiones", "1", "--lote", "8",
            "--calentamiento", "0", "--paciencia", "0", "--tasa", "1e-3",
            "--backbone-pesos", str(backend), "--congelar", "2",
            "--pesos", str(weights), "--json", str(summary)]
    assert main(args) == 0

    backbone = {path for path in source if _layer_of(path) != "conv_9"}
    assert sum("moving_mean" in path for path in backbone) == 8
    for epoch in (0, 1):   # congelado: el extractor vale lo del archivo, sin cambiar nada
        for path in backbone:
            np.testing.assert_array_equal(snapshots[epoch][path], source[path], err_msg=path)
    assert not np.array_equal(snapshots[1]["conv_9/kernel"], snapshots[0]["conv_9/kernel"])
    changed = [p for p in backbone if not np.array_equal(snapshots[2][p], source[p])]
    assert sorted(changed) == sorted(backbone)       # descongelado: todo se mueve
    assert rates == pytest.approx([1e-3, 1e-3, 1e-4])
    assert trainable == [True]

    result = json.loads(summary.read_text())
    start = result["punto_de_partida"]
    assert (start["tipo"], start["convoluciones"], start["cabeza"]) == ("keras-yolo2", 8, False)
    assert result["congelar"] == {"epocas": 2, "factor_tasa": 0.1}
    metadata = modelos.load_metadata(weights)["metadata"]
    assert metadata["punto_de_partida"] == {"archivo": str(backend), "tipo": "keras-yolo2"}


def test_cli_errors_before_training(shapes, tmp_path, capsys):
    voc = ["--anotaciones", str(shapes / "annotations"), "--imagenes", str(shapes / "images")]
    base = ["yolo", "entrenar", *voc, "--backbone", "tiny", "--epocas", "2",
            "--pesos", str(tmp_path / "x.h5")]
    assert main([*base, "--congelar", "2"]) == 2
    assert "(--congelar, 2) debe ser menor que «epochs» (--epocas, 2)" in capsys.readouterr().err
    assert main([*base, "--backbone-pesos", str(tmp_path / "no_hay.h5")]) == 2
    assert "No existe el archivo de pesos" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()


def test_freezing_lowers_the_peak_of_a_cosine_rate():
    """Con --coseno, al descongelar baja el pico del coseno (no se multiplica lote a lote)."""
    from entrenamiento.callbacks import CosineLearningRate
    from entrenamiento.callbacks import FreezeLayers

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, name="extractor"),
                              keras.layers.Dense(1, name="cabeza")])
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    rates, frozen = [], []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))
            frozen.append(not self.model.layers[0].trainable)

    cosine = CosineLearningRate(1e-2, total_steps=6)
    extractor = np.array(model.layers[0].kernel)
    model.fit(np.ones((4, 2)), np.ones((4, 1)), batch_size=2, epochs=3, verbose=0,
              callbacks=[cosine, FreezeLayers([model.layers[0]], 1, 1e-2, 0.1, cosine),
                         Record()])
    steps = np.arange(6)
    cosine_curve = 0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * steps / 6))
    expected = np.where(steps < 2, 1e-2, 1e-3) * cosine_curve
    assert rates == pytest.approx(expected.tolist())
    assert frozen == [True, True, False, False, False, False]
    assert not np.array_equal(np.array(model.layers[0].kernel), extractor)


def test_a_darknet_file_with_one_inf_is_refused_naming_it(shapes, tmp_path, capsys):
    """Un solo ``inf`` entre el número exacto de floats: se para antes de entrenar, con el
    nombre del archivo dado (no el del modelo de salida), y no se escribe nada."""
    source = _yolo("tiny", labels=("circulo", "cuadrado"), seed=5)
    path = save_darknet_weights(source, tmp_path / "tiny.weights")
    data = bytearray(path.read_bytes())
    major, minor = np.frombuffer(bytes(data[:8]), "<i4")
    header = 20 if major * 10 + minor >= 2 else 16
    data[header + 4 * 100:header + 4 * 101] = np.float32(np.inf).tobytes()
    path.write_bytes(bytes(data))
    voc = ["--anotaciones", str(shapes / "annotations"), "--imagenes", str(shapes / "images")]
    out = tmp_path / "corrida"
    assert main(["deteccion", "entrenar", *voc, "--backbone", "tiny", "--ancho", str(WIDTH),
                 "--tamanio", str(SIZE), "--epocas", "1", "--backbone-pesos", str(path),
                 "--salida", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "no finitos" in err
    assert not (out / "modelo.h5").exists()
