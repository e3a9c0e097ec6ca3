"""Pruebas de modelos/yolo/objetivos.py y lotes.py (codificación de YOLOv2 y YoloDataset)
y del conjunto de figuras."""

import numpy as np
import pytest

from datos.anotaciones import VocImage
from datos.anotaciones import read_voc
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from datos.sinteticos import make_shapes_dataset
from modelos.yolo import YoloDataset
from modelos.yolo.objetivos import VOC_ANCHORS
from modelos.yolo.objetivos import encode_targets
from modelos.yolo.objetivos import grid_size
from modelos.yolo.objetivos import pack_target
from modelos.yolo.objetivos import unpack_target

# Anclas sencillas para calcular a mano: cuadrada, apaisada y vertical (en celdas).
ANCHORS = [[1, 1], [4, 2], [2, 4]]
CLASSES = ["circulo", "cuadrado", "triangulo"]


def _encode(boxes, labels, image_size=128, grid=4, anchors=ANCHORS, num_classes=3,
            max_boxes=4):
    return encode_targets(boxes, labels, image_size, grid, anchors, num_classes, max_boxes)


# === encode_targets ===

def test_each_object_in_its_cell_and_anchor():
    # 128 px y rejilla 4: celdas de 32 px.
    boxes = [[0, 0, 32, 32],        # centro (0.5, 0.5), 1×1 celdas -> celda (0, 0), ancla 0
             [64, 80, 192, 144],    # centro (4, 3.5), 4×2 -> celda (fila 3, col 3), ancla 1
             [40, 10, 104, 138]]    # centro (2.25, 2.3), 2×4 -> celda (2, 2), ancla 2
    y, true_boxes = _encode(boxes, [2, 0, 1], image_size=(128, 128))
    assert y.shape == (4, 4, 3, 8) and y.dtype == np.float32
    expected = {
        (0, 0, 0): [0.5, 0.5, 1, 1, 1, 0, 0, 1],
        (3, 3, 1): [4, 3.5, 4, 2, 1, 1, 0, 0],  # centro en el borde derecho: última columna
        (2, 2, 2): [2.25, 2.3125, 2, 4, 1, 0, 1, 0],
    }
    for index, values in expected.items():
        np.testing.assert_allclose(y[index], values, err_msg=str(index))
    assert y[..., 4].sum() == 3  # nada más
    np.testing.assert_allclose(true_boxes[:3], [v[:4] for v in expected.values()])
    np.testing.assert_array_equal(true_boxes[3], 0)


def test_voc_anchors_hand_computed():
    # 416 px, rejilla 13: caja 64×64 -> 2×2 celdas; IoU con (1.3221, 1.73145) = 0.572,
    # con (3.19275, 4.00944) = 4 / 12.8 = 0.31: gana la primera.
    y, true_boxes = encode_targets([[0, 0, 64, 64]], [0], 416, 13, VOC_ANCHORS, 1, 5)
    np.testing.assert_allclose(y[1, 1, 0], [1, 1, 2, 2, 1, 1])
    # 320×160 px = 10×5 celdas, centro (200, 100) -> celda (3, 6), ancla 3 (9.47×4.84)
    y, _ = encode_targets([[40, 20, 360, 180]], [0], 416, 13, VOC_ANCHORS, 1, 5)
    assert np.argwhere(y[..., 4]).tolist() == [[3, 6, 3]]
    # Las anclas planas de keras-yolo2 son lo mismo.
    flat = np.asarray(VOC_ANCHORS).reshape(-1)
    np.testing.assert_array_equal(
        encode_targets([[0, 0, 64, 64]], [0], 416, 13, flat, 1, 5)[0], y * 0 + encode_targets(
            [[0, 0, 64, 64]], [0], 416, 13, VOC_ANCHORS, 1, 5)[0])


def test_collision_last_wins_but_both_in_buffer():
    boxes = [[0, 0, 30, 30], [2, 2, 32, 32]]  # misma celda, misma ancla
    y, true_boxes = _encode(boxes, [0, 1])
    assert y[..., 4].sum() == 1
    np.testing.assert_allclose(y[0, 0, 0, 5:], [0, 1, 0])  # la segunda
    np.testing.assert_allclose(y[0, 0, 0, :2], [17 / 32, 17 / 32])
    assert (true_boxes[:2, 2] > 0).all()  # las dos en el búfer
    # Misma celda con anclas distintas: no chocan.
    y, _ = _encode([[0, 0, 30, 30], [-40, 4, 72, 28]], [0, 1])  # 1×1 y 3.5×0.75
    assert np.argwhere(y[..., 4]).tolist() == [[0, 0, 0], [0, 0, 1]]


def test_non_square_image_and_grid():
    y, _ = encode_targets([[400, 300, 416, 320]], [1], (320, 416), (10, 13), ANCHORS, 2, 2)
    assert y.shape == (10, 13, 3, 7)
    assert np.argwhere(y[..., 4]).tolist() == [[9, 12, 0]]


def test_buffer_overflow_keeps_valid_boxes_and_degenerate_ignored():
    """Con más cajas que búfer, quedan ``max_boxes`` de las válidas (cuáles, por la semilla
    y no por el tamaño: ``tests/test_yolo_fotos_llenas.py``); la caja sin ancho no cuenta."""
    boxes = [[100, 100, 108, 108], [0, 0, 64, 64], [70, 70, 80, 80], [10, 10, 30, 40],
             [50, 50, 50, 60]]  # la última sin ancho
    valid = {(8 / 32, 8 / 32), (2.0, 2.0), (10 / 32, 10 / 32), (20 / 32, 30 / 32)}
    y, true_boxes = _encode(boxes, [0, 0, 0, 0, 0], max_boxes=2)
    kept = {tuple(np.round(row, 5)) for row in true_boxes[:, 2:]}
    assert len(kept) == 2 and kept <= {tuple(np.round(v, 5)) for v in valid}
    assert y[..., 4].sum() == 4
    y, true_boxes = _encode(np.zeros((0, 4)), [])
    assert y.sum() == 0 and true_boxes.sum() == 0


def test_encode_bad_arguments():
    with pytest.raises(ArgumentError, match="índices enteros en \\[0, 3\\)"):
        _encode([[0, 0, 10, 10]], [3])
    with pytest.raises(ArgumentError, match="N etiquetas"):
        _encode([[0, 0, 10, 10]], [0, 1])
    with pytest.raises(ArgumentError, match="anchors"):
        _encode([[0, 0, 10, 10]], [0], anchors=[[1, -1]])
    with pytest.raises(ArgumentError, match="grid"):
        _encode([[0, 0, 10, 10]], [0], grid=(4, 4, 4))
    with pytest.raises(ArgumentError, match="no finitos"):
        _encode([[0, 0, np.nan, 10]], [0])


def test_grid_size():
    assert grid_size((320, 416)) == (10, 13)
    assert grid_size(100, grid=7) == (7, 7)
    with pytest.raises(ArgumentError, match="múltiplo de 32"):
        grid_size(100)


def test_pack_and_unpack_round_trip():
    y, true_boxes = _encode([[0, 0, 32, 32], [40, 10, 104, 138]], [2, 1])
    packed = pack_target(y, true_boxes)
    assert packed.shape == (4 * 4 * 3 + 4, 8)
    grid, boxes = unpack_target(np.stack([packed, packed]), grid=4, n_anchors=3)
    np.testing.assert_array_equal(np.asarray(grid)[1], y)
    np.testing.assert_array_equal(np.asarray(boxes)[0], true_boxes)


# === YoloDataset ===

# Con las figuras apaisadas de tests/conftest.py (``wide_shapes_records``): 10 imágenes
# de 128×96 con hasta 3 figuras de las 3 clases.

def test_batches_shapes_and_dtypes(wide_shapes_records):
    data = YoloDataset(wide_shapes_records, CLASSES, image_size=64, batch_size=4,
                       train_times=3, augmenter=True, max_boxes=6)
    assert len(data) == 8  # ceil(10 * 3 / 4)
    x, y = data[0]
    assert x.shape == (4, 64, 64, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    # Los píxeles uint8 (aumentados) divididos una sola vez por 255: escalones de 1/255 y
    # figuras claras cerca de 1.
    np.testing.assert_allclose(x * 255, np.round(x * 255), atol=1e-3)
    assert x.max() > 0.7
    assert y.shape == (4, *data.target_shape) == (4, 2 * 2 * 5 + 6, 8) and y.dtype == np.float32
    x_last, _ = data[7]
    assert len(x_last) == 2
    with pytest.raises(IndexError):
        data[8]


def test_boxes_rescaled_to_network_size(wide_shapes_records):
    data = YoloDataset(wide_shapes_records, CLASSES, image_size=(64, 96), grid=(4, 6),
                       anchors=ANCHORS, batch_size=1, shuffle=False, max_boxes=3)
    record = wide_shapes_records[0]
    _, target = data[0]
    _, true_boxes = unpack_target(target, (4, 6), 3)
    # 128×96 -> 96×64 con rejilla 6×4: celdas de 16 px, es decir 128/6 × 96/4 px originales.
    cells = record.boxes / np.array([128 / 6, 96 / 4] * 2)
    centres = np.c_[(cells[:, :2] + cells[:, 2:]) / 2, cells[:, 2:] - cells[:, :2]]
    np.testing.assert_allclose(np.asarray(true_boxes)[0, :len(cells)], centres, rtol=1e-5)


def test_each_image_train_times_per_epoch_and_new_order(wide_shapes_records):
    data = YoloDataset(wide_shapes_records, CLASSES, image_size=64, batch_size=4, train_times=5,
                       seed=2)
    first = data._order.copy()
    assert np.bincount(first).tolist() == [5] * 10
    data.on_epoch_end()
    assert not np.array_equal(first, data._order)
    assert np.bincount(data._order).tolist() == [5] * 10


def test_deterministic_under_seed_and_threads(wide_shapes_records):
    from concurrent.futures import ThreadPoolExecutor

    def make():
        return YoloDataset(wide_shapes_records, CLASSES, image_size=64, batch_size=3,
                           augmenter=True, seed=7)

    a, b = make(), make()
    with ThreadPoolExecutor(2) as pool:  # orden de petición distinto, mismo contenido
        batches = list(pool.map(lambda i: b[i], reversed(range(len(b)))))[::-1]
    for i in range(len(a)):
        np.testing.assert_array_equal(a[i][0], batches[i][0])
        np.testing.assert_array_equal(a[i][1], batches[i][1])
    other = YoloDataset(wide_shapes_records, CLASSES, image_size=64, batch_size=3,
                        augmenter=True, seed=8)
    assert not np.array_equal(a[0][0], other[0][0])


def test_fit_with_workers_and_target_reaching_the_loss(wide_shapes_records):
    """Un modelo mínimo se entrena con lotes de YoloDataset y 2 hilos; la pérdida
    desempaqueta el búfer de cajas verdaderas del objetivo (lo que usará YOLOv2)."""
    import keras
    from keras import ops

    seen = {}

    def loss(y_true, y_pred):
        grid, true_boxes = unpack_target(y_true, 2, 5)
        seen["shapes"] = (tuple(grid.shape[1:]), tuple(true_boxes.shape[1:]))
        # (B, 2, 2, 5, 8) frente a (B, 2, 2, 5, 8); el búfer también participa.
        return ops.mean(ops.square(grid - y_pred), axis=(1, 2, 3, 4)) \
            + 0.0 * ops.sum(true_boxes, axis=(1, 2))

    keras.utils.set_random_seed(0)
    inputs = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(4, 3, strides=8, activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(4)(x)
    x = keras.layers.Conv2D(5 * 8, 1)(x)
    outputs = keras.layers.Reshape((2, 2, 5, 8))(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=loss)
    data = YoloDataset(wide_shapes_records, CLASSES, image_size=64, batch_size=4,
                       augmenter=True, train_times=2, workers=2)
    history = model.fit(data, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert seen["shapes"] == ((2, 2, 5, 8), (5, 4))
    assert data.epoch >= 2  # on_epoch_end llamado por fit: orden nuevo en cada época


def test_dataset_bad_arguments(wide_shapes_records, tmp_path):
    with pytest.raises(DataError, match="no están en"):
        YoloDataset(wide_shapes_records, ["circulo"], image_size=64)
    with pytest.raises(ArgumentError, match="múltiplo de 32"):
        YoloDataset(wide_shapes_records, CLASSES, image_size=100)
    with pytest.raises(ArgumentError, match="labels"):
        YoloDataset(wide_shapes_records, "circulo", image_size=64)
    with pytest.raises(ArgumentError, match="ningún registro"):
        YoloDataset([], CLASSES)
    with pytest.raises(ArgumentError, match="augment_with_boxes"):
        YoloDataset(wide_shapes_records, CLASSES, augmenter=object())
    gone = VocImage(tmp_path / "borrada.jpg", 10, 10, np.zeros((1, 4), np.float32) + [0, 0, 5, 5],
                    ["circulo"])
    with pytest.raises(DataError, match="borrada.jpg"):
        YoloDataset([gone], CLASSES, image_size=64)[0]


# === make_shapes_dataset ===

def test_shapes_boxes_are_tight_around_visible_pixels(monkeypatch):
    from datos import sinteticos

    # Fondo liso: los píxeles de la figura son los que se apartan del gris.
    monkeypatch.setattr(sinteticos, "_textured_background",
                        lambda rng, h, w: np.full((h, w, 3), 128.0, np.float32))
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(15):
        pixels, boxes, labels = sinteticos._shapes_image(rng, 96, 128, ["circulo", "cuadrado",
                                                                         "triangulo"], 1)
        mask = np.abs(pixels.astype(int) - 128).sum(axis=-1) > 80
        if mask.sum() < 0.9 * np.prod(boxes[0, 2:] - boxes[0, :2]) * 0.4:
            continue  # color demasiado parecido al gris (raro): no sirve de prueba
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        np.testing.assert_array_equal(boxes[0], [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1])
        checked += 1
    assert checked >= 10


def test_shapes_default_size_deterministic_and_bad_classes(tmp_path):
    a = make_shapes_dataset(tmp_path / "a", n_images=2, seed=5)
    b = make_shapes_dataset(tmp_path / "b", n_images=2, seed=5)
    images, _ = read_voc(a / "annotations", a / "images")
    assert (images[0].width, images[0].height) == (416, 416)
    assert (a / "images" / "00001.jpg").read_bytes() == (b / "images" / "00001.jpg").read_bytes()
    assert (a / "annotations" / "00001.xml").read_text() == \
        (b / "annotations" / "00001.xml").read_text()
    with pytest.raises(ArgumentError, match="classes"):
        make_shapes_dataset(tmp_path / "c", n_images=1, classes=("lego",))
    with pytest.raises(ArgumentError, match="n_images"):
        make_shapes_dataset(tmp_path / "c", n_images=0)


def test_shapes_overlap_and_border_happen(tmp_path):
    root = make_shapes_dataset(tmp_path / "f", n_images=40, image_size=(96, 96), seed=0)
    images, _ = read_voc(root / "annotations", root / "images")
    from datos.cajas import box_iou

    touching = sum(((r.boxes[:, :2] == 0) | (r.boxes[:, 2:] == 96)).any() for r in images)
    overlapping = sum((np.triu(box_iou(r.boxes, r.boxes), 1) > 0).any() for r in images)
    assert touching >= 5 and overlapping >= 5
