"""Comparativas de clasificación, lado a lado en una sola ejecución.

1. En la misma división de ``load_digits`` (80/20 y 80/20, semilla 0): nuestra CNN de
   la demo, nuestro MLP (100, 50) y ``sklearn.neural_network.MLPClassifier`` (100, 50):
   exactitud en prueba y tiempo de ajuste.
2. Paso de entrenamiento de la CNN de deportes (blog, 21×28×3, lotes de 64 y también
   84×112×3) en float32 frente a ``mixed_bfloat16``: milisegundos por paso y razón.
   Cada precisión se mide en su propio subproceso (la política es global en Keras).

Uso: ``python bench/clasificacion.py [--pasos 50]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def digits_comparison(seed: int = 0) -> list[dict]:
    from nucleo.entorno import import_tensorflow

    import_tensorflow()  # antes de keras: sin el ruido de arranque de TensorFlow
    import keras
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    import modelos
    from datos.aumento import make_augmenter
    from datos.generadores import ImageBatches
    from datos.particiones import split_indices
    from tareas.demo import DIGITS_CONFIG

    digits = load_digits()
    # El mismo escalado que al leer los PNG de la demo: 0..16 → 0..255 → [0, 1].
    x = (np.round(digits.images * 255 / 16) / 255).astype("float32")[..., None]
    y = digits.target
    train, val, test = split_indices(y, seed=seed)
    onehot = keras.utils.to_categorical(y, 10)
    rows = []

    keras.utils.set_random_seed(seed)
    cnn = modelos.build_cifar_cnn(input_shape=(8, 8, 1), optimizer=DIGITS_CONFIG.optimizer)
    batches = ImageBatches(x[train], onehot[train], batch_size=DIGITS_CONFIG.batch_size,
                           augmenter=make_augmenter(seed=seed,
                                                    **DIGITS_CONFIG.augment_settings),
                           seed=seed)
    start = time.perf_counter()
    cnn.fit(batches, validation_data=(x[val], onehot[val]),
            epochs=DIGITS_CONFIG.epochs, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = float((cnn.predict(x[test], verbose=0).argmax(1) == y[test]).mean())
    rows.append({"modelo": f"redes-keras CNN de la demo ({DIGITS_CONFIG.epochs} ép., aumento)",
                 "exactitud": accuracy, "segundos": seconds})

    # MLP frente a MLP: los dos ajustan sobre entrenamiento + validación (1437 dígitos).
    flat = x.reshape(len(x), -1)
    fit_rows = np.concatenate([train, val])
    keras.utils.set_random_seed(seed)
    mlp = modelos.build_mlp(input_dim=64, hidden=(100, 50))
    start = time.perf_counter()
    mlp.fit(flat[fit_rows], onehot[fit_rows], epochs=100, batch_size=32, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = float((mlp.predict(flat[test], verbose=0).argmax(1) == y[test]).mean())
    rows.append({"modelo": "redes-keras MLP (100, 50), Adam, 100 épocas",
                 "exactitud": accuracy, "segundos": seconds})

    sk = MLPClassifier(hidden_layer_sizes=(100, 50), max_iter=500, random_state=seed)
    start = time.perf_counter()
    sk.fit(flat[fit_rows], y[fit_rows])
    seconds = time.perf_counter() - start
    rows.append({"modelo": "scikit-learn MLPClassifier (100, 50), Adam",
                 "exactitud": float(sk.score(flat[test], y[test])), "segundos": seconds})
    return rows


def step_time(precision: str, shape: tuple[int, int, int], steps: int, batch: int = 64) -> float:
    """Milisegundos por paso de entrenamiento (tras calentar) en un subproceso."""
    code = f"""
import time, numpy as np, keras, json, sys
sys.path.insert(0, {str(ROOT)!r})
import modelos
keras.config.set_dtype_policy({precision!r})
keras.utils.set_random_seed(0)
m = modelos.build_sports_cnn(input_shape={shape!r})
x = np.random.default_rng(0).random(({batch},) + {shape!r}, dtype="float32")
y = keras.utils.to_categorical(np.arange({batch}) % 10, 10)
for _ in range(5):
    m.train_on_batch(x, y)
t = time.perf_counter()
for _ in range({steps}):
    m.train_on_batch(x, y)
print(json.dumps((time.perf_counter() - t) / {steps} * 1000))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pasos", type=int, default=50, help="pasos medidos por precisión")
    args = parser.parse_args()

    print("== load_digits: misma división (semilla 0), exactitud en prueba ==")
    rows = digits_comparison()
    reference = rows[-1]
    print(f"{'modelo':52s} {'exactitud':>9s} {'segundos':>9s} {'× tiempo sklearn':>17s}")
    for row in rows:
        print(f"{row['modelo']:52s} {row['exactitud']:9.4f} {row['segundos']:9.2f} "
              f"{row['segundos'] / reference['segundos']:17.2f}")

    print("\n== CNN de deportes: paso de entrenamiento, lotes de 64 ==")
    print(f"{'entrada':>12s} {'float32 ms':>11s} {'bf16 ms':>9s} {'aceleración':>12s}")
    for shape in [(21, 28, 3), (84, 112, 3)]:
        f32 = step_time("float32", shape, args.pasos)
        bf16 = step_time("mixed_bfloat16", shape, args.pasos)
        print(f"{'×'.join(map(str, shape)):>12s} {f32:11.2f} {bf16:9.2f} {f32 / bf16:11.2f}×")


if __name__ == "__main__":
    main()
