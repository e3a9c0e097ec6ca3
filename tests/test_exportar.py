"""Exportar (SavedModel, ONNX, OpenVINO, LiteRT) y los motores de inferencia.

Cada formato se compara con Keras sobre la misma entrada (float32: diferencia relativa
≤ 1e-4), cada constructor registrado se exporta, y las tareas (detectar, clasificar,
pronosticar, traducir) dan lo mismo con cualquier motor.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import modelos
from datos.cajas import box_iou
from nucleo.errores import ArgumentError, EnvironmentSetupError, ModelFileError
from cli.principal import main
from inferencia.exportacion import TOLERANCE, compare_engines
from inferencia import eleccion
from inferencia import exportar
from inferencia import motores
from inferencia.exportar import FORMATS, export_model, read_description
from inferencia.motores import KerasEngine, example_inputs, load_engine, open_export

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")
pytest.importorskip("tf2onnx")


def _yolo():
    # Darknet-19 estrecho y pequeño, con la capa propia Reorg del passthrough.
    return modelos.build_yolo(["gato", "perro"], input_size=64, width_multiplier=0.125)


def _transformer():
    return modelos.build_transformer(30, 30, num_layers=1, d_model=16, num_heads=2, d_ff=32,
                                     dropout=0.0, max_len=12)


def _yolo_mobilenet():
    # El detector sobre la MobileNetV2 (normalización de ImageNet dentro, relleno simétrico).
    return modelos.build_yolo(["gato", "perro"], input_size=64, backbone="mobilenetv2",
                              width_multiplier=0.35)


BUILDERS = {
    "yolo": _yolo,
    "yolo_mobilenetv2": _yolo_mobilenet,
    "transformer": _transformer,
    "seq2seq": lambda: modelos.build_seq2seq(30, 30, units=8, embed_dim=8, max_len=12),
    "ventas": lambda: modelos.build_sales_mlp("ste"),
    "ventas_rnn": lambda: modelos.build_sales_rnn("lstm", units=4),
    "ventas_global": lambda: modelos.build_sales_global(
        5, steps=7, horizon=4, hierarchy=[2, 3], n_future=1, n_past=1, levels=[80, 95],
        hidden_units=8),
    "xor": modelos.build_xor,
    "mlp": lambda: modelos.build_mlp(input_dim=16, hidden=(8,), num_classes=3),
    "deportes": lambda: modelos.build_sports_cnn(input_shape=(21, 28, 3), num_classes=4),
    "cifar": lambda: modelos.build_cifar_cnn(input_shape=(16, 16, 3), num_classes=3),
    "transformer_clasificador": lambda: modelos.build_encoder_classifier(
        30, 3, num_layers=1, d_model=16, num_heads=2, d_ff=32, max_len=12),
    "transformer_lm": lambda: modelos.build_decoder_lm(
        30, num_layers=1, d_model=16, num_heads=2, d_ff=32, max_len=12),
    "mobilenetv2": lambda: modelos.build_mobilenetv2(3, input_size=(32, 32), alpha=0.35),
}
#: El constructor registrado de los casos que no se llaman como él.
REGISTERED = {"yolo_mobilenetv2": "yolo"}
# Cada formato con YOLO (la capa Reorg) y con el YOLO de MobileNetV2, y cada constructor
# con al menos un formato.
CASES = [(name, fmt) for name in ("yolo", "yolo_mobilenetv2") for fmt in FORMATS] + [
    ("transformer", "onnx"), ("transformer", "openvino"), ("transformer", "litert"),
    ("ventas", "saved_model"), ("xor", "openvino"), ("mlp", "litert"), ("deportes", "onnx"),
    ("cifar", "saved_model"), ("transformer_clasificador", "onnx"),
    ("transformer_lm", "openvino"), ("ventas_rnn", "saved_model"), ("seq2seq", "onnx"),
    ("mobilenetv2", "onnx"), ("ventas_global", "onnx")]


def test_every_registered_builder_is_exported_by_some_case():
    # Los de modelos (otras pruebas registran constructores propios en el mismo proceso).
    ours = [name for name in modelos.builder_names()
            if modelos.get_builder(name).__module__.startswith("modelos.")]
    assert sorted({REGISTERED.get(name, name) for name, _ in CASES}) == ours
    assert {fmt for _, fmt in CASES} == set(FORMATS)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Un .h5 por constructor, con pesos aleatorios fijos."""
    root = tmp_path_factory.mktemp("exportar")
    paths = {}
    for name, build in BUILDERS.items():
        keras.utils.set_random_seed(0)
        paths[name] = modelos.save(build(), root / f"{name}.h5", metadata={"tarea": name})
    return paths


@pytest.mark.parametrize(("name", "fmt"), CASES)
def test_export_matches_keras_in_float32(saved, tmp_path, name, fmt):
    description_path = export_model(saved[name], fmt, tmp_path / fmt)
    description = read_description(description_path)
    assert description["builder"] == REGISTERED.get(name, name)
    assert description["format"] == fmt
    assert description["metadata"] == {"tarea": name}
    assert (tmp_path / fmt / exportar.ARTIFACTS[fmt]).exists()
    keras_engine = load_engine(saved[name], "keras")
    assert description["inputs"] == keras_engine.description["inputs"]
    engine = open_export(description, precision="float32")
    inputs = example_inputs(keras_engine, batch=3, length=7, seed=1)
    comparison = compare_engines(keras_engine, engine, inputs)
    assert comparison["relative"] <= TOLERANCE, comparison
    # Y no es trivialmente igual: otra entrada da otra salida.
    other = example_inputs(keras_engine, batch=3, length=7, seed=2)
    assert not np.allclose(engine.predict_on_batch(inputs), engine.predict_on_batch(other))


#: Tolerancia declarada en bfloat16 (Keras mixed_bfloat16, u OpenVINO con bf16 en una CPU
#: que lo tiene nativo) frente a float32: diferencia relativa ≤ 2e-2.
BF16_TOLERANCE = 2e-2


def test_bfloat16_engine_within_the_stated_tolerance(saved):
    reference = load_engine(saved["yolo"], "keras", precision="float32")
    bf16 = load_engine(saved["yolo"], "keras", precision="bfloat16")
    assert bf16.keras_model.get_layer("conv_1").compute_dtype == "bfloat16"
    inputs = example_inputs(reference, batch=2, seed=3)
    comparison = compare_engines(reference, bf16, inputs)
    assert 0 < comparison["relative"] <= BF16_TOLERANCE, comparison


def test_yolo_description_is_enough_without_the_builder(saved, tmp_path):
    description = json.loads(export_model(saved["yolo"], "onnx", tmp_path).read_text())
    yolo = description["yolo"]
    assert yolo["labels"] == ["gato", "perro"] and yolo["input_size"] == [64, 64]
    assert yolo["grid"] == [2, 2] and len(yolo["anchors"]) == 5
    assert description["outputs"][0]["shape"] == [None, 2, 2, 5, 7]
    assert description["inputs"][0] == {"name": "entrada", "shape": [None, 64, 64, 3],
                                        "dtype": "float32"}


def test_detections_agree_across_engines(saved):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (48 + 8 * i, 80, 3), dtype=np.uint8) for i in range(4)]
    from modelos.yolo.decodificacion import detect_batch

    found = {engine: detect_batch(load_engine(saved["yolo"], engine, precision="float32"),
                                  images, obj_threshold=0.05)
             for engine in ("keras", "onnx", "openvino")}
    assert sum(len(boxes) for boxes in found["keras"]) >= 4   # hay cajas que comparar
    for engine in ("onnx", "openvino"):
        for expected, got in zip(found["keras"], found[engine], strict=True):
            assert len(expected) == len(got)
            assert np.array_equal(expected[:, 5], got[:, 5])
            if len(expected):
                assert np.diag(box_iou(expected[:, :4], got[:, :4])).min() >= 0.99


def test_engines_cache_the_export_by_content(saved, tmp_path, monkeypatch):
    monkeypatch.setenv("REDES_CACHE", str(tmp_path / "cache"))
    first = load_engine(saved["ventas"], "onnx")
    folders = list((tmp_path / "cache" / "exportados").glob("*/onnx"))
    assert len(folders) == 1 and first.name == "onnx"
    calls = []
    monkeypatch.setattr(eleccion, "export_model", lambda *a, **k: calls.append(a))
    second = load_engine(saved["ventas"], "onnx")
    assert calls == [] and second.description["directory"] == str(folders[0])


def test_auto_measures_the_engines_with_that_model(saved, tmp_path, monkeypatch):
    monkeypatch.setenv("REDES_CACHE", str(tmp_path / "cache"))
    # Un motor lento de mentira: auto se queda con el otro, y lo recuerda.
    fake = {"onnx": 5e-3, "openvino": 1e-3}
    calls = []

    def timing(engine, inputs):
        calls.append(engine.name)
        assert inputs[0].shape == (motores.AUTO_BATCH, 2)
        return fake[engine.name]

    monkeypatch.setattr(motores, "time_call", timing)
    assert load_engine(saved["xor"], "auto").name == "openvino"
    assert sorted(calls) == ["onnx", "openvino"]
    choice = json.loads(motores.auto_choice_path(saved["xor"]).read_text())
    assert choice["motor"] == "openvino" and choice["microsegundos"]["onnx"] == 5000.0
    calls.clear()
    assert load_engine(saved["xor"], "auto").name == "openvino" and calls == []
    # Otra precisión es otra medida.
    fake.update(onnx=1e-4)
    assert load_engine(saved["xor"], "auto", precision="float32").name == "onnx"
    assert sorted(calls) == ["onnx", "openvino"]
    # Sin ningún motor exportable, Keras.
    monkeypatch.setattr(eleccion, "missing_modules", lambda needs: list(needs))
    assert load_engine(saved["ventas"], "auto").name == "keras"


def test_auto_with_real_timings_and_a_model_openvino_cannot_convert(saved, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setenv("REDES_CACHE", str(tmp_path / "cache"))
    # El XOR: una llamada a ONNX Runtime cuesta ~10 µs y a OpenVINO ~100 µs.
    assert load_engine(saved["xor"], "auto").name == "onnx"
    # OpenVINO no convierte la LSTM (TensorList): auto la salta y usa ONNX Runtime.
    engine = load_engine(saved["ventas_rnn"], "auto")
    assert engine.name == "onnx"
    choice = json.loads(motores.auto_choice_path(saved["ventas_rnn"]).read_text())
    assert "openvino" in choice["fallos"] and list(choice["microsegundos"]) == ["onnx"]
    assert "no convierte las capas recurrentes" in choice["fallos"]["openvino"]
    inputs = example_inputs(engine, batch=2)
    expected = load_engine(saved["ventas_rnn"], "keras").predict_on_batch(inputs)
    assert np.allclose(engine.predict_on_batch(inputs), expected, atol=1e-5)


def test_missing_runtime_names_the_extra(saved, tmp_path, monkeypatch):
    monkeypatch.setattr(exportar, "missing_modules",
                        lambda needs: [n for n in needs if n in ("tf2onnx", "openvino")])
    with pytest.raises(EnvironmentSetupError, match=r"«tf2onnx».*redes-keras\[onnx\]"):
        export_model(saved["xor"], "onnx", tmp_path / "a")
    with pytest.raises(EnvironmentSetupError, match=r"«openvino».*redes-keras\[openvino\]"):
        export_model(saved["xor"], "openvino", tmp_path / "b")
    assert not (tmp_path / "a").exists()


def test_openvino_sends_no_telemetry(saved, tmp_path, monkeypatch):
    # Sin ~/intel/openvino_telemetry, OpenVINO y NNCF suponen el consentimiento y crean
    # ~/intel/openvino_ga_cid antes de enviar. Exportar lo rechaza en el proceso.
    telemetry = pytest.importorskip("openvino_telemetry")
    monkeypatch.setenv("HOME", str(tmp_path))
    export_model(saved["xor"], "openvino", tmp_path / "ov")
    assert not (tmp_path / "intel").exists()
    instance = telemetry.Telemetry(app_name="prueba", app_version="0", tid="G-X",
                                   backend="ga4", enable_opt_in_dialog=False)
    instance.init(app_name="prueba", app_version="0", tid="G-X", backend="ga4",
                  enable_opt_in_dialog=False)
    assert instance.consent is False and not (tmp_path / "intel").exists()


def test_bad_exports_and_choices_give_clear_errors(saved, tmp_path):
    with pytest.raises(ArgumentError, match="formato"):
        export_model(saved["xor"], "tflite", tmp_path / "x")
    (tmp_path / "archivo").write_text("x")
    with pytest.raises(ArgumentError, match="es un archivo"):
        export_model(saved["xor"], "onnx", tmp_path / "archivo")
    folder = tmp_path / "onnx"
    export_model(saved["xor"], "onnx", folder)
    with pytest.raises(ArgumentError, match="ya tiene una exportación onnx"):
        export_model(saved["xor"], "openvino", folder)
    with pytest.raises(ArgumentError, match="--motor onnx o auto"):
        load_engine(folder, "openvino")
    with pytest.raises(ArgumentError, match="motor"):
        load_engine(saved["xor"], "tensorrt")
    with pytest.raises(ArgumentError, match="«entrada» debe tener forma"):
        load_engine(folder).predict_on_batch(np.zeros((1, 3), "float32"))
    description = json.loads((folder / "modelo.json").read_text())
    (folder / "modelo.json").write_text(json.dumps({**description, "inputs": "x"}))
    with pytest.raises(ModelFileError, match="«inputs»"):
        load_engine(folder)
    (folder / "modelo.json").write_text("{roto")
    with pytest.raises(ModelFileError, match="JSON"):
        load_engine(folder)
    (folder / "modelo.json").write_text(json.dumps(description))
    (folder / "modelo.onnx").unlink()
    with pytest.raises(ModelFileError, match="falta «modelo.onnx»"):
        load_engine(folder)
    with pytest.raises(ModelFileError, match="no es una exportación"):
        load_engine(tmp_path / "nada" / "modelo.json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_sidecar_from_another_export_is_caught_on_open(saved, tmp_path, fmt):
    # Un modelo.json que no describe el artefacto que tiene al lado (otra entrada u otra
    # salida, como el de otro modelo copiado encima): cada motor compara las entradas y la
    # salida del artefacto con la descripción al abrirlo.
    path = export_model(saved["xor"], fmt, tmp_path / "xor")
    description = json.loads(path.read_text())
    assert load_engine(tmp_path / "xor", precision="float32").predict_on_batch(   # el bueno abre
        np.zeros((1, 2), "float32")).shape == (1, 1)
    other_input = json.loads(json.dumps(description))
    other_input["inputs"][0]["shape"] = [None, 64, 64, 3]
    path.write_text(json.dumps(other_input))
    with pytest.raises(ModelFileError, match=r"no corresponde a .*la forma de la entrada "
                                             r"«entrada» es \(None, 2\) en el artefacto"):
        load_engine(tmp_path / "xor", precision="float32")
    # Misma entrada, otra salida: la descripción dice 3 salidas y el artefacto tiene 1.
    other_output = json.loads(json.dumps(description))
    other_output["outputs"][0]["shape"] = [None, 3]
    path.write_text(json.dumps(other_output))
    with pytest.raises(ModelFileError, match=r"la forma de la salida es \(None, 1\)"):
        load_engine(tmp_path / "xor", precision="float32")


def test_a_failed_export_keeps_the_previous_one(saved, tmp_path, monkeypatch):
    folder = tmp_path / "onnx"
    export_model(saved["xor"], "onnx", folder)
    before = (folder / "modelo.onnx").read_bytes()

    def broken(self, *args, **kwargs):
        raise RuntimeError("convertidor roto")

    monkeypatch.setattr(keras.Model, "export", broken)
    with pytest.raises(ModelFileError,
                       match="exportar «xor» a onnx. Detalle: RuntimeError: convertidor"):
        export_model(saved["xor"], "onnx", folder)
    assert (folder / "modelo.onnx").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["modelo.json", "modelo.onnx"]


# === La orden y las tareas con --motor ===

def test_cli_export_and_detect_with_each_engine(saved, tmp_path, capsys):
    out = tmp_path / "openvino"
    assert main(["deteccion", "exportar", "--pesos", str(saved["yolo"]), "--formato", "openvino",
                 "--salida", str(out), "--json", str(tmp_path / "e.json")]) == 0
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["metricas"]["diferencia_relativa"] <= TOLERANCE
    assert "motor openvino frente a Keras" in capsys.readouterr().out
    image = tmp_path / "foto.png"
    import cv2

    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (50, 70, 3), np.uint8))
    boxes = {}
    for name, weights, engine in (("keras", saved["yolo"], "keras"),
                                  ("exportado", out, "auto"),
                                  ("onnx", saved["yolo"], "onnx")):
        assert main(["deteccion", "predecir", "--pesos", str(weights), "--motor", engine,
                     str(image), "--umbral", "0.05", "--salida", str(tmp_path / name),
                     "--json", str(tmp_path / f"{name}.json")]) == 0
        boxes[name] = [d["caja"] for d in
                       json.loads((tmp_path / f"{name}.json").read_text())[0]["detecciones"]]
        assert (tmp_path / name / "foto_detected.png").is_file()
    assert len(boxes["keras"]) > 0
    assert np.allclose(boxes["exportado"], boxes["keras"], atol=0.01)
    assert np.allclose(boxes["onnx"], boxes["keras"], atol=0.01)


def test_cli_export_error_is_one_spanish_line(saved, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(exportar, "missing_modules", lambda needs: list(needs))
    assert main(["xor", "exportar", "--pesos", str(saved["xor"]), "--formato", "onnx",
                 "--salida", str(tmp_path / "x")]) != 0
    err = capsys.readouterr().err.strip()
    assert "redes-keras[onnx]" in err and "Traceback" not in err


def test_forecast_with_an_engine_gives_the_same_units(tmp_path, capsys):
    from datos.ventas import make_sales_series, write_sales_csv

    csv_path = write_sales_csv(make_sales_series(days=120, seed=4), tmp_path / "v.csv",
                               header=True)
    run = tmp_path / "ste"
    assert main(["pronostico", "entrenar", "--csv", str(csv_path), "--modelo", "ste",
                 "--epocas", "2", "--salida", str(run)]) == 0
    export = tmp_path / "exportado"
    assert main(["pronostico", "exportar", "--pesos", str(run / "modelo.h5"), "--formato", "onnx",
                 "--salida", str(export)]) == 0
    units = {}
    for engine, weights in (("keras", run / "modelo.h5"), ("openvino", run / "modelo.h5"),
                            ("onnx", export)):
        assert main(["pronostico", "predecir", "--pesos", str(weights), "--csv", str(csv_path),
                     "--dias", "7", "--motor", engine, "--salida", str(tmp_path / engine),
                     "--json", str(tmp_path / f"{engine}.json")]) == 0
        report = json.loads((tmp_path / f"{engine}.json").read_text())
        assert report["motor"] == engine
        units[engine] = [row["unidades"] for row in report["pronostico"]]
    capsys.readouterr()
    # Sin --precision, OpenVINO calcula en bfloat16 donde la CPU lo tiene nativo (AMX o
    # AVX-512 BF16): dentro de la tolerancia declarada de bf16; si no, en float32.
    from nucleo.entorno import native_bfloat16

    tolerance = BF16_TOLERANCE if native_bfloat16() else 1e-4
    assert np.allclose(units["openvino"], units["keras"], rtol=tolerance)
    assert np.allclose(units["onnx"], units["keras"], rtol=1e-4)


def test_translation_and_classification_with_engines(tmp_path):
    import cv2

    from tareas.clasificacion import predict_images
    from tareas.traduccion import translate_texts
    from tests.test_transformer_tarea import _save_untrained_translator

    weights = tmp_path / "traductor.h5"
    _save_untrained_translator(weights)
    texts = ["cuarenta y dos", "siete"]
    expected = [r.data["traduccion"] for r in translate_texts(weights, texts, beam_size=2)]
    for engine in ("onnx", "openvino"):
        got = translate_texts(weights, texts, beam_size=2, engine=engine)
        assert [r.data["traduccion"] for r in got] == expected

    keras.utils.set_random_seed(0)
    classifier = modelos.save(
        modelos.build_sports_cnn(input_shape=(21, 28, 3), num_classes=3), tmp_path / "c.h5",
        metadata={"tarea": "clasificacion", "clases": ["a", "b", "c"], "tamanio": [21, 28],
                  "canales": 3, "aplanar": False})
    images = [str(tmp_path / f"{i}.png") for i in range(3)]
    for i, path in enumerate(images):
        cv2.imwrite(path, np.random.default_rng(i).integers(0, 256, (30, 40, 3), np.uint8))
    reference = predict_images(classifier, images, top=3)
    got = predict_images(classifier, images, top=3, engine="onnx")
    for a, b in zip(reference, got, strict=True):
        assert [t["clase"] for t in a.data["top"]] == [t["clase"] for t in b.data["top"]]
        assert np.allclose([t["probabilidad"] for t in a.data["top"]],
                           [t["probabilidad"] for t in b.data["top"]], atol=1e-5)


def test_keras_engine_wraps_a_model_in_memory():
    keras.utils.set_random_seed(0)
    model = modelos.build_xor()
    engine = KerasEngine(model)
    x = np.array([[0, 1], [1, 1]], "float32")
    assert np.allclose(engine.predict(x, batch_size=1), model.predict(x, verbose=0))
    assert engine.input_shape == (None, 2) and engine.keras_model is model
