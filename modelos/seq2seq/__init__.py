"""El traductor recurrente (seq2seq LSTM/GRU con atención), rival del Transformer.

Módulos: ``capas`` (:class:`SequenceAttention`, aditiva o multiplicativa),
``constructor`` (:func:`build_seq2seq`) y ``decodificacion`` (la decodificación
token a token que reutiliza el estado recurrente; la usan
:func:`modelos.transformer.translate` y :func:`modelos.transformer.attention_maps`
cuando reciben un modelo de :func:`build_seq2seq`).

Ejemplo::

    from modelos.seq2seq import build_seq2seq
    from modelos.transformer import translate
    modelo = build_seq2seq(src_vocab, tgt_vocab, cell="lstm", units=256)
    modelo.fit([origen, destino_entrada], destino_salida, epochs=10)
    frases = translate(modelo, origen, max_len=20, beam_size=4)
"""

from modelos.seq2seq.capas import SequenceAttention
from modelos.seq2seq.constructor import build_seq2seq
from modelos.transformer.preprocesado import TOKENS
from modelos.registro import declare_family

__all__ = ["SequenceAttention", "build_seq2seq"]

declare_family("seq2seq", task="traduccion", preprocessor=TOKENS)
