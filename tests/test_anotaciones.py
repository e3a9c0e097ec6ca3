"""Pruebas de datos/anotaciones.py y anotaciones_escritura.py: read_voc con cada entrada
mala y write_voc."""

import logging

import numpy as np
import pytest
from PIL import Image

from datos.anotaciones import VocImage
from datos.anotaciones import read_voc
from datos.anotaciones import write_voc
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.errores import EmptyDataError
from tests.helpers import WIDE_SHAPES_IMAGES
from tests.helpers import write_corrupt_jpeg

W, H = 64, 48


def _image(folder, name, size=(W, H)):
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / name)


def _xml(body, filename="a.jpg", size=(W, H)):
    return (f"<annotation><filename>{filename}</filename><size><width>{size[0]}</width>"
            f"<height>{size[1]}</height><depth>3</depth></size>{body}</annotation>")


def _obj(name, box):
    coords = "".join(f"<{k}>{v}</{k}>" for k, v in zip(("xmin", "ymin", "xmax", "ymax"), box))
    return f"<object><name>{name}</name><bndbox>{coords}</bndbox></object>"


@pytest.fixture
def folders(tmp_path):
    ann, img = tmp_path / "annotations", tmp_path / "images"
    ann.mkdir()
    _image(img, "a.jpg")
    write_voc(ann / "a.xml", "a.jpg", W, H, [[1, 2, 30, 40], [10, 10, 20, 20]], ["lego", "perro"])
    return ann, img


def _reasons(pairs):
    return " | ".join(reason for _, reason in pairs)


def test_reads_good_annotation(folders):
    images, counts = read_voc(*folders)
    assert len(images) == 1 and counts == {"lego": 1, "perro": 1}
    record = images[0]
    assert isinstance(record, VocImage)
    assert (record.width, record.height) == (W, H)
    assert record.path == folders[1] / "a.jpg" and record.annotation == folders[0] / "a.xml"
    assert record.boxes.dtype == np.float32 and record.boxes.shape == (2, 4)
    np.testing.assert_array_equal(record.boxes, [[1, 2, 30, 40], [10, 10, 20, 20]])
    assert record.labels == ["lego", "perro"]
    assert not images.report


def test_labels_filter_drops_objects_and_empty_images(folders):
    ann, img = folders
    _image(img, "b.jpg")
    write_voc(ann / "b.xml", "b.jpg", W, H, [[0, 0, 9, 9]], ["gato"])
    images, counts = read_voc(ann, img, labels=["lego"])
    assert [r.labels for r in images] == [["lego"]]
    assert counts == {"gato": 1, "lego": 1, "perro": 1}  # cuenta todo lo visto, como el blog
    assert images.report.empty == [ann / "b.xml"]
    assert "etiqueta desconocida" in _reasons(images.report.dropped_objects)
    with pytest.raises(ArgumentError, match="labels"):
        read_voc(ann, img, labels="lego")  # el error clásico: un texto, no una lista


BAD_XML = {
    "mal_formado": ("<annotation><filename>a.jpg</filename>", "XML mal formado"),
    "entidades": ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">'
                  '<!ENTITY y "&x;&x;&x;&x;">]><annotation><filename>&y;</filename>'
                  "</annotation>", "DTD o entidades"),
    "dtd_externo": ('<?xml version="1.0"?><!DOCTYPE a SYSTEM "http://ejemplo.invalid/a.dtd">'
                    + _xml(_obj("lego", (1, 1, 5, 5))), "DTD o entidades"),
    "entidad_externa": ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM '
                        '"file:///etc/passwd">]><annotation><filename>&e;</filename>'
                        "</annotation>", "DTD o entidades"),
    "sale_de_la_carpeta": (_xml(_obj("lego", (1, 1, 5, 5)), filename="../../etc/passwd"),
                           "intenta salir"),
    "ruta_absoluta": (_xml(_obj("lego", (1, 1, 5, 5)), filename="/etc/passwd"),
                      "ruta absoluta"),
    "ruta_windows": (_xml(_obj("lego", (1, 1, 5, 5)), filename="C:\\fotos\\a.jpg"),
                     "ruta absoluta"),
    "imagen_ausente": (_xml(_obj("lego", (1, 1, 5, 5)), filename="no_existe.jpg"),
                       "no existe"),
    "tamanio_distinto": (_xml(_obj("lego", (1, 1, 5, 5)), size=(640, 480)),
                         "la anotación dice 640×480 pero la imagen a.jpg mide 64×48"),
    "tamanio_girado": (_xml(_obj("lego", (1, 1, 5, 5)), size=(H, W)), "EXIF"),
    "raiz_incorrecta": ("<coco><filename>a.jpg</filename></coco>", "<annotation>"),
    "tamanio_no_numerico": (_xml("").replace("<width>64</width>", "<width>ancho</width>"),
                            "no es un número"),
}


@pytest.mark.parametrize("case", sorted(BAD_XML))
def test_bad_annotation_is_skipped_with_reason(folders, case):
    ann, img = folders
    text, reason = BAD_XML[case]
    (ann / "malo.xml").write_text(text, encoding="utf-8")
    images, _ = read_voc(ann, img)
    assert len(images) == 1  # la buena sigue
    assert [p.name for p, _ in images.report.skipped] == ["malo.xml"]
    assert reason in images.report.skipped[0][1]


def test_corrupt_and_fake_images_are_skipped(folders):
    ann, img = folders
    write_corrupt_jpeg(img / "roto.jpg")
    write_voc(ann / "roto.xml", "roto.jpg", 64, 64, [[1, 1, 9, 9]], ["lego"])
    (img / "falso.jpg").write_bytes(b"esto no es una imagen")
    write_voc(ann / "falso.xml", "falso.jpg", W, H, [[1, 1, 9, 9]], ["lego"])
    images, _ = read_voc(ann, img)
    reasons = dict((p.name, r) for p, r in images.report.skipped)
    assert "dañada o truncada" in reasons["roto.xml"]
    assert "no es una imagen reconocible" in reasons["falso.xml"]
    # Sin comprobar, el JPEG truncado pasa (solo se lee la cabecera).
    images, _ = read_voc(ann, img, check_images=False)
    assert [p.name for p, _ in images.report.skipped] == ["falso.xml"]


def test_boxes_clipped_or_dropped(folders, caplog):
    ann, img = folders
    _image(img, "c.jpg")
    objects = [
        _obj("a", (-5, -3, 10, 10)),     # negativa: recortada
        _obj("b", (50, 40, 90, 70)),     # pasa del borde: recortada
        _obj("c", (20, 5, 20, 30)),      # xmin = xmax: descartada
        _obj("d", (30, 5, 10, 30)),      # invertida: descartada
        _obj("e", (100, 100, 120, 130)),  # fuera de la imagen: descartada
        _obj("f", ("x", 1, 5, 5)),       # no numérica: descartada
        _obj("g", ("nan", 1, 5, 5)),     # no finita: descartada
        "<object><name>h</name></object>",  # sin bndbox
        "<object><bndbox></bndbox></object>",  # sin nombre
    ]
    (ann / "c.xml").write_text(_xml("".join(objects), filename="c.jpg"), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="redes"):
        images, counts = read_voc(ann, img)
    record = [r for r in images if r.path.name == "c.jpg"][0]
    assert record.labels == ["a", "b"]
    np.testing.assert_array_equal(record.boxes, [[0, 0, 10, 10], [50, 40, W, H]])
    report = images.report
    assert len(report.clipped) == 2 and "recortada a (0, 0, 10, 10)" in report.clipped[0][1]
    dropped = _reasons(report.dropped_objects)
    assert dropped.count("vacía o invertida") == 2
    assert "fuera de la imagen" in dropped and "no es un número" in dropped
    assert "sin <bndbox>" in dropped and "sin <name>" in dropped
    assert counts["h"] == 1  # vista aunque se descarte
    assert "cajas recortadas" in caplog.text and "c.xml" in caplog.text


def test_filename_fallbacks(tmp_path):
    ann, img = tmp_path / "ann", tmp_path / "img"
    ann.mkdir()
    _image(img, "foto.png")
    _image(img, "sin_nombre.jpg")
    (ann / "foto.xml").write_text(_xml(_obj("x", (1, 1, 5, 5)), filename="foto"), "utf-8")
    (ann / "sin_nombre.xml").write_text(
        _xml(_obj("x", (1, 1, 5, 5))).replace("<filename>a.jpg</filename>", ""), "utf-8")
    images, _ = read_voc(ann, img)
    assert sorted(r.path.name for r in images) == ["foto.png", "sin_nombre.jpg"]


def test_missing_filename_finds_any_case_extension(tmp_path):
    """Regresión: sin <filename> solo se probaban extensiones en minúscula (stem.jpg)."""
    ann, img = tmp_path / "ann", tmp_path / "img"
    ann.mkdir()
    _image(img, "sin_nombre.JPG")
    _image(img, "otra.Jpeg")
    _image(img, "foto.PNG")
    _image(img, "dos.jpg")
    _image(img, "dos.PNG")  # con dos candidatas gana la primera extensión por orden
    for stem in ("sin_nombre", "otra", "dos"):
        (ann / f"{stem}.xml").write_text(
            _xml(_obj("x", (1, 1, 5, 5))).replace("<filename>a.jpg</filename>", ""), "utf-8")
    (ann / "foto.xml").write_text(_xml(_obj("x", (1, 1, 5, 5)), filename="foto"), "utf-8")
    images, _ = read_voc(ann, img)
    assert sorted(r.path.name for r in images) == ["dos.jpg", "foto.PNG", "otra.Jpeg",
                                                   "sin_nombre.JPG"]
    assert all(r.path.parent == img for r in images)


def test_filename_extension_case_is_forgiven_and_other_extensions_named(tmp_path):
    """«00000.jpg» en el XML y «00000.JPG» en la carpeta es la misma foto; con otra
    extensión, el error nombra la que hay."""
    ann, img = tmp_path / "ann", tmp_path / "img"
    ann.mkdir()
    _image(img, "00000.JPG")
    _image(img, "00001.png")
    (ann / "00000.xml").write_text(_xml(_obj("x", (1, 1, 5, 5)), filename="00000.jpg"),
                                   "utf-8")
    (ann / "00001.xml").write_text(_xml(_obj("x", (1, 1, 5, 5)), filename="00001.jpg"),
                                   "utf-8")
    images, _ = read_voc(ann, img)
    assert [r.path.name for r in images] == ["00000.JPG"]
    [(xml, reason)] = images.report.skipped
    assert xml.name == "00001.xml" and "00001.jpg no existe" in reason
    assert "hay «00001.png»" in reason


def test_filename_lookup_never_leaves_the_folder(tmp_path):
    ann, img, outside = tmp_path / "ann", tmp_path / "img", tmp_path / "fuera"
    ann.mkdir()
    _image(img, "a.jpg")
    _image(outside, "secreto.JPG")
    _image(img / "sub", "dentro.JPG")
    cases = {"sube": "../fuera/secreto", "absoluta": str(outside / "secreto"),
             "sub": "sub/dentro"}
    for name, filename in cases.items():
        (ann / f"{name}.xml").write_text(_xml(_obj("x", (1, 1, 5, 5)), filename=filename),
                                         "utf-8")
    images, _ = read_voc(ann, img)
    assert [r.path for r in images] == [img / "sub" / "dentro.JPG"]
    reasons = dict((p.name, r) for p, r in images.report.skipped)
    assert "intenta salir" in reasons["sube.xml"]
    assert "ruta absoluta" in reasons["absoluta.xml"]


def test_empty_and_missing_folders(tmp_path, folders):
    empty = tmp_path / "vacia"
    empty.mkdir()
    with pytest.raises(EmptyDataError, match="ningún archivo .xml"):
        read_voc(empty, folders[1])
    with pytest.raises(DataError, match="no existe"):
        read_voc(tmp_path / "no_existe", folders[1])
    with pytest.raises(DataError, match="imágenes"):
        read_voc(folders[0], tmp_path / "no_existe")
    # Todas inválidas: error con los motivos.
    bad = tmp_path / "malas"
    bad.mkdir()
    (bad / "x.xml").write_text("<annotation>", "utf-8")
    with pytest.raises(EmptyDataError, match="XML mal formado"):
        read_voc(bad, folders[1])
    with pytest.raises(EmptyDataError, match="sin ningún objeto de las clases"):
        read_voc(folders[0], folders[1], labels=["gato"])


def test_write_voc_round_trip_and_errors(tmp_path):
    _image(tmp_path / "img", "x.jpg", size=(100, 80))
    boxes = np.array([[1.5, 2, 50.25, 60], [0, 0, 100, 80]])
    path = write_voc(tmp_path / "ann" / "x.xml", "x.jpg", 100, 80, boxes, ["a", "b"])
    text = path.read_text()
    assert "<xmin>1.50</xmin>" in text and "<xmax>100</xmax>" in text
    images, _ = read_voc(tmp_path / "ann", tmp_path / "img")
    np.testing.assert_allclose(images[0].boxes, boxes, atol=0.005)
    with pytest.raises(ArgumentError, match="intenta salir"):
        write_voc(tmp_path / "y.xml", "../y.jpg", 10, 10, [], [])
    with pytest.raises(ArgumentError, match="labels"):
        write_voc(tmp_path / "y.xml", "y.jpg", 10, 10, [[0, 0, 1, 1]], [])
    with pytest.raises(ArgumentError, match="width"):
        write_voc(tmp_path / "y.xml", "y.jpg", 0, 10, [], [])
    with pytest.raises(ArgumentError, match="\\(N, 4\\)"):
        write_voc(tmp_path / "y.xml", "y.jpg", 10, 10, [[0, 0, 1]], ["a"])


def test_shapes_dataset_reads_back(wide_shapes):
    # Las figuras apaisadas de tests/conftest.py: make_shapes_dataset de 96 × 128.
    images, counts = read_voc(wide_shapes / "annotations", wide_shapes / "images")
    assert len(images) == WIDE_SHAPES_IMAGES and not images.report
    assert set(counts) <= {"circulo", "cuadrado", "triangulo"}
    assert sum(counts.values()) >= WIDE_SHAPES_IMAGES
    for record in images:
        assert (record.width, record.height) == (128, 96)
        assert (record.boxes[:, :2] >= 0).all() and (record.boxes[:, 2] <= 128).all()
        assert (record.boxes[:, 2:] > record.boxes[:, :2]).all()
