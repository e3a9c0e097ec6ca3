"""Lo que se compila según el backend: los bucles de decodificación y el optimizador.

Los decodificadores del Transformer y del seq2seq recurrente ejecutan un paso por token:
compilado, cada paso cuesta una llamada al grafo en vez de una cadena de operaciones en
modo inmediato. :func:`build_optimizer` crea las variables del optimizador antes del
primer ``fit`` para que TensorFlow trace el paso de entrenamiento una sola vez.
"""

from __future__ import annotations

from collections.abc import Callable

from nucleo.keras_listo import keras


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
