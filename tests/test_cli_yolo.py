"""Pruebas de la orden ``redes deteccion anclas`` y de los argumentos de ``redes deteccion``."""

import json

import pytest

from cli.principal import main
from tests.helpers import WIDE_SHAPES_IMAGES


@pytest.fixture
def voc(wide_shapes):
    """Anotaciones e imágenes de las figuras apaisadas de tests/conftest.py."""
    return wide_shapes / "annotations", wide_shapes / "images"


def test_anchors_prints_table_and_writes_json(voc, tmp_path, capsys):
    out_json = tmp_path / "anclas.json"
    code = main(["deteccion", "anclas", "--anotaciones", str(voc[0]), "--imagenes", str(voc[1]),
                 "--k", "3", "--tamanio", "416", "--json", str(out_json)])
    assert code == 0
    out = capsys.readouterr().out
    assert "Anclas (k=3, rejilla 13×13)" in out and "Resumen" in out
    result = json.loads(out_json.read_text())
    assert len(result["anclas"]) == 3 and len(result["anclas_planas"]) == 6
    assert 0.5 < result["metricas"]["iou_media"] <= 1.0
    assert result["metricas"]["imagenes"] == WIDE_SHAPES_IMAGES and result["rejilla"] == [13, 13]
    areas = [w * h for w, h in result["anclas"]]
    assert areas == sorted(areas)
    assert "anclas: " + ", ".join(f"{v:g}" for v in result["anclas_planas"]) in out


def test_anchors_from_voc_returns_a_task_result(voc):
    from tareas.deteccion.anclas import anchors_from_voc
    from informes.resultado import TaskResult

    result = anchors_from_voc(*voc, k=2, image_size=(320, 416), seed=1)
    assert isinstance(result, TaskResult)
    assert result.data["rejilla"] == [10, 13] and result.data["tamanio"] == [320, 416]
    assert set(result.metrics) == {"iou_media", "cajas", "imagenes"}


def test_labels_filter(voc, tmp_path):
    out_json = tmp_path / "a.json"
    assert main(["deteccion", "anclas", "--anotaciones", str(voc[0]), "--imagenes", str(voc[1]),
                 "--k", "2", "--etiquetas", "circulo", "--json", str(out_json)]) == 0
    result = json.loads(out_json.read_text())
    assert result["metricas"]["cajas"] == result["etiquetas"]["circulo"]


def test_errors_are_one_spanish_line(voc, capsys):
    code = main(["deteccion", "anclas", "--anotaciones", str(voc[0]), "--imagenes", str(voc[1]),
                 "--k", "500"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "al menos tantas cajas" in err[-1]


@pytest.mark.parametrize("task, extra, message", [
    ("anclas", ["--tamanio", "100"], "argumento --tamanio: debe ser un múltiplo de 32"),
    ("anclas", ["--tamanio", "33"], "argumento --tamanio: debe ser un múltiplo de 32"),
    ("anclas", ["--tamanio", "0"], "argumento --tamanio: debe ser un entero entre 32"),
    ("anclas", ["--k", "0"], "argumento --k: debe ser un entero ≥ 1"),
    ("anclas", ["--semilla", "-1"], "argumento --semilla"),
    ("entrenar", ["--lote", "0"], "argumento --lote: debe ser un entero ≥ 1"),
    ("entrenar", ["--epocas", "0"], "argumento --epocas"),
    ("entrenar", ["--repeticiones", "0"], "argumento --repeticiones"),
    ("entrenar", ["--max-cajas", "0"], "argumento --max-cajas"),
    ("entrenar", ["--minutos", "0"], "argumento --minutos: debe ser un número > 0"),
    ("entrenar", ["--tasa", "-1"], "argumento --tasa: debe ser un número > 0"),
    ("entrenar", ["--tasa", "nan"], "argumento --tasa"),
    ("entrenar", ["--ancho", "0"], "argumento --ancho"),
    ("entrenar", ["--epocas-calentamiento", "-1"], "argumento --epocas-calentamiento"),
    ("entrenar", ["--paciencia", "-2"], "argumento --paciencia"),
    ("entrenar", ["--validacion", "1"], "argumento --validacion: debe ser un número ≥ 0 y < 1"),
    ("entrenar", ["--trabajadores", "0"], "argumento --trabajadores"),
    ("entrenar", ["--backbone", "full"], "argumento --backbone: opción no válida"),
])
def test_bad_numbers_name_the_flag(voc, capsys, task, extra, message):
    with pytest.raises(SystemExit) as info:
        main(["deteccion", task, "--anotaciones", str(voc[0]), "--imagenes", str(voc[1]), *extra])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--umbral", "1.5"], "argumento --umbral: debe ser un número ≥ 0 y ≤ 1"),
    (["--nms", "-0.1"], "argumento --nms"),
    (["--max-fotogramas", "0"], "argumento --max-fotogramas"),
])
def test_bad_detect_numbers_name_the_flag(capsys, extra, message):
    with pytest.raises(SystemExit) as info:
        main(["deteccion", "predecir", "--pesos", "x.h5", "foto.jpg", *extra])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_output_paths_are_checked_before_training(voc, tmp_path, capsys, monkeypatch):
    """Regresión: ``--pesos CARPETA`` entrenaba una época antes de decir que era una carpeta."""
    from tareas.deteccion import entrenar as yolo

    def no_training(*args, **kwargs):
        raise AssertionError("no debe entrenar")

    monkeypatch.setattr(yolo, "train_yolo", no_training)
    folder = tmp_path / "carpeta"
    folder.mkdir()
    a_file = tmp_path / "archivo.txt"
    a_file.write_text("x")
    cases = [(["--pesos", str(folder)], "--pesos: «"),  # alias de esta versión
             (["--json", str(folder)], "--json: «"),
             (["--salida", str(a_file)], "--salida: «"),
             (["--json", str(a_file / "r.json")], "--json: no se puede escribir")]
    for extra, message in cases:
        code = main(["deteccion", "entrenar", "--anotaciones", str(voc[0]), "--imagenes",
                     str(voc[1]), "--epocas", "1", *extra])
        assert code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("error: ") and message in err[-1], (extra, err)


def test_missing_folder_and_help(tmp_path, capsys):
    assert main(["deteccion", "anclas", "--anotaciones", str(tmp_path / "no"),
                 "--imagenes", str(tmp_path)]) == 2
    assert "no existe" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["deteccion", "anclas", "--help"])
    assert "k-means" in capsys.readouterr().out
