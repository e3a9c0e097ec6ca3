"""Los *embeddings* del Transformer: tokens y posiciones.

- :func:`positional_encoding_table` y :class:`PositionalEncoding`: la codificación
  sinusoidal del artículo, ``PE(pos, 2i) = sin(pos / 10000^(2i/d))`` y
  ``PE(pos, 2i+1) = cos(...)``.
- :class:`TokenAndPositionEmbedding`: ``embedding(token) · √d_model + PE(pos)``; con
  ``reverse=True`` proyecta de vuelta al vocabulario con la misma matriz (pesos atados).

El id :data:`PAD_ID` (0) es el relleno en todos los modelos del Transformer: las
máscaras de relleno son ``ids != PAD_ID``. La tabla de posiciones tiene ``max_len``
filas: una secuencia más larga es un :class:`~nucleo.errores.ArgumentError` que nombra
el límite (no un índice fuera de rango en mitad del cálculo).

Referencia:
    Vaswani et al. (2017), «Attention is all you need», sección 3.5,
    https://arxiv.org/abs/1706.03762.
"""

from __future__ import annotations

import math

from nucleo.keras_listo import keras
import numpy as np
from nucleo.keras_listo import layers
from nucleo.keras_listo import ops

from nucleo.errores import ArgumentError
from nucleo.validacion import check_int

#: El id del relleno: no es un token, no se atiende y no cuenta en la pérdida.
PAD_ID = 0


def _register(cls):
    return keras.saving.register_keras_serializable(package="redes")(cls)


def check_positions(length, max_len: int, start_index=0, *, where: str) -> None:
    """Comprueba que ``length`` posiciones desde ``start_index`` caben en la tabla.

    Solo cuando ambos se conocen al construir (enteros de Python): en un grafo con
    longitud dinámica no hay nada que comprobar todavía.

    Raises:
        ArgumentError: con los tokens recibidos y el máximo (``max_len``).
    """
    if not (isinstance(length, (int, np.integer)) and isinstance(start_index, (int, np.integer))):
        return
    if length + start_index > max_len:
        since = f" a partir de la posición {start_index}" if start_index else ""
        raise ArgumentError(
            f"{where}: la secuencia tiene {length} tokens{since} y el modelo admite como "
            f"máximo {max_len} (max_len, las filas de su tabla de posiciones).")


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
        # Una constante, no un peso: se recalcula de la configuración al cargar. Se guarda
        # en numpy y se convierte en cada llamada: así, al trazar un grafo (exportar a
        # ONNX, SavedModel...) queda como constante del grafo y no como tensor capturado,
        # que tf2onnx convertiría en una entrada más del modelo.
        self.table = positional_encoding_table(self.max_len, int(input_shape[-1]))

    def positions(self, length, start_index=0):
        """La tabla para las posiciones ``start_index ... start_index + length - 1``: (T, d).

        Raises:
            ArgumentError: si las posiciones pasan de ``max_len`` (longitud conocida).
        """
        check_positions(length, self.max_len, start_index, where=self.name)
        index = ops.arange(length) + ops.cast(start_index, "int32")
        table = ops.convert_to_tensor(self.table)
        return ops.cast(ops.take(table, index, axis=0), self.compute_dtype)

    def call(self, inputs, start_index=0):
        return inputs + self.positions(ops.shape(inputs)[1], start_index)  # (T, d) difunde

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
        vocab_size: tamaño del vocabulario (el id :data:`PAD_ID` es el relleno).
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
        check_positions(length, self.max_len, start_index, where=self.name)
        if self.learned_positions:
            index = ops.arange(length) + ops.cast(start_index, "int32")
            return x + self.position_embedding(index)
        return x + self.position_embedding.positions(length, start_index)

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

