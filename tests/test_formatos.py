"""Pruebas de los conjuntos en tres formatos: los lectores de YOLO-txt y COCO
(datos/anotaciones_yolo.py, anotaciones_coco.py), los escritores, datos/conjuntos.py,
la conversión (datos/conjuntos_conversion.py, ``redes datos convertir``) y ``--datos`` en
``redes deteccion``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cli.principal import main
from datos import anotaciones_coco
from datos import anotaciones_yolo
from datos.anotaciones_escritura import write_voc
from datos.conjuntos import dataset_splits
from datos.conjuntos import detect_format
from datos.conjuntos import image_files
from datos.conjuntos import read_dataset
from datos.conjuntos_conversion import convert_dataset
from datos.sinteticos import make_shapes_dataset
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.errores import EmptyDataError
from tests.helpers import write_corrupt_jpeg

W, H = 64, 48


def _image(path, size=(W, H)):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _reasons(pairs):
    return " | ".join(f"{path.name}: {reason}" for path, reason in pairs)


@pytest.fixture(scope="module")
def voc_split(tmp_path_factory):
    """Un conjunto VOC de figuras de 64×48 con ImageSets/Main/train.txt y val.txt."""
    root = make_shapes_dataset(tmp_path_factory.mktemp("formatos") / "voc", n_images=10,
                               image_size=(H, W), max_objects=3, seed=3)
    main_dir = root / "ImageSets" / "Main"
    main_dir.mkdir(parents=True)
    (main_dir / "train.txt").write_text("".join(f"{i:05d}\n" for i in range(7)))
    (main_dir / "val.txt").write_text("".join(f"{i:05d}\n" for i in range(7, 10)))
    return root


# === Ida y vuelta ===

def test_voc_yolo_coco_voc_round_trip_keeps_boxes_classes_and_sizes(voc_split, tmp_path):
    yolo, coco, back = tmp_path / "yolo", tmp_path / "coco", tmp_path / "voc"
    convert_dataset("yolo", yolo, voc_split, progress=False)
    convert_dataset("coco", coco, yolo, progress=False)
    summary = convert_dataset("voc", back, coco, progress=False)
    assert summary["particiones"] == ["train", "val"] and summary["imagenes"] == 10
    assert (yolo / "labels" / "val" / "00007.txt").is_file()
    assert (coco / "annotations" / "instances_train.json").is_file()
    assert (back / "ImageSets" / "Main" / "val.txt").read_text().split() == [
        "00007", "00008", "00009"]
    assert [detect_format(p) for p in (voc_split, yolo, coco, back)] == [
        "voc", "yolo", "coco", "voc"]
    for split in ("train", "val"):
        original, counts = read_dataset(voc_split, split=split)
        for copy in (yolo, coco, back):
            images, copy_counts = read_dataset(copy, split=split)
            assert copy_counts == counts and not images.report
            assert [r.path.name for r in images] == [r.path.name for r in original]
            for a, b in zip(original, images, strict=True):
                assert (a.width, a.height, a.labels) == (b.width, b.height, b.labels)
                assert np.abs(a.boxes - b.boxes).max() < 0.5
    # Las clases de YOLO y COCO son las mismas, en el mismo orden.
    assert read_dataset(yolo)[0].classes == read_dataset(coco)[0].classes == [
        "circulo", "cuadrado", "triangulo"]


def test_splits_and_image_files(voc_split, tmp_path):
    convert_dataset("yolo", tmp_path / "y", voc_split, progress=False)
    assert dataset_splits(voc_split) == dataset_splits(tmp_path / "y") == ["train", "val"]
    assert len(image_files(tmp_path / "y", split="val")) == 3
    assert len(image_files(voc_split)) == 10
    convert_dataset("coco", tmp_path / "c", voc_split, split="val", progress=False)
    assert dataset_splits(tmp_path / "c") == []  # una sola partición, sin subcarpetas
    assert (tmp_path / "c" / "annotations.json").is_file()
    with pytest.raises(DataError, match="no declara la partición «test»"):
        read_dataset(tmp_path / "y", split="test")
    with pytest.raises(DataError, match="ImageSets/Main"):
        read_dataset(voc_split, split="test")


def test_detect_format_says_what_it_looked_for(tmp_path, voc_split):
    assert detect_format(voc_split / "annotations") == "voc"
    (tmp_path / "x.json").write_text("{}")
    assert detect_format(tmp_path / "x.json") == "coco"
    (tmp_path / "vacia").mkdir()
    with pytest.raises(DataError, match=r"data\.yaml.*\.json de COCO.*\.xml"):
        detect_format(tmp_path / "vacia")
    with pytest.raises(DataError, match="no existe"):
        detect_format(tmp_path / "no_existe")


def test_data_and_pair_are_given_exactly_once(voc_split):
    with pytest.raises(ArgumentError, match="no los dos"):
        read_dataset(voc_split, ann_dir=voc_split / "annotations", img_dir=voc_split)
    with pytest.raises(ArgumentError, match="no se dio ninguno"):
        read_dataset()
    with pytest.raises(ArgumentError, match="falta «img_dir»"):
        read_dataset(ann_dir=voc_split / "annotations")
    with pytest.raises(ArgumentError, match="data.yaml"):
        read_dataset(ann_dir=voc_split, img_dir=voc_split, fmt="yolo")
    with pytest.raises(ArgumentError, match="«fmt \\(--formato-datos\\)» debe ser uno de"):
        read_dataset(voc_split, fmt="xml")


# === YOLO-txt ===

def _yolo(root, yaml_text="names: [a, b]\n", labels=None):
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.yaml").write_text(yaml_text)
    for name, text in (labels or {"uno": "0 0.5 0.5 0.5 0.5\n"}).items():
        _image(root / "images" / f"{name}.jpg")
        (root / "labels").mkdir(exist_ok=True)
        (root / "labels" / f"{name}.txt").write_text(text)
    return root


def test_yolo_bad_lines_name_the_file_and_line(tmp_path):
    lines = ["0 0.5 0.5 0.25 0.5", "0 0.5 0.5 0.2", "x 0.5 0.5 0.2 0.2", "7 0.5 0.5 0.2 0.2",
             "0 0.5 abc 0.2 0.2", "1 0.5 0.5 0 0.2", "1 0.95 0.5 0.2 0.2", "1 1.5 0.5 0.2 0.2"]
    root = _yolo(tmp_path / "y", labels={"uno": "\n".join(lines) + "\n"})
    images, counts = read_dataset(root)
    record = images[0]
    assert record.labels == ["a", "b"] and counts == {"a": 1, "b": 3}
    np.testing.assert_allclose(record.boxes[0], [24, 12, 40, 36])  # 0.5 ± 0.125 de 64
    np.testing.assert_allclose(record.boxes[1], [54.4, 19.2, 64, 28.8], rtol=1e-5)
    dropped = _reasons(images.report.dropped_objects)
    for text in ("uno.txt: línea 2: se esperaban 5 columnas", "línea 3: la clase 'x' no es",
                 "línea 4: la clase 7 no está en «names» de data.yaml (2 clases: 0 a 1)",
                 "línea 5: cy = 'abc' no es un número", "línea 6 ('b'): caja de tamaño cero",
                 "línea 8 ('b'): caja (89.60, 19.20, 102.40, 28.80) fuera de la imagen"):
        assert text in dropped
    assert "línea 7 ('b'): caja" in _reasons(images.report.clipped)


@pytest.mark.parametrize("yaml_text, message", [
    ("names: [a, b\n", r"data\.yaml, línea 2: YAML mal formado"),
    ("- a\n- b\n", "se esperaba un diccionario"),
    ("nombres: [a]\n", "«names» debe ser una lista"),
    ("names: [a, a]\n", r"repite las clases \['a'\]"),
    ("names: [a]\nnc: 3\n", "«nc» dice 3"),
    ("names: [a]\ntrain: ../../fuera\n", "sale de la carpeta del conjunto"),
    ("names: [a]\nval: /etc\n", "sale de la carpeta del conjunto"),
    ("names: [a]\ntrain: images/no_existe\n", "no existe"),
    ("names: [a]\ntrain: 3\n", "debe ser una ruta"),
    ("names: !!python/object/apply:os.system ['true']\n", "YAML mal formado"),
])
def test_bad_data_yaml_is_one_clear_error(tmp_path, yaml_text, message):
    root = _yolo(tmp_path / "y", yaml_text)
    with pytest.raises(DataError, match=message):
        read_dataset(root)


def test_data_yaml_size_is_limited(tmp_path, monkeypatch):
    root = _yolo(tmp_path / "y", "names: [a]\n# " + "x" * 200 + "\n")
    monkeypatch.setattr(anotaciones_yolo, "MAX_DATA_YAML_BYTES", 100)
    with pytest.raises(DataError, match="más de los 100 que se admiten"):
        read_dataset(root)


def test_yolo_splits_roboflow_paths_and_path_outside(tmp_path, caplog):
    root = tmp_path / "rf"
    for split in ("train", "valid"):
        _image(root / split / "images" / f"{split}.jpg")
        (root / split / "labels").mkdir()
        (root / split / "labels" / f"{split}.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "data.yaml").write_text("path: /otra/maquina/datos\nnames: {0: gato}\n"
                                    "train: ../train/images\nval: ../valid/images\n")
    images, _ = read_dataset(root, split="val")
    assert [r.path.name for r in images] == ["valid.jpg"] and images.classes == ["gato"]
    assert "«path: /otra/maquina/datos» no es una carpeta dentro" in caplog.text
    assert dataset_splits(root) == ["train", "val"]


def test_yolo_missing_corrupt_and_unannotated_images(tmp_path):
    root = _yolo(tmp_path / "y", labels={"buena": "0 0.5 0.5 0.5 0.5\n", "vacia": ""})
    write_corrupt_jpeg(root / "images" / "rota.jpg")
    (root / "labels" / "rota.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "labels" / "huerfana.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    _image(root / "images" / "sin_etiqueta.png")
    images, _ = read_dataset(root)
    report = images.report
    assert [r.path.name for r in images] == ["buena.jpg"]
    assert "rota.txt: imagen rota.jpg dañada o truncada" in _reasons(report.skipped)
    assert "huerfana.txt: no hay ninguna imagen" in _reasons(report.skipped)
    assert [p.name for p in report.empty] == ["vacia.txt"]
    assert [p.name for p in report.unannotated] == ["sin_etiqueta.png"]
    assert "1 imágenes sin anotación" in report.summary()


def test_yolo_without_any_label_is_an_error(tmp_path):
    root = _yolo(tmp_path / "y")
    (root / "labels" / "uno.txt").unlink()
    with pytest.raises(EmptyDataError, match="tiene etiqueta"):
        read_dataset(root)


# === COCO ===

def _coco(root, images=None, annotations=None, categories=None, **extra):
    root.mkdir(parents=True, exist_ok=True)
    _image(root / "images" / "a.jpg")
    data = {"images": images if images is not None else [
                {"id": 1, "file_name": "a.jpg", "width": W, "height": H}],
            "annotations": annotations if annotations is not None else [
                {"id": 10, "image_id": 1, "category_id": 3, "bbox": [4, 5, 10, 20],
                 "iscrowd": 0}],
            "categories": categories if categories is not None else [
                {"id": 3, "name": "perro"}, {"id": 1, "name": "gato"}], **extra}
    (root / "annotations.json").write_text(json.dumps(data))
    return root


def test_coco_reads_boxes_in_pixels(tmp_path):
    images, counts = read_dataset(_coco(tmp_path / "c"))
    assert counts == {"perro": 1} and images.classes == ["gato", "perro"]
    np.testing.assert_array_equal(images[0].boxes, [[4, 5, 14, 25]])
    assert read_dataset(tmp_path / "c" / "annotations.json")[1] == counts
    assert read_dataset(ann_dir=tmp_path / "c" / "annotations.json",
                        img_dir=tmp_path / "c" / "images")[1] == counts


def test_coco_bad_annotations_name_their_index_and_id(tmp_path):
    good = {"image_id": 1, "category_id": 3, "bbox": [4, 5, 10, 20]}
    anns = [{"id": 10, **good},
            {"id": 11, **good, "category_id": 9},
            {"id": 12, **good, "image_id": 7},
            {"id": 13, **good, "bbox": [1, 2, "x", 4]},
            {"id": 14, **good, "bbox": [1, 2, 0, 4]},
            {"id": 15, **good, "iscrowd": 1},
            {"id": 16, **good, "bbox": [60, 5, 10, 20]}]
    images, _ = read_dataset(_coco(tmp_path / "c", annotations=anns))
    dropped = _reasons(images.report.dropped_objects)
    for text in ("anotación 1 (id 11): category_id 9 no está en «categories»",
                 "anotación 2 (id 12): image_id 7 no está en «images»",
                 "anotación 3 (id 13): 'perro': «bbox» debe ser [x, y, ancho, alto]",
                 "anotación 4 (id 14): 'perro': caja de tamaño cero",
                 "anotación 5 (id 15): 'perro': iscrowd = 1"):
        assert text in dropped
    assert "anotación 6 (id 16) ('perro'): caja (60, 5, 70, 25) recortada" in _reasons(
        images.report.clipped)
    assert len(images[0].boxes) == 2


@pytest.mark.parametrize("entry, message", [
    ({"id": 1, "file_name": "../a.jpg"}, "file_name '../a.jpg' intenta salir"),
    ({"id": 1, "file_name": "/etc/passwd"}, "es una ruta absoluta"),
    ({"id": 1, "file_name": "falta.jpg"}, "la imagen falta.jpg no existe"),
    ({"id": 1, "file_name": "a.jpg", "width": 10, "height": 10},
     "la anotación dice 10×10 pero la imagen a.jpg mide 64×48"),
    ({"id": 1, "file_name": "rota.jpg"}, "imagen rota.jpg dañada o truncada"),
    ({"file_name": "a.jpg"}, "debe tener «id» y «file_name»"),
])
def test_coco_bad_images_are_skipped_with_reason(tmp_path, entry, message):
    write_corrupt_jpeg(tmp_path / "c" / "images" / "rota.jpg")
    second = {"id": 2, "file_name": "a.jpg"}  # la que queda: la lectura sigue
    anns = [{"id": 1, "image_id": 2, "category_id": 1, "bbox": [1, 1, 5, 5]}]
    images, _ = read_dataset(_coco(tmp_path / "c", images=[entry, second], annotations=anns))
    assert message in _reasons(images.report.skipped) and len(images) == 1


def test_coco_json_limits_and_shape(tmp_path, monkeypatch):
    deep = {"x": [[[[[[[[[[[1]]]]]]]]]]]}
    with pytest.raises(DataError, match="anida más de 10 niveles"):
        read_dataset(_coco(tmp_path / "hondo", info=deep))
    with pytest.raises(DataError, match="falta la lista «annotations»"):
        read_dataset(_coco(tmp_path / "sin", annotations={}))
    with pytest.raises(DataError, match=r"categories\[0\] debe tener «id» entero"):
        read_dataset(_coco(tmp_path / "cat", categories=[{"name": "x"}]))
    monkeypatch.setattr(anotaciones_coco, "MAX_COCO_JSON_BYTES", 100)
    with pytest.raises(DataError, match="más de los 100 que se admiten"):
        read_dataset(_coco(tmp_path / "grande"))


# === VOC: las imágenes sin XML ===

def test_voc_lists_images_without_annotation(tmp_path):
    ann, img = tmp_path / "annotations", tmp_path / "images"
    _image(img / "a.jpg")
    _image(img / "b.png")
    write_voc(ann / "a.xml", "a.jpg", W, H, [[1, 2, 30, 40]], ["lego"])
    images, _ = read_dataset(tmp_path)
    assert [p.name for p in images.report.unannotated] == ["b.png"]
    assert not images.report  # no es un problema de las anotaciones


# === La orden ===

def test_convert_command_and_its_output_checks(voc_split, tmp_path, capsys):
    out = tmp_path / "yolo"
    summary_json = tmp_path / "resumen.json"
    assert main(["datos", "convertir", str(voc_split), "--a", "yolo", "--salida", str(out),
                 "--sin-enlazar", "--json", str(summary_json)]) == 0
    printed = capsys.readouterr().out
    assert "Conjunto voc → yolo (train, val)" in printed and "Cajas por clase" in printed
    summary = json.loads(summary_json.read_text())["conversion"]
    assert summary["imagenes"] == 10 and summary["copiadas"] == 10
    assert (out / "data.yaml").is_file() and not (out / "images" / "00000.jpg").exists()
    for argv, message in (
            ([str(voc_split), "--a", "coco", "--salida", str(out)], "ya existe y no está vacía"),
            ([str(voc_split), "--a", "coco", "--salida", str(voc_split / "coco")],
             "está dentro del conjunto de origen"),
            (["--a", "coco", "--salida", str(tmp_path / "otra")], "indique el origen"),
            ([str(tmp_path / "no"), "--a", "coco", "--salida", str(tmp_path / "otra")],
             "no existe")):
        assert main(["datos", "convertir", *argv]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "otra").exists() and not (voc_split / "coco").exists()


def test_detection_commands_take_any_format(voc_split, tmp_path, capsys):
    yolo = tmp_path / "yolo"
    convert_dataset("yolo", yolo, voc_split, progress=False)
    results = []
    for data in (["--anotaciones", str(voc_split / "annotations"), "--imagenes",
                  str(voc_split / "images")], ["--datos", str(yolo)]):
        out = tmp_path / f"anclas{len(results)}.json"
        assert main(["deteccion", "anclas", *data, "--k", "2", "--json", str(out)]) == 0
        results.append(json.loads(out.read_text())["anclas"])
    np.testing.assert_allclose(results[0], results[1], atol=1e-3)
    capsys.readouterr()
    for argv, message in ((["--datos", str(yolo), "--imagenes", "x"], "no con los dos"),
                          (["--anotaciones", "x"], "falta --imagenes"),
                          ([], "no se dio ninguno")):
        assert main(["deteccion", "anclas", *argv]) == 2
        assert message in capsys.readouterr().err


def test_evaluate_on_a_yolo_copy_gives_the_same_map(trained_detector, held_out_shapes,
                                                     tmp_path):
    weights, _ = trained_detector
    yolo = tmp_path / "yolo"
    convert_dataset("yolo", yolo, held_out_shapes, progress=False)
    maps = []
    for name, data in (("voc", ["--anotaciones", str(held_out_shapes / "annotations"),
                                "--imagenes", str(held_out_shapes / "images")]),
                       ("yolo", ["--datos", str(yolo), "--formato-datos", "yolo"])):
        out = tmp_path / f"{name}.json"
        assert main(["deteccion", "evaluar", "--pesos", str(weights), *data,
                     "--salida", str(tmp_path / name), "--json", str(out)]) == 0
        maps.append(json.loads(out.read_text())["metricas"])
    assert maps[0]["map_50"] > 0
    assert maps[1]["map_50"] == pytest.approx(maps[0]["map_50"], abs=1e-9)
    assert maps[1]["map_30"] == pytest.approx(maps[0]["map_30"], abs=1e-9)


def test_train_config_takes_datos_and_says_when_data_is_missing(tmp_path):
    from cli.deteccion import _train_config
    from cli.principal import build_parser
    from tareas.deteccion.entrenar import train_yolo

    args = build_parser().parse_args(["deteccion", "entrenar", "--datos", "conjunto",
                                      "--formato-datos", "coco", "--particion", "train"])
    config = _train_config(args)
    assert (str(config.data_dir), config.data_format, config.split) == (
        "conjunto", "coco", "train")
    assert config.ann_dir is None
    with pytest.raises(ArgumentError, match="falta «ann_dir \\(--anotaciones\\)» \\(o "
                                            "«data_dir \\(--datos\\)»"):
        train_yolo(run_dir=None, epochs=1)
    with pytest.raises(ArgumentError, match="no los dos"):
        train_yolo(run_dir=None, epochs=1, data_dir=tmp_path, ann_dir=tmp_path,
                   img_dir=tmp_path)
