"""Pruebas de la orden ``redes yolo anclas``."""

import json

import pytest

from datos.sinteticos import make_shapes_dataset
from entrenamiento.cli import main


@pytest.fixture(scope="module")
def voc(tmp_path_factory):
    root = make_shapes_dataset(tmp_path_factory.mktemp("voc"), n_images=15,
                               image_size=(96, 96), seed=2)
    return root / "annotations", root / "images"


def test_anchors_prints_table_and_writes_json(voc, tmp_path, capsys):
    out_json = tmp_path / "anclas.json"
    code = main(["yolo", "anclas", "--anotaciones", str(voc[0]), "--imagenes", str(voc[1]),
                 "--k", "3", "--tamanio", "416", "--json", str(out_json)])
    assert code == 0
    out = capsys.readouterr().out
    assert "Anclas (k=3, rejilla 13×13)" in out and "IoU media" in out
    result = json.loads(out_json.read_text())
    assert len(result["anclas"]) == 3 and len(result["anclas_planas"]) == 6
    assert 0.5 < result["iou_media"] <= 1.0
    assert result["imagenes"] == 15 and result["rejilla"] == [13, 13]
    areas = [w * h for w, h in result["anclas"]]
    assert areas == sorted(areas)
    assert "anclas: " + ", ".join(f"{v:g}" for v in result["anclas_planas"]) in out


def test_labels_filter(voc, tmp_path):
    out_json = tmp_path / "a.json"
    assert main(["yolo", "anclas", "--anotaciones", str(voc[0]), "--imagenes", str(voc[1]),
                 "--k", "2", "--etiquetas", "circulo", "--json", str(out_json)]) == 0
    result = json.loads(out_json.read_text())
    assert result["cajas"] == result["etiquetas"]["circulo"]


@pytest.mark.parametrize("extra, message", [
    (["--tamanio", "100"], "múltiplo de 32"),
    (["--k", "500"], "al menos tantas cajas"),
])
def test_errors_are_one_spanish_line(voc, capsys, extra, message):
    code = main(["yolo", "anclas", "--anotaciones", str(voc[0]), "--imagenes", str(voc[1]),
                 *extra])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]


def test_missing_folder_and_help(tmp_path, capsys):
    assert main(["yolo", "anclas", "--anotaciones", str(tmp_path / "no"),
                 "--imagenes", str(tmp_path)]) == 2
    assert "no existe" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["yolo", "anclas", "--help"])
    assert "k-means" in capsys.readouterr().out
