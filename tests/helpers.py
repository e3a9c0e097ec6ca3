"""Ayudas compartidas por las pruebas (al estilo de keras-hub ``TestCase``).

- :func:`run_layer_test`: viaje de ida y vuelta de la configuración, formas simbólicas y
  reales, un paso de entrenamiento y guardado/carga con ``safe_mode=True``.
- :func:`run_loss_test`, :func:`run_metric_test`, :func:`run_schedule_test`: lo mismo
  para pérdidas, métricas y esquemas de tasa registrados.
- :func:`run_model_saving_test`: ``modelos.save`` / ``modelos.load`` con salidas iguales.
- :func:`value_and_gradient`: valor y gradiente de una función escalar con el backend
  de Keras activo (TensorFlow, JAX o PyTorch).
- :func:`write_corrupt_jpeg`: un JPEG truncado para probar lectores.
- :data:`TINY_BUILDS`: argumentos mínimos de cada constructor registrado, y
  :func:`tiny_batch`, un lote de entradas y objetivos válidos para cada uno.
"""

from __future__ import annotations

import io
from pathlib import Path

import keras
import numpy as np

import modelos


#: Los 8 primeros bytes de todo PNG.
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: Los constructores con BatchNormalization tras cada una de decenas de capas: con un lote
#: de 4, sus medias móviles (momento de torchvision) no alcanzan en 10 pasos a lo
#: aprendido, y lo que se comprueba es la pérdida del propio ``fit`` (modo de
#: entrenamiento), no la de ``evaluate``.
DEEP_BATCHNORM = ("mobilenetv2",)

#: Cada constructor registrado con los argumentos de su modelo más pequeño.
TINY_BUILDS = {
    "xor": {}, "mlp": {"input_dim": 6, "hidden": [4], "num_classes": 2},
    "deportes": {"num_classes": 2}, "cifar": {"input_shape": [8, 8, 1], "num_classes": 2},
    "yolo": {"labels": ["a", "b"], "backbone": "tiny", "input_size": 64,
             "width_multiplier": 0.25},
    "ventas": {"variant": "ste"},
    "ventas_rnn": {"cell": "gru", "units": 4},
    "ventas_global": {"n_series": 3, "steps": 7, "horizon": 4, "hierarchy": [2, 2],
                      "n_future": 1, "levels": [80], "hidden_units": 8, "dropout": 0.0},
    "transformer": {"src_vocab": 30, "tgt_vocab": 20, "num_layers": 1, "d_model": 8,
                    "num_heads": 2, "d_ff": 16},
    # Codificador en un solo sentido: keras.layers.Bidirectional serializa su capa al
    # crearse y, para eso, Keras 3.15 importa TensorFlow si está instalado, también con
    # JAX o PyTorch (la prueba de portabilidad comprueba que NO se importa). El
    # bidireccional se prueba en tests/test_seq2seq.py.
    "seq2seq": {"src_vocab": 30, "tgt_vocab": 20, "units": 8, "embed_dim": 4,
                "bidirectional_encoder": False},
    "transformer_lm": {"vocab_size": 30, "num_layers": 1, "d_model": 8, "num_heads": 2,
                       "d_ff": 16},
    "transformer_clasificador": {"vocab_size": 30, "num_classes": 2, "num_layers": 1,
                                 "d_model": 8, "num_heads": 2, "d_ff": 16},
    "mobilenetv2": {"num_classes": 2, "input_size": [32, 32], "alpha": 0.35},
}


def tiny_batch(model, rng, batch: int = 4, length: int = 6):
    """Entradas y objetivos válidos para ``model`` (uno de :data:`TINY_BUILDS`).

    Las entradas enteras son fichas en [4, 20); el objetivo depende de la pérdida:
    fichas o clases para las entropías dispersas, una clase en *one-hot* para la categórica, un
    objetivo de YOLO sin cajas (``pack_target`` de imágenes vacías) y valores normales
    para las de regresión.
    """
    inputs = []
    for tensor in model.inputs:
        shape = [batch] + [length if d is None else d for d in tensor.shape[1:]]
        if "int" in str(tensor.dtype):
            inputs.append(rng.integers(4, 20, shape).astype(str(tensor.dtype)))
        else:
            inputs.append(rng.normal(size=shape).astype("float32"))
    out_shape = [batch] + [length if d is None else d for d in model.output_shape[1:]]
    loss = model.loss if isinstance(model.loss, str) else type(model.loss).__name__
    if loss == "MaskedSparseCrossEntropy":  # fichas (0 es el relleno, que no cuenta)
        target = rng.integers(4, min(out_shape[-1], 20), out_shape[:-1]).astype("int32")
    elif loss == "sparse_categorical_crossentropy":
        target = rng.integers(0, out_shape[-1], out_shape[:-1]).astype("int32")
    elif loss == "categorical_crossentropy":
        target = np.eye(out_shape[-1], dtype="float32")[rng.integers(0, out_shape[-1], batch)]
    elif loss == "YoloLoss":
        from modelos.yolo.constructor import yolo_config

        _, grid_h, grid_w, anchors, depth = out_shape
        rows = grid_h * grid_w * anchors + yolo_config(model)["max_boxes"]
        target = np.zeros((batch, rows, depth), "float32")
    else:
        target = rng.normal(size=out_shape).astype("float32")
    return (inputs if len(inputs) > 1 else inputs[0]), target


def _stateless(fn):
    """``fn`` con sus asignaciones a variables (un contador) en un ``StatelessScope``:
    JAX no deja asignar variables dentro de una función que deriva."""

    def call(a):
        with keras.StatelessScope():
            return fn(a)

    return call


def _as_numpy(value, gradient) -> tuple[float, np.ndarray]:
    return (float(keras.ops.convert_to_numpy(value)),
            np.asarray(keras.ops.convert_to_numpy(gradient)))


def value_and_gradient(fn, x):
    """``(fn(x), ∂fn/∂x)`` en numpy, con el backend de Keras activo.

    ``fn`` recibe un tensor del backend y devuelve un escalar. Con JAX, las asignaciones
    a variables dentro de ``fn`` (un contador) quedan en un ``StatelessScope``.
    """
    x = np.asarray(x, "float32")
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        value, gradient = jax.value_and_grad(_stateless(fn))(jax.numpy.asarray(x))
    elif backend == "torch":
        import torch

        tensor = torch.tensor(x, requires_grad=True)
        value = fn(tensor)
        value.backward()
        value, gradient = value.detach(), tensor.grad
    else:
        import tensorflow as tf

        variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = fn(variable)
        gradient = tape.gradient(value, variable)
    return _as_numpy(value, gradient)


def gradient_step(fn):
    """Como :func:`value_and_gradient`, para llamar muchas veces (un descenso de gradiente).

    Devuelve ``x ↦ (fn(x), ∂fn/∂x)`` en numpy. Con JAX y TensorFlow se compila una vez
    (``jax.jit``, ``tf.function``) en lugar de ir operación a operación en cada llamada;
    con PyTorch es :func:`value_and_gradient` tal cual.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        compiled = jax.jit(jax.value_and_grad(_stateless(fn)))
        return lambda x: _as_numpy(*compiled(jax.numpy.asarray(x, "float32")))
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function
        def compiled(a):
            with tf.GradientTape() as tape:
                tape.watch(a)
                value = fn(a)
            return value, tape.gradient(value, a)

        return lambda x: _as_numpy(*compiled(tf.constant(x, "float32")))
    return lambda x: value_and_gradient(fn, x)


def run_model_saving_test(model, inputs, path, atol=1e-6):
    """Guarda con ``modelos.save``, recarga con ``modelos.load`` y compara salidas.

    Returns:
        El modelo recargado.
    """
    expected = model.predict(inputs, verbose=0)
    modelos.save(model, path)
    restored = modelos.load(path)
    got = restored.predict(inputs, verbose=0)
    np.testing.assert_allclose(got, expected, atol=atol, rtol=0)
    assert restored.count_params() == model.count_params()
    return restored


def _check_registered(obj) -> None:
    """El objeto se serializa con su nombre registrado ``redes>Clase`` y vuelve igual."""
    serialized = keras.saving.serialize_keras_object(obj)
    assert serialized["registered_name"] == f"redes>{type(obj).__name__}", serialized
    clone = keras.saving.deserialize_keras_object(serialized, safe_mode=True)
    assert type(clone) is type(obj)
    assert clone.get_config() == obj.get_config()
    assert type(obj).from_config(obj.get_config()).get_config() == obj.get_config()


def _as_list(inputs):
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


def run_layer_test(layer_cls, init_kwargs, inputs, *, expected_output_shape,
                   call_kwargs=None, tmp_path, atol=1e-5):
    """Prueba completa de una capa registrada.

    Args:
        layer_cls: la clase de la capa.
        init_kwargs: argumentos del constructor.
        inputs: un arreglo o una lista de arreglos (argumentos posicionales de ``call``).
        expected_output_shape: forma de la salida con el tamaño de lote real.
        call_kwargs: argumentos con nombre de ``call`` que no son tensores.
        tmp_path: carpeta temporal de la prueba (guardado y carga).
        atol: tolerancia de las salidas tras recargar.

    Comprueba: configuración (``get_config``/``from_config`` y serialización registrada),
    forma simbólica con ``keras.Input`` (lote ``None``), forma real, ``compute_output_shape``,
    un paso de entrenamiento que cambia los pesos entrenables (si los hay) y que un modelo
    con la capa se guarda y se carga con ``safe_mode=True`` con las mismas salidas.
    """
    call_kwargs = dict(call_kwargs or {})
    arrays = _as_list(inputs)
    layer = layer_cls(**init_kwargs)
    _check_registered(layer)

    # Forma real (modo inmediato).
    eager = layer(*arrays, **call_kwargs)
    assert tuple(eager.shape) == tuple(expected_output_shape), eager.shape
    # La configuración basta para rehacer la misma capa: mismos pesos, misma salida.
    clone = layer_cls.from_config(layer.get_config())
    clone_output = clone(*arrays, **call_kwargs)
    assert tuple(clone_output.shape) == tuple(eager.shape), (
        f"from_config da otra forma: {clone_output.shape} frente a {eager.shape}")
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(*arrays, **call_kwargs)),
                               keras.ops.convert_to_numpy(eager), atol=atol)
    # Forma simbólica, con el lote desconocido.
    symbolic_inputs = [keras.Input(shape=a.shape[1:], dtype=str(a.dtype)) for a in arrays]
    symbolic = layer_cls(**init_kwargs)(*symbolic_inputs, **call_kwargs)
    assert tuple(symbolic.shape) == (None, *expected_output_shape[1:]), symbolic.shape
    shapes = [tuple(a.shape) for a in arrays]
    if type(layer).compute_output_shape is not keras.layers.Layer.compute_output_shape:
        assert tuple(layer.compute_output_shape(*shapes)) == tuple(expected_output_shape)

    # Un paso de entrenamiento: la salida, aplanada, hacia un objetivo aleatorio.
    symbolic_inputs = [keras.Input(shape=a.shape[1:], dtype=str(a.dtype)) for a in arrays]
    trained = layer_cls(**init_kwargs)
    output = trained(*symbolic_inputs, **call_kwargs)
    model = keras.Model(symbolic_inputs, output)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    target = np.random.default_rng(0).normal(size=expected_output_shape).astype("float32")
    before = [np.array(w) for w in trained.trainable_weights]
    if before:  # una capa sin pesos (Reorg) no tiene nada que entrenar
        loss = model.train_on_batch(arrays, target)
        assert np.isfinite(loss)
        after = [np.array(w) for w in trained.trainable_weights]
        assert any(not np.allclose(a, b) for a, b in zip(after, before, strict=True))

    # Guardado y carga sin ejecutar código (safe_mode), mismas salidas.
    path = Path(tmp_path) / f"{layer_cls.__name__}.keras"
    expected = model.predict(arrays, verbose=0)
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored.predict(arrays, verbose=0), expected, atol=atol)
    return layer


def run_loss_test(loss, y_true, y_pred, *, tmp_path):
    """Prueba de una pérdida registrada: configuración, valor finito e igual tras recargar,
    un paso de entrenamiento y un modelo compilado con ella que se guarda y se carga."""
    _check_registered(loss)
    value = float(loss(y_true, y_pred))
    assert np.isfinite(value)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss),
                                                  safe_mode=True)
    assert float(clone(y_true, y_pred)) == value

    inputs = keras.Input(shape=(1,))
    flat = keras.layers.Dense(int(np.prod(y_pred.shape[1:])), name="cabeza")(inputs)
    output = keras.layers.Reshape(y_pred.shape[1:])(flat)
    model = keras.Model(inputs, output)
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss=loss)
    x = np.ones((len(y_true), 1), "float32")
    assert np.isfinite(model.train_on_batch(x, y_true))
    path = Path(tmp_path) / f"{type(loss).__name__}.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert type(restored.loss) is type(loss)
    assert restored.loss.get_config() == loss.get_config()
    return value


def run_metric_test(metric, y_true, y_pred):
    """Prueba de una métrica registrada: configuración y el mismo valor tras recrearla."""
    _check_registered(metric)
    metric.update_state(y_true, y_pred)
    value = float(metric.result())
    clone = type(metric).from_config(metric.get_config())
    clone.update_state(y_true, y_pred)
    assert float(clone.result()) == value
    metric.reset_state()
    assert float(metric.result()) == 0.0
    return value


def run_schedule_test(schedule, steps):
    """Prueba de un esquema de tasa registrado: configuración y los mismos valores."""
    _check_registered(schedule)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule),
                                                  safe_mode=True)
    values = [float(schedule(step)) for step in steps]
    assert values == [float(clone(step)) for step in steps]
    assert all(np.isfinite(values)) and all(v > 0 for v in values)
    return values


def write_corrupt_jpeg(path) -> Path:
    """Escribe un JPEG truncado: uno válido de 64×64 cortado por la mitad.

    Pillow abre la cabecera pero falla al decodificar: el caso de una descarga cortada.
    """
    from PIL import Image

    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    data = buffer.getvalue()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: len(data) // 2])
    return path


# === Los conjuntos de figuras compartidos (fixtures de tests/conftest.py) ===

#: ``shapes``: las figuras de los entrenamientos cortos de YOLO (2 clases, 64×64, 1 o 2
#: figuras por imagen, semilla 0). Con la misma semilla, las N primeras imágenes son las
#: de un conjunto de N: ``shapes_records[:12]`` es ``make_shapes_dataset(n_images=12)``.
SHAPES_LABELS = ("circulo", "cuadrado")
SHAPES_SIZE = 64
SHAPES_IMAGES = 24

#: ``wide_shapes``: figuras apaisadas (96 de alto × 128 de ancho) de las 3 clases, hasta 3
#: por imagen: para las pruebas de lectura, lotes y anclas, donde alto ≠ ancho importa.
WIDE_SHAPES_SIZE = (96, 128)
WIDE_SHAPES_IMAGES = 10


def cli_error(argv, capsys) -> str:
    """``redes argv`` termina con el código 2 y una línea de error; la devuelve."""
    from cli.principal import main

    try:
        code = main(argv)
    except SystemExit as exc:  # errores de argparse
        code = exc.code
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith(("error: ", "redes ")), lines
    return lines[-1]
