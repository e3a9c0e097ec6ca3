"""Pruebas de datos/imagenes.py: lector de carpetas, load_image y split_indices."""

import logging

import numpy as np
import pytest
from PIL import Image

from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.errores import EmptyDataError
from datos.imagenes import ImageFolder
from datos.imagenes import load_image
from datos.imagenes import read_image_folder
from datos.particiones import split_indices
from datos.sinteticos import make_image_folder
from tests.helpers import write_corrupt_jpeg

SIZE = (16, 20)  # (alto, ancho)
N_PER_CLASS = 6


@pytest.fixture
def folder(tmp_path):
    """Carpeta rojo/verde/azul con tamaños mixtos, un JPEG truncado y basura."""
    root = make_image_folder(tmp_path / "colores", n_per_class=N_PER_CLASS, seed=3)
    write_corrupt_jpeg(root / "rojo" / "truncada.jpg")
    (root / "verde" / "notas.txt").write_text("no soy una imagen")
    (root / "verde" / ".DS_Store").write_bytes(b"\x00\x01")
    (root / ".ipynb_checkpoints").mkdir()
    return root


def test_reads_folder_skipping_corrupt_and_non_images(folder, caplog):
    with caplog.at_level(logging.WARNING, logger="redes"):
        data = read_image_folder(folder, image_size=SIZE)

    assert isinstance(data, ImageFolder)
    assert data.class_names == ["azul", "rojo", "verde"]  # orden alfabético
    assert data.images.shape == (3 * N_PER_CLASS, *SIZE, 3)
    assert data.images.dtype == np.float32
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    assert data.images.max() > 0.5  # escalado a [0, 1], no a [0, 1/255]
    assert data.labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(data.labels), [N_PER_CLASS] * 3)
    assert len(data.paths) == len(data.labels)
    assert all(p.suffix in (".png", ".jpg") for p in data.paths)
    bad = folder / "rojo" / "truncada.jpg"
    assert [p for p, _ in data.skipped] == [bad]
    assert "truncad" in data.skipped[0][1]
    assert bad not in data.paths
    warning = "\n".join(r.getMessage() for r in caplog.records
                        if r.levelno == logging.WARNING)
    assert "1 imágenes" in warning and str(bad) in warning


def test_one_hot_matches_labels(folder):
    data = read_image_folder(folder, image_size=SIZE)
    one_hot = data.one_hot()
    assert one_hot.shape == (len(data.labels), 3)
    assert one_hot.dtype == np.float32
    np.testing.assert_array_equal(one_hot.argmax(axis=1), data.labels)
    np.testing.assert_array_equal(one_hot.sum(axis=1), 1.0)


def test_mixed_sizes_are_resized_and_colours_kept(folder):
    source_sizes = {Image.open(p).size for p in (folder / "azul").iterdir()}
    assert len(source_sizes) == 3  # la carpeta mezcla tamaños
    data = read_image_folder(folder, image_size=SIZE)
    assert data.images.shape[1:] == (*SIZE, 3)
    # El canal dominante de cada clase es el de su color (orden RGB correcto).
    means = np.stack([data.images[data.labels == k].mean(axis=(0, 1, 2))
                      for k in range(3)])
    assert [int(np.argmax(m)) for m in means] == [2, 0, 1]  # azul, rojo, verde


def test_grayscale_channels(folder):
    data = read_image_folder(folder, image_size=(8, 8), channels=1)
    assert data.images.shape == (3 * N_PER_CLASS, 8, 8, 1)


def test_given_class_names_set_label_order(folder):
    data = read_image_folder(folder, image_size=SIZE,
                             class_names=["verde", "azul", "rojo"])
    assert data.class_names == ["verde", "azul", "rojo"]
    assert all(p.parent.name == data.class_names[k]
               for p, k in zip(data.paths, data.labels))


def test_given_class_names_must_match_folders(folder):
    with pytest.raises(DataError) as info:
        read_image_folder(folder, image_size=SIZE, class_names=["azul", "rojo", "gris"])
    message = str(info.value)
    assert str(folder) in message and "gris" in message and "verde" in message


def test_progress_bar_can_be_forced(folder, capsys):
    read_image_folder(folder, image_size=SIZE, show_progress=True)
    assert "img" in capsys.readouterr().err
    read_image_folder(folder, image_size=SIZE, show_progress=False)
    assert capsys.readouterr().err == ""


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "profundo.png"
    Image.fromarray(np.full((4, 4), 32768, dtype=np.uint16)).save(path)
    image = load_image(path, (4, 4), channels=1)
    np.testing.assert_allclose(image, 128 / 255, atol=1 / 255)


def test_missing_directory(tmp_path):
    missing = tmp_path / "no_existe"
    with pytest.raises(DataError, match="no existe") as info:
        read_image_folder(missing, image_size=SIZE)
    assert str(missing) in str(info.value)


def test_file_instead_of_directory(tmp_path):
    path = tmp_path / "archivo.txt"
    path.write_text("x")
    with pytest.raises(DataError, match="no es una carpeta") as info:
        read_image_folder(path, image_size=SIZE)
    assert str(path) in str(info.value)


def test_no_class_subfolders(tmp_path):
    root = tmp_path / "plana"
    root.mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / "suelta.png")
    with pytest.raises(EmptyDataError, match="subcarpetas") as info:
        read_image_folder(root, image_size=SIZE)
    assert str(root) in str(info.value) and "sueltas" in str(info.value)


def test_empty_class_folder_is_named(folder):
    (folder / "vacia").mkdir()
    (folder / "vacia" / "leeme.txt").write_text("sin imágenes")
    with pytest.raises(EmptyDataError) as info:
        read_image_folder(folder, image_size=SIZE)
    assert "'vacia'" in str(info.value) and str(folder / "vacia") in str(info.value)


def test_class_with_only_corrupt_images_is_named(folder):
    (folder / "rota").mkdir()
    write_corrupt_jpeg(folder / "rota" / "a.jpg")
    with pytest.raises(EmptyDataError, match="legibles") as info:
        read_image_folder(folder, image_size=SIZE)
    assert str(folder / "rota") in str(info.value)


def test_folder_without_any_image(tmp_path):
    root = tmp_path / "sin_imagenes"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        (root / name / "x.txt").write_text("x")
    with pytest.raises(EmptyDataError, match="ninguna imagen") as info:
        read_image_folder(root, image_size=SIZE)
    assert str(root) in str(info.value)


@pytest.mark.parametrize("image_size", [(0, 8), (8,), "8x8", (8.5, 8), (True, 8),
                                        (30000, 30000), (8, 4097)])
def test_bad_image_size(folder, image_size):
    with pytest.raises(ArgumentError, match="image_size"):
        read_image_folder(folder, image_size=image_size)


@pytest.mark.parametrize("channels", [0, 2, 4])
def test_bad_channels(folder, channels):
    with pytest.raises(ArgumentError, match="channels"):
        read_image_folder(folder, image_size=SIZE, channels=channels)


def test_load_image(folder):
    path = folder / "azul" / "000.png"
    image = load_image(path, SIZE)
    assert image.shape == (*SIZE, 3) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    # El color medio del archivo (RGB, /255) se conserva al redimensionar: azul dominante.
    with Image.open(path) as original:
        mean = np.asarray(original.convert("RGB"), np.float32).mean(axis=(0, 1)) / 255
    np.testing.assert_allclose(image.mean(axis=(0, 1)), mean, atol=0.03)
    assert mean.argmax() == 2
    batch = read_image_folder(folder, image_size=SIZE)
    np.testing.assert_array_equal(image, batch.images[batch.paths.index(path)])


def test_load_image_corrupt_and_missing(folder):
    bad = folder / "rojo" / "truncada.jpg"
    with pytest.raises(DataError, match="truncad") as info:
        load_image(bad, SIZE)
    assert str(bad) in str(info.value)
    missing = folder / "nada.png"
    with pytest.raises(DataError) as info:
        load_image(missing, SIZE)
    assert str(missing) in str(info.value)


# === split_indices ===

LABELS = np.repeat(np.arange(3), 100)  # 300 muestras, 100 por clase


def test_split_is_disjoint_and_complete():
    train, val, test = split_indices(LABELS, seed=13)
    joined = np.concatenate([train, val, test])
    assert len(joined) == len(LABELS)
    np.testing.assert_array_equal(np.sort(joined), np.arange(len(LABELS)))
    assert all(idx.dtype.kind == "i" for idx in (train, val, test))


def test_split_proportions_are_stratified():
    train, val, test = split_indices(LABELS, seed=13)
    # 80/20 prueba y luego 80/20 validación: 192/48/60, igual en cada clase.
    assert (len(train), len(val), len(test)) == (192, 48, 60)
    np.testing.assert_array_equal(np.bincount(LABELS[test]), [20, 20, 20])
    np.testing.assert_array_equal(np.bincount(LABELS[val]), [16, 16, 16])


def test_split_is_seeded():
    first = split_indices(LABELS, seed=1)
    again = split_indices(LABELS, seed=1)
    other = split_indices(LABELS, seed=2)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[2], other[2])


def test_split_falls_back_when_class_too_small(caplog):
    labels = np.array([0] * 20 + [1] * 20 + [2])  # la clase 2 tiene una muestra
    with caplog.at_level(logging.WARNING, logger="redes"):
        train, val, test = split_indices(labels, seed=0)
    assert "estratificar" in caplog.text and "2" in caplog.text
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val, test])),
                                  np.arange(len(labels)))
    again = split_indices(labels, seed=0)
    np.testing.assert_array_equal(test, again[2])


def test_split_without_validation():
    train, val, test = split_indices(LABELS, validation_fraction=0)
    assert len(val) == 0 and len(train) == 240 and len(test) == 60


def test_split_errors():
    with pytest.raises(ArgumentError, match="test_fraction"):
        split_indices(LABELS, test_fraction=1.0)
    with pytest.raises(ArgumentError, match="validation_fraction"):
        split_indices(LABELS, validation_fraction=-0.1)
    with pytest.raises(DataError, match="solo 1 muestras"):
        split_indices([0])


def test_huge_image_size_is_refused_by_load_image(folder):
    with pytest.raises(ArgumentError, match="image_size.*4096"):
        load_image(folder / "azul" / "000.png", (30000, 30000))


def test_a_folder_that_would_not_fit_in_memory_fails_before_reading(folder, monkeypatch):
    import datos.imagenes

    monkeypatch.setattr(datos.imagenes, "MAX_FOLDER_BYTES", 1000)
    with pytest.raises(DataError, match="GiB en memoria.*tamaño de imagen menor"):
        read_image_folder(folder, image_size=SIZE)
