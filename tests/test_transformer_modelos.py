"""Constructores del Transformer, guardado, decodificación con caché y mapas de atención."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import modelos
from nucleo.errores import ArgumentError
from modelos.transformer.decodificacion import attention_maps
from modelos.transformer.decodificacion import generate
from modelos.transformer.decodificacion import sequence_limits
from modelos.transformer.decodificacion import translate
from tests.helpers import run_model_saving_test

TINY = {"num_layers": 2, "d_model": 16, "num_heads": 4, "d_ff": 32, "max_len": 24}
RNG = np.random.default_rng(0)


def _ids(batch, length, vocab, pad_from=None, seed=0):
    ids = np.random.default_rng(seed).integers(4, vocab, size=(batch, length)).astype("int32")
    if pad_from is not None:
        ids[:, pad_from:] = 0
    return ids


@pytest.fixture(scope="module")
def seq2seq():
    keras.utils.set_random_seed(0)
    return modelos.build_transformer(30, 25, dropout=0.0, **TINY)


@pytest.fixture(scope="module")
def lm():
    keras.utils.set_random_seed(1)
    return modelos.build_decoder_lm(20, dropout=0.0, **TINY)


def test_builders_shapes(seq2seq, lm):
    assert tuple(seq2seq([_ids(3, 7, 30), _ids(3, 5, 25)]).shape) == (3, 5, 25)
    assert tuple(lm(_ids(2, 6, 20)).shape) == (2, 6, 20)
    for pooling in ("mean", "first"):
        classifier = modelos.build_encoder_classifier(30, 4, pooling=pooling, **TINY)
        probabilities = keras.ops.convert_to_numpy(classifier(_ids(2, 6, 30, pad_from=4)))
        assert probabilities.shape == (2, 4)
        np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    assert {"transformer", "transformer_lm", "transformer_clasificador"} <= set(
        modelos.builder_names())


def test_base_model_parameter_count_is_in_the_papers_ballpark():
    # Base del artículo con vocabulario compartido de 37.000 (embeddings atados).
    d, ff, vocab, n = 512, 2048, 37000, 6
    attention = 4 * (d * d + d)
    feed_forward = d * ff + ff + ff * d + d
    encoder_layer = attention + feed_forward + 2 * 2 * d
    decoder_layer = 2 * attention + feed_forward + 3 * 2 * d
    expected = n * encoder_layer + n * decoder_layer + vocab * d
    model = modelos.build_transformer(vocab, vocab, share_embeddings=True, compile=False)
    assert model.count_params() == expected == 63_082_496  # el artículo: ~65 M
    del model


def test_future_target_tokens_and_extra_padding_do_not_change_earlier_logits(seq2seq):
    source, target = _ids(2, 6, 30, pad_from=4), _ids(2, 5, 25)
    logits = keras.ops.convert_to_numpy(seq2seq([source, target]))
    changed = target.copy()
    changed[:, 3:] = _ids(2, 2, 25, seed=5)
    later = keras.ops.convert_to_numpy(seq2seq([source, changed]))
    # 1e-5: con otra longitud, oneDNN reparte las sumas de otra forma (diferencias de
    # ~1e-6 en logits de orden 1); una fuga del futuro o del relleno cambia décimas.
    np.testing.assert_allclose(later[:, :3], logits[:, :3], atol=1e-5)
    longer = np.concatenate([source, np.zeros((2, 3), "int32")], axis=1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(seq2seq([longer, target])), logits,
                               atol=1e-5)


@pytest.mark.parametrize("builder, args, inputs", [
    ("transformer", (30, 25), lambda: [_ids(2, 7, 30, pad_from=5), _ids(2, 4, 25)]),
    ("transformer_lm", (20,), lambda: _ids(2, 6, 20)),
    ("transformer_clasificador", (30, 3), lambda: _ids(2, 6, 30, pad_from=4)),
])
def test_save_load_round_trip(builder, args, inputs, tmp_path):
    model = modelos.get_builder(builder)(*args, **TINY)
    data = inputs()
    restored = run_model_saving_test(model, data, tmp_path / "modelo.h5")
    assert restored.name == model.name


def test_round_trip_with_shared_embeddings_and_pre_norm(tmp_path):
    model = modelos.build_transformer(30, 30, share_embeddings=True, norm_first=True,
                                      learned_positions=True, tie_output=False, **TINY)
    run_model_saving_test(model, [_ids(2, 5, 30), _ids(2, 4, 30)], tmp_path / "m.h5")


@pytest.mark.neutral
@pytest.mark.parametrize("beam_size", [1, 3])
def test_cached_and_uncached_translation_give_the_same_tokens(seq2seq, beam_size):
    source = _ids(3, 7, 30, pad_from=5, seed=2)
    cached = translate(seq2seq, source, 8, beam_size=beam_size)
    uncached = translate(seq2seq, source, 8, beam_size=beam_size, use_cache=False)
    assert cached == uncached
    assert all(len(row) > 0 for row in cached)


@pytest.mark.neutral
@pytest.mark.parametrize("temperature, top_k", [(0.0, None), (1.0, 5)])
def test_cached_and_uncached_generation_give_the_same_tokens(lm, temperature, top_k):
    prompt = np.array([[5, 6, 7], [8, 9, 10]])
    cached = generate(lm, prompt, 12, temperature=temperature, top_k=top_k, seed=3)
    uncached = generate(lm, prompt, 12, temperature=temperature, top_k=top_k, seed=3,
                        use_cache=False)
    np.testing.assert_array_equal(cached, uncached)
    assert cached.shape == (2, 12) and (cached[:, :3] == prompt).all() and (cached != 0).all()


def test_generation_is_seeded(lm):
    first = generate(lm, [5, 6], 10, temperature=1.0, seed=7)
    np.testing.assert_array_equal(first, generate(lm, [5, 6], 10, temperature=1.0, seed=7))


def test_attention_maps_every_layer_and_head(seq2seq):
    source = _ids(1, 6, 30, pad_from=4)
    maps = attention_maps(seq2seq, source, [[2, 7, 8]])
    assert [m.shape for m in maps["encoder"]] == [(1, 4, 6, 6)] * 2
    assert [m.shape for m in maps["decoder_self"]] == [(1, 4, 3, 3)] * 2
    assert [m.shape for m in maps["decoder_cross"]] == [(1, 4, 3, 6)] * 2
    for weights in (*maps["encoder"], *maps["decoder_cross"]):
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
        assert np.abs(weights[..., 4:]).max() == 0.0  # el relleno no recibe atención
    assert np.abs(np.triu(maps["decoder_self"][0][0, 0], 1)).max() == 0.0  # causal


def test_mixed_bfloat16_model_trains_and_decodes():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        model = modelos.build_transformer(30, 25, **TINY)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    source, target = _ids(4, 6, 30), _ids(4, 5, 25)
    assert model([source, target]).dtype == "float32"
    history = model.fit([source, target], target, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert translate(model, source, 8) == translate(model, source, 8, use_cache=False)


@pytest.mark.parametrize("call, message", [
    (lambda m: translate(m, [[5, 6]], 1000), "max_len"),
    (lambda m: translate(m, [[5, 6]], 5, beam_size=0), "beam_size"),
    (lambda m: translate(m, [["a"]], 5), "source_ids"),
    (lambda m: attention_maps(m, [[5, 6]], [[2], [2]]), "frases"),
    (lambda m: modelos.build_transformer(10, 12, share_embeddings=True), "share_embeddings"),
    (lambda m: modelos.build_transformer(10, 12, d_model=30, num_heads=4), "múltiplo"),
    (lambda m: modelos.build_encoder_classifier(10, 2, pooling="max"), "'mean' o 'first'"),
    (lambda m: translate(modelos.build_xor(), [[5]], 5), "codificador"),
])
def test_bad_arguments_raise_spanish_errors(seq2seq, call, message):
    with pytest.raises(ArgumentError, match=message):
        call(seq2seq)


def test_generate_rejects_padding_in_the_prompt(lm):
    with pytest.raises(ArgumentError, match="relleno"):
        generate(lm, [[5, 0, 6]], 8)


# === Longitudes: la tabla de posiciones tiene max_len filas (defecto 1) ===

def test_sequence_limits_are_the_positional_tables(seq2seq):
    assert sequence_limits(seq2seq) == (TINY["max_len"], TINY["max_len"])


def test_too_long_source_is_a_spanish_error_naming_the_limit(seq2seq):
    limit = TINY["max_len"]
    source = _ids(2, limit + 3, 30)
    source[0, limit:] = 0  # la primera cabe; la segunda no
    for beam_size in (1, 3):
        with pytest.raises(ArgumentError, match=f"fila 1.* {limit + 3} tokens .* como "
                                                f"máximo {limit}"):
            translate(seq2seq, source, 5, beam_size=beam_size)
    with pytest.raises(ArgumentError, match=f"{limit + 3} tokens .* máximo {limit}"):
        attention_maps(seq2seq, source, [[2, 5], [2, 6]])
    with pytest.raises(ArgumentError, match=f"«target» tiene {limit + 1} tokens"):
        attention_maps(seq2seq, source[:, :4], np.full((2, limit + 1), 5))


def test_trailing_padding_beyond_the_limit_is_dropped(seq2seq):
    limit = TINY["max_len"]
    source = _ids(2, 5, 30, seed=4)
    padded = np.concatenate([source, np.zeros((2, limit), "int32")], axis=1)
    assert translate(seq2seq, padded, 6) == translate(seq2seq, source, 6)


@pytest.mark.parametrize("use_cache", [True, False])
def test_decoding_up_to_the_last_position_works(seq2seq, lm, use_cache):
    limit = TINY["max_len"]
    source = _ids(2, limit, 30, seed=5)  # origen del tamaño exacto de la tabla
    # eos_id=-1: nunca termina, así que llega a la última posición de la tabla.
    for beam_size in (1, 2):
        out = translate(seq2seq, source, limit, beam_size=beam_size, eos_id=-1,
                        use_cache=use_cache)
        assert [len(row) for row in out] == [limit, limit]
    with pytest.raises(ArgumentError, match=f"max_len.* entre 1 y {limit}"):
        translate(seq2seq, source, limit + 1, use_cache=use_cache)
    assert generate(lm, [5, 6], limit, use_cache=use_cache).shape == (1, limit)


def test_generate_with_a_prompt_that_fills_the_table_names_the_limit(lm):
    limit = TINY["max_len"]
    with pytest.raises(ArgumentError, match=f"{limit} tokens .* como máximo {limit}"):
        generate(lm, np.full((1, limit), 5), limit + 5)
    with pytest.raises(ArgumentError, match=f"«max_len» debe ser un entero entre 4 y {limit}"):
        generate(lm, [5, 6, 7], limit + 1)


def test_beam_size_is_bounded(seq2seq):
    from modelos.transformer.decodificacion import MAX_BEAM

    with pytest.raises(ArgumentError, match=f"beam_size.* entre 1 y {MAX_BEAM}"):
        translate(seq2seq, [[5, 6]], 5, beam_size=MAX_BEAM + 1)


def test_model_called_on_a_too_long_input_names_the_limit(seq2seq):
    limit = TINY["max_len"]
    with pytest.raises(ArgumentError, match=f"{limit + 1} tokens y el modelo admite como "
                                            f"máximo {limit}"):
        seq2seq([_ids(1, limit + 1, 30), _ids(1, 3, 25)])


# === Opciones en inglés; los archivos con los nombres anteriores siguen cargando ===

@pytest.mark.parametrize("legacy, pooling", [("media", "mean"), ("primero", "first")])
def test_saved_classifier_with_legacy_pooling_value_loads(tmp_path, legacy, pooling):
    import h5py

    keras.utils.set_random_seed(0)
    model = modelos.build_encoder_classifier(30, 3, pooling=pooling, **TINY)
    assert modelos.registro.builder_spec(model).kwargs["pooling"] == pooling
    path = tmp_path / "clasificador.h5"
    modelos.save(model, path)
    with h5py.File(path, "r+") as f:  # como lo escribía la versión anterior
        kwargs = json.loads(f.attrs["kwargs"])
        kwargs["pooling"] = legacy
        f.attrs["kwargs"] = json.dumps(kwargs)
    assert modelos.load_metadata(path)["kwargs"]["pooling"] == pooling  # traducido al leer
    ids = _ids(2, 6, 30, pad_from=4)
    np.testing.assert_allclose(modelos.load(path).predict(ids, verbose=0),
                               model.predict(ids, verbose=0), atol=1e-6)


def test_builder_takes_one_name_per_pooling():
    """La API solo admite los nombres actuales; los antiguos solo se traducen al cargar."""
    with pytest.raises(ArgumentError, match="«pooling» debe ser 'mean' o 'first'"):
        modelos.build_encoder_classifier(30, 3, pooling="media", **TINY)


def test_builder_sizes_are_bounded():
    """Un archivo manipulado no puede pedir una red gigantesca (defecto 2)."""
    with pytest.raises(ArgumentError, match="«num_layers»"):
        modelos.build_transformer(30, 30, num_layers=10**6, d_model=8, num_heads=2, d_ff=8)
    with pytest.raises(ArgumentError, match="«max_len»"):
        modelos.build_decoder_lm(30, num_layers=1, d_model=8, num_heads=2, d_ff=8,
                                 max_len=10**9)
