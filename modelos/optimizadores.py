"""Optimizadores: Adam con la actualización fusionada de TensorFlow.

La ``keras.optimizers.Adam`` de Keras 3 actualiza cada variable con una docena de
operaciones sueltas (restas, productos, raíces, tres asignaciones): una docena de
pasadas por la memoria de los parámetros y de sus dos momentos. Con los 50,7 M de
parámetros de YOLOv2 son unos 2,4 GB por paso. :class:`FusedAdam` hace lo mismo con
``ResourceApplyAdam``, una sola pasada, y da los mismos números.
"""

from __future__ import annotations


from nucleo.keras_listo import keras


@keras.saving.register_keras_serializable(package="redes")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` con ``ResourceApplyAdam`` en TensorFlow.

    Las cuentas son las de Adam de Keras (``lr·√(1−β₂ᵗ)/(1−β₁ᵗ)``, ``ε`` sumado a
    ``√v``). Se usa la operación fusionada con TensorFlow, gradientes densos, variables
    float32, sin ``amsgrad`` y fuera de una estrategia de ``tf.distribute``; en cualquier
    otro caso (JAX, PyTorch, réplicas...) es la de Keras tal cual. Mismas variables y
    misma configuración: un respaldo de una se reanuda con la otra.
    """

    def _fusable(self, gradient, variable) -> bool:
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            return False
        import tensorflow as tf

        return (not isinstance(gradient, tf.IndexedSlices) and not tf.distribute.has_strategy()
                and variable.dtype == "float32")

    def update_step(self, gradient, variable, learning_rate):
        if not self._fusable(gradient, variable):
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        dtype = tf.float32
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle,
            v=self._velocities[index].handle, beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype),
            beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype))
        return None


def adam(learning_rate, ema_momentum: float | None = None):
    """:class:`FusedAdam` con TensorFlow; con JAX o PyTorch, la Adam de Keras (en PyTorch
    Keras la cambia por su versión con ``torch._foreach``, que una subclase perdería).

    Con ``ema_momentum`` guarda además la media móvil exponencial de los pesos
    (``use_ema`` de Keras), que :class:`keras.callbacks.SwapEMAWeights` pone en el modelo
    para evaluar y guardar."""
    ema = {} if ema_momentum is None else {"use_ema": True, "ema_momentum": ema_momentum}
    if keras.backend.backend() == "tensorflow":
        return FusedAdam(learning_rate, **ema)
    return keras.optimizers.Adam(learning_rate, **ema)
