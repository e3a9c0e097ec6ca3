"""YOLOv2 sobre la MobileNetV2 de ImageNet (``build_yolo(backbone="mobilenetv2")``), su
punto de partida (``--backbone-pesos`` con el ``.pth`` de torchvision o el ``.h5`` de
``redes pesos convertir``), la receta ``fotos`` con ella (la cabeza sola la primera época,
con las medias de BatchNorm fijas) y el tope de tiempo que se usa entero.

Los ``.pth`` son de una MobileNetV2 de PyTorch con valores aleatorios (los de ImageNet se
prueban en ``tests/test_mobilenet.py``), estrecha (alpha 0.35) y con entradas de 64.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import modelos
from cli.principal import main
from modelos.mobilenet.conversion import convert_torchvision
from modelos.yolo import build_yolo
from modelos.yolo.darknet_pesos import save_darknet_weights
from modelos.yolo.transferencia import backbone_layers
from modelos.yolo.transferencia import load_backbone_weights
from modelos.yolo.transferencia import weights_kind
from nucleo.errores import ArgumentError
from nucleo.errores import ModelFileError
from nucleo.errores import WeightsMismatchError
from tareas.deteccion.configuracion import BLOG_EPOCHS
from tareas.deteccion.configuracion import UNTIL_TIME
from tareas.deteccion.configuracion import DetectionConfig



def _random_pth(path, alpha, seed=0):
    """Un .pth de MobileNetV2 de PyTorch con valores aleatorios (necesita el extra torch)."""
    pytest.importorskip("torch", reason="los .pth de prueba necesitan el extra torch")
    from tests.test_mobilenet import _random_pth as write

    return write(path, alpha, seed=seed)

SIZE = 64
ALPHA = 0.35


def _detector(labels=("a", "b"), alpha=ALPHA, size=SIZE):
    keras.utils.set_random_seed(0)
    return build_yolo(list(labels), input_size=size, backbone="mobilenetv2",
                      width_multiplier=alpha)


def _features(model, images):
    """La salida del extractor (``features_18_relu``) de un modelo."""
    probe = keras.Model(model.inputs, model.get_layer("features_18_relu").output)
    return np.asarray(probe.predict(images, verbose=0))


def _values(model, prefix="features_"):
    return {v.path: np.array(v.numpy()) for v in model.weights
            if v.path.startswith(prefix)}


def test_layout_and_parameter_count():
    """Con 20 clases y las 5 anclas de VOC: el extractor de torchvision (2.223.872
    entrenables y 34.112 medias y varianzas de BatchNorm) y la convolución 1×1 de
    detección, 1280 · 125 + 125."""
    model = build_yolo([f"c{i}" for i in range(20)], input_size=SIZE, backbone="mobilenetv2")
    assert model.count_params() == 2_223_872 + 34_112 + 1280 * 125 + 125
    assert model.output_shape == (None, 2, 2, 5, 25)
    head = model.get_layer("conv_1")
    assert head.kernel.shape == (1, 1, 1280, 125) and head.use_bias
    frozen = backbone_layers(model)
    assert len(frozen) == 104 and head not in frozen   # 52 convoluciones y 52 BatchNorm
    assert all(layer.name.startswith("features_") for layer in frozen)
    # El alpha cambia los canales (y se comprueba su rango).
    assert _detector(alpha=0.5).get_layer("features_0").kernel.shape == (3, 3, 3, 16)
    with pytest.raises(ArgumentError,
                       match=r"alpha de MobileNetV2.*«width_multiplier».* en \[0\.1, 2\.0\]"):
        build_yolo(["a"], input_size=SIZE, backbone="mobilenetv2", width_multiplier=0.05)
    with pytest.raises(ArgumentError, match=r"--ancho, 3\.0\) es el alpha"):
        DetectionConfig(backbone="mobilenetv2", width_multiplier=3.0)


@pytest.mark.neutral
def test_the_detector_fits_saves_and_loads_on_this_backend(tmp_path):
    """En la pasada de cada backend (TensorFlow, JAX y PyTorch): la pérdida de YOLO baja
    con unos pasos sobre un lote, y el .h5 predice lo mismo al cargarlo."""
    from tests.helpers import tiny_batch

    model = _detector()
    x, y = tiny_batch(model, np.random.default_rng(0))
    history = model.fit(x, y, epochs=6, batch_size=4, verbose=0).history["loss"]
    assert history[-1] < history[0]
    images = np.random.default_rng(0).random((2, SIZE, SIZE, 3), dtype=np.float32)
    path = modelos.save(model, tmp_path / "m.h5")
    loaded = modelos.load(path)
    np.testing.assert_allclose(loaded.predict(images, verbose=0),
                               model.predict(images, verbose=0), rtol=1e-5, atol=1e-5)


def test_torchvision_pth_and_converted_h5_fill_the_extractor(tmp_path):
    """El .pth y el .h5 de «redes pesos convertir» dan al detector el extractor exacto
    del clasificador (misma salida de rasgos); la cabeza de detección no se toca."""
    pth = _random_pth(tmp_path / "mnv2.pth", ALPHA, seed=4)
    converted = tmp_path / "mnv2.h5"
    convert_torchvision(pth, converted, alpha=ALPHA)
    classifier = modelos.build_mobilenetv2(10, input_size=(SIZE, SIZE), alpha=ALPHA)
    modelos.load_weights(classifier, converted)
    images = np.random.default_rng(1).random((2, SIZE, SIZE, 3), dtype=np.float32)
    expected = _features(classifier, images)
    assert weights_kind(pth) == "torchvision" and weights_kind(converted) == "redes"
    for source in (pth, converted):
        model = _detector()
        head = np.array(model.get_layer("conv_1").kernel.numpy())
        report = load_backbone_weights(model, source)
        assert (report["convoluciones"], report["convoluciones_extractor"]) == (52, 52)
        assert not report["cabeza"] and len(report["capas"]) == 104
        np.testing.assert_allclose(_features(model, images), expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(model.get_layer("conv_1").kernel.numpy(), head)


def test_files_of_another_backbone_or_width_are_refused_untouched(tmp_path):
    pth = _random_pth(tmp_path / "mnv2.pth", ALPHA, seed=1)
    tiny = build_yolo(["a"], input_size=SIZE, backbone="tiny", width_multiplier=0.25)
    with pytest.raises(WeightsMismatchError, match="entrene con --backbone mobilenetv2"):
        load_backbone_weights(tiny, pth)
    darknet = save_darknet_weights(tiny, tmp_path / "tiny.weights")
    model = _detector()
    before = _values(model, "")
    with pytest.raises(WeightsMismatchError, match="darknet .*extractor MobileNetV2"):
        load_backbone_weights(model, darknet)
    wide = _random_pth(tmp_path / "ancha.pth", 0.5, seed=1)
    with pytest.raises(ModelFileError, match="otro ancho"):
        load_backbone_weights(model, wide)
    after = _values(model, "")
    assert all(np.array_equal(after[k], v) for k, v in before.items())


def test_photo_recipe_freezes_a_pretrained_mobilenet_for_one_epoch(shapes, tmp_path,
                                                                   monkeypatch):
    """``--receta fotos`` con un extractor preentrenado: la primera época el extractor y
    sus medias y varianzas de BatchNorm quedan como en el archivo, y después todo se
    mueve con la tasa 10 veces más baja."""
    import entrenamiento.callbacks as callbacks_module

    pth = _random_pth(tmp_path / "mnv2.pth", ALPHA, seed=2)
    source = _detector(labels=("circulo", "cuadrado"))
    load_backbone_weights(source, pth)
    expected = _values(source)
    snapshots, rates = [], []

    class Recording(callbacks_module.FreezeLayers):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(_values(self.model))
            rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    monkeypatch.setattr(callbacks_module, "FreezeLayers", Recording)
    summary = tmp_path / "resumen.json"
    args = ["deteccion", "entrenar", "--anotaciones", str(shapes / "annotations"),
            "--imagenes", str(shapes / "images"), "--tamanio", str(SIZE),
            "--backbone", "mobilenetv2", "--ancho", str(ALPHA), "--backbone-pesos", str(pth),
            "--receta", "fotos", "--epocas", "2", "--repeticiones", "1", "--lote", "8",
            "--sin-multiescala",   # (un solo tamaño: sin volver a trazar el paso en cada uno)
            "--tasa", "1e-3", "--salida", str(tmp_path / "corrida"), "--json", str(summary)]
    assert main(args) == 0
    moving = [p for p in expected if p.endswith("moving_mean")]
    assert len(moving) == 52
    for path, value in expected.items():
        # Al final de la época el modelo tiene los pesos EMA de la receta: la media de un
        # valor fijo es ese valor salvo el redondeo de float32 (las medias de BatchNorm no
        # tienen EMA: iguales bit a bit).
        if "moving" in path:
            np.testing.assert_array_equal(snapshots[0][path], value, err_msg=path)
        else:
            np.testing.assert_allclose(snapshots[0][path], value, rtol=1e-6, err_msg=path)
    changed = [p for p in moving if not np.array_equal(snapshots[1][p], expected[p])]
    assert len(changed) == len(moving)
    assert rates == pytest.approx([1e-3, 1e-4])
    result = json.loads(summary.read_text())
    assert result["congelar"] == {"epocas": 1, "factor_tasa": 0.1}
    assert result["punto_de_partida"]["tipo"] == "torchvision"
    assert result["metricas"]["motivo_parada"] == "épocas completas"
    assert result["metricas"]["epocas_corridas"] == 2


# === El tope de tiempo se usa entero ===
def test_the_photo_recipe_trains_until_the_time_is_up():
    fotos = DetectionConfig.preset("fotos")
    assert fotos.replace(minutes=20).epochs_used == UNTIL_TIME
    assert fotos.replace(minutes=20).trains_until_time
    assert fotos.replace(minutes=20, epochs=12).epochs_used == 12   # --epocas manda
    assert fotos.epochs_used == BLOG_EPOCHS                         # sin --minutos
    assert DetectionConfig(minutes=20).epochs_used == BLOG_EPOCHS   # la receta del blog
    assert fotos.replace(backbone="mobilenetv2", backbone_weights="x.pth").freeze_used == 1
    assert fotos.replace(backbone="mobilenetv2").freeze_used == 0   # sin pesos: nada que fijar
    assert DetectionConfig(backbone="mobilenetv2", backbone_weights="x.pth").freeze_used == 0


def test_a_timed_photo_run_stops_by_time_and_says_so(shapes, tmp_path):
    """Sin --epocas, la receta fotos con --minutos pide a fit épocas sin tope (no las 7 del
    blog) y para el reloj; el resumen dice cuántas corrió y por qué paró."""
    run, summary = tmp_path / "corrida", tmp_path / "resumen.json"
    args = ["deteccion", "entrenar", "--anotaciones", str(shapes / "annotations"),
            "--imagenes", str(shapes / "images"), "--tamanio", str(SIZE), "--backbone", "tiny",
            "--ancho", "0.125", "--receta", "fotos", "--minutos", "0.1", "--repeticiones", "1",
            "--lote", "8", "--salida", str(run), "--json", str(summary)]
    assert main(args) == 0
    metrics = json.loads(summary.read_text())["metricas"]
    assert metrics["motivo_parada"] == "tope de tiempo (--minutos)"
    assert metrics["epocas_corridas"] >= 1 and metrics["segundos_entrenando"] >= 6
    # El búfer de la pérdida sale de los datos (las figuras tienen 1 o 2 por imagen), y el
    # informe de celdas compartidas va en el resumen.
    result = json.loads(summary.read_text())
    assert result["max_cajas"] in (1, 2)
    assert set(result["celdas_compartidas"]) == {"objetos", "comparten_celda", "fraccion"}
    assert result["celdas_compartidas"]["objetos"] >= 19
    saved = modelos.load_metadata(run / "modelo.h5")["metadata"]["entrenamiento"]
    assert saved["epocas"] == UNTIL_TIME
    assert json.loads((run / "configuracion.json").read_text())["epocas"] is None


def test_early_stopping_is_named_as_the_reason(tmp_path):
    from tareas.xor import train_xor

    # Una tasa tan baja que la pérdida apenas cambia: para a la segunda época sin mejora.
    result = train_xor(epochs=50, patience=1, learning_rate=1e-9, seed=0,
                       run_dir=tmp_path / "xor")
    assert result.metrics["motivo_parada"] == "parada temprana (--paciencia)"
    assert result.metrics["epocas_corridas"] < 50


# === Servir ===
def test_service_with_auto_engine_gives_the_boxes_of_keras(tmp_path):
    """``redes servir --motor auto`` con el detector de MobileNetV2 (y su exportación a
    ONNX): las cajas de ``/detectar`` son las de ``detect_batch`` con Keras."""
    pytest.importorskip("fastapi")
    pytest.importorskip("onnxruntime")
    import io

    from fastapi.testclient import TestClient
    from PIL import Image

    from inferencia.exportar import export_model
    from modelos.yolo.decodificacion import detect_batch
    from servicio.app import create_app
    from servicio.modelos_servidos import load_served_model
    from tests.servicio_modelos import png_bytes

    model = _detector(labels=("gato", "perro"))
    head = model.get_layer("conv_1")
    kernel, bias = (np.asarray(w) for w in head.get_weights())
    bias = bias.copy()
    bias[4::7], bias[5::7] = 6.0, 3.0   # objeto y clase 0 seguros: hay cajas que comparar
    head.set_weights([kernel * 0.1, bias])
    weights = modelos.save(model, tmp_path / "mnv2" / "modelo.h5")
    exported = export_model(weights, "onnx", tmp_path / "onnx").parent
    data = png_bytes()
    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    (expected,) = detect_batch(modelos.load(weights), [image], obj_threshold=0.3)
    assert len(expected) >= 1
    # auto con un .h5 mide cada motor exportando a cada formato (tests/test_exportar.py lo
    # prueba con el YOLO de darknet); aquí, Keras con el .h5 y auto con la exportación.
    for source, engine in ((weights, "keras"), (exported, "auto")):
        served = load_served_model(source, engine=engine)
        with TestClient(create_app([served])) as client:
            answer = client.post("/detectar", files={"imagen": ("f.png", data, "image/png")})
        assert answer.status_code == 200, answer.text
        boxes = answer.json()["cajas"]
        got = np.array([[b["x1"], b["y1"], b["x2"], b["y2"]] for b in boxes])
        assert len(boxes) == len(expected), (source, engine)
        np.testing.assert_allclose(got, expected[:, :4], atol=0.06)
        assert [b["puntuacion"] for b in boxes] == pytest.approx(expected[:, 4], abs=1e-3)


# === El archivo de ImageNet de keras.applications ===
def _keras_applications_file(path, alpha=ALPHA, seed=0):
    """Una ``keras.applications.MobileNetV2`` sin cabeza con valores aleatorios, escrita
    como su archivo de ImageNet (HDF5 de Keras 2: ``layer_names`` y ``weight_names`` como
    ``block_1_expand/kernel:0``)."""
    import h5py

    keras.utils.set_random_seed(seed)
    reference = keras.applications.MobileNetV2(weights=None, include_top=False, alpha=alpha,
                                               input_shape=(SIZE, SIZE, 3))
    rng = np.random.default_rng(seed)
    for variable in reference.weights:
        if variable.path.endswith("moving_variance"):
            variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype("float32"))
        elif variable.path.endswith(("moving_mean", "beta")):
            variable.assign(rng.normal(0, 0.1, variable.shape).astype("float32"))
    with h5py.File(path, "w") as handle:
        layers = [layer for layer in reference.layers if layer.weights]
        handle.attrs["layer_names"] = [layer.name.encode() for layer in layers]
        for layer in layers:
            group = handle.create_group(layer.name)
            # Keras 2 llamaba «depthwise_kernel» al núcleo de DepthwiseConv2D.
            leaf = ("depthwise_kernel" if isinstance(layer, keras.layers.DepthwiseConv2D)
                    else None)
            names = [f"{layer.name}/{leaf or w.path.split('/')[-1]}:0" for w in layer.weights]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, weight in zip(names, layer.weights, strict=True):
                group.create_dataset(name, data=np.asarray(weight.numpy()))
    return reference


def test_the_keras_applications_file_is_read_as_it_is(tmp_path):
    """Con el relleno de Keras, el extractor calcula lo que la MobileNetV2 de Keras con su
    entrada en [-1, 1]: la primera capa exacta salvo su última fila y columna (el relleno
    con ceros de cada escala), y el extractor entero muy cerca."""
    path = tmp_path / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
    reference = _keras_applications_file(path)
    assert weights_kind(path) == "keras-aplicaciones"
    images = np.random.default_rng(2).random((2, SIZE, SIZE, 3), dtype=np.float32)
    plain = _detector()
    with pytest.raises(WeightsMismatchError, match="mobilenet_padding='keras'"):
        load_backbone_weights(plain, path)
    keras.utils.set_random_seed(0)
    model = build_yolo(["a", "b"], input_size=SIZE, backbone="mobilenetv2",
                       width_multiplier=ALPHA, mobilenet_padding="keras")
    report = load_backbone_weights(model, path)
    assert (report["tipo"], report["convoluciones"]) == ("keras-aplicaciones", 52)

    def output(network, layer, x):
        probe = keras.Model(network.inputs, network.get_layer(layer).output)
        return np.asarray(probe.predict(x, verbose=0))

    first_keras = output(reference, "bn_Conv1", 2 * images - 1)
    first_ours = output(model, "features_0_bn", images)
    np.testing.assert_allclose(first_ours[:, :-1, :-1], first_keras[:, :-1, :-1],
                               rtol=1e-4, atol=1e-4)
    last_keras = output(reference, "out_relu", 2 * images - 1)
    last_ours = _features(model, images)
    relative = np.abs(last_ours - last_keras).max() / np.abs(last_keras).max()
    assert relative < 0.05, relative
    tiny = build_yolo(["a"], input_size=SIZE, backbone="tiny", width_multiplier=0.25)
    with pytest.raises(WeightsMismatchError, match="keras.applications.*--backbone mobilenetv2"):
        load_backbone_weights(tiny, path)
    # El clasificador (--modelo mobilenetv2 --backbone-pesos) lee el mismo archivo.
    from modelos.mobilenet.preentrenado import load_pretrained_features

    classifier = modelos.build_mobilenetv2(3, input_size=(SIZE, SIZE), alpha=ALPHA,
                                           padding="keras")
    assert load_pretrained_features(classifier, path)["capas"] == 104
    np.testing.assert_allclose(output(classifier, "features_18_relu", images), last_ours,
                               rtol=1e-5, atol=1e-5)


# === redes pesos descargar ===
@pytest.fixture
def local_server(tmp_path, monkeypatch):
    """Un servidor HTTP en 127.0.0.1 que sirve ``tmp_path / "sitio"`` (se para solo); sin
    proxy para él aunque el entorno tenga uno."""
    import functools
    import http.server
    import threading

    site = tmp_path / "sitio"
    site.mkdir()
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(10)


def test_download_checks_the_file_before_leaving_it(local_server, tmp_path, capsys):
    import hashlib

    site, url = local_server
    served = site / "mobilenet.h5"
    _keras_applications_file(served)
    digest = hashlib.sha256(served.read_bytes()).hexdigest()
    dest, summary = tmp_path / "pesos", tmp_path / "descarga.json"
    target = dest / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    args = ["pesos", "descargar", "mobilenetv2", "--salida", str(dest),
            "--url", f"{url}/mobilenet.h5"]
    # Sin --sha256 vale el tamaño del archivo de Keras, que este no tiene.
    assert main(args) == 2
    assert f"tiene {served.stat().st_size} bytes y el archivo de Keras tiene 9406464" in \
        capsys.readouterr().err
    assert not target.exists() and not list(dest.iterdir())
    assert main([*args, "--sha256", "0" * 64]) == 2
    assert f"tiene sha256 {digest} y se esperaba {'0' * 64}" in capsys.readouterr().err
    assert not target.exists()
    assert main([*args, "--sha256", digest, "--json", str(summary)]) == 0
    assert target.read_bytes() == served.read_bytes()
    result = json.loads(summary.read_text())
    assert result["metricas"]["sha256"] == digest and result["metricas"]["sha256_comprobado"]
    assert result["archivos"]["pesos"] == str(target)
    # El archivo descargado es un punto de partida tal cual.
    model = build_yolo(["a"], input_size=SIZE, backbone="mobilenetv2", width_multiplier=ALPHA,
                       mobilenet_padding="keras")
    assert load_backbone_weights(model, target)["tipo"] == "keras-aplicaciones"
    # Ya está: no se vuelve a descargar.
    served.unlink()
    assert main([*args, "--sha256", digest, "--json", str(summary)]) == 0
    assert json.loads(summary.read_text())["metricas"]["ya_estaba"]


def test_download_errors_leave_nothing(local_server, tmp_path, capsys):
    import hashlib

    site, url = local_server
    (site / "otro.bin").write_bytes(b"no es HDF5" * 100)
    digest = hashlib.sha256((site / "otro.bin").read_bytes()).hexdigest()
    dest = tmp_path / "pesos"
    base = ["pesos", "descargar", "mobilenetv2", "--salida", str(dest)]
    assert main([*base, "--url", f"{url}/otro.bin", "--sha256", digest]) == 2
    assert "Lo descargado no es la MobileNetV2 de keras.applications" in capsys.readouterr().err
    assert main([*base, "--url", f"{url}/no_existe.h5"]) == 2
    assert "No se pudo descargar «mobilenetv2»" in capsys.readouterr().err
    assert main([*base, "--url", "ftp://127.0.0.1/x.h5"]) == 2
    assert "debe empezar por https:// o http://" in capsys.readouterr().err
    assert main([*base, "--sha256", "xyz"]) == 2
    assert "64 cifras hexadecimales" in capsys.readouterr().err
    assert not dest.exists() or not list(dest.iterdir())
