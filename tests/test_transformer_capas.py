"""Capas del Transformer: configuración, fórmulas, máscaras y atención dorada contra Keras."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from nucleo.errores import ArgumentError
from modelos.transformer import Decoder
from modelos.transformer import DecoderLayer
from modelos.transformer import Encoder
from modelos.transformer import EncoderLayer
from modelos.transformer import FeedForward
from modelos.transformer import MaskedAccuracy
from modelos.transformer import MaskedSparseCrossEntropy
from modelos.transformer import MultiHeadAttention
from modelos.transformer import PositionalEncoding
from modelos.transformer import TokenAndPositionEmbedding
from modelos.transformer import WarmupSchedule
from modelos.transformer.incrustaciones import positional_encoding_table
from tests.helpers import run_layer_test

D, HEADS, FF = 16, 4, 32
RNG = np.random.default_rng(0)


def _x(batch=2, length=5, width=D, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, length, width)).astype("float32")


# Las variantes que no cubre tests/test_registrados.py (allí, la configuración por defecto
# de cada capa): clase, argumentos, entradas y forma de salida.
VARIANTS = {
    "embedding_aprendido": (TokenAndPositionEmbedding,
                            {"vocab_size": 20, "d_model": D, "max_len": 32,
                             "learned_positions": True},
                            np.array([[3, 4, 0], [5, 6, 7]], "int32"), (2, 3, D)),
    "codificador_capa_pre_norm": (EncoderLayer, {"num_heads": HEADS, "d_ff": FF,
                                                 "norm_first": True, "dropout": 0.0},
                                  _x(), (2, 5, D)),
    "decodificador_pre_norm": (Decoder, {"num_layers": 2, "num_heads": HEADS, "d_ff": FF,
                                         "norm_first": True, "dropout": 0.0},
                               [_x(), _x(seed=1)], (2, 5, D)),
    "gpt": (Decoder, {"num_layers": 1, "num_heads": HEADS, "d_ff": FF,
                      "cross_attention": False, "dropout": 0.0}, _x(), (2, 5, D)),
}


@pytest.mark.parametrize("case", sorted(VARIANTS))
def test_layer_variants(case, tmp_path):
    layer_class, kwargs, inputs, shape = VARIANTS[case]
    run_layer_test(layer_class, kwargs, inputs, expected_output_shape=shape, tmp_path=tmp_path)


def test_positional_encoding_is_the_papers_formula():
    table = positional_encoding_table(50, 16)
    for pos in (0, 1, 7, 49):
        for i in range(8):
            angle = pos / 10000 ** (2 * i / 16)
            assert table[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-6)
    out = keras.ops.convert_to_numpy(PositionalEncoding(50)(np.zeros((1, 7, 16), "float32")))
    np.testing.assert_allclose(out[0], table[:7], atol=1e-7)
    shifted = PositionalEncoding(50)
    shifted.build((None, None, 16))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(shifted.positions(2, 5)), table[5:7])


def test_embedding_scales_by_sqrt_d_model_and_reverses_with_the_same_matrix():
    layer = TokenAndPositionEmbedding(10, D, max_len=8)
    ids = np.array([[1, 2, 3]])
    out = keras.ops.convert_to_numpy(layer(ids))
    matrix = keras.ops.convert_to_numpy(layer.token_embedding.embeddings)
    np.testing.assert_allclose(out[0], matrix[[1, 2, 3]] * math.sqrt(D)
                               + positional_encoding_table(8, D)[:3], atol=1e-5)
    logits = keras.ops.convert_to_numpy(layer(out, reverse=True))
    np.testing.assert_allclose(logits, out @ matrix.T, atol=1e-4)


def _golden_pair(d_model=12, heads=3, key_dim=4, seed=0):
    """Nuestra atención y la de Keras con los mismos pesos (los de Keras, copiados)."""
    keras.utils.set_random_seed(seed)
    query, value = _x(2, 5, d_model, seed), _x(2, 6, d_model, seed + 1)
    reference = keras.layers.MultiHeadAttention(heads, key_dim)
    reference(query, value)
    ours = MultiHeadAttention(heads, key_dim)
    ours(query, value)
    q, qb, k, kb, v, vb, o, ob = reference.get_weights()  # (d, H, dk) ... (H, dk, d)
    inner = heads * key_dim
    ours.set_weights([q.reshape(d_model, inner), qb.reshape(inner),
                      k.reshape(d_model, inner), kb.reshape(inner),
                      v.reshape(d_model, inner), vb.reshape(inner),
                      o.reshape(inner, d_model), ob])
    return ours, reference, query, value


def test_attention_equals_keras_multi_head_attention_with_copied_weights():
    ours, reference, query, value = _golden_pair()
    mask = np.ones((2, 5, 6), bool)
    mask[0, :, 4:] = False            # relleno en la primera frase
    mask[1] = np.tril(mask[1])         # y un patrón causal en la segunda
    for attention_mask in (None, mask):
        got, got_w = ours(query, value, attention_mask=attention_mask,
                          return_attention_scores=True)
        want, want_w = reference(query, value, attention_mask=attention_mask,
                                 return_attention_scores=True)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got),
                                   keras.ops.convert_to_numpy(want), atol=1e-5)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got_w),
                                   keras.ops.convert_to_numpy(want_w), atol=1e-5)


def test_attention_causal_flag_equals_keras_causal_mask():
    ours, reference, query, _ = _golden_pair(seed=3)
    got = ours(query, query, use_causal_mask=True)
    want = reference(query, query, use_causal_mask=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want),
                               atol=1e-5)


def _changed(x, positions, seed=9):
    y = x.copy()
    y[:, positions] = np.random.default_rng(seed).normal(size=y[:, positions].shape) * 5
    return y


def test_encoder_padding_mask_hides_padded_positions():
    encoder = Encoder(2, HEADS, FF, dropout=0.0)
    x = _x(2, 6)
    padding = np.array([[1, 1, 1, 1, 0, 0]] * 2, bool)
    out = keras.ops.convert_to_numpy(encoder(x, padding_mask=padding))
    out2 = keras.ops.convert_to_numpy(encoder(_changed(x, [4, 5]), padding_mask=padding))
    np.testing.assert_allclose(out2[:, :4], out[:, :4], atol=1e-6)
    without_mask = keras.ops.convert_to_numpy(encoder(_changed(x, [4, 5])))
    assert np.abs(without_mask[:, :4] - out[:, :4]).max() > 1e-3  # la máscara hace algo


def test_decoder_causal_and_cross_attention_masks():
    decoder = Decoder(2, HEADS, FF, dropout=0.0)
    x, memory = _x(2, 5), _x(2, 6, seed=1)
    memory_mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]], bool)
    out = keras.ops.convert_to_numpy(decoder(x, memory, memory_mask=memory_mask))
    # Un token futuro no cambia las posiciones anteriores.
    future = keras.ops.convert_to_numpy(decoder(_changed(x, [3, 4]), memory,
                                                memory_mask=memory_mask))
    np.testing.assert_allclose(future[:, :3], out[:, :3], atol=1e-6)
    assert np.abs(future[:, 3:] - out[:, 3:]).max() > 1e-3
    # El relleno del origen no cambia nada en la atención cruzada.
    padded = keras.ops.convert_to_numpy(decoder(x, _changed(memory, [5]), memory_mask=memory_mask))
    np.testing.assert_allclose(padded, out, atol=1e-6)
    # Ni el relleno del destino (como clave) cambia los tokens reales.
    target_padding = np.array([[1, 1, 1, 0, 0]] * 2, bool)
    masked = keras.ops.convert_to_numpy(decoder(x, memory, padding_mask=target_padding,
                                                memory_mask=memory_mask))
    np.testing.assert_allclose(masked[:, :3], out[:, :3], atol=1e-6)


@pytest.mark.neutral
def test_cached_decoder_step_equals_full_pass():
    decoder = Decoder(2, HEADS, FF, dropout=0.0)
    x, memory = _x(1, 4), _x(1, 3, seed=1)
    full = keras.ops.convert_to_numpy(decoder(x, memory))
    caches = [(np.zeros((1, HEADS, 6, D // HEADS), "float32"),) * 2 for _ in range(2)]
    memory_caches = decoder.memory_key_value(memory)
    for t in range(4):
        step, caches = decoder.call_with_cache(x[:, t:t + 1], caches, t, memory_caches)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(step)[:, 0], full[:, t], atol=1e-5)


def test_mixed_bfloat16_layers_keep_softmax_in_float32():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        layer = EncoderLayer(HEADS, FF, dropout=0.0)
        out, weights = layer(_x(), return_attention=True)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert keras.backend.standardize_dtype(weights.dtype) == "float32"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.sum(weights, -1)), 1.0,
                               atol=1e-5)
    assert layer.self_attention.query_dense.kernel.dtype == "float32"


def test_warmup_schedule_values_and_round_trip():
    schedule = WarmupSchedule(512, 4000)
    # El artículo cuenta pasos desde 1; Keras, iteraciones desde 0.
    for iteration, expected in ((0, 512 ** -0.5 * 4000 ** -1.5),
                                (999, 512 ** -0.5 * 1000 * 4000 ** -1.5),
                                (3999, 512 ** -0.5 * 4000 ** -0.5),
                                (15999, 512 ** -0.5 * 16000 ** -0.5)):
        assert float(schedule(iteration)) == pytest.approx(expected, rel=1e-5)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(clone, WarmupSchedule) and clone.get_config() == schedule.get_config()
    optimizer = keras.optimizers.Adam(schedule, beta_2=0.98, epsilon=1e-9)
    restored = keras.optimizers.Adam.from_config(optimizer.get_config())
    assert isinstance(restored.learning_rate, WarmupSchedule) or isinstance(
        restored._learning_rate, WarmupSchedule)


def test_masked_loss_and_accuracy_ignore_padding():
    logits = RNG.normal(size=(2, 3, 5)).astype("float32")
    labels = np.array([[1, 2, 0], [4, 0, 0]])
    eps = 0.1
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    per_token = -(1 - eps) * np.take_along_axis(log_p, labels[..., None], -1)[..., 0] \
        - eps * log_p.mean(-1)
    mask = labels != 0
    expected = per_token[mask].mean()
    loss = MaskedSparseCrossEntropy(eps)(labels, logits)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    changed = logits.copy()
    changed[~mask] = 100.0  # los logits del relleno no cuentan
    assert float(MaskedSparseCrossEntropy(eps)(labels, changed)) == pytest.approx(expected,
                                                                                  rel=1e-5)
    metric = MaskedAccuracy()
    metric.update_state(labels, logits)
    hits = (logits.argmax(-1) == labels)[mask]
    assert float(metric.result()) == pytest.approx(hits.mean())


@pytest.mark.parametrize("make, message", [
    (lambda: EncoderLayer(3, FF)(_x()), "múltiplo"),
    (lambda: MultiHeadAttention(0, 4), "num_heads"),
    (lambda: FeedForward(8, dropout=1.5), "dropout"),
    (lambda: WarmupSchedule(512, 0), "warmup_steps"),
    (lambda: DecoderLayer(HEADS, FF)(_x()), "memory"),
])
def test_bad_arguments_raise_spanish_errors(make, message):
    with pytest.raises(ArgumentError, match=message):
        make()


@pytest.mark.parametrize("layer_class", [PositionalEncoding, TokenAndPositionEmbedding,
                                         MultiHeadAttention, FeedForward, EncoderLayer,
                                         DecoderLayer, Encoder, Decoder])
def test_registered_names_survive_the_split_of_capas(layer_class):
    # Las configuraciones guardadas antes nombran el módulo «modelos.transformer.capas».
    assert keras.saving.get_registered_name(layer_class) == f"redes>{layer_class.__name__}"
    config = keras.saving.serialize_keras_object(LAYERS_FOR_NAMES[layer_class]())
    config["module"] = "modelos.transformer.capas"
    assert type(keras.saving.deserialize_keras_object(config)) is layer_class


LAYERS_FOR_NAMES = {
    PositionalEncoding: lambda: PositionalEncoding(8),
    TokenAndPositionEmbedding: lambda: TokenAndPositionEmbedding(10, D, max_len=8),
    MultiHeadAttention: lambda: MultiHeadAttention(HEADS, 4),
    FeedForward: lambda: FeedForward(FF),
    EncoderLayer: lambda: EncoderLayer(HEADS, FF),
    DecoderLayer: lambda: DecoderLayer(HEADS, FF),
    Encoder: lambda: Encoder(1, HEADS, FF),
    Decoder: lambda: Decoder(1, HEADS, FF),
}


@pytest.mark.parametrize("learned", [False, True])
def test_embedding_longer_than_its_table_names_the_limit(learned):
    layer = TokenAndPositionEmbedding(10, D, max_len=4, learned_positions=learned)
    with pytest.raises(ArgumentError, match="6 tokens y el modelo admite como máximo 4"):
        layer(np.ones((1, 6), "int32"))
    with pytest.raises(ArgumentError, match="a partir de la posición 3 .* máximo 4"):
        layer(np.ones((1, 2), "int32"), start_index=3)
    assert tuple(layer(np.ones((1, 4), "int32")).shape) == (1, 4, D)
    with pytest.raises(ArgumentError, match="máximo 4"):
        PositionalEncoding(4)(np.zeros((1, 5, D), "float32"))
