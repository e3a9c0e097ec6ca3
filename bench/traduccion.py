"""Transformer frente a seq2seq LSTM/GRU con atención en la tarea de los números, lado a lado.

Responde con cifras a la tesis del post del Transformer (la atención ganó a las «seq2seq
LSTM» de la época). En una sola ejecución, para cada arquitectura y con el mismo
reparto, la misma semilla y el mismo tope de tiempo (``--minutos``):

1. **Números 0..999.999** (``train_numbers``): acierto exacto en los mismos 2.000
   números de prueba nunca vistos, parámetros, segundos de entrenamiento, fichas por
   segundo al entrenar y al decodificar (voraz, lotes de 500), y el acierto exacto
   según el número de palabras de la frase en español (dónde se rompe cada una).
2. **Generalización de longitud**: entrena solo con números < 100.000 y prueba con
   2.000 números de 6 cifras (100.000..999.999), frases más largas que ninguna vista.

Uso::

    .venv/bin/python bench/traduccion.py --minutos 12 [--arquitecturas transformer lstm]
    .venv/bin/python bench/traduccion.py --minutos 2 --pasos 100 --json traduccion.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Números de 6 cifras de la prueba de longitud, y su mínimo.
LONG_TEST = 2000
LONG_FROM = 100_000
#: Tabla de posiciones del Transformer (y tope de decodificación) en la prueba de longitud:
#: cabe con holgura la frase más larga de 0..999.999 (origen 9 palabras, destino 14 fichas
#: más <s> o </s>).
LONG_MAX_LEN = 32


def _by_words(numbers, predictions, references) -> dict[int, list[int]]:
    """Aciertos y total por número de palabras de la frase en español: ``{n: [ok, total]}``."""
    from datos.numeros import WordTokenizer, number_words

    buckets: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for number, prediction, reference in zip(numbers, predictions, references, strict=True):
        words = len(WordTokenizer.split(number_words(int(number), "es")))
        buckets[words][0] += int(prediction == reference)
        buckets[words][1] += 1
    return dict(sorted(buckets.items()))


def _evaluate(model, numbers, source_tok, target_tok) -> dict:
    """Acierto exacto (voraz), fichas generadas por segundo y aciertos por palabras."""
    from datos.numeros import WordTokenizer, encode_pairs
    from tareas.traduccion import exact_match

    pairs = encode_pairs(numbers, source_tok, target_tok)
    start = time.perf_counter()
    score, predictions = exact_match(model, pairs, target_tok)
    seconds = time.perf_counter() - start
    references = [target_tok.decode(row) for row in pairs.target_out]
    generated = sum(len(WordTokenizer.split(p)) + 1 for p in predictions)  # + «</s>»
    return {"exact_match": score, "numeros": len(numbers),
            "segundos_decodificacion": round(seconds, 1),
            "fichas_por_s_decodificacion": round(generated / seconds),
            "por_palabras": _by_words(pairs.numbers, predictions, references),
            "errores": [{"numero": int(n), "prediccion": p, "referencia": r}
                        for n, p, r in zip(pairs.numbers, predictions, references, strict=True)
                        if p != r][:10]}


def _train(architecture: str, run_dir: Path, *, maximum: int, minutes: float, steps: int,
           seed: int, n_train: int | None = 200_000, model: dict | None = None):
    from tareas.traduccion import train_numbers

    return train_numbers(run_dir=run_dir, architecture=architecture, maximum=maximum,
                         n_train=n_train, minutes=minutes, epochs=100_000,
                         steps_per_epoch=steps, seed=seed, verbose=0, **(model or {}))


def compare(architectures, minutes: float, steps: int, seed: int, root: Path) -> dict:
    """La tabla principal: 0..999.999, mismos 2.000 números de prueba."""
    from datos.numeros import MAX_NUMBER, make_tokenizers, split_numbers
    from tareas.traduccion.entrenar import DENSE_BELOW

    source_tok, target_tok = make_tokenizers(MAX_NUMBER)
    # El mismo reparto que train_numbers (mismos argumentos y semilla).
    split = split_numbers(MAX_NUMBER, n_validation=500, n_test=2000, n_train=200_000,
                          dense_below=DENSE_BELOW, seed=seed)
    rows = {}
    for architecture in architectures:
        logging.getLogger("redes").info("== %s: 0..999.999, %.1f minutos ==", architecture,
                                        minutes)
        result = _train(architecture, root / architecture, maximum=MAX_NUMBER,
                        minutes=minutes, steps=steps, seed=seed)
        evaluation = _evaluate(result.model, split.test, source_tok, target_tok)
        metrics = result.metrics
        rows[architecture] = {
            "parametros": int(result.model.count_params()),
            "segundos_entrenamiento": metrics["segundos_entrenamiento"],
            "pasos": metrics["pasos_entrenamiento"],
            "epocas": metrics["epocas"],
            "fichas_por_s_entrenamiento": metrics["fichas_por_s_entrenamiento"],
            **evaluation,
        }
    return rows


def length_generalisation(architectures, minutes: float, steps: int, seed: int,
                          root: Path) -> dict:
    """Entrena con 0..99.999 y prueba con 2.000 números de 6 cifras."""
    import numpy as np

    from datos.numeros import MAX_NUMBER, make_tokenizers

    # make_tokenizers(99.999) tiene el mismo vocabulario que el de 0..999.999: las
    # palabras de los números de 6 cifras ya salen antes; solo cambia la longitud.
    source_tok, target_tok = make_tokenizers(MAX_NUMBER)
    rng = np.random.default_rng(seed + 1)
    long_numbers = np.sort(rng.choice(np.arange(LONG_FROM, MAX_NUMBER + 1), LONG_TEST,
                                      replace=False))
    rows = {}
    for architecture in architectures:
        logging.getLogger("redes").info("== %s: < 100.000 → 6 cifras, %.1f minutos ==",
                                        architecture, minutes)
        result = _train(architecture, root / f"{architecture}_longitud",
                        maximum=LONG_FROM - 1, minutes=minutes, steps=steps, seed=seed,
                        n_train=None, model={"max_len": LONG_MAX_LEN})
        evaluation = _evaluate(result.model, long_numbers, source_tok, target_tok)
        rows[architecture] = {"exact_match_menores_100000": result.metrics["test_exact_match"],
                              "segundos_entrenamiento": result.metrics["segundos_entrenamiento"],
                              **evaluation}
    return rows


def print_tables(main_rows: dict, long_rows: dict | None) -> None:
    names = list(main_rows)
    if main_rows:
        print("\n== Números 0..999.999: 2.000 números de prueba nunca vistos ==")
        print(f"{'arquitectura':14s} {'exacto':>8s} {'parámetros':>11s} {'s entren.':>10s} "
              f"{'pasos':>7s} {'fichas/s ent.':>14s} {'fichas/s dec.':>14s}")
        for name, row in main_rows.items():
            print(f"{name:14s} {row['exact_match']:8.4f} {row['parametros']:11,d} "
                  f"{row['segundos_entrenamiento']:10.0f} {row['pasos']:7d} "
                  f"{row['fichas_por_s_entrenamiento']:14,d} "
                  f"{row['fichas_por_s_decodificacion']:14,d}")
        print("\n== Acierto exacto según las palabras de la frase en español ==")
        words = sorted({n for row in main_rows.values() for n in row["por_palabras"]})
        print(f"{'palabras':>8s} {'números':>8s} " + " ".join(f"{n:>12s}" for n in names))
        for n in words:
            total = main_rows[names[0]]["por_palabras"][n][1]
            cells = []
            for name in names:
                ok, count = main_rows[name]["por_palabras"][n]
                cells.append(f"{ok / count:12.3f}")
            print(f"{n:8d} {total:8d} " + " ".join(cells))
    if long_rows:
        print(f"\n== Longitud: entrenado con < 100.000, probado con {LONG_TEST} números de "
              "6 cifras ==")
        print(f"{'arquitectura':14s} {'< 100.000':>10s} {'6 cifras':>10s} {'s entren.':>10s}")
        for name, row in long_rows.items():
            print(f"{name:14s} {row['exact_match_menores_100000']:10.4f} "
                  f"{row['exact_match']:10.4f} {row['segundos_entrenamiento']:10.0f}")
        for name, row in long_rows.items():
            print(f"  {name}, errores de ejemplo:")
            for mistake in row["errores"][:3]:
                print(f"    {mistake['numero']}: «{mistake['prediccion']}» "
                      f"(referencia «{mistake['referencia']}»)")


def main(argv=None) -> int:
    from cli.comun import bounded_float, positive_int

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutos", type=bounded_float(0.0, 1e4), default=12.0,
                        help="tope de entrenamiento por arquitectura y prueba (12)")
    parser.add_argument("--arquitecturas", nargs="+", choices=("transformer", "lstm", "gru"),
                        default=["transformer", "lstm"], help="(transformer lstm)")
    parser.add_argument("--pasos", type=positive_int, default=500,
                        help="lotes por época: cada época valida y guarda (500)")
    parser.add_argument("--semilla", type=int, default=0, help="semilla (0)")
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument("--sin-longitud", action="store_true",
                       help="omite la prueba de generalización de longitud")
    parts.add_argument("--solo-longitud", action="store_true",
                       help="solo la prueba de generalización de longitud")
    parser.add_argument("--salida", help="carpeta de las ejecuciones (por defecto, temporal)")
    parser.add_argument("--json", help="escribe aquí todas las cifras")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from nucleo.entorno import prepare_backend

    prepare_backend()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_traduccion_") as temporary:
        root = Path(args.salida or temporary)
        main_rows = {} if args.solo_longitud else compare(
            args.arquitecturas, args.minutos, args.pasos, args.semilla, root)
        long_rows = None if args.sin_longitud else length_generalisation(
            args.arquitecturas, args.minutos, args.pasos, args.semilla, root)
    print_tables(main_rows, long_rows)
    total = time.perf_counter() - start
    print(f"\nTotal: {total:.0f} s ({args.minutos} minutos de entrenamiento por arquitectura "
          "y prueba).")
    if args.json:
        from nucleo.archivos import atomic_write

        data = {"minutos": args.minutos, "pasos_por_epoca": args.pasos, "semilla": args.semilla,
                "numeros": main_rows, "longitud": long_rows, "segundos_total": round(total)}
        atomic_write(args.json, lambda f: json.dump(data, f, ensure_ascii=False, indent=2),
                     text=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
