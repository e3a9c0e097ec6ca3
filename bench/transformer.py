"""Comparativas del Transformer, lado a lado en una sola ejecución.

1. Entrenamiento de **una capa de codificador** (post-norm, misma forma): la nuestra
   (:class:`modelos.transformer.EncoderLayer`) frente a un bloque equivalente hecho con
   ``keras.layers.MultiHeadAttention`` + ``LayerNormalization`` + ``Dense`` y frente a
   ``keras_hub.layers.TransformerEncoder`` (si está instalado), en float32 y
   ``mixed_bfloat16``: tokens por segundo de ``train_on_batch``. Las medidas se
   intercalan (nuestra, Keras, keras-hub, nuestra...) y se toma la mejor de varias
   rondas, para que la carga de la máquina afecte a todas por igual.
2. **Decodificación** con el traductor pequeño de la tarea de números (2 + 2 capas,
   d_model 128) y un modelo de lenguaje igual: tokens por segundo con la caché de
   claves/valores y re-ejecutando el prefijo entero (sin caché), voraz y en haz.

Uso: ``python bench/transformer.py [--rapido]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nucleo.entorno import import_tensorflow  # noqa: E402

import_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

import modelos  # noqa: E402
from modelos.transformer import EncoderLayer  # noqa: E402
from modelos.transformer.decodificacion import generate  # noqa: E402
from modelos.transformer.decodificacion import translate  # noqa: E402

D_MODEL, HEADS, D_FF = 128, 4, 512


def keras_block(d_model: int, heads: int, d_ff: int, dropout: float):
    """El mismo bloque post-norm con las capas de Keras (la referencia)."""
    inputs = keras.Input((None, d_model))
    attention = layers.MultiHeadAttention(heads, d_model // heads, dropout=dropout)(inputs, inputs)
    x = layers.LayerNormalization(epsilon=1e-6)(inputs + layers.Dropout(dropout)(attention))
    h = layers.Dense(d_ff, activation="relu")(x)
    h = layers.Dense(d_model)(layers.Dropout(dropout)(h))
    outputs = layers.LayerNormalization(epsilon=1e-6)(x + layers.Dropout(dropout)(h))
    return keras.Model(inputs, outputs)


def ours_block(d_model: int, heads: int, d_ff: int, dropout: float):
    inputs = keras.Input((None, d_model))
    return keras.Model(inputs, EncoderLayer(heads, d_ff, dropout=dropout)(inputs))


def hub_block(d_model: int, heads: int, d_ff: int, dropout: float):
    import keras_hub

    inputs = keras.Input((None, d_model))
    layer = keras_hub.layers.TransformerEncoder(d_ff, heads, dropout=dropout,
                                                layer_norm_epsilon=1e-6)
    return keras.Model(inputs, layer(inputs))


def _trainer(make, precision: str, batch: int, length: int):
    keras.mixed_precision.set_dtype_policy(precision)
    try:
        keras.utils.set_random_seed(0)
        model = make(D_MODEL, HEADS, D_FF, 0.1)
        model.compile(optimizer="adam", loss="mse")
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, length, D_MODEL)).astype("float32")
    y = rng.normal(size=(batch, length, D_MODEL)).astype("float32")
    for _ in range(3):
        model.train_on_batch(x, y)
    return model, x, y


def encoder_comparison(steps: int, rounds: int, batch: int = 64, length: int = 32) -> None:
    makers = {"nuestra EncoderLayer": ours_block,
              "keras.layers.MultiHeadAttention": keras_block}
    try:
        import keras_hub  # noqa: F401

        makers["keras_hub TransformerEncoder"] = hub_block
    except ImportError:
        print("keras_hub no está instalado: se omite su TransformerEncoder.")
    print(f"== Una capa de codificador, entrenamiento (lote {batch} × {length} tokens, "
          f"d_model {D_MODEL}, {HEADS} cabezas, d_ff {D_FF}) ==")
    print(f"{'bloque':34s} {'precisión':>15s} {'tokens/s':>10s} {'× Keras':>8s}")
    for precision in ("float32", "mixed_bfloat16"):
        runs = {name: _trainer(make, precision, batch, length) for name, make in makers.items()}
        best = dict.fromkeys(runs, 0.0)
        for _ in range(rounds):
            for name, (model, x, y) in runs.items():
                start = time.perf_counter()
                for _ in range(steps):
                    model.train_on_batch(x, y)
                best[name] = max(best[name], steps * batch * length / (time.perf_counter() - start))
        reference = best["keras.layers.MultiHeadAttention"]
        for name, rate in best.items():
            print(f"{name:34s} {precision:>15s} {rate:10.0f} {rate / reference:7.2f}×")


def _rate(fn, tokens: int, repeats: int) -> float:
    fn()  # calentamiento (trazado)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = max(best, tokens / (time.perf_counter() - start))
    return best


def decoding_comparison(batch: int, max_len: int, repeats: int) -> None:
    keras.utils.set_random_seed(0)
    source = np.random.default_rng(0).integers(4, 60, size=(batch, 12)).astype("int32")
    positions = max(max_len, source.shape[1])
    seq2seq = modelos.build_transformer(60, 40, num_layers=2, d_model=D_MODEL, num_heads=HEADS,
                                        d_ff=D_FF, max_len=positions, compile=False)
    lm = modelos.build_decoder_lm(60, num_layers=2, d_model=D_MODEL, num_heads=HEADS, d_ff=D_FF,
                                  max_len=positions, compile=False)
    print(f"\n== Decodificación: {batch} frases × {max_len} tokens (2 + 2 capas, d_model "
          f"{D_MODEL}); tokens generados por segundo ==")
    print(f"{'qué':38s} {'sin caché':>10s} {'con caché':>10s} {'aceleración':>12s}")
    cases = {
        "translate voraz": lambda cache: translate(seq2seq, source, max_len, eos_id=-1,
                                                   use_cache=cache),
        "translate haz 4": lambda cache: translate(seq2seq, source, max_len, beam_size=4,
                                                   eos_id=-1, use_cache=cache),
        "generate (top_k 10)": lambda cache: generate(lm, source[:, :2], max_len,
                                                      temperature=1.0, top_k=10, seed=0,
                                                      use_cache=cache),
    }
    for name, run in cases.items():
        generated = batch * (max_len - (2 if name.startswith("generate") else 0))
        slow = _rate(lambda run=run: run(False), generated, repeats)
        fast = _rate(lambda run=run: run(True), generated, repeats)
        print(f"{name:38s} {slow:10.0f} {fast:10.0f} {fast / slow:11.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rapido", action="store_true", help="pocas medidas (prueba de humo)")
    args = parser.parse_args()
    if args.rapido:
        encoder_comparison(steps=3, rounds=1)
        decoding_comparison(batch=8, max_len=8, repeats=1)
    else:
        encoder_comparison(steps=30, rounds=3)
        decoding_comparison(batch=64, max_len=32, repeats=2)


if __name__ == "__main__":
    main()
