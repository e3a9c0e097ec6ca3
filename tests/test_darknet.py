"""Darknet-19 y tiny, la capa Reorg y los archivos .weights, contrastados con OpenCV.

La prueba clave escribe pesos aleatorios en formato darknet, los carga con
``cv2.dnn.readNetFromDarknet`` (una implementación independiente de darknet, con el
``yolov2-voc.cfg`` original en ``tests/datos_darknet/``) y compara la salida cruda de
la última convolución sobre una foto real con la de nuestro modelo.
"""

from __future__ import annotations

import struct
from pathlib import Path

import keras
import numpy as np
import pytest

import modelos
from nucleo.entorno import import_tensorflow
from nucleo.errores import ArgumentError
from nucleo.errores import ModelFileError
from nucleo.errores import WeightsMismatchError
from modelos.yolo.darknet import DARKNET_BN_EPSILON
from modelos.yolo.darknet import Reorg
from modelos.yolo.darknet import BACKBONES
from modelos.yolo.darknet import build_darknet19
from modelos.yolo.darknet_pesos import load_darknet_weights
from modelos.yolo.darknet_pesos import save_darknet_weights
from modelos.registro import register_builder
from tests.helpers import run_model_saving_test

DATA = Path(__file__).parent / "datos_darknet"
VOC_OUTPUTS = 125                         # 5 anclas · (5 + 20 clases)
PARAMS = {"darknet19": 50_676_061, "tiny": 15_867_885}
CFG = {"darknet19": DATA / "yolov2-voc.cfg", "tiny": DATA / "yolov2-tiny-voc.cfg"}
TOLERANCE = 1e-3                          # diferencia absoluta máxima con OpenCV


def _randomize(model, seed=0):
    """Pesos con escala de He y BatchNorm no triviales (varianzas en [0.5, 1.5])."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.5, n))
            layer.beta.assign(rng.normal(0, 0.1, n))
            layer.moving_mean.assign(rng.normal(0, 0.1, n))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, n))
        elif isinstance(layer, keras.layers.Conv2D):
            h, w, c, n = layer.kernel.shape
            layer.kernel.assign(rng.normal(0, (2 / (h * w * c)) ** 0.5, (h, w, c, n)))
            if layer.use_bias:
                layer.bias.assign(rng.normal(0, 0.1, n))
    return model


def _voc_model(backbone, seed=0):
    model = build_darknet19(backbone=backbone, num_outputs=VOC_OUTPUTS,
                            bn_epsilon=DARKNET_BN_EPSILON)
    return _randomize(model, seed)


@pytest.fixture(scope="module")
def voc(tmp_path_factory):
    """Por variante: el modelo VOC con pesos aleatorios y su archivo .weights (cabecera 20)."""
    folder = tmp_path_factory.mktemp("darknet")
    models = {}
    for backbone in BACKBONES:
        model = _voc_model(backbone)
        path = save_darknet_weights(model, folder / f"{backbone}.weights", seen=12_345)
        models[backbone] = (model, path)
    return models


@pytest.fixture(scope="module")
def photo():
    """``skimage.data.chelsea()`` (RGB) reducida a 416×416 y escalada a [0, 1]."""
    cv2 = pytest.importorskip("cv2")
    data = pytest.importorskip("skimage.data")
    image = cv2.resize(data.chelsea(), (416, 416), interpolation=cv2.INTER_AREA)
    return image.astype("float32") / 255.0


def _weights(model):
    return [np.array(v.numpy()) for v in model.weights]


# === Arquitectura ===
@pytest.mark.parametrize("backbone", ["darknet19", "tiny"])
def test_parameter_count_equals_darknet_float_count(voc, backbone):
    model, path = voc[backbone]
    assert model.count_params() == PARAMS[backbone]
    # El archivo: cabecera de 20 bytes + un float por parámetro.
    assert path.stat().st_size == 20 + 4 * PARAMS[backbone]


def test_full_layers_follow_yolov2_voc_cfg(voc):
    model, _ = voc["darknet19"]
    convs = sorted((layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)),
                   key=lambda layer: int(layer.name.split("_")[1]))
    assert [c.name for c in convs] == [f"conv_{i}" for i in range(1, 24)]
    filters = [c.filters for c in convs]
    assert filters == [32, 64, 128, 64, 128, 256, 128, 256, 512, 256, 512, 256, 512,
                       1024, 512, 1024, 512, 1024, 1024, 1024, 64, 1024, VOC_OUTPUTS]
    assert [c.kernel_size[0] for c in convs[:5]] == [3, 3, 3, 1, 3]
    assert not any(c.use_bias for c in convs[:-1]) and convs[-1].use_bias
    assert convs[-1].activation.__name__ == "linear"
    norms = {layer.name for layer in model.layers
             if isinstance(layer, keras.layers.BatchNormalization)}
    assert norms == {f"norm_{i}" for i in range(1, 23)}
    assert model.get_layer("leaky_1").negative_slope == pytest.approx(0.1)
    assert model.get_layer("norm_1").epsilon == pytest.approx(DARKNET_BN_EPSILON)
    # Passthrough: conv_13 (26×26×512) → conv_21 (64) → reorg → concat [reorg, conv_20].
    assert model.get_layer("conv_21").input.shape == (None, 26, 26, 512)
    assert model.get_layer("reorg").output.shape == (None, 13, 13, 256)
    concat = model.get_layer("concat")
    assert [t.shape[-1] for t in concat.input] == [256, 1024]
    assert concat.output.shape == (None, 13, 13, 1280)
    assert sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers) == 5


def test_tiny_layers_follow_yolov2_tiny_voc_cfg(voc):
    model, _ = voc["tiny"]
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.name for c in convs] == [f"conv_{i}" for i in range(1, 10)]
    assert [c.filters for c in convs] == [16, 32, 64, 128, 256, 512, 1024, 1024, VOC_OUTPUTS]
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    assert [p.strides for p in pools] == [(2, 2)] * 5 + [(1, 1)]
    assert pools[-1].padding == "same"
    assert pools[-1].output.shape == (None, 13, 13, 512)


def test_stride_one_max_pool_pads_like_darknet():
    # darknet: ventana [i, i + 1], fuera de la imagen cuenta como -inf (no como 0).
    x = -np.arange(16, dtype="float32").reshape(1, 4, 4, 1) - 1.0
    pooled = keras.layers.MaxPooling2D(2, strides=1, padding="same")(x).numpy()[0, :, :, 0]
    expected = np.array([[max(x[0, i:i + 2, j:j + 2, 0].ravel()) for j in range(4)]
                         for i in range(4)])
    np.testing.assert_array_equal(pooled, expected)


@pytest.mark.parametrize("backbone, size", [("darknet19", 320), ("darknet19", 608), ("tiny", 224)])
def test_output_grid_is_input_over_32(backbone, size):
    model = build_darknet19((size, size, 3), backbone=backbone)
    assert model.output_shape == (None, size // 32, size // 32, 1024)
    assert model.name == {"darknet19": "darknet19", "tiny": "darknet19_tiny"}[backbone]


def test_full_output_at_416_and_rectangular_tiny(voc):
    assert voc["darknet19"][0].output_shape == (None, 13, 13, VOC_OUTPUTS)
    tiny = build_darknet19((224, 320, 1), backbone="tiny", num_outputs=30, name="mio")
    assert tiny.output_shape == (None, 7, 10, 30) and tiny.name == "mio"


@pytest.mark.parametrize("kwargs, fragment", [
    ({"input_shape": (400, 416, 3)}, "múltiplos de 32"),
    ({"input_shape": (416, 416)}, "«input_shape» debe ser una tupla de 3"),
    ({"backbone": "grande"}, "«backbone» debe ser uno de darknet19, tiny"),
    ({"num_outputs": 0}, "«num_outputs» debe ser un entero ≥ 1"),
    ({"reorg_order": "tf"}, "«reorg_order» debe ser uno de darknet, space_to_depth"),
    ({"bn_epsilon": 0}, "«bn_epsilon» debe ser un número"),
])
def test_bad_arguments_raise_spanish_errors(kwargs, fragment):
    with pytest.raises(ArgumentError, match=fragment) as info:
        build_darknet19(**kwargs)
    assert "build_darknet19" in str(info.value)


def test_mixed_precision_policy_applies_and_weights_still_load(tmp_path):
    keras.utils.set_random_seed(1)
    plain = _randomize(build_darknet19((224, 224, 3), backbone="tiny", num_outputs=8))
    path = save_darknet_weights(plain, tmp_path / "tiny.weights")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = build_darknet19((224, 224, 3), backbone="tiny", num_outputs=8)
    finally:
        keras.config.set_dtype_policy(previous)
    load_darknet_weights(mixed, path)
    assert mixed.get_layer("conv_1").kernel.dtype == "float32"
    x = np.random.default_rng(0).uniform(size=(1, 224, 224, 3)).astype("float32")
    got = mixed(x)
    assert keras.backend.standardize_dtype(got.dtype) == "bfloat16"
    expected = plain.predict(x, verbose=0)
    # bfloat16 tiene 8 bits de mantisa: error relativo ~1e-2 tras 9 capas.
    scale = np.abs(expected).max()
    assert np.abs(np.asarray(got, "float32") - expected).max() < 0.1 * scale


# === Reorg ===
def _darknet_reorg_cpu(x_nhwc, stride):
    """``reorg_cpu`` de darknet (src/blas.c) con forward=0, escrito con sus índices.

    darknet lo llama con las dimensiones de la ENTRADA (w, h, c) y memoria NCHW.
    """
    batch, h, w, c = x_nhwc.shape
    x = x_nhwc.transpose(0, 3, 1, 2).ravel()
    out = np.zeros_like(x)
    out_c = c // (stride * stride)
    for b in range(batch):
        for k in range(c):
            for j in range(h):
                for i in range(w):
                    in_index = i + w * (j + h * (k + c * b))
                    c2 = k % out_c
                    offset = k // out_c
                    w2 = i * stride + offset % stride
                    h2 = j * stride + offset // stride
                    out_index = w2 + w * stride * (h2 + h * stride * (c2 + out_c * b))
                    out[in_index] = x[out_index]        # forward == 0
    out = out.reshape(batch, c * stride * stride, h // stride, w // stride)
    return out.transpose(0, 2, 3, 1)


@pytest.mark.parametrize("shape, stride", [((2, 4, 6, 8), 2), ((1, 6, 3, 18), 3)])
def test_darknet_order_equals_reorg_cpu_loop(shape, stride):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    got = Reorg(stride)(x).numpy()
    np.testing.assert_array_equal(got, _darknet_reorg_cpu(x, stride))


def test_space_to_depth_order_equals_tf_and_differs_from_darknet():
    tf = import_tensorflow()
    x = np.random.default_rng(1).normal(size=(2, 26, 26, 64)).astype("float32")
    s2d = Reorg(2, order="space_to_depth")(x).numpy()
    np.testing.assert_array_equal(s2d, tf.nn.space_to_depth(x, 2).numpy())
    darknet = Reorg(2)(x).numpy()
    assert darknet.shape == s2d.shape == (2, 13, 13, 256)
    assert not np.allclose(darknet, s2d)
    # Mismos valores, otro orden.
    np.testing.assert_array_equal(np.sort(darknet, axis=None), np.sort(s2d, axis=None))


def test_reorg_config_round_trip():
    layer = Reorg(3, order="space_to_depth", name="r")
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == "redes>Reorg"
    clone = keras.saving.deserialize_keras_object(serialized)
    assert (clone.stride, clone.order, clone.name) == (3, "space_to_depth", "r")
    assert Reorg.from_config(layer.get_config()).get_config() == layer.get_config()
    assert layer.compute_output_shape((None, 6, 9, 4)) == (None, 2, 3, 36)


@pytest.mark.parametrize("kwargs, shape, fragment", [
    ({"order": "raro"}, None, "«order» debe ser uno de darknet, space_to_depth"),
    ({"stride": 0}, None, "«stride» debe ser un entero ≥ 1"),
    ({}, (1, 5, 4, 8), "múltiplos de 2"),
    ({}, (1, 4, 4, 6), "múltiplo de 4"),
])
def test_reorg_bad_arguments(kwargs, shape, fragment):
    with pytest.raises(ArgumentError, match=fragment):
        Reorg(**kwargs)(np.zeros(shape, "float32"))


def _reorg_net():
    inputs = keras.Input((8, 8, 16))
    x = Reorg(2, name="reorg")(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(4, 1, name="conv_1")(x))


prueba_reorg = register_builder("prueba_reorg_darknet")(_reorg_net)


def test_model_with_reorg_saves_with_keras_safe_mode_and_modelos(tmp_path):
    keras.utils.set_random_seed(2)
    model = prueba_reorg()
    x = np.random.default_rng(2).normal(size=(2, 8, 8, 16)).astype("float32")
    run_model_saving_test(model, x, tmp_path / "reorg.h5")
    model.save(tmp_path / "reorg.keras")
    restored = keras.saving.load_model(tmp_path / "reorg.keras", safe_mode=True)
    assert isinstance(restored.get_layer("reorg"), Reorg)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


# === Archivos .weights ===
def test_full_weights_round_trip_gives_identical_outputs(voc, photo):
    model, path = voc["darknet19"]
    fresh = build_darknet19(num_outputs=VOC_OUTPUTS, bn_epsilon=DARKNET_BN_EPSILON)
    info = load_darknet_weights(fresh, path)
    assert info == {"version": (0, 2, 0), "seen": 12_345, "header_bytes": 20,
                    "floats": PARAMS["darknet19"], "convs": 23}
    for expected, got in zip(_weights(model), _weights(fresh)):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(fresh.predict(photo[None], verbose=0),
                                  model.predict(photo[None], verbose=0))


def test_sixteen_byte_header_loads(voc, tmp_path):
    model, _ = voc["tiny"]
    path = save_darknet_weights(model, tmp_path / "v01.weights", version=(0, 1, 0), seen=77)
    assert path.stat().st_size == 16 + 4 * PARAMS["tiny"]
    assert struct.unpack("<4i", path.read_bytes()[:16]) == (0, 1, 0, 77)
    fresh = build_darknet19(backbone="tiny", num_outputs=VOC_OUTPUTS)
    info = load_darknet_weights(fresh, path)
    assert (info["version"], info["seen"], info["header_bytes"]) == ((0, 1, 0), 77, 16)
    for expected, got in zip(_weights(model), _weights(fresh)):
        np.testing.assert_array_equal(got, expected)


def test_weights_reach_convs_inside_a_wrapping_model(voc):
    """Como en build_yolo: el extractor como submodelo, con un Reshape detrás."""
    model, path = voc["tiny"]
    inner = build_darknet19(backbone="tiny", num_outputs=VOC_OUTPUTS,
                            bn_epsilon=DARKNET_BN_EPSILON)
    inputs = keras.Input((416, 416, 3))
    x = keras.layers.Reshape((13, 13, 5, 25), name="salida")(inner(inputs))  # (B, S, S, A, 5+C)
    wrapper = keras.Model(inputs, x)
    assert load_darknet_weights(wrapper, path)["convs"] == 9
    x = np.random.default_rng(3).uniform(size=(1, 416, 416, 3)).astype("float32")
    np.testing.assert_allclose(wrapper.predict(x, verbose=0).reshape(1, 13, 13, 125),
                               model.predict(x, verbose=0), atol=1e-5)


@pytest.fixture()
def tiny_target():
    """Un tiny nuevo y sus pesos iniciales, para comprobar que un error no asigna nada."""
    model = build_darknet19(backbone="tiny", num_outputs=VOC_OUTPUTS)
    return model, _weights(model)


def _assert_untouched(model, before):
    for expected, got in zip(before, _weights(model)):
        np.testing.assert_array_equal(got, expected)


def test_missing_file(tiny_target, tmp_path):
    model, _ = tiny_target
    with pytest.raises(ModelFileError,
                       match=r"No existe el archivo de pesos de darknet «.*no\.weights»"):
        load_darknet_weights(model, tmp_path / "no.weights")


@pytest.mark.parametrize("content, fragment", [
    (struct.pack("<3i", 0, 2, 0), "tiene 12 bytes y la cabecera ocupa 16 o 20"),
    (struct.pack("<4i", 0, 2, 0, 5), "versión 0.2.0 lleva «seen» de 64 bits"),
])
def test_truncated_header(tiny_target, tmp_path, content, fragment):
    model, before = tiny_target
    path = tmp_path / "cabecera.weights"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="cabecera de darknet está truncada") as info:
        load_darknet_weights(model, path)
    assert fragment in str(info.value) and "cabecera.weights" in str(info.value)
    _assert_untouched(model, before)


def test_truncated_file_names_the_layer_and_missing_floats(voc, tiny_target, tmp_path):
    model, before = tiny_target
    _, source = voc["tiny"]
    path = tmp_path / "corto.weights"
    path.write_bytes(source.read_bytes()[:-4000])          # 1.000 floats menos
    with pytest.raises(ModelFileError) as info:
        load_darknet_weights(model, path)
    message = str(info.value)
    assert "corto.weights» está truncado" in message
    assert "«conv_9» (núcleo, forma (125, 1024, 1, 1)) faltan 1.000 de 128.000 floats" in message
    _assert_untouched(model, before)


def test_extra_floats_say_how_many(voc, tiny_target, tmp_path):
    model, before = tiny_target
    _, source = voc["tiny"]
    path = tmp_path / "largo.weights"
    path.write_bytes(source.read_bytes() + np.zeros(3, "<f4").tobytes() + b"\x00")
    with pytest.raises(WeightsMismatchError, match="tiene 3 floats de más y 1 bytes sueltos"):
        load_darknet_weights(model, path)
    _assert_untouched(model, before)


def test_file_of_the_other_architecture_is_rejected(voc):
    full, full_path = voc["darknet19"]
    tiny, tiny_path = voc["tiny"]
    before = _weights(full)[:3]
    with pytest.raises(ModelFileError, match="tiny.weights» está truncado") as info:
        load_darknet_weights(full, tiny_path)      # 15,9 M floats para un modelo de 50,7 M
    assert "espera 50.676.061 floats y el archivo trae 15.867.885" in str(info.value)
    for expected, got in zip(before, _weights(full)[:3]):
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(WeightsMismatchError,
                       match="34.808.176 floats de más.*otra arquitectura"):
        load_darknet_weights(tiny, full_path)


def test_model_without_darknet_layers(tmp_path):
    model = modelos.build_xor(compile=False)
    with pytest.raises(WeightsMismatchError, match="no tiene capas conv_1, conv_2"):
        load_darknet_weights(model, tmp_path / "x.weights")
    with pytest.raises(WeightsMismatchError, match="no tiene capas conv_1"):
        save_darknet_weights(model, tmp_path / "x.weights")
    assert not (tmp_path / "x.weights").exists()


@pytest.mark.parametrize("kwargs, fragment", [
    ({"version": (0, 2)}, "«version» debe ser \\(major, minor, revision\\)"),
    ({"version": (0, -1, 0)}, "«version» debe ser un entero"),
    ({"version": (0, 1, 0), "seen": 2**31}, "«seen» debe ser un entero entre 0 y 2147483647"),
])
def test_save_bad_arguments(voc, tmp_path, kwargs, fragment):
    with pytest.raises(ArgumentError, match=fragment):
        save_darknet_weights(voc["tiny"][0], tmp_path / "x.weights", **kwargs)


# === Contraste con OpenCV (implementación independiente de darknet) ===
@pytest.fixture(scope="module")
def opencv(voc, photo):
    """Por variante: salidas de OpenCV con nuestros .weights (NHWC), en una pasada."""
    cv2 = pytest.importorskip("cv2")
    if not hasattr(cv2.dnn, "readNetFromDarknet"):
        pytest.skip("OpenCV 5 quitó el importador de darknet; hace falta opencv 4.x.")
    outputs = {}
    for backbone, (_, path) in voc.items():
        net = cv2.dnn.readNetFromDarknet(str(CFG[backbone]), str(path))
        names = net.getLayerNames()
        last_conv = [name for name in names if name.startswith("conv_")][-1]
        # La última conv va justo antes de [region] (en OpenCV: permute + detection_out).
        assert names.index(last_conv) == len(names) - 3 and names[-1] == "detection_out"
        wanted = [last_conv] + (["leaky_27", "reorg_27"] if backbone == "darknet19" else [])
        net.setInput(cv2.dnn.blobFromImage(photo, 1.0, (416, 416), swapRB=False, crop=False))
        arrays = net.forward(wanted)                            # NCHW
        outputs[backbone] = {"raw": arrays[0]}
        outputs[backbone].update(zip(wanted[1:], arrays[1:]))
        outputs[backbone] = {k: v.transpose(0, 2, 3, 1) for k, v in outputs[backbone].items()}
    return outputs


@pytest.mark.parametrize("backbone", ["darknet19", "tiny"])
def test_raw_output_matches_opencv_darknet(voc, photo, opencv, backbone):
    model, _ = voc[backbone]
    theirs = opencv[backbone]["raw"]                              # (1, 13, 13, 125)
    ours = model.predict(photo[None], verbose=0)
    assert np.abs(ours).max() > 1.0                              # salida no trivial
    diff = np.abs(ours - theirs).max()
    print(f"{backbone}: diferencia máxima con OpenCV {diff:.2e} (máx |salida| "
          f"{np.abs(ours).max():.2f})")
    assert diff < TOLERANCE


def test_opencv_reorg_is_darknet_order_not_space_to_depth(opencv):
    before, after = opencv["darknet19"]["leaky_27"], opencv["darknet19"]["reorg_27"]
    assert before.shape == (1, 26, 26, 64) and after.shape == (1, 13, 13, 256)
    np.testing.assert_allclose(Reorg(2)(before).numpy(), after, atol=1e-6)
    assert not np.allclose(Reorg(2, order="space_to_depth")(before).numpy(), after, atol=1e-2)


def test_keras_epsilon_moves_outputs_away_from_darknet(voc, photo):
    """Con el epsilon de Keras (1e-3) la salida se aleja de darknet más que la tolerancia."""
    model, path = voc["tiny"]
    keras_eps = build_darknet19(backbone="tiny", num_outputs=VOC_OUTPUTS)
    load_darknet_weights(keras_eps, path)
    diff = np.abs(keras_eps.predict(photo[None], verbose=0)
                  - model.predict(photo[None], verbose=0)).max()
    assert diff > TOLERANCE


# === BatchNormalization fusionada ===

@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("epsilon", [1e-3, DARKNET_BN_EPSILON])
def test_fused_batch_norm_equals_keras_batch_norm(policy, epsilon):
    from modelos.yolo.darknet import FusedBatchNormalization

    tf = import_tensorflow()
    rng = np.random.default_rng(0)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        ours = FusedBatchNormalization(epsilon=epsilon, momentum=0.9)
        reference = keras.layers.BatchNormalization(epsilon=epsilon, momentum=0.9)
        x = tf.cast(rng.normal(2.0, 3.0, (4, 6, 5, 8)).astype("float32"),
                    ours.compute_dtype)
        for layer in (ours, reference):
            layer.build(x.shape)
        for mine, theirs in zip(ours.weights, reference.weights, strict=True):
            value = rng.uniform(0.5, 2.0, mine.shape).astype("float32")
            mine.assign(value)
            theirs.assign(value)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            outputs = {name: layer(x, training=True)
                       for name, layer in (("ours", ours), ("ref", reference))}
            losses = {name: tf.reduce_sum(tf.cast(y, "float32") ** 2)
                      for name, y in outputs.items()}
        grads = {name: tape.gradient(losses[name], [x, layer.gamma.value, layer.beta.value])
                 for name, layer in (("ours", ours), ("ref", reference))}
    finally:
        keras.config.set_dtype_policy(previous)

    def close(a, b, atol):
        return np.allclose(np.asarray(tf.cast(a, "float32")), np.asarray(tf.cast(b, "float32")),
                           atol=atol, rtol=1e-4)

    assert outputs["ours"].dtype == outputs["ref"].dtype
    # En bfloat16, hasta un redondeo de bf16 (2⁻⁸ relativo): oneDNN con AMX redondea
    # distinto que las operaciones sueltas de Keras; en float32, lo mismo a 1e-5.
    bf16 = policy == "mixed_bfloat16"
    assert close(outputs["ours"], outputs["ref"], 1e-5) or (
        bf16 and np.allclose(np.asarray(tf.cast(outputs["ours"], "float32")),
                             np.asarray(tf.cast(outputs["ref"], "float32")), rtol=2 ** -8,
                             atol=2 ** -8))
    # La media móvil usa la varianza sesgada del lote, como Keras.
    assert close(ours.moving_mean, reference.moving_mean, 1e-6)
    assert close(ours.moving_variance, reference.moving_variance, 1e-6)
    assert not close(ours.moving_variance, np.ones(8), 1e-3)   # se actualizó
    for mine, theirs in zip(grads["ours"], grads["ref"], strict=True):
        assert close(mine, theirs, 1e-3)
    assert close(ours(x, training=False), reference(x, training=False), 1e-5)


def test_darknet_uses_the_fused_batch_norm_with_the_same_weight_names():
    from modelos.yolo.darknet import FusedBatchNormalization

    model = build_darknet19(backbone="tiny", input_shape=(64, 64, 3))
    norm = model.get_layer("norm_1")
    assert isinstance(norm, FusedBatchNormalization)
    assert [w.path for w in norm.weights] == ["norm_1/gamma", "norm_1/beta",
                                               "norm_1/moving_mean", "norm_1/moving_variance"]
