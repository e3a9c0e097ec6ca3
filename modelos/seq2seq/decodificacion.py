"""Decodificar con un seq2seq recurrente reutilizando su estado paso a paso.

:func:`modelos.transformer.translate`, :func:`~modelos.transformer.attention_maps` y
:func:`~modelos.transformer.decodificacion.sequence_limits` reconocen un modelo de
:func:`~modelos.seq2seq.build_seq2seq` y usan estas piezas: el codificador se ejecuta
una vez por frase (memoria, claves de la atención y estados iniciales) y cada token
nuevo es **un paso de la celda** recurrente (``LSTMCell``/``GRUCell`` de la capa
``decodificador``, con sus mismos pesos) más la atención de esa única consulta. La
búsqueda (voraz o en haz) es la misma del Transformer; en el haz, los estados de cada
hipótesis siguen a su haz padre.
"""

from __future__ import annotations

import numpy as np
from nucleo.keras_listo import ops

from nucleo.errores import ArgumentError
from modelos.registro import builder_spec
from modelos.compilado import compiled
from modelos.seq2seq.constructor import decode
from modelos.seq2seq.constructor import encode

BUILDER = "seq2seq"


def is_seq2seq(model) -> bool:
    """``True`` si ``model`` es un modelo de Keras de :func:`build_seq2seq`."""
    spec = builder_spec(model)
    return spec is not None and spec.name == BUILDER


class RecurrentParts:
    """Las capas de un seq2seq y sus funciones compiladas (codificar, un paso).

    Tiene la interfaz de las piezas del Transformer que usa la búsqueda:
    ``seq2seq``, ``source_positions``, ``max_positions``, ``forward`` (el modelo entero,
    para la referencia sin estado) y :meth:`scorer`.
    """

    seq2seq = True

    def __init__(self, model, where: str):

        spec = builder_spec(model)
        self.model = model
        self.where = where
        self.kwargs = dict(spec.kwargs)
        self.cell_name = self.kwargs["cell"]
        self.bidirectional = bool(self.kwargs["bidirectional_encoder"])
        self.reverse_source = bool(self.kwargs["reverse_source"])
        self.has_attention = self.kwargs["attention"] is not None
        self.max_positions = self.source_positions = int(self.kwargs["max_len"])
        self.get = model.get_layer
        self.cell = model.get_layer("decodificador").cell
        self.encode = compiled(self._encode)
        self.step = compiled(self._step)
        self.forward = compiled(lambda *inputs: model(
            [ops.convert_to_tensor(i) for i in inputs], training=False))

    def _encode(self, source):
        memory, states, mask = encode(self.get, source, cell=self.cell_name,
                                      bidirectional=self.bidirectional,
                                      reverse_source=self.reverse_source, training=False)
        keys = self.get("atencion").project_memory(memory) if self.has_attention else memory
        return memory, keys, mask, states

    def _step(self, tokens, states, memory, keys, mask, parents):
        """Un token por fila ``(N,)`` → log-probabilidades ``(N, V)``, estados y pesos."""
        if parents is not None:  # búsqueda en haz: cada fila sigue a su haz padre
            states = [ops.take(s, parents, axis=0) for s in states]
        y = self.get("embedding_destino")(tokens)                             # (N, E)
        hidden, states = self.cell(y, states, training=False)                 # (N, u)
        if not isinstance(states, (list, tuple)):
            states = [states]
        logits, weights = decode(self.get, ops.expand_dims(hidden, 1), memory, mask,
                                 attention=self.has_attention, keys=keys, training=False,
                                 return_attention=True)
        if weights is None:
            weights = ops.zeros((ops.shape(tokens)[0], 1, 1), "float32")
        log_probs = ops.log_softmax(ops.cast(logits[:, 0, :], "float32"), axis=-1)
        return log_probs, list(states), weights[:, 0, :]

    def scorer(self, source: np.ndarray) -> RecurrentScorer:
        return RecurrentScorer(self, source)

    def attention_maps(self, source: np.ndarray, target: np.ndarray) -> dict:
        """Los pesos de la atención con *teacher forcing*: ``{"decoder_cross": [(B, 1, T, S)]}``."""
        if not self.has_attention:
            raise ArgumentError(f"{self.where}: este seq2seq no tiene atención "
                                "(attention=None): no hay pesos que dibujar.")
        source = ops.convert_to_tensor(source, "int32")
        memory, states, mask = encode(self.get, source, cell=self.cell_name,
                                      bidirectional=self.bidirectional,
                                      reverse_source=self.reverse_source, training=False)
        y = self.get("embedding_destino")(ops.convert_to_tensor(target, "int32"))
        hidden = self.get("decodificador")(y, initial_state=states, training=False)[0]
        _, weights = decode(self.get, hidden, memory, mask, attention=True,
                            return_attention=True)
        # Una «capa» y una «cabeza», con la forma de los mapas del Transformer.
        return {"decoder_cross": [ops.convert_to_numpy(weights)[:, None]]}


class RecurrentScorer:
    """Log-probabilidades del siguiente token reutilizando el estado recurrente.

    Cada llamada es un paso de la celda (más la atención de esa consulta).
    """

    def __init__(self, parts: RecurrentParts, source: np.ndarray):
        self.parts = parts
        self.memory, self.keys, self.mask, self.states = parts.encode(
            ops.convert_to_tensor(source, "int32"))

    def __call__(self, tokens, index, parents):
        parents = None if parents is None else ops.convert_to_tensor(parents, "int32")
        log_probs, self.states, _ = self.parts.step(
            ops.convert_to_tensor(tokens, "int32"), self.states, self.memory, self.keys,
            self.mask, parents)
        return ops.convert_to_numpy(log_probs)


def recurrent_parts(model, where: str) -> RecurrentParts | None:
    """Las piezas de decodificación de ``model`` si es un seq2seq de Keras (``None`` si no)."""
    if not is_seq2seq(model):
        return None
    parts = getattr(model, "_redes_recurrent", None)
    if parts is None:
        parts = RecurrentParts(model, where)
        object.__setattr__(model, "_redes_recurrent", parts)  # fuera del rastreo de Keras
    return parts
