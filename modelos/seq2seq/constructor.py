"""El traductor recurrente codificador-decodificador (seq2seq), rival del Transformer.

Un codificador LSTM o GRU (bidireccional por defecto) lee el origen; sus estados
finales (``return_state``) son el estado inicial del decodificador, que se entrena
con *teacher forcing* (``return_sequences``: una salida por token del destino
desplazado). Con atención, cada salida del decodificador mira todas las del
codificador (:class:`~modelos.seq2seq.capas.SequenceAttention`) y el contexto se
combina con ella antes de los logits (la atención global de Luong: se calcula sobre
la salida del decodificador en el paso t, sin realimentar el contexto a la entrada,
para que el decodificador sea una capa recurrente de Keras entera).

El relleno es el id 0 (como en el Transformer): la máscara del origen llega a las
capas recurrentes (un paso de relleno no cambia el estado) y a la atención (el
relleno recibe peso 0). Las funciones :func:`encode` y :func:`decode` aplican las
capas del modelo por su nombre; las usan el constructor, la decodificación token a
token y los mapas de atención, así que las tres hacen exactamente la misma cuenta.

Referencias:
    Sutskever, Vinyals y Le (2014), «Sequence to sequence learning with neural
    networks» (invertir el origen: ``reverse_source``); Cho et al. (2014), el GRU;
    Bahdanau et al. (2015) y Luong et al. (2015), la atención. Blog «¿Cómo funcionan
    los Transformers?» (las «seq2seq LSTM» a las que ganó la atención).
"""

from __future__ import annotations

from typing import Any


from nucleo.keras_listo import keras
from nucleo.keras_listo import layers
from nucleo.keras_listo import ops

from nucleo.errores import ArgumentError
from nucleo.validacion import check_int, check_number
from modelos.clasificacion.constructor import finish_model
from modelos.registro import register_builder
from modelos.seq2seq.capas import SequenceAttention
from modelos.transformer.incrustaciones import PAD_ID
from modelos.transformer.perdidas import MaskedAccuracy
from modelos.transformer.perdidas import MaskedSparseCrossEntropy

#: Celdas recurrentes admitidas y su capa de Keras.
CELLS = {"lstm": layers.LSTM, "gru": layers.GRU}
#: Atenciones admitidas → puntuación de :class:`SequenceAttention` (``None`` = sin atención).
ATTENTIONS = {"bahdanau": "additive", "luong": "general", None: None}
# Cotas: un archivo manipulado no puede pedir una red que no cabe en memoria.
MAX_UNITS = 16384
MAX_LEN = 65536
MAX_VOCAB = 2_000_000


def check_seq2seq_arguments(where: str, *, cell, attention, bidirectional_encoder,
                            reverse_source) -> None:
    """Errores claros para las opciones que no son números."""
    if cell not in CELLS:
        raise ArgumentError(f"{where}: «cell» debe ser 'lstm' o 'gru'; recibido {cell!r}.")
    if attention not in ATTENTIONS:
        raise ArgumentError(f"{where}: «attention» debe ser 'bahdanau', 'luong' o None; "
                            f"recibido {attention!r}.")
    for name, value in (("bidirectional_encoder", bidirectional_encoder),
                        ("reverse_source", reverse_source)):
        if not isinstance(value, bool):
            raise ArgumentError(f"{where}: «{name}» debe ser True o False; recibido {value!r}.")
    if bidirectional_encoder and reverse_source:
        raise ArgumentError(f"{where}: «reverse_source» (leer el origen al revés, "
                            "go_backwards) solo vale con un codificador de un sentido: el "
                            "bidireccional ya lo lee en los dos; use bidirectional_encoder=False.")


def encode(get, source, *, cell: str, bidirectional: bool, reverse_source: bool,
           training=None):
    """Aplica el codificador del modelo (capas por nombre con ``get``) a ``source``.

    Returns:
        ``(memoria (B, S, m), estados iniciales del decodificador, máscara (B, S))``: la
        memoria está en el orden del origen también con ``reverse_source``.
    """
    mask = ops.not_equal(source, PAD_ID)                                       # (B, S)
    x = get("embedding_origen")(source)                                        # (B, S, E)
    x = get("dropout_origen")(x, training=training)
    outputs = get("codificador")(x, mask=mask, training=training)
    memory, states = outputs[0], list(outputs[1:])
    if bidirectional:
        # [h→, (c→), h←, (c←)]: cada estado del decodificador sale de los dos sentidos.
        half = len(states) // 2
        forward, backward = states[:half], states[half:]
        states = [get(f"puente_{i}")(ops.concatenate([f, b], axis=-1))
                  for i, (f, b) in enumerate(zip(forward, backward, strict=True))]
    elif reverse_source:
        # go_backwards da las salidas en el orden en que se leyeron (del final al
        # principio): se devuelven al orden del origen para alinearlas con la máscara.
        memory = ops.flip(memory, axis=1)
    return memory, states, mask


def decode(get, hidden, memory, mask, *, attention: bool, keys=None, training=None,
           return_attention: bool = False):
    """De las salidas del decodificador ``(B, T, u)`` a logits ``(B, T, V)``.

    Con atención: contexto sobre la memoria → ``tanh(W [contexto; h])`` → logits.
    ``keys`` son las claves ya proyectadas (:meth:`SequenceAttention.project_memory`),
    para no recalcularlas en cada paso al decodificar.
    """
    weights = None
    if attention:
        layer = get("atencion")
        if keys is None:  # todo el destino de una vez (la capa entera, también en el grafo)
            context, weights = layer(hidden, memory, memory_mask=mask,
                                     return_attention=True)                     # (B, T, m)
        else:  # un paso, con las claves de la frase ya calculadas
            context, weights = layer.attend(hidden, keys, memory, mask)
        hidden = get("atencional")(ops.concatenate([context, hidden], axis=-1))  # (B, T, u)
    hidden = get("dropout_salida")(hidden, training=training)
    logits = get("logits")(hidden)                                             # (B, T, V)
    return (logits, weights) if return_attention else logits


def _named_layers(src_vocab: int, tgt_vocab: int, cell: str, units: int, embed_dim: int,
                  dropout: float, *, bidirectional_encoder: bool, attention: str | None,
                  attention_units: int | None, reverse_source: bool) -> dict[str, layers.Layer]:
    """Las capas del traductor por su nombre, las que aplican :func:`encode` y :func:`decode`."""
    recurrent = CELLS[cell]
    named: dict[str, layers.Layer] = {
        "embedding_origen": layers.Embedding(src_vocab, embed_dim, name="embedding_origen"),
        "dropout_origen": layers.Dropout(dropout, name="dropout_origen"),
        "embedding_destino": layers.Embedding(tgt_vocab, embed_dim, name="embedding_destino"),
        "dropout_destino": layers.Dropout(dropout, name="dropout_destino"),
        # return_sequences: una salida por token (la memoria de la atención);
        # return_state: los estados finales, que inician el decodificador.
        "decodificador": recurrent(units, return_sequences=True, return_state=True,
                                   name="decodificador"),
        "dropout_salida": layers.Dropout(dropout, name="dropout_salida"),
        "logits": layers.Dense(tgt_vocab, dtype="float32", name="logits"),
    }
    encoder_rnn = recurrent(units, return_sequences=True, return_state=True,
                            go_backwards=reverse_source,
                            name="codificador_rnn" if bidirectional_encoder else "codificador")
    if bidirectional_encoder:
        named["codificador"] = layers.Bidirectional(encoder_rnn, name="codificador")
        for i, activation in enumerate(("tanh", None)[: 2 if cell == "lstm" else 1]):
            named[f"puente_{i}"] = layers.Dense(units, activation=activation, name=f"puente_{i}")
    else:
        named["codificador"] = encoder_rnn
    if attention is not None:
        named["atencion"] = SequenceAttention(attention_units or units,
                                              score=ATTENTIONS[attention], name="atencion")
        named["atencional"] = layers.Dense(units, activation="tanh", name="atencional")
    return named


@register_builder("seq2seq")
def build_seq2seq(
    src_vocab: int,
    tgt_vocab: int,
    cell: str = "lstm",
    units: int = 256,
    embed_dim: int = 128,
    *,
    bidirectional_encoder: bool = True,
    attention: str | None = "bahdanau",
    attention_units: int | None = None,
    reverse_source: bool = False,
    dropout: float = 0.0,
    max_len: int = 256,
    learning_rate: float = 1e-3,
    clipnorm: float = 1.0,
    label_smoothing: float = 0.0,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """Traductor recurrente codificador-decodificador, con o sin atención.

    ``origen`` ``(B, S)`` y ``destino`` desplazado ``(B, T)`` (empieza por ``<s>``) →
    logits ``(B, T, tgt_vocab)`` en ``float32``, como :func:`build_transformer`: se
    entrena, traduce (:func:`modelos.transformer.translate`), dibuja su atención y se
    guarda igual.

    Args:
        src_vocab: tamaño del vocabulario de origen (id 0 = relleno).
        tgt_vocab: tamaño del vocabulario de destino.
        cell: ``"lstm"`` o ``"gru"``.
        units: neuronas de cada capa recurrente (cada sentido del codificador y el
            decodificador).
        embed_dim: dimensión de los *embeddings* de origen y destino.
        bidirectional_encoder: codificador ``Bidirectional``; sus estados finales de los
            dos sentidos se concatenan y una ``Dense`` (``puente_0``, ``puente_1``) los
            lleva a ``units`` para el decodificador.
        attention: ``"bahdanau"`` (aditiva), ``"luong"`` (multiplicativa general) o
            ``None`` (el decodificador solo ve los estados finales del codificador).
        attention_units: dimensión interna de la atención aditiva (por defecto ``units``).
        reverse_source: codificador de un sentido que lee el origen al revés
            (``go_backwards=True``), el truco de Sutskever et al.
        dropout: dropout de los *embeddings* y antes de los logits.
        max_len: tokens como máximo de origen y destino al traducir (las capas
            recurrentes no tienen tabla de posiciones; es la cota que comprueban
            ``translate`` y ``attention_maps``, como en el Transformer).
        learning_rate: tasa de Adam.
        clipnorm: recorte de la norma del gradiente de Adam (las RNN lo agradecen).
        label_smoothing: suavizado de etiquetas de la pérdida.
        compile: compilar con la entropía cruzada sin relleno, la exactitud por token
            y Adam.
        optimizer: sustituye al optimizador.
        loss: sustituye a la pérdida.
        metrics: sustituye a las métricas.

    Returns:
        ``keras.Model`` con entradas ``[origen, destino]`` y salida ``logits``.

    Raises:
        ArgumentError: un argumento fuera de rango, que se nombra.

    Example:
        >>> modelo = build_seq2seq(40, 30, cell="gru", units=32, embed_dim=16)
        >>> modelo([np.ones((2, 7)), np.ones((2, 5))]).shape
        (2, 5, 30)
    """
    where = "build_seq2seq"
    check_int(src_vocab, "src_vocab", minimum=2, maximum=MAX_VOCAB, where=where)
    check_int(tgt_vocab, "tgt_vocab", minimum=2, maximum=MAX_VOCAB, where=where)
    check_int(units, "units", maximum=MAX_UNITS, where=where)
    check_int(embed_dim, "embed_dim", maximum=MAX_UNITS, where=where)
    check_int(max_len, "max_len", maximum=MAX_LEN, where=where)
    if attention_units is not None:
        check_int(attention_units, "attention_units", maximum=MAX_UNITS, where=where)
    check_seq2seq_arguments(where, cell=cell, attention=attention,
                            bidirectional_encoder=bidirectional_encoder,
                            reverse_source=reverse_source)
    check_number(dropout, "dropout", minimum=0.0, maximum=1.0, include_maximum=False,
                 where=where)
    check_number(learning_rate, "learning_rate", minimum=0.0, maximum=10.0,
                 include_minimum=False, where=where)
    check_number(clipnorm, "clipnorm", minimum=0.0, maximum=1e6, include_minimum=False,
                 where=where)
    check_number(label_smoothing, "label_smoothing", minimum=0.0, maximum=1.0,
                 include_maximum=False, where=where)

    named = _named_layers(src_vocab, tgt_vocab, cell, units, embed_dim, dropout,
                          bidirectional_encoder=bidirectional_encoder, attention=attention,
                          attention_units=attention_units, reverse_source=reverse_source)

    source = keras.Input(shape=(None,), dtype="int32", name="origen")
    target = keras.Input(shape=(None,), dtype="int32", name="destino")

    # === Codificador ===
    memory, states, source_mask = encode(named.__getitem__, source, cell=cell,
                                         bidirectional=bidirectional_encoder,
                                         reverse_source=reverse_source)

    # === Decodificador (teacher forcing: el destino desplazado entero de una vez) ===
    y = named["dropout_destino"](named["embedding_destino"](target))          # (B, T, E)
    hidden = named["decodificador"](y, initial_state=states)[0]               # (B, T, u)
    logits = decode(named.__getitem__, hidden, memory, source_mask,
                    attention=attention is not None)

    return finish_model(
        [source, target], logits, name="seq2seq", compile=compile, optimizer=optimizer,
        loss=loss, metrics=metrics,
        default_optimizer=lambda: keras.optimizers.Adam(learning_rate, clipnorm=clipnorm),
        default_loss=MaskedSparseCrossEntropy(label_smoothing, PAD_ID),
        default_metrics=[MaskedAccuracy(PAD_ID)],
    )
