"""Funciones compiladas según el backend, para los bucles de decodificación.

Los decodificadores del Transformer y del seq2seq recurrente ejecutan un paso por token:
compilado, cada paso cuesta una llamada al grafo en vez de una cadena de operaciones en
modo inmediato.
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
