"""Lo que se compila según el backend: los bucles de decodificación y el optimizador.

Los decodificadores del Transformer y del seq2seq recurrente ejecutan un paso por token:
compilado, cada paso cuesta una llamada al grafo en vez de una cadena de operaciones en
modo inmediato. :func:`build_optimizer` crea las variables del optimizador antes del
primer ``fit``, y :func:`build_for_fit` también las de las métricas, para que TensorFlow
trace el paso de entrenamiento una sola vez.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from nucleo.keras_listo import keras

logger = logging.getLogger(__name__)


def compiled(fn: Callable) -> Callable:
    """Compila ``fn`` como grafo: ``tf.function`` con TensorFlow (un trazado por forma de
    entrada), ``jax.jit`` con JAX; con PyTorch la devuelve tal cual."""
    if keras.backend.backend() == "tensorflow":
        from nucleo.entorno import import_tensorflow

        return import_tensorflow().function(fn, reduce_retracing=True)
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    return fn


def build_optimizer(model) -> None:
    """Crea ya las variables del optimizador de ``model`` compilado (con TensorFlow).

    Sin estrategia de distribución, el ``fit`` de TensorFlow crea las variables del
    optimizador mientras traza el primer paso, y crear variables dentro de un
    ``tf.function`` obliga a trazarlo otra vez: el primer ``fit`` de una MobileNetV2
    tarda 23 s, y 10 s con el optimizador ya creado (Zen 3, un hilo). Son las mismas
    variables que crearía ``fit`` (ceros, sin números aleatorios), y para todas las
    entrenables de ahora: congelar capas después no molesta. Con JAX y PyTorch, ``fit``
    ya las crea antes de compilar el paso, y sin compilar no hay optimizador: no hace nada.
    """
    optimizer = getattr(model, "optimizer", None)
    if keras.backend.backend() != "tensorflow" or optimizer is None or optimizer.built:
        return
    with model.distribute_strategy.scope():
        optimizer.build(model.trainable_variables)


def build_for_fit(model, data) -> None:
    """Crea con TensorFlow, antes de ``fit``, las variables que crearía su primer paso.

    Además del optimizador (:func:`build_optimizer`), las métricas de ``compile``
    (``accuracy``...) se crean al trazar el primer paso, y eso obliga a trazarlo dos veces:
    la primera ``fit`` de la MobileNetV2 del clasificador (32×32, α 0,35, un hilo, Zen 3)
    tarda 25,6 s así y 16,4 s con ellas ya creadas, con los mismos pesos bit a bit. Keras
    hace lo mismo por su cuenta (``_symbolic_build``, con las formas de un lote y sin
    calcular nada) solo cuando hay una estrategia de distribución; aquí se hace siempre.

    Args:
        model: el modelo compilado.
        data: lo que recibirá ``fit`` como ``x``: un ``tf.data.Dataset`` (se usan sus
            formas, sin leer nada) o un ``keras.utils.PyDataset`` (se lee su primer lote,
            como hace el propio ``fit`` para conocer las formas).
    """
    build_optimizer(model)
    if keras.backend.backend() != "tensorflow" or not _metrics_unbuilt(model):
        return
    try:
        if hasattr(data, "element_spec"):
            batch = data.element_spec
        elif isinstance(data, keras.utils.PyDataset) and len(data):
            batch = data[0]
        else:
            return
        with model.distribute_strategy.scope():
            model._symbolic_build(data_batch=batch)
    except Exception as exc:  # noqa: BLE001 — solo es un atajo: fit las creará él mismo
        logger.debug("build_for_fit: las métricas se crearán al trazar (%s).", exc)


def _metrics_unbuilt(model) -> bool:
    """``True`` si ``model`` tiene métricas de ``compile`` sin crear y Keras no las creará
    por su cuenta (sin estrategia de distribución)."""
    metrics = getattr(model, "_compile_metrics", None)
    return (metrics is not None and not metrics.built
            and getattr(model, "_distribute_strategy", None) is None
            and hasattr(model, "_symbolic_build"))
