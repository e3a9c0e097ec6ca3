"""Pruebas de datos/aumento.py y datos/imgaug_compat.py."""

import logging
import sys
import types

import numpy as np
import pytest

from datos import imgaug_compat
from datos.aumento import Augmenter
from datos.aumento import make_augmenter
from nucleo.errores import ArgumentError
from nucleo.errores import EnvironmentSetupError
from datos.imgaug_compat import iaa


def _image(channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (24, 32, channels),
                                                dtype=np.uint8)


def _run(augmenter, image, n=6):
    return [augmenter(image) for _ in range(n)]


def test_same_seed_gives_identical_output():
    image = _image()
    first = _run(make_augmenter(seed=7), image)
    # Otro aumentador creado entre medias no debe alterar la secuencia.
    make_augmenter(seed=99)(image)
    second = _run(make_augmenter(seed=7), image)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, image) for a in first)  # sí aumenta


def test_different_seed_gives_different_output():
    image = _image()
    first = _run(make_augmenter(seed=1), image)
    second = _run(make_augmenter(seed=2), image)
    assert any(not np.array_equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize("channels", [1, 3])
def test_shape_and_dtype_kept(channels):
    image = _image(channels)
    augmenter = make_augmenter(seed=3)
    for out in _run(augmenter, image):
        assert out.shape == image.shape and out.dtype == np.uint8


def test_augment_batch_float_and_uint8():
    augmenter = make_augmenter(seed=4)
    floats = np.random.default_rng(0).random((5, 16, 16, 1)).astype(np.float32)
    out = augmenter.augment_batch(floats)
    assert out.shape == floats.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert not np.allclose(out, floats, atol=1 / 255)
    # Un lote float es el mismo aumento que el uint8 de sus píxeles (×255), en [0, 1].
    pixels = np.round(floats * 255).astype(np.uint8)
    np.testing.assert_allclose(augmenter.augment_batch(floats, seed=11) * 255,
                               augmenter.augment_batch(pixels, seed=11), atol=1e-3)
    ints = (floats * 255).astype(np.uint8)
    out = augmenter.augment_batch(ints)
    assert out.shape == ints.shape and out.dtype == np.uint8


def test_augment_batch_with_seed_ignores_call_history():
    augmenter = make_augmenter(seed=5)
    batch = np.stack([_image(seed=s) for s in range(4)])
    first = augmenter.augment_batch(batch, seed=123)
    augmenter(batch[0])  # avanza el estado propio
    np.testing.assert_array_equal(augmenter.augment_batch(batch, seed=123), first)
    assert not np.array_equal(augmenter.augment_batch(batch, seed=124), first)


def test_switches_disable_parts():
    image = _image()
    identity = make_augmenter(seed=0, geometric=False, max_photometric=0)
    for out in _run(identity, image, n=3):
        np.testing.assert_array_equal(out, image)
    flip_only = make_augmenter(seed=0, max_photometric=0, geometric_probability=0.0,
                               flip=1.0)
    np.testing.assert_array_equal(flip_only(image), image[:, ::-1])


def test_structure_and_seed():
    augmenter = make_augmenter()
    assert isinstance(augmenter, Augmenter)
    assert isinstance(augmenter.sequential, iaa.Sequential)
    assert isinstance(augmenter.seed, int)  # semilla elegida queda registrada
    # La semilla registrada es la que se usó: con ella se repite la misma secuencia.
    batch = np.stack([_image(seed=s) for s in range(4)])
    replay = make_augmenter(seed=augmenter.seed)
    for _ in range(3):
        np.testing.assert_array_equal(replay.augment_batch(batch), augmenter.augment_batch(batch))
    assert make_augmenter().seed != augmenter.seed  # cada una, del sistema
    assert repr(augmenter) == f"Augmenter(seed={augmenter.seed}, sequential='aumento')"
    # La cadena del artículo, en su orden: geometría (a veces), volteo, y de 0 a
    # max_photometric de las 7 fotométricas en orden aleatorio.
    chain = make_augmenter(seed=0, flip=0.2, geometric_probability=0.7, scale=(0.8, 1.3),
                           max_photometric=2).sequential
    assert chain.name == "aumento" and not chain.random_order
    assert [type(step) for step in chain] == [iaa.Sometimes, iaa.Fliplr, iaa.SomeOf]
    sometimes, flip, photometric = chain
    (affine,) = sometimes.then_list
    assert isinstance(affine, iaa.Affine) and sometimes.p.p.value == pytest.approx(0.7)
    assert (affine.scale.a.value, affine.scale.b.value) == pytest.approx((0.8, 1.3))
    assert flip.p.p.value == pytest.approx(0.2)
    assert (photometric.n.a.value, photometric.n.b.value) == (0, 2) and photometric.random_order
    assert [type(step).__name__ for step in photometric] == [
        "OneOf", "Sharpen", "AdditiveGaussianNoise", "Dropout", "Add", "Multiply",
        "LinearContrast"]
    assert [type(step).__name__ for step in photometric[0]] == [
        "GaussianBlur", "AverageBlur", "MedianBlur"]
    # Los interruptores quitan o añaden pasos enteros.
    assert [type(step) for step in make_augmenter(seed=0, max_photometric=0).sequential] == [
        iaa.Sometimes, iaa.Fliplr]
    colour = make_augmenter(seed=0, geometric=False, hue=(-10, 10), saturation=(0.5, 1.5))
    assert [type(step) for step in colour.sequential] == [
        iaa.AddToHue, iaa.MultiplySaturation, iaa.SomeOf]


def test_bad_images():
    augmenter = make_augmenter(seed=0)
    with pytest.raises(ArgumentError, match="uint8"):
        augmenter(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ArgumentError, match="canales"):
        augmenter(np.zeros((8, 8, 2), np.uint8))
    with pytest.raises(ArgumentError, match="images"):
        augmenter.augment_batch(np.zeros((8, 8, 3), np.uint8))


@pytest.mark.parametrize("kwargs, argument", [
    ({"flip": 1.5}, "flip"),
    ({"scale": (1.2, 0.8)}, "scale"),
    ({"translate": -0.1}, "translate"),
    ({"dropout": (0.0, 2.0)}, "dropout"),
    ({"max_photometric": -1}, "max_photometric"),
    ({"seed": -3}, "seed"),
    ({"seed": 1.5}, "seed"),
])
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ArgumentError, match=argument):
        make_augmenter(**kwargs)


# === imgaug_compat ===

def test_numpy_sctypes_restored():
    assert np.float32 in np.sctypes["float"]
    assert set(np.sctypes) == {"int", "uint", "float", "complex", "others"}


def test_opencv_major_version_checked(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", types.SimpleNamespace(__version__="5.0.0"))
    with pytest.raises(EnvironmentSetupError, match="5.0.0") as info:
        imgaug_compat._check_opencv()
    assert "opencv-python>=4.10,<5" in str(info.value)


def test_opencv_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 -> ImportError
    with pytest.raises(EnvironmentSetupError, match="pip uninstall -y opencv-python"):
        imgaug_compat._check_opencv()


def test_both_opencv_packages_warn(monkeypatch, caplog):
    monkeypatch.setattr(imgaug_compat.importlib.metadata, "version", lambda name: "4.10")
    with caplog.at_level(logging.WARNING, logger="redes"):
        imgaug_compat._check_opencv()
    assert "opencv-python y opencv-python-headless" in caplog.text
    assert "pip install" in caplog.text
