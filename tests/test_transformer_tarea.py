"""La tarea de los números: datos, tokenizador, aprendizaje a escala reducida y la CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from datos.errores import ArgumentError, DataError
from datos.numeros import WordTokenizer
from datos.numeros import encode_pairs
from datos.numeros import make_tokenizers
from datos.numeros import number_words
from datos.numeros import split_numbers
from entrenamiento.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


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


# Modelo pequeño de 0..999 con los valores de la demo: ≈ 30 s en 2 núcleos.
SMALL_RUN = ["--maximo", "999", "--entrenamiento", "0", "--validacion", "50", "--prueba", "100",
             "--capas", "1", "--dmodelo", "64", "--cabezas", "4", "--dff", "128",
             "--dropout", "0", "--epocas", "30", "--pasos", "0", "--lote", "32",
             "--calentamiento", "300"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("transformer")
    code = main(["transformer", "entrenar", "--tarea", "numeros", *SMALL_RUN,
                 "--salida", str(root / "run"), "--json", str(root / "metricas.json")])
    assert code == 0
    return {"root": root, "weights": root / "run" / "modelo.h5",
            "json": json.loads((root / "metricas.json").read_text())}


@pytest.mark.slow
def test_scaled_down_translation_learns_held_out_numbers(trained):
    metrics = trained["json"]["metricas"]
    assert metrics["test_exact_match"] >= 0.8  # números de prueba nunca vistos
    assert trained["json"]["division"] == {"entrenamiento": 850, "validacion": 50, "prueba": 100}
    for key in ("pesos", "registro", "curvas"):
        assert Path(trained["json"]["archivos"][key]).is_file()


@pytest.mark.slow
def test_cli_translates_and_draws_attention(trained, tmp_path, capsys):
    out = tmp_path / "traducciones.json"
    assert main(["transformer", "traducir", "--pesos", str(trained["weights"]), "ciento veinte",
                 "trescientos cuarenta y dos", "--haz", "3", "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert [r["origen"] for r in results] == ["ciento veinte", "trescientos cuarenta y dos"]
    right = sum(r["traduccion"] == t for r, t in zip(
        results, ["one hundred and twenty", "three hundred and forty-two"]))
    assert right >= 1
    assert "ciento veinte → " in capsys.readouterr().out
    assert main(["transformer", "atencion", "--pesos", str(trained["weights"]),
                 "novecientos uno", "--salida", str(tmp_path / "mapas")]) == 0
    names = sorted(p.name for p in (tmp_path / "mapas").iterdir())
    assert names == ["atencion_codificador.png", "atencion_cruzada.png",
                     "atencion_decodificador.png"]
    assert all((tmp_path / "mapas" / n).read_bytes()[:8] == PNG_MAGIC for n in names)


@pytest.mark.slow
def test_cli_errors_are_one_spanish_line(trained, tmp_path, capsys):
    assert main(["transformer", "traducir", "--pesos", str(trained["weights"]),
                 "ciento patata"]) == 2
    assert "«patata»" in capsys.readouterr().err
    assert main(["transformer", "traducir", "--pesos", str(tmp_path / "no.h5"), "uno"]) == 2
    assert "No existe" in capsys.readouterr().err


def test_run_translation_demo_returns_translations(tmp_path, monkeypatch):
    from entrenamiento import transformer

    quick = dict(transformer.DEMO_SETTINGS, epochs=1, maximum=99, n_test=10, n_validation=10)
    monkeypatch.setattr(transformer, "DEMO_SETTINGS", quick)
    result = transformer.run_translation_demo(tmp_path)
    assert len(result["traducciones"]) == 5
    assert 0.0 <= result["metricas"]["test_exact_match"] <= 1.0
    assert (tmp_path / "modelo.h5").is_file()
