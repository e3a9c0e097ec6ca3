"""Pérdida y exactitud que ignoran el relleno (id 0), para secuencias de tokens.

La pérdida es la entropía cruzada con suavizado de etiquetas del artículo (ε = 0.1,
sección 5.4) promediada solo sobre los tokens reales: el relleno no cuenta ni en
la suma ni en el divisor.
"""

from __future__ import annotations

from nucleo.keras_listo import keras
from nucleo.keras_listo import ops

from nucleo.validacion import check_int, check_number
from modelos.transformer.incrustaciones import PAD_ID


@keras.saving.register_keras_serializable(package="redes")
class MaskedSparseCrossEntropy(keras.losses.Loss):
    """Entropía cruzada desde logits ``(B, T, V)`` con etiquetas ``(B, T)``, sin el relleno.

    Con suavizado ε la distribución objetivo es ``(1 - ε)`` en la etiqueta y ``ε / V``
    repartido en todo el vocabulario. Se calcula en ``float32``.

    Args:
        label_smoothing: ε en [0, 1) (0.1 en el artículo).
        pad_id: id que se ignora (:data:`PAD_ID`, 0).
        name: nombre de la pérdida.
    """

    def __init__(self, label_smoothing: float = 0.0, pad_id: int = PAD_ID,
                 name: str = "masked_sparse_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = check_number(label_smoothing, "label_smoothing", minimum=0.0,
                                            maximum=1.0, include_maximum=False,
                                            where="MaskedSparseCrossEntropy")
        self.pad_id = check_int(pad_id, "pad_id", minimum=0, where="MaskedSparseCrossEntropy")

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")                                 # (B, T)
        log_probs = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)  # (B, T, V)
        vocab = ops.shape(log_probs)[-1]
        true_log = ops.sum(log_probs * ops.one_hot(y_true, vocab, dtype="float32"), axis=-1)
        per_token = -(1.0 - self.label_smoothing) * true_log
        if self.label_smoothing:
            per_token -= self.label_smoothing * ops.mean(log_probs, axis=-1)
        mask = ops.cast(ops.not_equal(y_true, self.pad_id), "float32")
        # Un escalar: la media sobre los tokens reales de todo el lote.
        return ops.sum(per_token * mask) / ops.maximum(ops.sum(mask), 1.0)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing,
                "pad_id": self.pad_id}


@keras.saving.register_keras_serializable(package="redes")
class MaskedAccuracy(keras.metrics.Metric):
    """Fracción de tokens reales (≠ relleno) cuyo argmax coincide con la etiqueta.

    Args:
        pad_id: id que se ignora (:data:`PAD_ID`, 0).
        name: nombre de la métrica (``masked_accuracy``).
    """

    def __init__(self, pad_id: int = PAD_ID, name: str = "masked_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pad_id = check_int(pad_id, "pad_id", minimum=0, where="MaskedAccuracy")
        self.correct = self.add_variable((), initializer="zeros", name="correct")
        self.total = self.add_variable((), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        mask = ops.cast(ops.not_equal(y_true, self.pad_id), "float32")
        hits = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true),
                        "float32")
        self.correct.assign_add(ops.sum(hits * mask))
        self.total.assign_add(ops.sum(mask))

    def result(self):
        return self.correct / ops.maximum(self.total, 1.0)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}
