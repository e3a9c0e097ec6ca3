"""int8 con NNCF (``redes deteccion exportar --int8``) y la entrada uint8 de los motores.

El YOLO de las pruebas es pequeño y con pesos aleatorios: aquí se comprueba que la
exportación int8 es de verdad int8 (nodos FakeQuantize, pesos de 8 bits), que sigue a
la red en float32, que es reproducible y que cada entrada mala da un error claro. La
calidad (mAP@0.5 con un modelo entrenado) la mide ``bench/int8.py``.
"""

from __future__ import annotations

import json
import re

import keras
import numpy as np
import pytest

import modelos
from nucleo.errores import ArgumentError, DataError, EnvironmentSetupError, ModelFileError
from cli.principal import main
from inferencia import cuantizar
from inferencia import exportar
from inferencia.cuantizar import quantize_export
from inferencia.exportar import export_model, read_description
from inferencia.motores import load_engine
from modelos.yolo.decodificacion import detect_batch
from tests.helpers import WIDE_SHAPES_IMAGES

pytest.importorskip("openvino")
pytest.importorskip("nncf")


@pytest.fixture(scope="module")
def setup(tmp_path_factory, wide_shapes, shapes):
    """Un YOLO guardado, su exportación float32, fotos de calibración y la int8.

    Calibra con las figuras apaisadas de tests/conftest.py (128×96, otro tamaño que el de
    la red) y compara en las otras figuras (``shapes``), que no vio al calibrar.
    """
    root = tmp_path_factory.mktemp("int8")
    keras.utils.set_random_seed(0)
    weights = modelos.save(
        modelos.build_yolo(["gato", "perro"], input_size=64, width_multiplier=0.25),
        root / "yolo.h5")
    photos, other = wide_shapes, shapes
    float32 = export_model(weights, "openvino", root / "f32").parent
    int8 = quantize_export(weights, photos, root / "int8").parent
    return {"root": root, "weights": weights, "photos": photos, "other": other,
            "float32": float32, "int8": int8}


def _pixels(folder, size=64):
    from modelos.yolo.preprocesado import read_image, resize_image

    files = sorted((folder / "images").iterdir())
    return np.stack([resize_image(read_image(path), (size, size)) for path in files])


def test_the_export_is_really_int8(setup):
    description = read_description(setup["int8"])
    assert description["precision"] == "int8" and description["format"] == "openvino"
    assert description["cuantizacion"]["fotos"] == WIDE_SHAPES_IMAGES
    assert description["yolo"] == read_description(setup["float32"])["yolo"]
    xml = (setup["int8"] / "modelo.xml").read_text()
    # Las 20 convoluciones (Darknet-19 + cabeza) leen sus entradas cuantizadas.
    assert len(re.findall(r'type="FakeQuantize"', xml)) >= 20
    # Los pesos de 8 bits: el .bin ocupa menos de un tercio del de float32.
    size = (setup["int8"] / "modelo.bin").stat().st_size
    assert size < (setup["float32"] / "modelo.bin").stat().st_size / 3
    assert repr(load_engine(setup["int8"])).startswith("<motor openvino (int8)")


def test_int8_follows_float32_on_unseen_photos(setup):
    pixels = _pixels(setup["other"])
    reference = load_engine(setup["float32"], precision="float32").predict_images(pixels)
    got = load_engine(setup["int8"], precision="float32").predict_images(pixels)
    assert got.shape == reference.shape and not np.array_equal(got, reference)
    assert np.corrcoef(got.ravel(), reference.ravel())[0, 1] >= 0.95
    found = detect_batch(load_engine(setup["int8"]), list(pixels), obj_threshold=0.0)
    assert [len(boxes) for boxes in found] == [len(boxes) for boxes in detect_batch(
        load_engine(setup["float32"]), list(pixels), obj_threshold=0.0)]


def test_quantizing_is_reproducible(setup, tmp_path):
    again = quantize_export(setup["float32"], setup["photos"], tmp_path / "otra").parent
    assert (again / "modelo.bin").read_bytes() == (setup["int8"] / "modelo.bin").read_bytes()


def test_calibration_sample_is_fixed_by_the_seed(setup):
    first = cuantizar.calibration_files(setup["photos"], samples=3, seed=0)
    assert first == cuantizar.calibration_files(setup["photos"] / "images", 3, seed=0)
    assert len(first) == 3 and first != cuantizar.calibration_files(setup["photos"], 3, 1)


def test_engines_take_uint8_pixels(setup):
    pixels = _pixels(setup["other"])
    scaled = pixels.astype("float32") / 255
    for engine in (load_engine(setup["float32"], precision="float32"),
                   load_engine(setup["weights"], "keras")):
        got = engine.predict_images(pixels)
        expected = engine.predict_on_batch(scaled)
        assert np.max(np.abs(got - expected)) <= 1e-4 * max(1.0, np.max(np.abs(expected)))
        with pytest.raises(ArgumentError, match="lote uint8 de forma"):
            engine.predict_images(scaled)
        with pytest.raises(ArgumentError, match="lote uint8 de forma"):
            engine.predict_images(pixels[:, :32])


def test_cli_int8_export_then_detect(setup, tmp_path, capsys):
    out = tmp_path / "int8"
    assert main(["deteccion", "exportar", "--pesos", str(setup["weights"]), "--formato", "openvino",
                 "--int8", "--calibracion", str(setup["photos"]), "--muestras", "4",
                 "--salida", str(out), "--json", str(tmp_path / "e.json")]) == 0
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["metricas"]["fotos_calibracion"] == 4
    assert "diferencia_relativa" in report["metricas"]
    assert "openvino int8" in capsys.readouterr().out
    image = next((setup["other"] / "images").iterdir())
    assert main(["deteccion", "predecir", "--pesos", str(out), "--motor", "auto", str(image),
                 "--umbral", "0.0", "--salida", str(tmp_path / "det"),
                 "--json", str(tmp_path / "d.json")]) == 0
    assert json.loads((tmp_path / "d.json").read_text())[0]["detecciones"]


@pytest.mark.parametrize(("args", "message"), [
    (["--formato", "onnx", "--int8", "--calibracion", "FOTOS"], "--int8 solo se puede con"),
    (["--formato", "openvino", "--int8"], "--int8 necesita --calibracion"),
    (["--formato", "openvino", "--calibracion", "FOTOS"], "solo sirven con --int8"),
    (["--formato", "openvino", "--int8", "--calibracion", "NADA"], "no es una carpeta"),
    (["--formato", "openvino", "--int8", "--calibracion", "VACIA"], "no tiene fotos"),
    (["--formato", "openvino", "--int8", "--calibracion", "FOTOS", "--muestras", "0"],
     "muestras"),
])
def test_cli_int8_errors_are_one_spanish_line(setup, tmp_path, capsys, args, message):
    (tmp_path / "VACIA").mkdir()
    (tmp_path / "VACIA" / "nota.txt").write_text("sin fotos")
    paths = {"FOTOS": str(setup["photos"]), "NADA": str(tmp_path / "nada"),
             "VACIA": str(tmp_path / "VACIA")}
    argv = ["deteccion", "exportar", "--pesos", str(setup["weights"]),
            "--salida", str(tmp_path / "x"), *[paths.get(arg, arg) for arg in args]]
    parsed = True
    try:
        code = main(argv)
    except SystemExit as exc:   # los números se comprueban al leer la orden (argparse)
        code, parsed = exc.code, False
    assert code == 2
    err = capsys.readouterr().err.strip()
    # Una línea de error; argparse escribe antes el «uso:» de la orden.
    assert message in err.splitlines()[-1] and "Traceback" not in err
    assert len(err.splitlines()) == 1 or (not parsed and err.startswith("uso: "))
    assert not (tmp_path / "x" / "modelo.json").exists()


def test_what_cannot_be_quantized(setup, tmp_path):
    xor = modelos.save(modelos.build_xor(), tmp_path / "xor.h5")
    with pytest.raises(ArgumentError, match="solo está disponible para YOLO"):
        quantize_export(xor, setup["photos"], tmp_path / "a")
    with pytest.raises(ArgumentError, match="ya está cuantizado"):
        quantize_export(setup["int8"], setup["photos"], tmp_path / "b")
    pytest.importorskip("tf2onnx")
    onnx = export_model(setup["weights"], "onnx", tmp_path / "onnx")
    with pytest.raises(ArgumentError, match="int8 se hace sobre OpenVINO"):
        quantize_export(onnx, setup["photos"], tmp_path / "c")
    with pytest.raises(ArgumentError, match="ya tiene una exportación onnx"):
        quantize_export(setup["float32"], setup["photos"], tmp_path / "onnx")
    broken = tmp_path / "rota.jpg"
    broken.write_bytes(b"no es un jpeg")
    with pytest.raises(DataError, match="rota.jpg"):
        quantize_export(setup["float32"], tmp_path, tmp_path / "d")
    assert not (tmp_path / "a").exists() and not (tmp_path / "d" / "modelo.json").exists()


def test_missing_nncf_names_the_extra(setup, tmp_path, monkeypatch):
    monkeypatch.setattr(exportar, "missing_modules",
                        lambda needs: [name for name in needs if name == "nncf"])
    with pytest.raises(EnvironmentSetupError, match=r"«nncf».*redes-keras\[openvino\]"):
        quantize_export(setup["weights"], setup["photos"], tmp_path / "x")


def test_a_failed_quantization_keeps_the_previous_export(setup, tmp_path, monkeypatch):
    import nncf

    out = tmp_path / "int8"
    quantize_export(setup["float32"], setup["photos"], out)
    before = (out / "modelo.bin").read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("grafo raro")

    monkeypatch.setattr(nncf, "quantize", broken)
    with pytest.raises(ModelFileError, match="NNCF no pudo cuantizar"):
        quantize_export(setup["float32"], setup["photos"], out)
    assert (out / "modelo.bin").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["modelo.bin", "modelo.json",
                                                     "modelo.xml"]


def test_int8_of_the_mobilenet_detector(setup, tmp_path):
    """El detector sobre la MobileNetV2 (con su normalización de ImageNet dentro) también
    se cuantiza entero y sigue a su versión float32 en fotos que no vio al calibrar."""
    keras.utils.set_random_seed(0)
    weights = modelos.save(modelos.build_yolo(["gato", "perro"], input_size=64,
                                              backbone="mobilenetv2", width_multiplier=0.35),
                           tmp_path / "mnv2.h5")
    float32 = export_model(weights, "openvino", tmp_path / "f32").parent
    int8 = quantize_export(weights, setup["photos"], tmp_path / "int8").parent
    xml = (int8 / "modelo.xml").read_text()
    # Las 52 convoluciones del extractor y la de detección leen entradas cuantizadas.
    assert len(re.findall(r'type="FakeQuantize"', xml)) >= 53
    assert (int8 / "modelo.bin").stat().st_size < (float32 / "modelo.bin").stat().st_size / 3
    pixels = _pixels(setup["other"])
    reference = load_engine(float32, precision="float32").predict_images(pixels)
    got = load_engine(int8, precision="float32").predict_images(pixels)
    correlation = np.corrcoef(got.ravel(), reference.ravel())[0, 1]
    assert not np.array_equal(got, reference) and correlation >= 0.9, correlation
