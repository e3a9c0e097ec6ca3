"""``--tensorboard CARPETA`` en todo ``entrenar``: los escalares de cada época.

Se leen los archivos de eventos con el ``EventAccumulator`` de TensorBoard: la pérdida,
las métricas y la tasa de aprendizaje (y, en YOLO, ``val_map_50``), un valor por época.
Sin el paquete, un error claro antes de entrenar; una carpeta imposible, también.
"""

from __future__ import annotations

import csv
import importlib.util
import re

import numpy as np
import pytest

from cli.principal import main
from nucleo.errores import ArgumentError
from nucleo.errores import EnvironmentSetupError
from tareas.xor import XorConfig
from tareas.xor import train_xor
from tests.helpers import SHAPES_LABELS


def _scalars(folder) -> dict[str, list[tuple[int, float]]]:
    """Etiqueta → [(paso, valor)] de los archivos de eventos de ``folder``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return {tag: [(event.step, float(tensor_util.make_ndarray(event.tensor_proto)))
                  for event in events.Tensors(tag)]
            for tag in events.Tags()["tensors"]}


@pytest.mark.neutral  # barata: así se comprueba también con JAX y con PyTorch
def test_xor_writes_loss_metric_and_learning_rate_once_per_epoch(tmp_path):
    pytest.importorskip("tensorboard")
    result = train_xor(epochs=3, run_dir=tmp_path / "run", tensorboard=tmp_path / "tb",
                       learning_rate=0.05)
    scalars = _scalars(tmp_path / "tb" / "train")
    assert {"epoch_loss", "epoch_binary_accuracy", "epoch_learning_rate"} <= set(scalars)
    for tag in ("epoch_loss", "epoch_binary_accuracy", "epoch_learning_rate"):
        assert [step for step, _ in scalars[tag]] == [0, 1, 2], tag
    # Las mismas cifras que el registro CSV, que sigue ahí.
    losses = [value for _, value in scalars["epoch_loss"]]
    assert losses == pytest.approx(result.history["loss"], rel=1e-5)
    assert [value for _, value in scalars["epoch_learning_rate"]] == pytest.approx([0.05] * 3)
    assert (tmp_path / "run" / "registro.csv").is_file()
    assert result.file("configuracion").read_text().count('"tensorboard": "') == 1


def test_the_command_line_option_writes_validation_scalars_too(tmp_path):
    pytest.importorskip("tensorboard")
    from datos.ventas import make_sales_series
    from datos.ventas import write_sales_csv

    csv_path = write_sales_csv(make_sales_series(days=90, seed=1), tmp_path / "ventas.csv")
    code = main(["pronostico", "entrenar", "--csv", str(csv_path), "--modelo", "st1",
                 "--epocas", "2", "--dias-validacion", "10", "--salida", str(tmp_path / "run"),
                 "--tensorboard", str(tmp_path / "tb")])
    assert code == 0
    train, validation = _scalars(tmp_path / "tb" / "train"), _scalars(tmp_path / "tb" /
                                                                       "validation")
    assert len(train["epoch_loss"]) == len(train["epoch_learning_rate"]) == 2
    assert [step for step, _ in validation["epoch_loss"]] == [0, 1]
    with open(tmp_path / "run" / "registro.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [value for _, value in validation["epoch_loss"]] == pytest.approx(
        [float(row["val_loss"]) for row in rows], rel=1e-5)


def test_yolo_photo_recipe_logs_the_validation_map(shapes, tmp_path):
    pytest.importorskip("tensorboard")
    from tareas.deteccion.entrenar import train_yolo

    result = train_yolo(
        ann_dir=shapes / "annotations", img_dir=shapes / "images", labels=list(SHAPES_LABELS),
        run_dir=tmp_path / "run", input_size=64, backbone="tiny", width_multiplier=0.25,
        anchors="auto", epochs=2, train_times=1, batch_size=8, warmup_epochs=0,
        recipe="fotos", tensorboard=tmp_path / "tb", verbose=0)
    validation = _scalars(tmp_path / "tb" / "validation")
    assert [step for step, _ in validation["epoch_map_50"]] == [0, 1]
    assert [value for _, value in validation["epoch_map_50"]] == pytest.approx(
        result.history["val_map_50"], abs=1e-6)
    assert np.all(np.isfinite([value for _, value in validation["epoch_loss"]]))
    assert len(_scalars(tmp_path / "tb" / "train")["epoch_learning_rate"]) == 2


@pytest.mark.neutral
def test_yolo_blog_recipe_computes_the_map_only_for_tensorboard(tmp_path):
    from tareas.deteccion.configuracion import DetectionConfig
    from tareas.deteccion.entrenar import logs_val_map

    blog, fotos = DetectionConfig.preset("blog"), DetectionConfig.preset("fotos")
    assert not logs_val_map(blog) and logs_val_map(fotos)
    assert logs_val_map(DetectionConfig(tensorboard=tmp_path))


@pytest.mark.neutral
def test_without_the_package_it_fails_before_training_with_the_pip_command(monkeypatch,
                                                                          tmp_path, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(EnvironmentSetupError, match=r'pip install "redes-keras\[tensorboard\]"'):
        XorConfig.build(tensorboard=tmp_path / "tb")
    code = main(["xor", "entrenar", "--epocas", "1", "--salida", str(tmp_path / "run"),
                 "--tensorboard", str(tmp_path / "tb")])
    assert code == 2 and 'pip install ".[tensorboard]"' in capsys.readouterr().err
    assert not (tmp_path / "run").exists() and not (tmp_path / "tb").exists()
    # Sin --tensorboard no hace falta el paquete.
    assert XorConfig.build(epochs=1).tensorboard is None


@pytest.mark.neutral
def test_an_impossible_folder_is_refused_before_training(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    taken = tmp_path / "archivo"
    taken.write_text("no soy una carpeta")
    code = main(["xor", "entrenar", "--epocas", "1", "--salida", str(tmp_path / "run"),
                 "--tensorboard", str(taken)])
    assert code == 2
    assert re.search(r"--tensorboard: «.*archivo» es un archivo", capsys.readouterr().err)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ArgumentError, match="«tensorboard» debe ser una carpeta"):
        from entrenamiento.entrenar import train

        train("xor", {}, (np.zeros((4, 2)), np.zeros((4, 1))), run_dir=None, epochs=1,
              tensorboard=3)
