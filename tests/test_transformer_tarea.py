"""La tarea de los números: datos, tokenizador, aprendizaje a escala reducida y la CLI."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import keras
import numpy as np
import pytest

import modelos
from nucleo.errores import ArgumentError, DataError
from datos.lotes_numeros import NumberBatches
from datos.numeros import WordTokenizer
from datos.numeros import encode_pairs
from datos.numeros import make_tokenizers
from datos.numeros import number_words
from datos.numeros import split_numbers
from cli import principal as cli
from informes.resultado import TaskResult
from tests.helpers import PNG_MAGIC


def main(argv):
    """``redes`` con solo la tarea ``traduccion`` (no depende de las demás órdenes)."""
    with mock.patch.object(cli, "COMMAND_MODULES", ("cli.traduccion",)):
        return cli.main(argv)


def test_number_words_from_num2words():
    assert number_words(342001, "es") == "trescientos cuarenta y dos mil uno"
    assert number_words(342001, "en") == "three hundred and forty-two thousand and one"


def test_tokenizer_round_trip_json_and_glue():
    texts = ["nine hundred and ninety-nine thousand, nine hundred and ninety-nine", "zero"]
    tokenizer = WordTokenizer.fit(texts)
    for text in texts:
        ids = tokenizer.encode(text, add_bos=True, add_eos=True)
        assert ids[0] == 2 and ids[-1] == 3
        assert tokenizer.decode(ids) == text
    restored = WordTokenizer.from_json(json.loads(json.dumps(tokenizer.to_json())))
    assert restored.vocabulary == tokenizer.vocabulary
    assert tokenizer.split("forty-two thousand, one") == ["forty", "-", "two", "thousand", ",",
                                                          "one"]


def test_tokenizer_errors_are_spanish():
    tokenizer = WordTokenizer.fit(["uno dos"])
    with pytest.raises(DataError, match="«tres» .* no está en el vocabulario"):
        tokenizer.encode("uno tres")
    assert tokenizer.encode("uno tres", strict=False) == [tokenizer.index["uno"], 1]
    with pytest.raises(DataError, match="tokenizador guardado no es válido"):
        WordTokenizer.from_json({"tipo": "letras"})


def test_out_of_vocabulary_error_names_a_few_words_and_shortens_a_huge_input():
    # Defecto 8: una línea de 10.000 palabras (40 KB) no se repetía entera en el error.
    tokenizer = WordTokenizer.fit(["uno dos"])
    words = " ".join(f"patata{i}" for i in range(9_999))
    with pytest.raises(DataError) as error:
        tokenizer.encode(f"uno {words}")
    message = str(error.value)
    assert len(message) < 400
    assert "9999 palabras" in message and "«patata0», «patata1»" in message
    assert "y 9994 más" in message and "«patata5»" not in message
    assert "…" in message  # la frase, cortada
    with pytest.raises(DataError) as error:
        tokenizer.encode_batch(["uno " * 5_000], length=3)
    assert len(str(error.value)) < 200 and "5000 tokens" in str(error.value)


def test_number_batches_cover_every_pair_once_per_epoch_and_are_seeded():
    source_tok, target_tok = make_tokenizers(99)
    pairs = encode_pairs(np.arange(50), source_tok, target_tok)
    batches = NumberBatches(pairs, 8, seed=1)
    assert len(batches) == 7
    (source, target_in), target_out = batches[0]
    assert source.shape[0] == target_in.shape[0] == target_out.shape[0] == 8
    seen = np.concatenate([batches[i][0][0] for i in range(len(batches))])
    assert sorted(map(tuple, seen)) == sorted(map(tuple, pairs.source))
    again = NumberBatches(pairs, 8, seed=1)
    np.testing.assert_array_equal(again[3][1], batches[3][1])
    assert len(NumberBatches(pairs, 8, steps_per_epoch=2)) == 2
    with pytest.raises(ArgumentError, match="batch_size"):
        NumberBatches(pairs, 0)


def test_split_is_by_number_disjoint_and_seeded():
    split = split_numbers(9999, n_validation=100, n_test=200, n_train=5000, seed=3)
    sets = [set(split.train), set(split.validation), set(split.test)]
    assert [len(s) for s in sets] == [5000, 100, 200]
    assert not (sets[0] & sets[2]) and not (sets[0] & sets[1]) and not (sets[1] & sets[2])
    again = split_numbers(9999, n_validation=100, n_test=200, n_train=5000, seed=3)
    np.testing.assert_array_equal(again.test, split.test)
    other = split_numbers(9999, n_validation=100, n_test=200, n_train=5000, seed=4)
    assert not np.array_equal(other.test, split.test)
    dense = split_numbers(99_999, n_validation=100, n_test=200, n_train=20_000,
                          dense_below=1000, seed=3)
    small = set(range(1000)) - set(dense.test) - set(dense.validation)
    assert small <= set(dense.train) and len(dense.train) == 20_000
    assert len(set(dense.train) & set(dense.test)) == 0
    with pytest.raises(ArgumentError, match="no caben"):
        split_numbers(99, n_validation=50, n_test=50)


def test_tokenizers_cover_every_number_and_pairs_are_shifted():
    source_tok, target_tok = make_tokenizers()
    numbers = np.random.default_rng(0).integers(0, 1_000_000, size=300)
    pairs = encode_pairs(numbers, source_tok, target_tok)  # sin palabras desconocidas
    assert (pairs.target_in[:, 0] == 2).all()
    np.testing.assert_array_equal(pairs.target_in[:, 1:], pairs.target_out[:, :-1])
    last = (pairs.target_out != 0).sum(1) - 1
    assert (pairs.target_out[np.arange(len(numbers)), last] == 3).all()
    assert source_tok.decode(pairs.source[0]) == number_words(numbers[0], "es")


# La orden de entrenar de principio a fin, en segundos: 0..999 con 100 números de
# entrenamiento y un modelo diminuto. Que el traductor aprende (acierto exacto en números
# que no vio) lo comprueba tests/test_demo.py con el de la demo: mismo reparto y modelo
# que un entrenamiento a escala reducida, y ahí se entrena una sola vez.
QUICK_RUN = ["--maximo", "999", "--frases-entrenamiento", "100", "--frases-validacion", "50",
             "--frases-prueba", "100", "--capas", "1", "--dmodelo", "16", "--cabezas", "2",
             "--dff", "32", "--dropout", "0", "--epocas", "2", "--lotes-por-epoca", "0",
             "--lote", "32"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("transformer")
    code = main(["traduccion", "entrenar", "--conjunto", "numeros", *QUICK_RUN,
                 "--salida", str(root / "run"), "--json", str(root / "metricas.json")])
    assert code == 0
    return {"root": root, "weights": root / "run" / "modelo.h5",
            "json": json.loads((root / "metricas.json").read_text())}


def test_cli_training_writes_its_files_and_split(trained):
    result = trained["json"]
    assert result["division"] == {"entrenamiento": 100, "validacion": 50, "prueba": 100}
    # Acierto exacto: frases enteras de las 100 de prueba; los fallos (hasta 20) se listan
    # con la referencia de su número.
    hits = round(result["metricas"]["test_exact_match"] * 100)
    assert result["metricas"]["test_exact_match"] == hits / 100
    assert result["metricas"]["numeros_prueba"] == 100
    assert len(result["errores"]) == min(20, 100 - hits)
    for mistake in result["errores"]:
        assert mistake["referencia"] == number_words(mistake["numero"], "en")
        assert mistake["prediccion"] != mistake["referencia"]
    assert result["metricas"]["epocas"] == 2
    for key in ("pesos", "registro", "curvas"):
        assert Path(result["archivos"][key]).is_file()
    rows = Path(result["archivos"]["registro"]).read_text().strip().splitlines()
    assert len(rows) == 3  # cabecera y 2 épocas
    assert Path(result["archivos"]["curvas"]).read_bytes()[:8] == PNG_MAGIC


def test_cli_errors_are_one_spanish_line(trained, tmp_path, capsys):
    assert main(["traduccion", "predecir", "--pesos", str(trained["weights"]),
                 "ciento patata"]) == 2
    assert "«patata»" in capsys.readouterr().err
    assert main(["traduccion", "predecir", "--pesos", str(tmp_path / "no.h5"), "uno"]) == 2
    assert "No existe" in capsys.readouterr().err
    # Defecto 1, la orden exacta del informe (el traductor de 0..999 de la demo).
    for order in ("predecir", "atencion"):
        assert main(["traduccion", order, "--pesos", str(trained["weights"]),
                     "novecientos noventa y nueve y nueve y nueve y nueve"]) == 2
        err = capsys.readouterr().err
        assert "tiene 10 palabras" in err and "como máximo 9" in err, err


def test_run_translation_demo_returns_a_task_result(tmp_path, monkeypatch):
    from tareas.traduccion import entrenar as transformer

    result = transformer.run_translation_demo(tmp_path, epochs=1, maximum=99, n_test=10,
                                              n_validation=10)
    assert isinstance(result, TaskResult)
    assert len(result.data["ejemplos"]) == 5 and len(result.tables[0].rows) == 5
    # Los 10 números de prueba: cada fallo está en «errores» y el acierto es el resto.
    mistakes = result.data["errores"]
    assert result.metrics["test_exact_match"] == (10 - len(mistakes)) / 10
    assert all(m["prediccion"] != number_words(m["numero"], "en") for m in mistakes)
    assert result.file("pesos") == tmp_path / "modelo.h5" and result.file("pesos").is_file()
    assert result.model is not None and len(result.history["loss"]) == 1
    assert set(result.to_json()) >= {"metricas", "archivos", "ejemplos", "division", "modelo"}
    # exact_match cuenta frases enteras, por lotes: un traductor de mentira que acierta 3
    # de 4 (la tercera, «twenty-five» por «thirty-five», acierta 2 de sus 3 fichas).
    from modelos.transformer import decodificacion

    source_tok, target_tok = make_tokenizers(99)
    pairs = encode_pairs(np.array([1, 20, 35, 99]), source_tok, target_tok)
    answers = pairs.target_out.copy()
    answers[2, 0] = answers[1, 0]
    lookup = {tuple(row): answer for row, answer in zip(pairs.source, answers, strict=True)}
    monkeypatch.setattr(decodificacion, "translate", lambda model, source, max_len, beam_size:
                        np.stack([lookup[tuple(row)] for row in source]))
    score, predictions = transformer.exact_match(None, pairs, target_tok, batch_size=3)
    assert score == 0.75
    assert predictions == ["one", "twenty", "twenty-five", "ninety-nine"]


# === Un traductor sin entrenar de 0..99: las comprobaciones de la CLI, en segundos ===

def _save_untrained_translator(path, maximum=99):
    """Un modelo.h5 con los metadatos de train_numbers, sin entrenar."""
    source_tok, target_tok = make_tokenizers(maximum)
    pairs = encode_pairs(np.arange(maximum + 1), source_tok, target_tok)
    lengths = {"origen": pairs.source.shape[1], "destino": pairs.target_in.shape[1]}
    keras.utils.set_random_seed(0)
    model = modelos.build_transformer(len(source_tok), len(target_tok), num_layers=1,
                                      d_model=16, num_heads=2, d_ff=16, dropout=0.0,
                                      max_len=max(lengths.values()) + 2)
    modelos.save(model, path, metadata={
        "tarea": "numeros", "maximo": maximum, "semilla": 0, "longitudes": lengths,
        "tokenizador_origen": source_tok.to_json(),
        "tokenizador_destino": target_tok.to_json()})
    return max(lengths.values()) + 2


@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    path = tmp_path_factory.mktemp("sin_entrenar") / "modelo.h5"
    return path, _save_untrained_translator(path)


LONG = "noventa y nueve y nueve y nueve y nueve"  # 9 palabras; la tabla tiene 6 filas


@pytest.mark.parametrize("order", [["predecir"], ["atencion"]])
def test_cli_too_long_sentence_names_the_limit(untrained, tmp_path, capsys, order):
    # Defecto 1: «error inesperado (InvalidArgumentError) indices[...] is not in [0, 6)».
    weights, limit = untrained
    assert limit == 6
    code = main(["traduccion", *order, "--pesos", str(weights), LONG,
                 *(["--salida", str(tmp_path / "mapas")] if order == ["atencion"] else [])])
    err = capsys.readouterr().err
    assert code == 2
    assert "tiene 9 palabras" in err and "como máximo 6" in err
    assert "inesperado" not in err and len(err.strip().splitlines()) == 1


def test_api_too_long_sentence_names_the_limit(untrained):
    from tareas.traduccion import attention_figures, translate_texts

    weights, _ = untrained
    for call in (lambda: translate_texts(weights, ["uno", LONG]),
                 lambda: attention_figures(weights, LONG)):
        with pytest.raises(DataError, match="tiene 9 palabras .* como máximo 6"):
            call()


def test_translate_and_attention_return_task_results(untrained, tmp_path):
    from tareas.traduccion import attention_figures, translate_texts

    weights, _ = untrained
    # Un modelo sin entrenar no emite «</s>»: la salida llega al tope sin romperse.
    results = translate_texts(weights, ["noventa y nueve", "uno"], beam_size=2)
    assert [type(r) for r in results] == [TaskResult] * 2
    assert [r.data["origen"] for r in results] == ["noventa y nueve", "uno"]
    assert all(r.text == [f"{r.data['origen']} → {r.data['traduccion']}"] for r in results)
    assert translate_texts(weights, "uno")[0].data["origen"] == "uno"  # una cadena, una frase
    figures = attention_figures(weights, "noventa y nueve", tmp_path / "mapas")
    assert sorted(figures.files) == ["atencion_codificador", "atencion_cruzada",
                                     "atencion_decodificador"]
    assert all(Path(p).read_bytes()[:8] == PNG_MAGIC for p in figures.files.values())
    with pytest.raises(DataError, match="ninguna vacía"):
        translate_texts(weights, ["uno", "  "])


def test_cli_unknown_words_are_named_not_echoed_whole(untrained, capsys):
    weights, _ = untrained
    huge = " ".join(["patata"] * 10_000)
    assert main(["traduccion", "predecir", "--pesos", str(weights), f"uno {huge}"]) == 2
    err = capsys.readouterr().err
    assert "«patata»" in err and len(err) < 400


@pytest.mark.parametrize("argv, flag", [
    (["entrenar", "--minutos", "0"], "--minutos"),
    (["entrenar", "--lote", "0"], "--lote"),
    (["entrenar", "--maximo", "1000000"], "--maximo"),
    (["entrenar", "--dropout", "1"], "--dropout"),
    (["entrenar", "--lotes-por-epoca", "-1"], "--lotes-por-epoca"),
    (["entrenar", "--capas", "x"], "--capas"),
    (["predecir", "--pesos", "m.h5", "uno", "--haz", "0"], "--haz"),
])
def test_cli_numeric_flags_are_checked_when_parsing(argv, flag, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["traduccion", *argv])
    assert exit_info.value.code == 2
    assert f"argumento {flag}" in capsys.readouterr().err


def test_cli_beam_above_the_limit_is_refused(untrained, capsys):
    from modelos.transformer.decodificacion import MAX_BEAM

    weights, _ = untrained
    assert main(["traduccion", "predecir", "--pesos", str(weights), "uno", "--haz",
                 str(MAX_BEAM + 1)]) == 2
    assert "--haz" in capsys.readouterr().err


def test_cli_output_paths_are_checked_before_training(tmp_path, capsys):
    from tareas import traduccion as transformer

    blocker = tmp_path / "archivo"
    blocker.write_text("x")
    with mock.patch.object(transformer, "train_numbers") as train_numbers:
        assert main(["traduccion", "entrenar", "--json", str(tmp_path)]) == 2
        assert "--json" in capsys.readouterr().err
        assert main(["traduccion", "entrenar", "--salida", str(blocker)]) == 2
        assert "--salida" in capsys.readouterr().err
        train_numbers.assert_not_called()


def test_cli_translate_checks_json_path_first(untrained, tmp_path, capsys):
    weights, _ = untrained
    assert main(["traduccion", "predecir", "--pesos", str(weights), "uno", "--json",
                 str(tmp_path)]) == 2
    assert "--json" in capsys.readouterr().err
    out = tmp_path / "t.json"
    assert main(["traduccion", "predecir", "--pesos", str(weights), "uno", "dos",
                 "--json", str(out)]) == 0
    assert [item["origen"] for item in json.loads(out.read_text())] == ["uno", "dos"]


# === Las opciones comunes de entrenar: --tasa y --paciencia actúan ===

def _epochs_logged(run: Path) -> int:
    """Épocas escritas en ``registro.csv`` (sin la cabecera)."""
    return len((run / "registro.csv").read_text().strip().splitlines()) - 1


def test_cli_rate_is_the_transformer_peak_and_patience_stops_it(tmp_path):
    from modelos.transformer import WarmupSchedule

    run = tmp_path / "transformer"
    # Con una tasa máxima casi nula la pérdida de validación no mejora: --paciencia 1 para
    # al poco (sin ella serían las 30 épocas).
    assert main(["traduccion", "entrenar", *QUICK_RUN, "--epocas", "30", "--tasa", "1e-9",
                 "--paciencia", "1", "--pasos-calentamiento", "10",
                 "--salida", str(run)]) == 0
    assert 2 <= _epochs_logged(run) < 30
    saved = json.loads((run / "configuracion.json").read_text())
    assert (saved["tasa"], saved["paciencia"]) == (1e-9, 1)
    # La tasa llega al modelo: el esquema del artículo, escalado, con su máximo en 1e-9 al
    # final del calentamiento.
    assert modelos.load_metadata(run / "modelo.h5")["kwargs"]["peak_learning_rate"] == 1e-9
    schedule = modelos.load(run / "modelo.h5").optimizer._learning_rate
    assert isinstance(schedule, WarmupSchedule) and schedule.peak == pytest.approx(1e-9)
    assert float(schedule(9)) == pytest.approx(1e-9, rel=1e-5)      # el paso 10
    assert float(schedule(8)) < 1e-9 and float(schedule(10)) < 1e-9
    # --config repite la tasa y la paciencia.
    again = tmp_path / "otra"
    assert main(["traduccion", "entrenar", "--config", str(run), "--salida", str(again)]) == 0
    repeated = json.loads((again / "configuracion.json").read_text())
    assert (repeated["tasa"], repeated["paciencia"], repeated["epocas"]) == (1e-9, 1, 30)
    assert _epochs_logged(again) < 30


def test_rate_is_the_adam_rate_of_the_seq2seq_and_none_keeps_the_defaults(trained, tmp_path):
    from modelos.transformer import WarmupSchedule
    from tareas.traduccion import train_numbers
    from tareas.traduccion.configuracion import TranslationConfig

    lstm = train_numbers(architecture="lstm", learning_rate=0.02, maximum=99, n_train=None,
                         n_validation=10, n_test=10, epochs=1, steps_per_epoch=1,
                         batch_size=16, units=8, embed_dim=8, run_dir=tmp_path / "lstm",
                         verbose=0)
    assert float(lstm.model.optimizer.learning_rate) == pytest.approx(0.02)
    assert float(modelos.load(lstm.file("pesos")).optimizer.learning_rate) == pytest.approx(0.02)
    # Sin --tasa: los constructores ponen la suya (Adam 0.001 en el seq2seq, el esquema del
    # artículo en el Transformer, el de la orden de QUICK_RUN).
    for architecture in ("lstm", "transformer"):
        kwargs = TranslationConfig(architecture=architecture).model_kwargs()
        assert "learning_rate" not in kwargs and "peak_learning_rate" not in kwargs
    schedule = modelos.load(trained["weights"]).optimizer._learning_rate
    assert isinstance(schedule, WarmupSchedule) and schedule.factor == 1.0
    assert schedule.peak == pytest.approx((16 * 1000) ** -0.5)
