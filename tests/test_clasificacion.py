"""La API de clasificación (tareas.clasificacion): validación y TaskResult."""

from __future__ import annotations

import pytest

from nucleo.errores import ArgumentError
from datos.sinteticos import make_image_folder
from tareas.clasificacion import evaluate_classifier
from tareas.clasificacion import predict_images
from tareas.clasificacion import train_classifier
from informes.resultado import TaskResult


@pytest.mark.parametrize("kwargs, named", [
    ({"batch_size": 0}, "batch_size (--lote)"),
    ({"epochs": 0}, "epochs (--epocas)"),
    ({"learning_rate": -1.0}, "learning_rate (--tasa)"),
    ({"learning_rate": 0.0}, "learning_rate (--tasa)"),
    ({"learning_rate": float("nan")}, "learning_rate (--tasa)"),
    ({"optimizer": "optimizador_inventado"}, "optimizer (--optimizador)"),
    ({"image_size": (30000, 30000)}, "image_size (--tamanio)"),
    ({"image_size": (0, 8)}, "image_size (--tamanio)"),
    ({"channels": 2}, "channels"),
    ({"seed": -1}, "seed (--semilla)"),
    ({"patience": -1}, "patience (--paciencia)"),
    ({"workers": 0}, "workers (--trabajadores)"),
    ({"precision": "float16"}, "precision"),
    ({"strategy": "mirrored"}, "no hay ningún campo «strategy»"),
    ({"model": "resnet"}, "model (--modelo)"),
    ({"augment": "si"}, "augment"),
    ({"model": "mlp", "augment": True}, "--aumento"),
])
def test_arguments_are_checked_before_reading_any_image(kwargs, named, tmp_path):
    # La carpeta no existe: si el error fuera de la carpeta, la validación llegaría tarde.
    with pytest.raises(ArgumentError, match=named.replace("(", r"\(").replace(")", r"\)")):
        train_classifier(directory=tmp_path / "no_existe", **kwargs)
    assert not (tmp_path / "pesos").exists()


def test_train_returns_a_task_result_with_its_files(tmp_path):
    images = make_image_folder(tmp_path / "img", n_per_class=6, seed=0)
    result = train_classifier(directory=images, model="mlp", run_dir=tmp_path / "run",
                              image_size=(8, 8), epochs=2, batch_size=8,
                              verbose=0)
    assert isinstance(result, TaskResult)
    assert result.metrics["epocas"] == 2 and "test_accuracy" in result.metrics
    for name in ("pesos", "registro", "curvas", "matriz_confusion"):
        assert result.file(name).is_file()
    assert result.data["division"] == {"entrenamiento": 11, "validacion": 3, "prueba": 4}
    assert result.model is not None and len(result.history["loss"]) == 2
    payload = result.to_json()
    assert payload["metricas"]["modelo"] == "mlp" and "informe" in payload

    evaluation = evaluate_classifier(result.file("pesos"), images, split="test")
    assert isinstance(evaluation, TaskResult)
    assert evaluation.metrics["imagenes"] == 4
    assert evaluation.metrics["accuracy"] == pytest.approx(result.metrics["test_accuracy"])
    with pytest.raises(ArgumentError, match="split"):
        evaluate_classifier(result.file("pesos"), images, split="prueba")

    image = next((images / "rojo").iterdir())
    predictions = predict_images(result.file("pesos"), [image, image], top=5)
    assert len(predictions) == 2 and all(isinstance(p, TaskResult) for p in predictions)
    assert len(predictions[0].data["top"]) == 3  # como mucho las clases que hay
    assert predictions[0].text[0].startswith(f"{image}: ")
    with pytest.raises(ArgumentError, match="top"):
        predict_images(result.file("pesos"), [image], top=0)
    with pytest.raises(ArgumentError, match="lista"):
        predict_images(result.file("pesos"), str(image))


def test_minutes_stop_the_classifier_and_config_repeats_them(tmp_path):
    """--minutos llega a ClassifierConfig, a configuracion.json y al bucle (TimeLimit)."""
    import json

    from cli.principal import main

    def epochs_logged(run) -> int:
        return len((run / "registro.csv").read_text().strip().splitlines()) - 1

    images = make_image_folder(tmp_path / "img", n_per_class=6, seed=0)
    run = tmp_path / "run"
    # Un tope mínimo para tras el primer lote: una época de las 500.
    assert main(["clasificacion", "entrenar", "--dir", str(images), "--modelo", "mlp",
                 "--tamanio", "8", "8", "--lote", "4", "--epocas", "500", "--minutos", "0.0001",
                 "--salida", str(run)]) == 0
    assert epochs_logged(run) < 500
    assert json.loads((run / "configuracion.json").read_text())["minutos"] == 0.0001
    # --config repite el tope (si no, serían 500 épocas).
    again = tmp_path / "otra"
    assert main(["clasificacion", "entrenar", "--dir", str(images), "--config", str(run),
                 "--salida", str(again)]) == 0
    saved = json.loads((again / "configuracion.json").read_text())
    assert (saved["minutos"], saved["epocas"], saved["modelo"]) == (0.0001, 500, "mlp")
    assert epochs_logged(again) < 500
