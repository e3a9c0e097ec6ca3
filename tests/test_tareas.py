"""La interfaz común de las tareas y lo que declaran las familias de modelos.

- Todo modelo guardado anota su tarea (YOLO incluido), y los nombres antiguos se leen.
- ``load_predictor`` carga cada modelo con el ``load`` de su tarea, sin mirar nombres de
  constructores, y su predictor responde a entradas en bruto.
- Los motores preparan las imágenes como declara la familia del modelo.
"""

import numpy as np
import pytest

import modelos
from inferencia.motores import KerasEngine
from modelos.registro import builder_names, family_of, preprocessor_of
from nucleo.errores import ArgumentError, ModelFileError
from nucleo.vocabulario import TASKS
from tareas.registro import load_predictor, task_of

#: La tarea de cada modelo de tests/servicio_modelos.py (la clave «ventas» es la carpeta).
EXPECTED_TASKS = {"deteccion": "deteccion", "clasificacion": "clasificacion",
                  "ventas": "pronostico", "traduccion": "traduccion"}


@pytest.fixture(scope="module")
def paths(service_models):
    return service_models[0]


def test_every_registered_builder_belongs_to_a_family():
    for name in builder_names():
        family = family_of(name)
        if name.startswith("prueba_"):   # constructores que registran otras pruebas
            continue
        assert family is not None, name
        assert family.task is None or family.task in TASKS, name
    assert family_of("yolo").task == "deteccion" and family_of("ventas_rnn").task == "pronostico"
    assert family_of("transformer_lm").task is None


def test_every_saved_model_records_its_task(paths):
    # El detector se guardó sin metadatos: modelos.save anota la tarea de su familia.
    assert modelos.load_metadata(paths["deteccion"])["metadata"] == {"tarea": "deteccion"}
    for key, path in paths.items():
        assert task_of(modelos.load_metadata(path)) == EXPECTED_TASKS[key], key


def test_task_of_reads_old_names_and_falls_back_to_the_family():
    assert task_of({"builder": "ventas", "metadata": {"tarea": "ventas"}}) == "pronostico"
    assert task_of({"builder": "transformer", "metadata": {"tarea": "numeros"}}) == "traduccion"
    assert task_of({"builder": "yolo", "metadata": {}}) == "deteccion"
    assert task_of({"builder": "transformer_lm", "metadata": {}}) is None
    assert task_of({"builder": "desconocido", "metadata": {"tarea": "otra"}}) is None


def test_load_predictor_uses_the_load_of_each_task(paths):
    from tareas.clasificacion import ClassificationPredictor
    from tareas.deteccion import DetectionPredictor
    from tareas.traduccion import TranslationPredictor
    from tareas.ventas import ForecastPredictor

    kinds = {"deteccion": DetectionPredictor, "clasificacion": ClassificationPredictor,
             "ventas": ForecastPredictor, "traduccion": TranslationPredictor}
    for key, path in paths.items():
        predictor = load_predictor(path)
        assert type(predictor) is kinds[key] and predictor.task == EXPECTED_TASKS[key]
        assert predictor.info()["tarea"] == EXPECTED_TASKS[key]
        assert predictor.info()["pesos"] == str(path)


def test_load_predictor_refuses_a_model_of_another_task(paths):
    with pytest.raises(ModelFileError, match="no es un modelo de clasificacion") as error:
        load_predictor(paths["deteccion"], tasks=("clasificacion",))
    assert str(paths["deteccion"]) in str(error.value)


def test_the_classification_predictor_answers_raw_images(paths):
    from datos.imagenes import resize_to

    predictor = load_predictor(paths["clasificacion"])
    image = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    answer = predictor.predict(image, 2)
    model = modelos.load(paths["clasificacion"], compile=False)
    expected = np.asarray(model.predict(resize_to(image, (16, 16))[None], verbose=0))[0]
    best = np.argsort(-expected, kind="stable")[:2]
    assert [row["etiqueta"] for row in answer["clases"]] == [predictor.classes[i] for i in best]
    np.testing.assert_allclose([row["probabilidad"] for row in answer["clases"]],
                               expected[best], atol=1e-5)


def test_engines_prepare_images_as_the_family_declares(paths):
    model = modelos.load(paths["clasificacion"], compile=False)
    engine = KerasEngine(model)
    batch = np.random.default_rng(1).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    assert preprocessor_of(engine).pixel_scale == 255.0
    np.testing.assert_allclose(engine.predict_images(batch),
                               model.predict(batch.astype("float32") / 255.0, verbose=0),
                               atol=1e-6)
    sales = KerasEngine(modelos.load(paths["ventas"], compile=False))
    with pytest.raises(ArgumentError, match="no recibe imágenes"):
        sales.predict_images(batch)


def test_the_export_description_comes_from_the_family(tmp_path, paths):
    from inferencia.exportar import describe

    sales = modelos.load(paths["ventas"], compile=False)
    assert describe(sales, None)["input"] == preprocessor_of("ventas").input
    detector = modelos.load(paths["deteccion"], compile=False)
    yolo = describe(detector, None)["yolo"]
    assert yolo["labels"] == ["circulo", "cuadrado"] and yolo["input_size"] == [64, 64]


def test_every_task_has_the_common_interface():
    from tareas.registro import TASK_MODULES, task_module

    assert set(TASK_MODULES) == set(TASKS)
    for task in TASKS:
        module = task_module(task)
        for name in ("train", "evaluate", "load", "predict"):
            assert callable(getattr(module, name, None)), (task, name)


def test_the_xor_predictor_answers_pairs_of_bits(tmp_path):
    from tareas.xor import XorPredictor, load, train_xor

    result = train_xor(epochs=1, run_dir=tmp_path / "xor")
    predictor = load_predictor(result.file("pesos"), tasks=("xor",))
    assert isinstance(predictor, XorPredictor) and predictor.task == "xor"
    answer = predictor.predict(1, 0)
    expected = float(np.asarray(result.model.predict(np.array([[1.0, 0.0]]), verbose=0))[0, 0])
    assert answer["entrada"] == [1, 0] and answer["redondeo"] == round(answer["salida"])
    assert abs(answer["salida"] - expected) < 1e-5
    with pytest.raises(ArgumentError, match="dos bits"):
        load(result.file("pesos")).prepare(2, 0)


# === La CLI predice con el mismo predictor que el servicio ===
# «redes TAREA predecir» y load(...).predict(...) (lo que atiende «redes servir») dan la
# misma respuesta a la misma entrada.

def _cli_json(argv, out) -> list | dict:
    import json

    from cli.principal import main

    assert main([*argv, "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_the_cli_forecast_is_the_forecast_predictor(paths, tmp_path):
    from datos.ventas import make_sales_series
    from tareas.ventas import load
    from tareas.ventas.comun import load_series

    series = make_sales_series(days=120, seed=1)
    csv_path = tmp_path / "ventas.csv"
    csv_path.write_text("fecha,unidades\n" + "".join(
        f"{date},{value}\n" for date, value in zip(series.dates, series.values, strict=True)))
    cli = _cli_json(["pronostico", "predecir", "--pesos", str(paths["ventas"]), "--csv",
                     str(csv_path), "--dias", "9", "--salida", str(tmp_path)],
                    tmp_path / "p.json")["pronostico"]
    predictor = load(paths["ventas"])
    answer = predictor.predict(load_series(csv_path, where="prueba"), 9)["pronostico"]
    assert [row["fecha"] for row in cli] == [row["fecha"] for row in answer]
    assert [round(row["unidades"], 4) for row in cli] == [row["unidades"] for row in answer]
    assert len({row["unidades"] for row in answer}) > 1   # no es una constante
    rows = (tmp_path / "pronostico.csv").read_text().splitlines()[1:]
    assert rows == [f"{row['fecha']},{row['unidades']:.2f}" for row in cli]


def test_the_cli_translation_is_the_translation_predictor(paths, tmp_path):
    from tareas.traduccion import load

    texts = ["ciento veinte", "noventa y nueve", "uno"]
    for beam in (1, 3):
        cli = _cli_json(["traduccion", "predecir", "--pesos", str(paths["traduccion"]), *texts,
                         "--haz", str(beam)], tmp_path / f"t{beam}.json")
        predictor = load(paths["traduccion"])
        answers = [predictor.predict(text, beam_size=beam) for text in texts]
        assert [row["origen"] for row in cli] == texts
        assert [row["traduccion"] for row in cli] == [a["traduccion"] for a in answers], beam
    # El haz llega a translate, y un lote con dos haces distintos (el servicio junta
    # peticiones) responde a cada frase con el suyo.
    from modelos.transformer.decodificacion import translate

    item = predictor.prepare(texts[0], beam_size=3)
    source = np.zeros((1, predictor.source_limit), np.int32)
    source[0, :len(item.source)] = item.source
    expected = translate(predictor.engine, source, predictor.output_len, beam_size=3)[0]
    assert predictor.translate_ids([item]) == [list(expected)]
    mixed = predictor.run_batch([predictor.prepare(texts[0], beam_size=3),
                                 predictor.prepare(texts[1])])
    assert mixed == [predictor.predict(texts[0], beam_size=3), predictor.predict(texts[1])]


def test_the_cli_detection_is_the_detection_predictor(paths, tmp_path):
    from PIL import Image

    from modelos.yolo.preprocesado import read_image
    from tareas.deteccion import load
    from tests.servicio_modelos import png_bytes

    image_path = tmp_path / "foto.png"
    image_path.write_bytes(png_bytes(height=90, width=70, seed=3))
    (cli,) = _cli_json(["deteccion", "predecir", "--pesos", str(paths["deteccion"]),
                        str(image_path), "--umbral", "0.5", "--nms", "0.2",
                        "--salida", str(tmp_path / "salida")], tmp_path / "d.json")
    answer = load(paths["deteccion"]).predict(read_image(image_path), 0.5, True,
                                              nms_threshold=0.2)
    assert cli["detecciones"] and answer["cajas"]
    assert cli["detecciones"] == [{"etiqueta": box["etiqueta"], "puntuacion": box["puntuacion"],
                                   "caja": [box["x1"], box["y1"], box["x2"], box["y2"]]}
                                  for box in answer["cajas"]]
    drawn = tmp_path / "salida" / "foto_detected.png"
    assert drawn.read_bytes() == answer["png"]
    assert Image.open(drawn).size == (70, 90)
