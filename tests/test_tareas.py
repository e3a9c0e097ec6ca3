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
