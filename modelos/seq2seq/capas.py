"""La atención de un seq2seq recurrente: aditiva (Bahdanau) o multiplicativa (Luong).

:class:`SequenceAttention` puntúa cada salida del codificador (la «memoria»,
``(B, S, m)``) frente a cada consulta del decodificador (``(B, T, d)``), enmascara el
relleno, normaliza con softmax (en ``float32``) y devuelve el contexto, la media
ponderada de la memoria. Para decodificar token a token, la parte que solo depende
de la memoria se calcula una vez por frase (:meth:`SequenceAttention.project_memory`)
y cada paso solo hace :meth:`SequenceAttention.attend` con una consulta.

Puntuaciones (``score``):

- ``"additive"`` (Bahdanau): ``vᵀ tanh(W_q q + W_k m)``, como ``keras.layers.AdditiveAttention``
  pero con proyecciones aprendidas de tamaño ``units``.
- ``"general"`` (Luong): ``qᵀ W m``, como la «general» del artículo de Luong.

Referencias:
    Bahdanau, Cho y Bengio (2015), «Neural machine translation by jointly learning to
    align and translate», https://arxiv.org/abs/1409.0473; Luong, Pham y Manning (2015),
    «Effective approaches to attention-based neural machine translation»,
    https://arxiv.org/abs/1508.04025.
"""

from __future__ import annotations

from nucleo.keras_listo import keras
from nucleo.keras_listo import layers
from nucleo.keras_listo import ops

from nucleo.errores import ArgumentError
from nucleo.validacion import check_int

#: Puntuaciones de :class:`SequenceAttention`.
SCORES = ("additive", "general")
_NEG_INF = -1e9  # en float32: exp(-1e9 - max) = 0 exacto


@keras.saving.register_keras_serializable(package="redes")
class SequenceAttention(layers.Layer):
    """Atención de una consulta sobre la memoria del codificador, con máscara de relleno.

    Args:
        units: dimensión interna de la puntuación aditiva (la de ``W_q``, ``W_k`` y
            ``v``); en la ``"general"`` no se usa (``W`` lleva la memoria a la
            dimensión de la consulta).
        score: ``"additive"`` (Bahdanau) o ``"general"`` (Luong).
        **kwargs: argumentos de ``keras.layers.Layer``.

    Call args:
        query: ``(B, T, d)``, las salidas del decodificador.
        memory: ``(B, S, m)``, las salidas del codificador.
        memory_mask: booleana ``(B, S)``; ``True`` = token real (se puede atender).
        return_attention: devolver también los pesos ``(B, T, S)`` (float32; cada
            fila suma 1 y las columnas de relleno valen 0).

    Returns:
        El contexto ``(B, T, m)`` (y los pesos, si se piden).

    Example:
        >>> capa = SequenceAttention(8, score="additive")
        >>> contexto, pesos = capa(np.ones((2, 3, 4)), np.ones((2, 5, 6)),
        ...                        return_attention=True)
        >>> contexto.shape, pesos.shape
        ((2, 3, 6), (2, 3, 5))
    """

    def __init__(self, units: int, score: str = "additive", **kwargs):
        super().__init__(**kwargs)
        self.units = check_int(units, "units", maximum=16384, where="SequenceAttention")
        if score not in SCORES:
            raise ArgumentError(f"SequenceAttention: «score» debe ser 'additive' o 'general'; "
                                f"recibido {score!r}.")
        self.score = score
        self.query_dense = self.key_dense = self.energy = None

    def build(self, query_shape, memory_shape=None):
        memory_shape = query_shape if memory_shape is None else memory_shape
        dense = dict(use_bias=False, dtype=self.dtype_policy)
        if self.score == "additive":
            self.query_dense = layers.Dense(self.units, name="query", **dense)
            self.key_dense = layers.Dense(self.units, name="key", **dense)
            self.energy = layers.Dense(1, name="energy", **dense)
            self.query_dense.build(query_shape)
            self.energy.build((*query_shape[:-1], self.units))
        else:
            self.key_dense = layers.Dense(int(query_shape[-1]), name="key", **dense)
        self.key_dense.build(memory_shape)

    def project_memory(self, memory):
        """Lo que solo depende de la memoria, una vez por frase: ``(B, S, units)`` en la
        aditiva, ``(B, S, d)`` en la general."""
        return self.key_dense(memory)

    def attend(self, query, keys, memory, memory_mask=None):
        """Contexto ``(B, T, m)`` y pesos ``(B, T, S)`` con las claves ya proyectadas."""
        if self.score == "additive":
            q = self.query_dense(query)                                        # (B, T, a)
            hidden = ops.tanh(ops.expand_dims(q, 2) + ops.expand_dims(keys, 1))  # (B, T, S, a)
            scores = ops.squeeze(self.energy(hidden), -1)                      # (B, T, S)
        else:
            scores = ops.matmul(query, ops.transpose(keys, (0, 2, 1)))         # (B, T, S)
        scores = ops.cast(scores, "float32")
        if memory_mask is not None:
            mask = ops.expand_dims(ops.cast(memory_mask, "bool"), 1)           # (B, 1, S)
            scores = ops.where(mask, scores, _NEG_INF)
        weights = ops.softmax(scores, axis=-1)                                 # (B, T, S)
        context = ops.matmul(ops.cast(weights, memory.dtype), memory)          # (B, T, m)
        return context, weights

    def call(self, query, memory, memory_mask=None, return_attention=False):
        context, weights = self.attend(query, self.project_memory(memory), memory, memory_mask)
        return (context, weights) if return_attention else context

    def get_config(self):
        return {**super().get_config(), "units": self.units, "score": self.score}
