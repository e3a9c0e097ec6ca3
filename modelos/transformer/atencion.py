"""La atención multi-cabeza del Transformer, escrita paso a paso (sección 3.2).

:class:`MultiHeadAttention`: proyecciones Q, K, V, producto escalado, máscaras,
softmax (en ``float32``), dropout, cabezas concatenadas y proyección de salida;
devuelve los pesos de atención si se piden y admite una caché de claves/valores
para decodificar token a token (:meth:`MultiHeadAttention.project_key_value` y
:meth:`MultiHeadAttention.attend`).

Convenciones de máscaras: ``True`` = se puede atender. La de atención es
``(B, Tq, Tk)`` o difundible; :func:`causal_mask` da la triangular ``(Tq, Tk)``.
Todo es ``keras.ops``: funciona con cualquier motor de Keras y bajo ``mixed_bfloat16``
(las puntuaciones de atención y el softmax se calculan en ``float32``).

Referencia:
    Vaswani et al. (2017), «Attention is all you need», https://arxiv.org/abs/1706.03762.
"""

from __future__ import annotations

import math

from nucleo.keras_listo import keras
from nucleo.keras_listo import layers
from nucleo.keras_listo import ops

from nucleo.validacion import check_int, check_number

_NEG_INF = -1e9  # en float32: exp(-1e9 - max) = 0 exacto


def causal_mask(query_length, key_length):
    """Máscara (Tq, Tk) triangular inferior: la posición i ve las j ≤ i (+ desfase)."""
    rows = ops.expand_dims(ops.arange(query_length), 1) + (key_length - query_length)
    cols = ops.expand_dims(ops.arange(key_length), 0)
    return ops.greater_equal(rows, cols)



@keras.saving.register_keras_serializable(package="redes")
class MultiHeadAttention(layers.Layer):
    """Atención multi-cabeza escrita paso a paso (sección 3.2 del artículo).

    ``Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V`` en cada cabeza; las cabezas se
    concatenan y pasan por una proyección de salida. Da los mismos números que
    ``keras.layers.MultiHeadAttention`` con los mismos pesos (ver las pruebas).

    Args:
        num_heads: número de cabezas (8 en el artículo).
        key_dim: dimensión de cada cabeza (64 = 512 / 8 en el artículo).
        dropout: dropout sobre los pesos de atención.
        use_bias: sesgo en las cuatro proyecciones.
        output_dim: dimensión de salida; por defecto la de la consulta.
        kernel_initializer: inicializador de las proyecciones.
        **kwargs: argumentos de ``keras.layers.Layer``.

    Call args:
        query: ``(B, Tq, d)``.
        value: ``(B, Tk, d_v)``; también es la clave si no se da ``key``.
        key: ``(B, Tk, d_k)`` opcional.
        attention_mask: booleana ``(B, Tq, Tk)`` o difundible (``(B, 1, Tk)`` para
            relleno); ``True`` = se puede atender.
        use_causal_mask: añadir la máscara triangular (sin mirar al futuro).
        return_attention_scores: devolver también los pesos ``(B, H, Tq, Tk)`` (float32).

    Example:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = np.ones((1, 3, 8), "float32")
        >>> out, pesos = mha(x, x, return_attention_scores=True)
        >>> out.shape, pesos.shape
        ((1, 3, 8), (1, 2, 3, 3))
    """

    def __init__(self, num_heads: int, key_dim: int, dropout: float = 0.0, use_bias: bool = True,
                 output_dim: int | None = None, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        where = "MultiHeadAttention"
        self.num_heads = check_int(num_heads, "num_heads", where=where)
        self.key_dim = check_int(key_dim, "key_dim", where=where)
        self.dropout = check_number(dropout, "dropout", minimum=0.0, maximum=1.0,
                                    include_maximum=False, where=where)
        self.use_bias = bool(use_bias)
        self.output_dim = None if output_dim is None else check_int(output_dim, "output_dim",
                                                                    where=where)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        inner = self.num_heads * self.key_dim
        dense = dict(use_bias=self.use_bias, dtype=self.dtype_policy,
                     kernel_initializer=self.kernel_initializer)
        self.query_dense = layers.Dense(inner, name="query", **dense)
        self.key_dense = layers.Dense(inner, name="key", **dense)
        self.value_dense = layers.Dense(inner, name="value", **dense)
        self.output_dense = None
        self._output_kwargs = dense
        self.dropout_layer = layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        out = self.output_dim or int(query_shape[-1])
        self.output_dense = layers.Dense(out, name="output", **self._output_kwargs)
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape)
        self.value_dense.build(value_shape)
        self.output_dense.build((*query_shape[:-1], self.num_heads * self.key_dim))

    # --- los pasos, uno a uno ---

    def _split_heads(self, x):
        # -1 para el lote: tf2onnx resuelve mal un Reshape con el lote y la longitud
        # dinámicos leídos con Shape (el exportado a ONNX fallaba al ejecutarse).
        length = ops.shape(x)[1]
        x = ops.reshape(x, (-1, length, self.num_heads, self.key_dim))     # (B, T, H, dk)
        return ops.transpose(x, (0, 2, 1, 3))                               # (B, H, T, dk)

    def project_key_value(self, value, key=None):
        """Proyecciones K y V separadas en cabezas: dos tensores ``(B, H, Tk, dk)``.

        Sirven de caché: en la atención cruzada se calculan una sola vez por frase.
        """
        key = value if key is None else key
        return self._split_heads(self.key_dense(key)), self._split_heads(self.value_dense(value))

    def attend(self, query, key_heads, value_heads, attention_mask=None, training=None,
               return_attention_scores=False):
        """Atención de ``query`` ``(B, Tq, d)`` sobre K, V ya proyectadas ``(B, H, Tk, dk)``."""
        q = self._split_heads(self.query_dense(query))                     # (B, H, Tq, dk)
        q = q * ops.cast(1.0 / math.sqrt(self.key_dim), q.dtype)
        # Puntuaciones y softmax en float32 (también con mixed_bfloat16).
        scores = ops.matmul(q, ops.transpose(key_heads, (0, 1, 3, 2)))     # (B, H, Tq, Tk)
        scores = ops.cast(scores, "float32")
        if attention_mask is not None:
            mask = ops.cast(attention_mask, "bool")
            if len(mask.shape) == 3:
                mask = ops.expand_dims(mask, 1)                           # (B, 1, Tq, Tk)
            scores = ops.where(mask, scores, _NEG_INF)
        # softmax(s) = exp(s - max) / Σ exp(s - max), sobre las claves.
        scores = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))
        weights = scores / ops.sum(scores, axis=-1, keepdims=True)        # (B, H, Tq, Tk)
        dropped = self.dropout_layer(ops.cast(weights, self.compute_dtype), training=training)
        context = ops.matmul(dropped, value_heads)                         # (B, H, Tq, dk)
        context = ops.transpose(context, (0, 2, 1, 3))                     # (B, Tq, H, dk)
        length = ops.shape(context)[1]
        context = ops.reshape(context, (-1, length, self.num_heads * self.key_dim))
        output = self.output_dense(context)                                # (B, Tq, d)
        return (output, weights) if return_attention_scores else output

    def call(self, query, value=None, key=None, attention_mask=None, use_causal_mask=False,
             return_attention_scores=False, training=None):
        value = query if value is None else value
        key_heads, value_heads = self.project_key_value(value, key)
        if use_causal_mask:
            causal = ops.expand_dims(  # (1, Tq, Tk)
                causal_mask(ops.shape(query)[1], ops.shape(value)[1]), 0)
            attention_mask = causal if attention_mask is None else ops.logical_and(
                ops.cast(attention_mask, "bool"), causal)
        return self.attend(query, key_heads, value_heads, attention_mask, training=training,
                           return_attention_scores=return_attention_scores)

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return (*query_shape[:-1], self.output_dim or query_shape[-1])

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "dropout": self.dropout, "use_bias": self.use_bias,
                "output_dim": self.output_dim,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}

