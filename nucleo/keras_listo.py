"""Keras importado después de preparar el backend.

Los módulos que usan Keras lo importan desde aquí (``from nucleo.keras_listo import
keras``, y ``layers`` y ``ops`` del mismo modo): así
:func:`nucleo.entorno.prepare_backend` (TensorFlow sin el ruido de arranque, oneDNN en
las CPU con AVX2) se ejecuta una vez, antes del primer ``import keras`` del proceso,
sea cual sea el módulo que se importe primero.
"""

import importlib

from nucleo.entorno import prepare_backend

prepare_backend()
keras = importlib.import_module("keras")
layers = keras.layers
ops = keras.ops

__all__ = ["keras", "layers", "ops"]
