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
