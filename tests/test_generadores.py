"""Pruebas de datos/generadores.py."""

import numpy as np
import pytest

from datos.aumento import make_augmenter
from nucleo.errores import ArgumentError
from datos.generadores import ImageBatches

import keras

N = 10


def _data(n=N):
    rng = np.random.default_rng(0)
    x = rng.random((n, 8, 8, 3)).astype(np.float32)
    y = np.arange(n)  # la etiqueta es el índice: así se ve el orden
    return x, y


def _epoch(batches):
    return [batches[i] for i in range(len(batches))]


def test_shapes_dtypes_and_length():
    x, y = _data()
    batches = ImageBatches(x, y, batch_size=4, seed=0)
    assert len(batches) == 3
    epoch = _epoch(batches)
    assert [xb.shape for xb, _ in epoch] == [(4, 8, 8, 3), (4, 8, 8, 3), (2, 8, 8, 3)]
    assert all(xb.dtype == np.float32 for xb, _ in epoch)
    seen = np.concatenate([yb for _, yb in epoch])
    np.testing.assert_array_equal(np.sort(seen), y)  # cada muestra, una vez
    for xb, yb in epoch:
        np.testing.assert_array_equal(xb, x[yb])  # x e y siguen emparejados


def test_shuffle_changes_each_epoch_but_is_reproducible():
    x, y = _data()
    a = ImageBatches(x, y, batch_size=4, seed=3)
    b = ImageBatches(x, y, batch_size=4, seed=3)
    orders_a, orders_b = [], []
    for _ in range(3):
        orders_a.append(np.concatenate([yb for _, yb in _epoch(a)]))
        orders_b.append(np.concatenate([yb for _, yb in _epoch(b)]))
        a.on_epoch_end()
        b.on_epoch_end()
    for oa, ob in zip(orders_a, orders_b):
        np.testing.assert_array_equal(oa, ob)
    assert not np.array_equal(orders_a[0], orders_a[1])
    assert not np.array_equal(orders_a[0], y)
    other = ImageBatches(x, y, batch_size=4, seed=4)
    assert not np.array_equal(np.concatenate([yb for _, yb in _epoch(other)]),
                              orders_a[0])


def test_no_shuffle_keeps_order():
    x, y = _data()
    batches = ImageBatches(x, y, batch_size=3, shuffle=False)
    batches.on_epoch_end()
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in _epoch(batches)]), y)


def test_uint8_images_are_scaled():
    x, y = _data()
    x8 = (x * 255).astype(np.uint8)
    xb, _ = ImageBatches(x8, y, batch_size=N, shuffle=False)[0]
    assert xb.dtype == np.float32
    np.testing.assert_allclose(xb, x8 / 255.0, atol=1e-6)


def test_augmentation_is_deterministic_per_batch():
    x, y = _data()
    a = ImageBatches(x, y, batch_size=4, augmenter=make_augmenter(seed=1), seed=0)
    b = ImageBatches(x, y, batch_size=4, augmenter=make_augmenter(seed=1), seed=0)
    # Pedir los lotes en otro orden (como hacen los hilos) no cambia el contenido.
    late_first = [b[i] for i in reversed(range(len(b)))][::-1]
    for (xa, ya), (xb, yb) in zip(_epoch(a), late_first):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    xa, ya = a[0]
    assert xa.dtype == np.float32 and 0.0 <= xa.min() and xa.max() <= 1.0
    # El aumento pasa por uint8 y vuelve a [0, 1] una sola vez: escalones de 1/255 y el
    # brillo medio de las originales (el aumento es moderado).
    np.testing.assert_allclose(xa * 255, np.round(xa * 255), atol=1e-3)
    assert abs(xa.mean() - x[ya].mean()) < 0.1
    assert not np.allclose(xa, x[ya], atol=1 / 255)  # sí se aumentó
    first = a[0][0]
    a.on_epoch_end()
    assert not np.array_equal(a[0][0], first)  # otra época, otro aumento


def test_workers_with_fit_and_predict():
    x, y = _data(24)
    labels = y % 2
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    train = ImageBatches(x, labels, batch_size=8, augmenter=make_augmenter(seed=0),
                         workers=2, use_multiprocessing=False)
    history = model.fit(train, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.all(np.isfinite(history.history["loss"]))
    # Keras llama a on_epoch_end tras cada época (y una vez más al empezar fit).
    assert train.epoch >= 2

    kwargs = dict(batch_size=5, shuffle=False, augmenter=make_augmenter(seed=2))
    serial = model.predict(ImageBatches(x, None, **kwargs), verbose=0)
    threaded = model.predict(ImageBatches(x, None, workers=2, **kwargs), verbose=0)
    assert serial.shape == (24, 2)
    np.testing.assert_allclose(threaded, serial, rtol=1e-6)


def test_bad_arguments():
    x, y = _data()
    with pytest.raises(ArgumentError, match="etiquetas"):
        ImageBatches(x, y[:-1])
    with pytest.raises(ArgumentError, match="batch_size"):
        ImageBatches(x, y, batch_size=0)
    with pytest.raises(ArgumentError, match="forma"):
        ImageBatches(x[0], y)
    with pytest.raises(ArgumentError, match="augment_batch"):
        ImageBatches(x, y, augmenter=lambda img: img)
    with pytest.raises(IndexError):
        ImageBatches(x, y, batch_size=4)[3]
