"""Pruebas de datos/sinteticos.py."""

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from nucleo.errores import ArgumentError
from datos.sinteticos import make_image_folder
from tests.helpers import write_corrupt_jpeg
from datos.sinteticos import write_digits_folder


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return write_digits_folder(tmp_path_factory.mktemp("digitos") / "digitos")


def test_digits_folder_has_all_sklearn_digits(digits):
    class_dirs = sorted(p.name for p in digits.iterdir())
    assert class_dirs == [str(d) for d in range(10)]
    files = list(digits.glob("*/*.png"))
    assert len(files) == 1797
    image = Image.open(digits / "0" / "0000.png")  # el primer dígito es un 0
    assert image.mode == "L" and image.size == (8, 8)
    # 0..16 escalado a 0..255, píxel a píxel.
    expected = np.round(load_digits().images[0] * 255 / 16).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(image), expected)
    assert max(np.asarray(Image.open(p)).max() for p in files[:50]) == 255


def test_digits_folder_is_deterministic_and_limited(digits, tmp_path):
    small = write_digits_folder(tmp_path / "pocos", n_per_class=3)
    assert len(list(small.glob("*/*.png"))) == 30
    for path in small.glob("*/*.png"):
        assert path.read_bytes() == (digits / path.parent.name / path.name).read_bytes()


def test_digits_bad_n_per_class(tmp_path):
    with pytest.raises(ArgumentError, match="n_per_class"):
        write_digits_folder(tmp_path, n_per_class=0)


def test_image_folder_mixes_sizes_and_formats(tmp_path):
    root = make_image_folder(tmp_path / "c", n_per_class=6)
    assert sorted(p.name for p in root.iterdir()) == ["azul", "rojo", "verde"]
    files = sorted((root / "rojo").iterdir())
    assert len(files) == 6
    assert {p.suffix for p in files} == {".png", ".jpg"}
    sizes = {Image.open(p).size for p in files}  # (ancho, alto)
    assert sizes == {(32, 24), (30, 40), (28, 21)}


def test_image_folder_classes_have_dominant_colour(tmp_path):
    root = make_image_folder(tmp_path / "c", n_per_class=4)
    for name, channel in (("rojo", 0), ("verde", 1), ("azul", 2)):
        means = np.mean([np.asarray(Image.open(p), dtype=float).mean(axis=(0, 1))
                         for p in (root / name).iterdir()], axis=0)
        assert int(np.argmax(means)) == channel, name


def test_image_folder_is_seeded(tmp_path):
    a = make_image_folder(tmp_path / "a", n_per_class=2, seed=5)
    b = make_image_folder(tmp_path / "b", n_per_class=2, seed=5)
    c = make_image_folder(tmp_path / "c", n_per_class=2, seed=6)
    name = "verde/000.png"
    assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / name).read_bytes() != (c / name).read_bytes()


@pytest.mark.parametrize("kwargs, argument", [
    ({"classes": ()}, "classes"),
    ({"classes": ("a", "a")}, "classes"),
    ({"classes": ("a/b",)}, "classes"),
    ({"n_per_class": 0}, "n_per_class"),
    ({"sizes": ((0, 4),)}, "sizes"),
])
def test_image_folder_bad_arguments(tmp_path, kwargs, argument):
    with pytest.raises(ArgumentError, match=argument):
        make_image_folder(tmp_path / "x", **kwargs)


def test_corrupt_jpeg_opens_but_fails_to_decode(tmp_path):
    path = write_corrupt_jpeg(tmp_path / "sub" / "rota.jpg")
    data = path.read_bytes()
    assert data[:2] == b"\xff\xd8"  # cabecera JPEG intacta
    with Image.open(path) as image:
        assert image.size == (64, 64)
        with pytest.raises(OSError, match="truncated"):
            image.load()
