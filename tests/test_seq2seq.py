"""El seq2seq recurrente (build_seq2seq): aprende, máscaras, go_backwards, guardado,
decodificación con estado, atención, recuento de parámetros, errores y la CLI."""

from __future__ import annotations

import json
from unittest import mock

import keras
import numpy as np
import pytest

import modelos
from nucleo.errores import ArgumentError
from cli import principal as cli
from modelos.transformer.decodificacion import BOS_ID
from modelos.transformer.decodificacion import EOS_ID
from modelos.transformer.decodificacion import attention_maps
from modelos.transformer.decodificacion import sequence_limits
from modelos.transformer.decodificacion import translate
from tests.helpers import run_model_saving_test

TINY = {"units": 12, "embed_dim": 8, "max_len": 16}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _ids(batch, length, vocab, pad_from=None, seed=0):
    ids = np.random.default_rng(seed).integers(4, vocab, size=(batch, length)).astype("int32")
    if pad_from is not None:
        ids[:, pad_from:] = 0
    return ids


def _logits(model, source, target):
    return keras.ops.convert_to_numpy(model([source, target], training=False))


@pytest.fixture(scope="module")
def lstm():
    keras.utils.set_random_seed(0)
    return modelos.build_seq2seq(30, 25, **TINY)


# === Aprender: invertir secuencias ===

def _reverse_pairs(count, rng, symbols=8, lengths=(2, 6)):
    """Secuencias de ``symbols`` símbolos (ids 4..) y su inversa, con relleno al final."""
    width = lengths[1]
    source = np.zeros((count, width), "int32")
    target = np.zeros((count, width + 1), "int32")
    for i in range(count):
        n = rng.integers(lengths[0], lengths[1] + 1)
        seq = rng.integers(4, 4 + symbols, n)
        source[i, :n] = seq
        target[i, :n] = seq[::-1]
        target[i, n] = EOS_ID
    target_in = np.concatenate([np.full((count, 1), BOS_ID, "int32"), target[:, :-1]], axis=1)
    target_in[target_in == EOS_ID] = 0
    return source, target_in, target


@pytest.mark.slow
def test_seq2seq_with_attention_learns_to_reverse_to_100_percent():
    rng = np.random.default_rng(0)
    source, target_in, target_out = _reverse_pairs(1000, rng)
    test_source, _, test_out = _reverse_pairs(200, np.random.default_rng(1))
    keras.utils.set_random_seed(0)
    # Un GRU de un sentido (trazar el grafo cuesta la mitad que el LSTM bidireccional):
    # sin atención tendría que guardar la secuencia entera en su estado final.
    model = modelos.build_seq2seq(12, 12, "gru", units=32, embed_dim=16, max_len=8,
                                  bidirectional_encoder=False, attention="bahdanau",
                                  learning_rate=0.01)
    model.fit([source, target_in], target_out, batch_size=32, epochs=6, verbose=0)
    predicted = translate(model, test_source, max_len=7)
    expected = [[t for t in row if t not in (0, EOS_ID)] for row in test_out]
    assert predicted == expected  # 100 % de las secuencias de prueba, exactas


# === go_backwards y Bidirectional ===

def test_go_backwards_really_reverses_the_source():
    """El codificador con go_backwards sobre el origen da lo mismo que el codificador normal,
    con los mismos pesos, sobre el origen invertido (solo los tokens reales)."""
    keras.utils.set_random_seed(2)
    kwargs = dict(TINY, bidirectional_encoder=False, attention="luong")
    backwards = modelos.build_seq2seq(30, 25, reverse_source=True, **kwargs)
    forwards = modelos.build_seq2seq(30, 25, reverse_source=False, **kwargs)
    forwards.set_weights(backwards.get_weights())
    source, target = _ids(3, 6, 30, pad_from=4), _ids(3, 5, 25, seed=1)
    reversed_source = source.copy()
    reversed_source[:, :4] = source[:, 3::-1]
    assert backwards.get_layer("codificador").go_backwards
    np.testing.assert_allclose(_logits(backwards, source, target),
                               _logits(forwards, reversed_source, target), atol=1e-5)
    # Y no es trivial: sin invertir el origen, el codificador normal da otra cosa.
    assert not np.allclose(_logits(backwards, source, target),
                           _logits(forwards, source, target), atol=1e-4)


def test_bidirectional_encoder_reads_both_ways(lstm):
    encoder = lstm.get_layer("codificador")
    assert isinstance(encoder, keras.layers.Bidirectional)
    assert encoder.backward_layer.go_backwards and not encoder.forward_layer.go_backwards
    # Cambiar el último token cambia la primera salida del codificador (la lee el sentido
    # de vuelta): la memoria del primer token ya «sabe» lo que viene después.
    source = _ids(1, 5, 30)
    changed = source.copy()
    changed[0, -1] = 4 if source[0, -1] != 4 else 5
    embed = lstm.get_layer("embedding_origen")
    first = [keras.ops.convert_to_numpy(encoder(embed(s))[0])[0, 0] for s in (source, changed)]
    assert not np.allclose(*first)


# === Máscaras: el relleno no cuenta ===

@pytest.mark.parametrize("kwargs", [
    {"cell": "lstm"},
    {"cell": "gru", "bidirectional_encoder": False, "attention": "luong"},
    {"cell": "lstm", "bidirectional_encoder": False, "reverse_source": True, "attention": None},
], ids=["lstm-bi-bahdanau", "gru-luong", "lstm-invertido-sin-atencion"])
def test_padding_is_ignored(kwargs):
    keras.utils.set_random_seed(3)
    model = modelos.build_seq2seq(30, 25, **TINY, **kwargs)
    source, target = _ids(2, 6, 30, pad_from=4), _ids(2, 5, 25, seed=1)
    logits = _logits(model, source, target)
    # Más columnas de relleno: los mismos logits.
    longer = np.concatenate([source, np.zeros((2, 3), "int32")], axis=1)
    np.testing.assert_allclose(_logits(model, longer, target), logits, atol=1e-6)
    # Lo que hay en las posiciones de relleno (el vector del id 0) no cambia nada...
    embedding = model.get_layer("embedding_origen")
    table = keras.ops.convert_to_numpy(embedding.embeddings).copy()
    table[0] = np.random.default_rng(4).normal(size=table.shape[1]) * 5
    embedding.embeddings.assign(table)
    np.testing.assert_allclose(_logits(model, source, target), logits, atol=1e-6)
    # ... y, como prueba de que la comparación ve algo, un token real sí cambia la salida.
    real = source.copy()
    real[:, 0] = np.where(source[:, 0] == 4, 5, 4)
    assert not np.allclose(_logits(model, real, target), logits, atol=1e-4)
    # El decodificador es causal: los tokens futuros del destino no cambian los anteriores.
    changed = target.copy()
    changed[:, 3:] = _ids(2, 2, 25, seed=5)
    np.testing.assert_allclose(_logits(model, source, changed)[:, :3], logits[:, :3],
                               atol=1e-6)


# === Guardado y decodificación ===

@pytest.mark.parametrize("kwargs", [{"cell": "lstm"}, {"cell": "gru", "attention": "luong"}],
                         ids=["lstm", "gru"])
def test_save_load_round_trip_gives_identical_predictions(kwargs, tmp_path):
    keras.utils.set_random_seed(5)
    model = modelos.build_seq2seq(30, 25, **TINY, **kwargs)
    source, target = _ids(3, 6, 30, pad_from=5), _ids(3, 5, 25, seed=1)
    restored = run_model_saving_test(model, [source, target], tmp_path / "s2s.h5", atol=0)
    assert modelos.registro.builder_spec(restored).kwargs == modelos.registro.builder_spec(
        model).kwargs
    # La traducción tras cargar la prueba la CLI (test_cli_trains_translates_...).


def _greedy_by_hand(model, source, steps):
    """Voraz de referencia: el modelo entero sobre el prefijo en cada paso, argmax."""
    prefix = np.full((len(source), 1), BOS_ID, "int32")
    for _ in range(steps):
        logits = _logits(model, source, prefix)[:, -1]
        logits[:, 0] = -np.inf  # el relleno nunca se genera
        prefix = np.concatenate([prefix, logits.argmax(-1)[:, None].astype("int32")], axis=1)
    return prefix[:, 1:].tolist()


def test_stateful_decoding_matches_recomputing_the_prefix(lstm):
    source = _ids(4, 6, 30, pad_from=4, seed=7)
    by_hand = _greedy_by_hand(lstm, source, 6)
    # eos_id=-1: ningún token termina; se comparan los 6 pasos enteros.
    assert translate(lstm, source, 6, eos_id=-1) == by_hand
    assert translate(lstm, source, 6, beam_size=1, eos_id=-1, use_cache=False) == by_hand
    # El paso con estado no vuelve a pasar el prefijo: una llamada a la celda por token.
    parts = lstm._redes_recurrent
    calls = []
    with mock.patch.object(parts, "step", side_effect=lambda *a: calls.append(1) or
                           parts._step(*a)):
        translate(lstm, source, 6, eos_id=-1)
    assert len(calls) == 6


def test_beam_search_of_width_one_is_the_greedy_search_and_beams_keep_their_state(lstm):
    source = _ids(3, 6, 30, pad_from=5, seed=8)
    greedy = translate(lstm, source, 7)
    assert translate(lstm, source, 7, beam_size=1) == greedy == _trimmed(
        _greedy_by_hand(lstm, source, 7))
    # En el haz, cada hipótesis se lleva el estado de su haz padre: lo mismo que volver a
    # pasar el prefijo entero de cada una.
    assert translate(lstm, source, 7, beam_size=4) == translate(lstm, source, 7, beam_size=4,
                                                                use_cache=False)


def _trimmed(rows):
    return [row[: row.index(EOS_ID)] if EOS_ID in row else row for row in rows]


def test_attention_maps_are_exposed_like_the_transformers(lstm):
    source, target = _ids(2, 6, 30, pad_from=4), _ids(2, 5, 25, seed=1)
    maps = attention_maps(lstm, source, target)
    assert list(maps) == ["decoder_cross"]
    (weights,) = maps["decoder_cross"]
    assert weights.shape == (2, 1, 5, 6)  # (B, capas·cabezas = 1, T, S)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert np.abs(weights[..., 4:]).max() == 0.0  # el relleno no recibe atención
    assert sequence_limits(lstm) == (16, 16)
    plain = modelos.build_seq2seq(30, 25, attention=None, **TINY)
    with pytest.raises(ArgumentError, match="no tiene atención"):
        attention_maps(plain, source, target)
    with pytest.raises(ArgumentError, match="tiene 20 tokens .* como máximo 16"):
        translate(lstm, _ids(1, 20, 30), 5)


# === Parámetros y errores ===

def _lstm(inputs, units):
    return 4 * (inputs * units + units * units + units)


def _gru(inputs, units):  # reset_after=True: dos sesgos
    return 3 * (inputs * units + units * units + 2 * units)


def test_parameter_count_matches_the_formula():
    src, tgt, units, embed, att = 30, 25, 12, 8, 6
    model = modelos.build_seq2seq(src, tgt, "lstm", units, embed, attention_units=att,
                                  compile=False)
    memory = 2 * units
    expected = (src * embed + tgt * embed                 # embeddings
                + 2 * _lstm(embed, units)                 # codificador bidireccional
                + 2 * (memory * units + units)            # puentes de h y c
                + _lstm(embed, units)                     # decodificador
                + units * att + memory * att + att        # atención aditiva: W_q, W_k, v
                + (memory + units) * units + units        # capa atencional
                + units * tgt + tgt)                      # logits
    assert model.count_params() == expected
    gru = modelos.build_seq2seq(src, tgt, "gru", units, embed, bidirectional_encoder=False,
                                attention="luong", compile=False)
    expected = (src * embed + tgt * embed + 2 * _gru(embed, units)
                + units * units                           # atención general: W
                + 2 * units * units + units + units * tgt + tgt)
    assert gru.count_params() == expected
    plain = modelos.build_seq2seq(src, tgt, "gru", units, embed, bidirectional_encoder=False,
                                  attention=None, compile=False)
    assert plain.count_params() == (src * embed + tgt * embed + 2 * _gru(embed, units)
                                    + units * tgt + tgt)


@pytest.mark.parametrize("kwargs, message", [
    ({"cell": "rnn"}, "«cell» debe ser 'lstm' o 'gru'; recibido 'rnn'"),
    ({"attention": "dot"}, "«attention» debe ser 'bahdanau', 'luong' o None"),
    ({"reverse_source": True}, "«reverse_source» .* solo vale con un codificador de un sentido"),
    ({"bidirectional_encoder": "sí"}, "«bidirectional_encoder» debe ser True o False"),
    ({"units": 0}, "«units» debe ser un entero entre 1"),
    ({"embed_dim": 2.5}, "«embed_dim» debe ser un entero"),
    ({"dropout": 1.0}, "«dropout»"),
    ({"src_vocab": 1}, "«src_vocab» debe ser un entero entre 2"),
    ({"learning_rate": 0}, "«learning_rate»"),
    ({"attention_units": -3}, "«attention_units»"),
    ({"celda": "lstm"}, "build_seq2seq: .*celda"),
])
def test_bad_arguments_give_clear_errors(kwargs, message):
    arguments = {"src_vocab": 30, "tgt_vocab": 25, **kwargs}
    with pytest.raises(ArgumentError, match=message):
        modelos.build_seq2seq(**arguments)


# === La tarea de los números con --arquitectura lstm ===

def _main(argv):
    with mock.patch.object(cli, "COMMAND_MODULES", ("cli.traduccion",)):
        return cli.main(argv)


def test_cli_trains_translates_and_draws_attention_with_an_lstm(tmp_path, capsys):
    from datos.numeros import number_words

    out = tmp_path / "metricas.json"
    code = _main(["traduccion", "entrenar", "--arquitectura", "lstm", "--maximo", "99",
                  "--frases-entrenamiento", "0", "--frases-validacion", "10",
                  "--frases-prueba", "20", "--unidades", "16", "--embedding", "8",
                  "--atencion", "luong", "--epocas", "2", "--lotes-por-epoca", "3", "--lote", "16",
                  "--salida", str(tmp_path / "run"), "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["modelo"]["arquitectura"] == "lstm"
    assert report["metricas"]["pasos_entrenamiento"] == 6
    assert report["metricas"]["fichas_por_s_entrenamiento"] > 0
    # Los 20 números de prueba: cada fallo está en «errores» (hasta 20) y el acierto es el
    # resto; la referencia de cada fallo es la de su número.
    assert report["metricas"]["test_exact_match"] == (20 - len(report["errores"])) / 20
    for mistake in report["errores"]:
        assert mistake["referencia"] == number_words(mistake["numero"], "en")
        assert mistake["prediccion"] != mistake["referencia"]
    assert "Seq2seq LSTM «numeros»" in capsys.readouterr().out
    weights = tmp_path / "run" / "modelo.h5"
    spec = modelos.registro.builder_spec(modelos.load(weights, compile=False))
    assert spec.name == "seq2seq" and spec.kwargs["cell"] == "lstm"
    assert spec.kwargs["attention"] == "luong" and spec.kwargs["units"] == 16
    assert _main(["traduccion", "predecir", "--pesos", str(weights), "noventa y nueve"]) == 0
    assert "noventa y nueve → " in capsys.readouterr().out
    assert _main(["traduccion", "atencion", "--pesos", str(weights), "noventa y nueve",
                  "--salida", str(tmp_path / "mapas")]) == 0
    names = sorted(p.name for p in (tmp_path / "mapas").iterdir())
    assert names == ["atencion_cruzada.png"]
    assert (tmp_path / "mapas" / names[0]).read_bytes()[:8] == PNG_MAGIC


def test_cli_refuses_an_unknown_architecture(capsys):
    with pytest.raises(SystemExit) as exit_info:
        _main(["traduccion", "entrenar", "--arquitectura", "rnn"])
    assert exit_info.value.code == 2
    assert "argumento --arquitectura" in capsys.readouterr().err


def test_train_numbers_refuses_an_unknown_architecture(tmp_path):
    from tareas.traduccion import train_numbers

    with pytest.raises(ArgumentError, match=r"«architecture \(--arquitectura\)» debe ser"):
        train_numbers(run_dir=tmp_path, architecture="lstm2")
