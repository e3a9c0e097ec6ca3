"""Capas que comparten las familias de :mod:`modelos`.

- :class:`FusedBatchNormalization`: ``BatchNormalization`` de Keras que, con TensorFlow,
  calcula con la operación fusionada ``FusedBatchNormV3`` (mismos pesos, mismos
  resultados, menos pasadas por memoria y fusionable con la convolución al inferir). La
  usan Darknet-19 (:mod:`modelos.yolo.darknet`) y la MobileNetV2
  (:mod:`modelos.mobilenet.constructor`).
"""

from __future__ import annotations

from nucleo.keras_listo import keras
from nucleo.keras_listo import layers


@keras.saving.register_keras_serializable(package="redes")
class FusedBatchNormalization(layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` calculada con ``FusedBatchNormV3`` en TensorFlow.

    La de Keras 3 hace la normalización con operaciones sueltas (momentos, resta,
    multiplicación...) y, en ``mixed_bfloat16``, convierte a float32 y de vuelta: varias
    pasadas por la memoria en cada capa. ``FusedBatchNormV3`` (oneDNN en CPU) lo hace en
    una y acepta la entrada en bfloat16 con estadísticas en float32; al inferir, el
    optimizador de grafos de TensorFlow la funde con la convolución anterior.

    Mismos pesos (``gamma``, ``beta``, ``moving_mean``, ``moving_variance``) y mismas
    cuentas que la de Keras: la media móvil usa la varianza sesgada del lote, como Keras
    (``FusedBatchNormV3`` devuelve la corregida por n/(n − 1), que se deshace). Con JAX o
    PyTorch, con máscara o con una entrada que no es (B, H, W, C), es la de Keras tal cual.
    """

    def _fusable(self, inputs, mask) -> bool:
        return (keras.backend.backend() == "tensorflow" and mask is None
                and not self.renorm and len(inputs.shape) == 4
                and self.axis in (-1, 3) and self.center and self.scale)

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        train = bool(training and self.trainable)
        scale = tf.cast(self.gamma.value, tf.float32)
        offset = tf.cast(self.beta.value, tf.float32)
        if train:
            empty = tf.constant([], tf.float32)
            outputs, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
                x=inputs, scale=scale, offset=offset, mean=empty, variance=empty,
                epsilon=self.epsilon, exponential_avg_factor=1.0, data_format="NHWC",
                is_training=True)
            shape = tf.shape(inputs)
            count = tf.cast(shape[0] * shape[1] * shape[2], tf.float32)
            variance = variance * (count - 1.0) / count   # la sesgada, como Keras
            momentum = self.momentum
            self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
            self.moving_variance.assign(
                self.moving_variance * momentum + variance * (1.0 - momentum))
        else:
            outputs, *_ = tf.raw_ops.FusedBatchNormV3(
                x=inputs, scale=scale, offset=offset,
                mean=tf.cast(self.moving_mean.value, tf.float32),
                variance=tf.cast(self.moving_variance.value, tf.float32),
                epsilon=self.epsilon, exponential_avg_factor=1.0, data_format="NHWC",
                is_training=False)
        return tf.cast(outputs, self.compute_dtype)
