"""Las piezas del Transformer de «Attention is all you need», escritas paso a paso.

Se leen junto al artículo del blog «¿Cómo funcionan los Transformers?»:

- :class:`PositionalEncoding`: la codificación sinusoidal del artículo,
  ``PE(pos, 2i) = sin(pos / 10000^(2i/d))`` y ``PE(pos, 2i+1) = cos(...)``.
- :class:`TokenAndPositionEmbedding`: ``embedding(token) · √d_model + PE(pos)``; con
  ``reverse=True`` proyecta de vuelta al vocabulario con la misma matriz (pesos atados).
- :class:`MultiHeadAttention`: proyecciones Q, K, V, producto escalado, máscaras,
  softmax (en ``float32``), dropout, cabezas concatenadas y proyección de salida;
  devuelve los pesos de atención si se piden y admite una caché de claves/valores
  para decodificar token a token.
- :class:`FeedForward`, :class:`EncoderLayer`, :class:`DecoderLayer` (post-norm como
  el artículo, pre-norm como opción) y las pilas :class:`Encoder` y :class:`Decoder`.

Convenciones de máscaras: ``True`` = se puede atender. Las máscaras de relleno son
``(B, T)`` booleanas (``ids != 0``); la de atención es ``(B, Tq, Tk)`` o difundible.
Todo es ``keras.ops``: funciona con cualquier motor de Keras y bajo ``mixed_bfloat16``
(las puntuaciones de atención y el softmax se calculan en ``float32``).

Referencia:
    Vaswani et al. (2017), «Attention is all you need», https://arxiv.org/abs/1706.03762.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers
from keras import ops

from datos.errores import ArgumentError
from datos.validacion import check_int, check_number

_NEG_INF = -1e9  # en float32: exp(-1e9 - max) = 0 exacto


def _register(cls):
    return keras.saving.register_keras_serializable(package="redes")(cls)


def positional_encoding_table(max_len: int, d_model: int) -> np.ndarray:
    """Tabla (max_len, d_model) de la codificación sinusoidal del artículo.

    ``PE[pos, 2i] = sin(pos / 10000^(2i / d_model))`` y
    ``PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model))``.
    """
    positions = np.arange(max_len, dtype=np.float64)[:, None]          # (L, 1)
    even = np.arange(0, d_model, 2, dtype=np.float64)[None, :]         # (1, ⌈d/2⌉)
    angles = positions / np.power(10000.0, even / d_model)             # (L, ⌈d/2⌉)
    table = np.zeros((max_len, d_model), dtype=np.float64)
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, : d_model // 2])
    return table.astype(np.float32)


def causal_mask(query_length, key_length):
    """Máscara (Tq, Tk) triangular inferior: la posición i ve las j ≤ i (+ desfase)."""
    rows = ops.arange(query_length)[:, None] + (key_length - query_length)
    cols = ops.arange(key_length)[None, :]
    return ops.greater_equal(rows, cols)


@_register
class PositionalEncoding(layers.Layer):
    """Suma la codificación posicional sinusoidal del artículo a ``(B, T, d)``.

    Args:
        max_len: longitud máxima admitida.
        **kwargs: argumentos de ``keras.layers.Layer`` (``name``, ``dtype``...).

    Example:
        >>> PositionalEncoding(100)(ops.zeros((2, 7, 16))).shape
        (2, 7, 16)
    """

    def __init__(self, max_len: int = 512, **kwargs):
        super().__init__(**kwargs)
        self.max_len = check_int(max_len, "max_len", where="PositionalEncoding")
        self.table = None

    def build(self, input_shape):
        # Una constante, no un peso: se recalcula de la configuración al cargar.
        self.table = ops.convert_to_tensor(
            positional_encoding_table(self.max_len, int(input_shape[-1])))

    def positions(self, length, start_index=0):
        """La tabla para las posiciones ``start_index ... start_index + length - 1``: (T, d)."""
        index = ops.arange(length) + ops.cast(start_index, "int32")
        return ops.cast(ops.take(self.table, index, axis=0), self.compute_dtype)

    def call(self, inputs, start_index=0):
        return inputs + self.positions(ops.shape(inputs)[1], start_index)[None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_len": self.max_len}


@_register
class TokenAndPositionEmbedding(layers.Layer):
    """``embedding(ids) · √d_model + posición``; con ``reverse=True``, logits del vocabulario.

    Como en el artículo, la misma matriz de *embedding* sirve (traspuesta) de
    proyección final antes del softmax: llamar a la capa con ``reverse=True`` sobre
    ``(B, T, d_model)`` devuelve logits ``(B, T, vocab_size)`` en ``float32``.

    Args:
        vocab_size: tamaño del vocabulario (el id 0 es el relleno).
        d_model: dimensión de los vectores.
        max_len: longitud máxima.
        learned_positions: posiciones aprendidas (una tabla entrenable, como BERT y
            GPT) en lugar de la sinusoidal del artículo.
        scale: multiplicar el *embedding* por √d_model (el artículo lo hace).
        **kwargs: argumentos de ``keras.layers.Layer``.

    Example:
        >>> emb = TokenAndPositionEmbedding(100, 16, max_len=20)
        >>> emb(np.array([[5, 6, 0]])).shape
        (1, 3, 16)
    """

    def __init__(self, vocab_size: int, d_model: int, max_len: int = 512,
                 learned_positions: bool = False, scale: bool = True, **kwargs):
        super().__init__(**kwargs)
        where = "TokenAndPositionEmbedding"
        self.vocab_size = check_int(vocab_size, "vocab_size", minimum=2, where=where)
        self.d_model = check_int(d_model, "d_model", where=where)
        self.max_len = check_int(max_len, "max_len", where=where)
        self.learned_positions = bool(learned_positions)
        self.scale = bool(scale)
        self.token_embedding = layers.Embedding(
            self.vocab_size, self.d_model, dtype=self.dtype_policy, name="tokens",
            embeddings_initializer=keras.initializers.RandomNormal(stddev=self.d_model ** -0.5))
        if self.learned_positions:
            self.position_embedding = layers.Embedding(
                self.max_len, self.d_model, dtype=self.dtype_policy, name="posiciones")
        else:
            self.position_embedding = PositionalEncoding(
                self.max_len, dtype=self.dtype_policy, name="posiciones")

    def build(self, input_shape=None):
        self.token_embedding.build((None, None))
        self.position_embedding.build((None, None, self.d_model))

    def call(self, inputs, start_index=0, reverse=False):
        if reverse:
            # (B, T, d) · (d, V) → (B, T, V), en float32 para el softmax.
            kernel = ops.cast(self.token_embedding.embeddings, "float32")
            return ops.matmul(ops.cast(inputs, "float32"), ops.transpose(kernel))
        x = self.token_embedding(inputs)                                  # (B, T, d)
        if self.scale:
            x = x * ops.cast(math.sqrt(self.d_model), x.dtype)
        length = ops.shape(inputs)[1]
        if self.learned_positions:
            index = ops.arange(length) + ops.cast(start_index, "int32")
            return x + self.position_embedding(index)[None]
        return x + self.position_embedding.positions(length, start_index)[None]

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return (*input_shape[:-1], self.vocab_size)
        return (*input_shape, self.d_model)

    def compute_output_spec(self, inputs, start_index=0, reverse=False):
        shape = self.compute_output_shape(inputs.shape, reverse=reverse)
        return keras.KerasTensor(shape, dtype="float32" if reverse else self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "d_model": self.d_model,
                "max_len": self.max_len, "learned_positions": self.learned_positions,
                "scale": self.scale}


@_register
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
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        x = ops.reshape(x, (batch, length, self.num_heads, self.key_dim))  # (B, T, H, dk)
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
                mask = mask[:, None]                                       # (B, 1, Tq, Tk)
            scores = ops.where(mask, scores, _NEG_INF)
        # softmax(s) = exp(s - max) / Σ exp(s - max), sobre las claves.
        scores = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))
        weights = scores / ops.sum(scores, axis=-1, keepdims=True)        # (B, H, Tq, Tk)
        dropped = self.dropout_layer(ops.cast(weights, self.compute_dtype), training=training)
        context = ops.matmul(dropped, value_heads)                         # (B, H, Tq, dk)
        context = ops.transpose(context, (0, 2, 1, 3))                     # (B, Tq, H, dk)
        batch, length = ops.shape(context)[0], ops.shape(context)[1]
        context = ops.reshape(context, (batch, length, self.num_heads * self.key_dim))
        output = self.output_dense(context)                                # (B, Tq, d)
        return (output, weights) if return_attention_scores else output

    def call(self, query, value=None, key=None, attention_mask=None, use_causal_mask=False,
             return_attention_scores=False, training=None):
        value = query if value is None else value
        key_heads, value_heads = self.project_key_value(value, key)
        if use_causal_mask:
            causal = causal_mask(ops.shape(query)[1], ops.shape(value)[1])[None]  # (1, Tq, Tk)
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


@_register
class FeedForward(layers.Layer):
    """Dos capas densas en cada posición: ``Dense(d_ff, relu) → Dropout → Dense(d)``.

    Args:
        d_ff: neuronas de la capa interna (2048 en el artículo).
        dropout: dropout tras la activación.
        activation: no linealidad (``"relu"`` en el artículo, ``"gelu"`` en BERT y GPT).
        **kwargs: argumentos de ``keras.layers.Layer``.
    """

    def __init__(self, d_ff: int, dropout: float = 0.0, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.d_ff = check_int(d_ff, "d_ff", where="FeedForward")
        self.dropout = check_number(dropout, "dropout", minimum=0.0, maximum=1.0,
                                    include_maximum=False, where="FeedForward")
        self.activation = activation
        self.inner = layers.Dense(self.d_ff, activation=activation, dtype=self.dtype_policy,
                                  name="interna")
        self.dropout_layer = layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.outer = None

    def build(self, input_shape):
        self.outer = layers.Dense(int(input_shape[-1]), dtype=self.dtype_policy, name="externa")
        self.inner.build(input_shape)
        self.outer.build((*input_shape[:-1], self.d_ff))

    def call(self, inputs, training=None):
        return self.outer(self.dropout_layer(self.inner(inputs), training=training))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "d_ff": self.d_ff, "dropout": self.dropout,
                "activation": self.activation}


class _Block(layers.Layer):
    """Lo común a las capas de codificador y decodificador: sub-capas con residuo y norma.

    Post-norm (artículo): ``x = LayerNorm(x + Dropout(subcapa(x)))``.
    Pre-norm (opción): ``x = x + Dropout(subcapa(LayerNorm(x)))``.
    """

    def __init__(self, num_heads: int, d_ff: int, dropout: float = 0.1, norm_first: bool = False,
                 activation="relu", epsilon: float = 1e-6, *, sublayer_count: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.sublayer_count = sublayer_count
        where = type(self).__name__
        self.num_heads = check_int(num_heads, "num_heads", where=where)
        self.d_ff = check_int(d_ff, "d_ff", where=where)
        self.dropout = check_number(dropout, "dropout", minimum=0.0, maximum=1.0,
                                    include_maximum=False, where=where)
        self.norm_first = bool(norm_first)
        self.activation = activation
        self.epsilon = check_number(epsilon, "epsilon", minimum=0.0, maximum=1.0, where=where)
        policy = self.dtype_policy
        self.norms = [layers.LayerNormalization(epsilon=self.epsilon, dtype=policy,
                                                name=f"norma_{i + 1}")
                      for i in range(self.sublayer_count)]
        self.drops = [layers.Dropout(self.dropout, dtype=policy)
                      for _ in range(self.sublayer_count)]
        self.feed_forward = FeedForward(self.d_ff, self.dropout, activation, dtype=policy,
                                        name="feed_forward")

    def _attention(self, name):
        return MultiHeadAttention(self.num_heads, self._key_dim, dropout=self.dropout,
                                  dtype=self.dtype_policy, name=name)

    def _check_width(self, d_model: int) -> None:
        if d_model % self.num_heads:
            raise ArgumentError(
                f"{type(self).__name__}: d_model={d_model} debe ser múltiplo de "
                f"num_heads={self.num_heads}.")
        self._key_dim = d_model // self.num_heads

    def _residual(self, index, x, sublayer, training):
        """Aplica la sub-capa ``index`` con residuo y norma; ``sublayer(h) -> (y, extra)``."""
        if self.norm_first:
            y, extra = sublayer(self.norms[index](x))
            return x + self.drops[index](y, training=training), extra
        y, extra = sublayer(x)
        return self.norms[index](x + self.drops[index](y, training=training)), extra

    def _feed_forward(self, index, x, training):
        return self._residual(index, x, lambda h: (self.feed_forward(h, training=training), None),
                              training)[0]

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "d_ff": self.d_ff,
                "dropout": self.dropout, "norm_first": self.norm_first,
                "activation": self.activation, "epsilon": self.epsilon}


def _padding_to_attention(padding_mask):
    """Máscara de relleno ``(B, Tk)`` → máscara de atención ``(B, 1, Tk)`` (o ``None``)."""
    return None if padding_mask is None else ops.cast(padding_mask, "bool")[:, None, :]


@_register
class EncoderLayer(_Block):
    """Una capa del codificador: auto-atención + add & norm + feed-forward + add & norm.

    Args:
        num_heads: cabezas de atención (8 en el artículo).
        d_ff: neuronas internas del feed-forward (2048).
        dropout: dropout residual, de atención y del feed-forward (0.1).
        norm_first: pre-norm (``LayerNorm`` antes de cada sub-capa) en lugar de post-norm.
        activation: no linealidad del feed-forward.
        epsilon: épsilon de ``LayerNormalization``.
        **kwargs: argumentos de ``keras.layers.Layer``.

    Call args:
        inputs: ``(B, T, d_model)``.
        padding_mask: ``(B, T)`` booleana, ``False`` en el relleno (se ignora como clave).
        return_attention: devolver también los pesos ``(B, H, T, T)``.
    """

    def build(self, input_shape):
        self._check_width(int(input_shape[-1]))
        self.self_attention = self._attention("auto_atencion")
        self.self_attention.build(input_shape, input_shape)
        for norm in self.norms:
            norm.build(input_shape)
        self.feed_forward.build(input_shape)

    def call(self, inputs, padding_mask=None, training=None, return_attention=False):
        mask = _padding_to_attention(padding_mask)
        x, weights = self._residual(0, inputs, lambda h: self.self_attention(
            h, h, attention_mask=mask, return_attention_scores=True, training=training),
            training)
        x = self._feed_forward(1, x, training)
        return (x, weights) if return_attention else x


@_register
class DecoderLayer(_Block):
    """Una capa del decodificador: auto-atención enmascarada, atención cruzada y feed-forward.

    La auto-atención lleva siempre la máscara causal (la posición i no ve las j > i).
    Con ``cross_attention=False`` no hay atención cruzada (decodificador solo, estilo GPT).

    Args:
        num_heads: cabezas de atención.
        d_ff: neuronas internas del feed-forward.
        dropout: dropout residual, de atención y del feed-forward.
        norm_first: pre-norm en lugar de post-norm.
        cross_attention: incluir la atención sobre la salida del codificador.
        activation: no linealidad del feed-forward.
        epsilon: épsilon de ``LayerNormalization``.
        **kwargs: argumentos de ``keras.layers.Layer``.

    Call args:
        inputs: ``(B, T, d_model)``.
        memory: salida del codificador ``(B, S, d_model)`` (si hay atención cruzada).
        padding_mask: ``(B, T)`` del destino; ``memory_mask``: ``(B, S)`` del origen.
        return_attention: devolver también ``(pesos_auto, pesos_cruzados)``.
    """

    def __init__(self, num_heads: int, d_ff: int, dropout: float = 0.1, norm_first: bool = False,
                 cross_attention: bool = True, activation="relu", epsilon: float = 1e-6,
                 **kwargs):
        super().__init__(num_heads, d_ff, dropout, norm_first, activation, epsilon,
                         sublayer_count=3 if cross_attention else 2, **kwargs)
        self.cross_attention = bool(cross_attention)

    def build(self, inputs_shape, memory_shape=None):
        input_shape = inputs_shape
        self._check_width(int(input_shape[-1]))
        self.self_attention = self._attention("auto_atencion")
        self.self_attention.build(input_shape, input_shape)
        if self.cross_attention:
            self.cross_attention_layer = self._attention("atencion_cruzada")
            memory_shape = input_shape if memory_shape is None else memory_shape
            self.cross_attention_layer.build(input_shape, memory_shape)
        for norm in self.norms:
            norm.build(input_shape)
        self.feed_forward.build(input_shape)

    def call(self, inputs, memory=None, padding_mask=None, memory_mask=None, training=None,
             return_attention=False):
        length = ops.shape(inputs)[1]
        mask = causal_mask(length, length)[None]                          # (1, T, T)
        if padding_mask is not None:
            mask = ops.logical_and(mask, _padding_to_attention(padding_mask))
        x, self_weights = self._residual(0, inputs, lambda h: self.self_attention(
            h, h, attention_mask=mask, return_attention_scores=True, training=training),
            training)
        cross_weights = None
        if self.cross_attention:
            if memory is None:
                raise ArgumentError("DecoderLayer: falta «memory», la salida del codificador.")
            memory_attention = _padding_to_attention(memory_mask)
            x, cross_weights = self._residual(1, x, lambda h: self.cross_attention_layer(
                h, memory, attention_mask=memory_attention, return_attention_scores=True,
                training=training), training)
        x = self._feed_forward(self.sublayer_count - 1, x, training)
        return (x, (self_weights, cross_weights)) if return_attention else x

    def call_with_cache(self, inputs, cache, index, memory_cache=None, memory_mask=None):
        """Un paso de decodificación con caché de claves/valores.

        Args:
            inputs: los tokens nuevos ya embebidos, ``(B, 1, d_model)``.
            cache: ``(k, v)`` de la auto-atención, cada uno ``(B, H, L, dk)``; las
                posiciones ``< index`` ya están escritas.
            index: posición del token nuevo (tensor entero escalar).
            memory_cache: ``(k, v)`` de la atención cruzada, ``(B, H, S, dk)``,
                calculados una vez con :meth:`memory_key_value`.
            memory_mask: ``(B, S)`` del origen.

        Returns:
            ``(salida (B, 1, d_model), nueva caché (k, v))``.
        """
        cache_k, cache_v = cache
        visible = ops.less_equal(ops.arange(ops.shape(cache_k)[2]), index)[None, None, :]

        def self_attention(h):
            new_k, new_v = self.self_attention.project_key_value(h)        # (B, H, 1, dk)
            start = (0, 0, index, 0)
            keys = ops.slice_update(cache_k, start, ops.cast(new_k, cache_k.dtype))
            values = ops.slice_update(cache_v, start, ops.cast(new_v, cache_v.dtype))
            out = self.self_attention.attend(h, keys, values, attention_mask=visible)
            return out, (keys, values)

        x, new_cache = self._residual(0, inputs, self_attention, False)
        if self.cross_attention:
            memory_attention = _padding_to_attention(memory_mask)
            x, _ = self._residual(1, x, lambda h: (self.cross_attention_layer.attend(
                h, *memory_cache, attention_mask=memory_attention), None), False)
        x = self._feed_forward(self.sublayer_count - 1, x, False)
        return x, new_cache

    def memory_key_value(self, memory):
        """K y V de la atención cruzada para la caché: ``(k, v)``, cada uno ``(B, H, S, dk)``."""
        return self.cross_attention_layer.project_key_value(memory)

    def get_config(self):
        return {**super().get_config(), "cross_attention": self.cross_attention}


class _Stack(layers.Layer):
    """Pila de ``num_layers`` capas iguales; con pre-norm, una ``LayerNorm`` final."""

    layer_class: type = EncoderLayer

    def __init__(self, num_layers: int, num_heads: int, d_ff: int, dropout: float = 0.1,
                 norm_first: bool = False, activation="relu", epsilon: float = 1e-6, **kwargs):
        extra = {key: kwargs.pop(key) for key in self._extra_args() if key in kwargs}
        super().__init__(**kwargs)
        self.num_layers = check_int(num_layers, "num_layers", where=type(self).__name__)
        self.layer_kwargs = dict(num_heads=num_heads, d_ff=d_ff, dropout=dropout,
                                 norm_first=norm_first, activation=activation, epsilon=epsilon,
                                 **extra)
        self.blocks = [self.layer_class(**self.layer_kwargs, dtype=self.dtype_policy,
                                        name=f"capa_{i + 1}") for i in range(self.num_layers)]
        self.final_norm = None
        if norm_first:
            self.final_norm = layers.LayerNormalization(epsilon=epsilon, dtype=self.dtype_policy,
                                                        name="norma_final")

    @staticmethod
    def _extra_args():
        return ()

    def _finish(self, x):
        return x if self.final_norm is None else self.final_norm(x)

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers, **self.layer_kwargs}


@_register
class Encoder(_Stack):
    """La pila del codificador: ``num_layers`` :class:`EncoderLayer` (6 en el artículo).

    Call args:
        inputs: ``(B, S, d_model)`` ya embebidos.
        padding_mask: ``(B, S)``, ``False`` en el relleno.
        return_attention: devolver también la lista de pesos ``(B, H, S, S)`` por capa.
    """

    layer_class = EncoderLayer

    def build(self, input_shape):
        for block in self.blocks:
            block.build(input_shape)
        if self.final_norm is not None:
            self.final_norm.build(input_shape)

    def call(self, inputs, padding_mask=None, training=None, return_attention=False):
        x, maps = inputs, []
        for block in self.blocks:
            x, weights = block(x, padding_mask=padding_mask, training=training,
                               return_attention=True)
            maps.append(weights)
        x = self._finish(x)
        return (x, maps) if return_attention else x


@_register
class Decoder(_Stack):
    """La pila del decodificador: ``num_layers`` :class:`DecoderLayer`.

    Call args:
        inputs: ``(B, T, d_model)`` ya embebidos (el destino desplazado).
        memory: salida del codificador ``(B, S, d_model)``.
        padding_mask: ``(B, T)``; ``memory_mask``: ``(B, S)``.
        return_attention: devolver también la lista de ``(pesos_auto, pesos_cruzados)``.
    """

    layer_class = DecoderLayer

    @staticmethod
    def _extra_args():
        return ("cross_attention",)

    def build(self, inputs_shape, memory_shape=None):
        for block in self.blocks:
            block.build(inputs_shape, memory_shape)
        if self.final_norm is not None:
            self.final_norm.build(inputs_shape)

    def call(self, inputs, memory=None, padding_mask=None, memory_mask=None, training=None,
             return_attention=False):
        x, maps = inputs, []
        for block in self.blocks:
            x, weights = block(x, memory, padding_mask=padding_mask, memory_mask=memory_mask,
                               training=training, return_attention=True)
            maps.append(weights)
        x = self._finish(x)
        return (x, maps) if return_attention else x

    def call_with_cache(self, inputs, caches, index, memory_caches=None, memory_mask=None):
        """Un paso con caché en todas las capas; ``caches`` es una lista de ``(k, v)`` por capa.

        Returns:
            ``(salida (B, 1, d_model), nuevas cachés)``.
        """
        x, new_caches = inputs, []
        for i, block in enumerate(self.blocks):
            memory_cache = None if memory_caches is None else memory_caches[i]
            x, cache = block.call_with_cache(x, caches[i], index, memory_cache, memory_mask)
            new_caches.append(cache)
        return self._finish(x), new_caches

    def memory_key_value(self, memory):
        """Las ``(k, v)`` de la atención cruzada de cada capa para la caché."""
        return [block.memory_key_value(memory) for block in self.blocks]
