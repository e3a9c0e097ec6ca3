"""Los bloques del Transformer: feed-forward, capas de codificador y decodificador, pilas.

- :class:`FeedForward`: ``Dense(d_ff) → Dropout → Dense(d_model)`` en cada posición.
- :class:`EncoderLayer` y :class:`DecoderLayer`: sub-capas con residuo y
  ``LayerNormalization``, post-norm como el artículo o pre-norm como opción; la del
  decodificador decodifica también token a token con caché de claves/valores.
- :class:`Encoder` y :class:`Decoder`: pilas de ``num_layers`` capas iguales.

Las máscaras de relleno son ``(B, T)`` booleanas (``ids != PAD_ID``), ``True`` = se
puede atender.

Referencia:
    Vaswani et al. (2017), «Attention is all you need», sección 3.1,
    https://arxiv.org/abs/1706.03762.
"""

from __future__ import annotations

from nucleo.keras_listo import keras
from nucleo.keras_listo import layers
from nucleo.keras_listo import ops

from nucleo.errores import ArgumentError
from nucleo.validacion import check_int, check_number
from modelos.transformer.atencion import MultiHeadAttention
from modelos.transformer.atencion import causal_mask


def _register(cls):
    return keras.saving.register_keras_serializable(package="redes")(cls)


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
    return None if padding_mask is None else ops.expand_dims(ops.cast(padding_mask, "bool"), 1)


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
        mask = ops.expand_dims(causal_mask(length, length), 0)            # (1, T, T)
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
        inputs = ops.convert_to_tensor(inputs)  # también si llega un arreglo de numpy
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
