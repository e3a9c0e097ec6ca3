"""Constructores del Transformer: traductor (codificador-decodificador), BERT y GPT.

- :func:`build_transformer`: el modelo del artículo, entradas ``(origen, destino
  desplazado)`` y logits sobre el vocabulario de destino (*teacher forcing*).
- :func:`build_encoder_classifier`: solo codificador + agrupación + clasificador (BERT).
- :func:`build_decoder_lm`: solo decodificador causal que predice el siguiente token (GPT).

Se compilan como el artículo: entropía cruzada que ignora el relleno (suavizado 0.1
en la traducción), exactitud por token sin relleno y Adam(β1 0.9, β2 0.98, ε 1e-9)
con la tasa de calentamiento de 4000 pasos. Con la configuración base (6 + 6 capas,
d_model 512, 8 cabezas, d_ff 2048) y un vocabulario compartido de 37.000 tokens
(``share_embeddings=True``) el modelo tiene 63.082.496 parámetros, cerca de los ~65 M
del artículo.

Referencias:
    Vaswani et al. (2017), «Attention is all you need»; Devlin et al. (2018), BERT;
    Radford et al. (2018), GPT. Blog «¿Cómo funcionan los Transformers?».
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
from modelos.transformer.bloques import Decoder
from modelos.transformer.bloques import Encoder
from modelos.transformer.esquema import WarmupSchedule
from modelos.transformer.incrustaciones import PAD_ID
from modelos.transformer.incrustaciones import TokenAndPositionEmbedding
from modelos.transformer.perdidas import MaskedAccuracy
from modelos.transformer.perdidas import MaskedSparseCrossEntropy

#: Agrupaciones de :func:`build_encoder_classifier`.
POOLINGS = ("mean", "first")
# Los valores que guardaban los archivos anteriores («media», «primero»): modelos.load
# los traduce al nombre actual (register_builder(legacy_values=...)).
_LEGACY_POOLINGS = {"media": "mean", "primero": "first"}
# Cotas de tamaño: un archivo manipulado no puede pedir una red que no cabe en memoria.
MAX_LAYERS = 64
MAX_WIDTH = 16384
MAX_HEADS = 256
MAX_LEN = 65536
MAX_VOCAB = 2_000_000

# La configuración «base» del artículo (tabla 3).
BASE = {"num_layers": 6, "d_model": 512, "num_heads": 8, "d_ff": 2048, "dropout": 0.1}


def paper_optimizer(d_model: int, warmup_steps: int = 4000,
                    peak_learning_rate: float | None = None) -> keras.optimizers.Adam:
    """Adam(β1 0.9, β2 0.98, ε 1e-9) con :class:`WarmupSchedule` (sección 5.3).

    Con ``peak_learning_rate``, el esquema se escala para que su máximo (en el paso
    ``warmup_steps``) sea esa tasa (:meth:`WarmupSchedule.with_peak`); ``None``: el del
    artículo, ``(d_model · warmup_steps)^-0.5``.
    """
    schedule = (WarmupSchedule(d_model, warmup_steps) if peak_learning_rate is None
                else WarmupSchedule.with_peak(d_model, warmup_steps, peak_learning_rate))
    return keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9)


def _check_sizes(where: str, num_layers, d_model, num_heads, d_ff, dropout, max_len) -> None:
    check_int(num_layers, "num_layers", maximum=MAX_LAYERS, where=where)
    check_int(d_model, "d_model", maximum=MAX_WIDTH, where=where)
    check_int(num_heads, "num_heads", maximum=MAX_HEADS, where=where)
    check_int(d_ff, "d_ff", maximum=4 * MAX_WIDTH, where=where)
    check_int(max_len, "max_len", maximum=MAX_LEN, where=where)
    check_number(dropout, "dropout", minimum=0.0, maximum=1.0, include_maximum=False,
                 where=where)
    if d_model % num_heads:
        raise ArgumentError(f"{where}: «d_model» ({d_model}) debe ser múltiplo de «num_heads» "
                            f"({num_heads}).")


def _stack_kwargs(num_heads, d_ff, dropout, norm_first, activation) -> dict[str, Any]:
    return dict(num_heads=num_heads, d_ff=d_ff, dropout=dropout, norm_first=norm_first,
                activation=activation)


def _output_logits(embedding: TokenAndPositionEmbedding, x, tie_output: bool):
    """Proyección final a logits ``float32``: la matriz del embedding traspuesta o una Dense."""
    if tie_output:
        logits = embedding(x, reverse=True)
    else:
        logits = layers.Dense(embedding.vocab_size, dtype="float32", name="logits")(x)
    return layers.Activation("linear", dtype="float32", name="logits_salida")(logits)


def _compile_sequence_model(inputs, outputs, *, name, compile, optimizer, loss, metrics,
                            d_model, warmup_steps, label_smoothing,
                            peak_learning_rate=None) -> keras.Model:
    return finish_model(
        inputs, outputs, name=name, compile=compile, optimizer=optimizer, loss=loss,
        metrics=metrics,
        default_optimizer=lambda: paper_optimizer(d_model, warmup_steps, peak_learning_rate),
        default_loss=MaskedSparseCrossEntropy(label_smoothing, PAD_ID),
        default_metrics=[MaskedAccuracy(PAD_ID)],
    )


@register_builder("transformer")
def build_transformer(
    src_vocab: int,
    tgt_vocab: int,
    num_layers: int = 6,
    d_model: int = 512,
    num_heads: int = 8,
    d_ff: int = 2048,
    dropout: float = 0.1,
    max_len: int = 256,
    *,
    num_decoder_layers: int | None = None,
    norm_first: bool = False,
    learned_positions: bool = False,
    share_embeddings: bool = False,
    tie_output: bool = True,
    activation: str = "relu",
    label_smoothing: float = 0.1,
    warmup_steps: int = 4000,
    peak_learning_rate: float | None = None,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """El Transformer codificador-decodificador del artículo.

    ``origen`` ``(B, S)`` y ``destino`` desplazado ``(B, T)`` (empieza por ``<s>``) →
    logits ``(B, T, tgt_vocab)`` en ``float32``. El id 0 es el relleno en ambos.

    Args:
        src_vocab: tamaño del vocabulario de origen.
        tgt_vocab: tamaño del vocabulario de destino.
        num_layers: capas del codificador (y del decodificador si no se da
            ``num_decoder_layers``); 6 en el artículo.
        d_model: dimensión del modelo (512).
        num_heads: cabezas de atención (8, de 64 cada una).
        d_ff: neuronas internas del feed-forward (2048).
        dropout: dropout residual, de atención y de los *embeddings* (0.1).
        max_len: longitud máxima de origen y destino.
        num_decoder_layers: capas del decodificador, si difieren.
        norm_first: pre-norm en lugar del post-norm del artículo.
        learned_positions: posiciones aprendidas en lugar de las sinusoidales.
        share_embeddings: una única matriz para origen, destino y salida (el
            artículo, con su vocabulario compartido); exige ``src_vocab == tgt_vocab``.
        tie_output: la proyección final usa la matriz de *embedding* del destino
            traspuesta (el artículo); si no, una ``Dense`` propia con sesgo.
        activation: no linealidad del feed-forward.
        label_smoothing: suavizado de etiquetas de la pérdida (0.1).
        warmup_steps: pasos de calentamiento de la tasa de aprendizaje (4000).
        peak_learning_rate: la tasa máxima del esquema con calentamiento, la del paso
            ``warmup_steps`` (> 0 y ≤ 10); el esquema se escala sin cambiar su forma.
            ``None``: la del artículo, ``(d_model · warmup_steps)^-0.5``.
        compile: compilar con la pérdida, métrica y optimizador del artículo.
        optimizer: sustituye al optimizador.
        loss: sustituye a la pérdida.
        metrics: sustituye a las métricas.

    Returns:
        ``keras.Model`` con entradas ``[origen, destino]`` y salida ``logits``.

    Example:
        >>> modelo = build_transformer(1000, 1000, num_layers=2, d_model=128,
        ...                            num_heads=4, d_ff=512)
        >>> modelo([np.ones((2, 7)), np.ones((2, 5))]).shape
        TensorShape([2, 5, 1000])
    """
    where = "build_transformer"
    check_int(src_vocab, "src_vocab", minimum=2, maximum=MAX_VOCAB, where=where)
    check_int(tgt_vocab, "tgt_vocab", minimum=2, maximum=MAX_VOCAB, where=where)
    _check_sizes(where, num_layers, d_model, num_heads, d_ff, dropout, max_len)
    decoder_layers = check_int(num_layers if num_decoder_layers is None else num_decoder_layers,
                               "num_decoder_layers", where=where)
    if share_embeddings and src_vocab != tgt_vocab:
        raise ArgumentError(f"{where}: «share_embeddings» exige src_vocab == tgt_vocab; "
                            f"recibidos {src_vocab} y {tgt_vocab}.")
    if peak_learning_rate is not None:
        check_number(peak_learning_rate, "peak_learning_rate", minimum=0.0, maximum=10.0,
                     include_minimum=False, where=where)

    source = keras.Input(shape=(None,), dtype="int32", name="origen")
    target = keras.Input(shape=(None,), dtype="int32", name="destino")
    source_mask = ops.not_equal(source, PAD_ID)                           # (B, S)
    target_mask = ops.not_equal(target, PAD_ID)                           # (B, T)
    embed = dict(max_len=max_len, learned_positions=learned_positions)
    target_embedding = TokenAndPositionEmbedding(tgt_vocab, d_model, name="embedding_destino",
                                                 **embed)
    source_embedding = target_embedding if share_embeddings else TokenAndPositionEmbedding(
        src_vocab, d_model, name="embedding_origen", **embed)
    stack = _stack_kwargs(num_heads, d_ff, dropout, norm_first, activation)

    # === Codificador ===
    x = layers.Dropout(dropout, name="dropout_origen")(source_embedding(source))  # (B, S, d)
    memory = Encoder(num_layers, name="codificador", **stack)(x, padding_mask=source_mask)

    # === Decodificador ===
    y = layers.Dropout(dropout, name="dropout_destino")(target_embedding(target))  # (B, T, d)
    y = Decoder(decoder_layers, name="decodificador", **stack)(
        y, memory, padding_mask=target_mask, memory_mask=source_mask)

    logits = _output_logits(target_embedding, y, tie_output)                # (B, T, V)
    return _compile_sequence_model(
        [source, target], logits, name="transformer", compile=compile, optimizer=optimizer,
        loss=loss, metrics=metrics, d_model=d_model, warmup_steps=warmup_steps,
        label_smoothing=label_smoothing, peak_learning_rate=peak_learning_rate)


@register_builder("transformer_lm")
def build_decoder_lm(
    vocab_size: int,
    num_layers: int = 6,
    d_model: int = 512,
    num_heads: int = 8,
    d_ff: int = 2048,
    dropout: float = 0.1,
    max_len: int = 256,
    *,
    norm_first: bool = False,
    learned_positions: bool = False,
    tie_output: bool = True,
    activation: str = "relu",
    label_smoothing: float = 0.0,
    warmup_steps: int = 4000,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """Modelo de lenguaje solo decodificador (estilo GPT): predice el token siguiente.

    ``tokens`` ``(B, T)`` → logits ``(B, T, vocab_size)``; la posición t solo ve
    los tokens ≤ t (máscara causal). Se entrena con ``x = s[:, :-1]``, ``y = s[:, 1:]``.
    Los argumentos son los de :func:`build_transformer` (sin atención cruzada).

    Returns:
        ``keras.Model`` con entrada ``tokens`` y salida ``logits``.
    """
    where = "build_decoder_lm"
    check_int(vocab_size, "vocab_size", minimum=2, maximum=MAX_VOCAB, where=where)
    _check_sizes(where, num_layers, d_model, num_heads, d_ff, dropout, max_len)
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    mask = ops.not_equal(tokens, PAD_ID)
    embedding = TokenAndPositionEmbedding(vocab_size, d_model, max_len=max_len,
                                          learned_positions=learned_positions, name="embedding")
    x = layers.Dropout(dropout, name="dropout_tokens")(embedding(tokens))
    x = Decoder(num_layers, cross_attention=False, name="decodificador",
                **_stack_kwargs(num_heads, d_ff, dropout, norm_first, activation))(
        x, padding_mask=mask)
    logits = _output_logits(embedding, x, tie_output)
    return _compile_sequence_model(
        tokens, logits, name="transformer_lm", compile=compile, optimizer=optimizer, loss=loss,
        metrics=metrics, d_model=d_model, warmup_steps=warmup_steps,
        label_smoothing=label_smoothing)


@register_builder("transformer_clasificador", legacy_values={"pooling": _LEGACY_POOLINGS})
def build_encoder_classifier(
    vocab_size: int,
    num_classes: int,
    num_layers: int = 6,
    d_model: int = 512,
    num_heads: int = 8,
    d_ff: int = 2048,
    dropout: float = 0.1,
    max_len: int = 256,
    *,
    pooling: str = "mean",
    norm_first: bool = False,
    learned_positions: bool = False,
    activation: str = "relu",
    warmup_steps: int = 4000,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """Clasificador de secuencias solo codificador (estilo BERT).

    ``tokens`` ``(B, T)`` → codificador → agrupación → ``Dense(num_classes, softmax)``.
    Los argumentos que no se explican aquí son los de :func:`build_transformer`; se
    compila con entropía cruzada dispersa, ``accuracy`` y el Adam del artículo.

    Args:
        vocab_size: tamaño del vocabulario (id 0 = relleno).
        num_classes: número de clases.
        pooling: ``"mean"`` (media de las posiciones reales, sin relleno) o
            ``"first"`` (el vector del primer token, como el ``[CLS]`` de BERT). Los
            archivos guardados antes con ``"media"`` / ``"primero"`` se cargan traducidos.

    Returns:
        ``keras.Model`` con entrada ``tokens`` y salida ``(B, num_classes)`` (probabilidades).
    """
    where = "build_encoder_classifier"
    check_int(vocab_size, "vocab_size", minimum=2, maximum=MAX_VOCAB, where=where)
    check_int(num_classes, "num_classes", minimum=2, maximum=MAX_VOCAB, where=where)
    _check_sizes(where, num_layers, d_model, num_heads, d_ff, dropout, max_len)
    if pooling not in POOLINGS:
        raise ArgumentError(f"{where}: «pooling» debe ser 'mean' o 'first'; "
                            f"recibido {pooling!r}.")
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    mask = ops.not_equal(tokens, PAD_ID)
    embedding = TokenAndPositionEmbedding(vocab_size, d_model, max_len=max_len,
                                          learned_positions=learned_positions, name="embedding")
    x = layers.Dropout(dropout, name="dropout_tokens")(embedding(tokens))
    x = Encoder(num_layers, name="codificador",
                **_stack_kwargs(num_heads, d_ff, dropout, norm_first, activation))(
        x, padding_mask=mask)
    if pooling == "mean":
        pooled = layers.GlobalAveragePooling1D(name="agrupacion")(x, mask=mask)  # (B, d)
    else:
        pooled = x[:, 0, :]
    pooled = layers.Dropout(dropout, name="dropout_agrupacion")(pooled)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="salida")(
        pooled)
    return finish_model(
        tokens, outputs, name="transformer_clasificador", compile=compile, optimizer=optimizer,
        loss=loss, metrics=metrics,
        default_optimizer=lambda: paper_optimizer(d_model, warmup_steps),
        default_loss="sparse_categorical_crossentropy", default_metrics=["accuracy"],
    )
