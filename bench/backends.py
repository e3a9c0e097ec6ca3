"""Los mismos modelos con los tres backends de Keras 3, lado a lado en una ejecución.

Para cada backend instalado (TensorFlow, JAX, PyTorch) y cada precisión (float32 y
mixed_bfloat16), en un proceso propio con ``KERAS_BACKEND``:

1. **YOLOv2 completo** (Darknet-19, 20 clases, 416×416, lotes de 8), la red sola:
   imágenes por segundo de ``predict_on_batch`` (inferencia) y de ``train_on_batch``
   con Adam y el error cuadrático medio sobre la salida cruda (entrenamiento), como la
   medida de referencia del issue;
2. **Transformer** de la tarea de números (d_model 64, 2 capas, lotes de 64 frases de
   12 fichas): fichas de destino por segundo entrenando (``train_on_batch``).

Cada medida es la mejor de varias rondas tras una de calentamiento (la compilación no
cuenta). Los procesos corren uno detrás de otro: la carga de la máquina puede variar
entre ellos; repítelo y quédate con lo estable.

Uso: ``python bench/backends.py [--rapido] [--rondas 3]`` (``--rapido``: YOLO a 224 y
menos rondas, para comprobar que corre).
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
PRECISIONS = ("float32", "mixed_bfloat16")


def best_rate(step, items: int, rounds: int, repeats: int) -> float:
    """Elementos por segundo: la mejor de ``rounds`` rondas de ``repeats`` llamadas."""
    step()  # calentamiento: compilación y primeras asignaciones
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        best = max(best, items * repeats / (time.perf_counter() - start))
    return best


def measure(precision: str, size: int, rounds: int) -> dict:
    """Las medidas de un backend (el de ``KERAS_BACKEND``) en una precisión."""
    sys.path.insert(0, str(ROOT))
    from nucleo.entorno import prepare_backend, set_random_seed

    prepare_backend()
    import keras
    import numpy as np

    import modelos

    set_random_seed(0)
    keras.config.set_dtype_policy(precision)
    rng = np.random.default_rng(0)
    result = {"backend": keras.backend.backend(), "precision": precision}

    batch = 8
    yolo = modelos.build_yolo([f"clase{i}" for i in range(20)], input_size=size,
                              compile=False)
    yolo.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
    x = rng.random((batch, size, size, 3), dtype=np.float32)
    y = rng.normal(0, 0.1, (batch, *yolo.output_shape[1:])).astype("float32")
    result["yolo_inferencia_img_s"] = best_rate(lambda: yolo.predict_on_batch(x), batch,
                                                 rounds, 3)
    result["yolo_entrenamiento_img_s"] = best_rate(lambda: yolo.train_on_batch(x, y),
                                                    batch, rounds, 2)

    sentences, length, vocab = 64, 12, 40
    transformer = modelos.build_transformer(vocab, vocab, num_layers=2, d_model=64,
                                            num_heads=4, d_ff=128)
    source = rng.integers(4, vocab, (sentences, length)).astype("int32")
    target = rng.integers(4, vocab, (sentences, length)).astype("int32")
    result["transformer_fichas_s"] = best_rate(
        lambda: transformer.train_on_batch([source, target], target), sentences * length,
        rounds, 5)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rapido", action="store_true")
    parser.add_argument("--rondas", type=int, default=3)
    parser.add_argument("--uno", nargs=2, metavar=("PRECISION", "TAMANIO"),
                        help=argparse.SUPPRESS)  # un proceso hijo
    args = parser.parse_args(argv)
    if args.uno:
        print(json.dumps(measure(args.uno[0], int(args.uno[1]), args.rondas)))
        return 0

    size, rounds = (224, 1) if args.rapido else (416, args.rondas)
    rows = []
    sys.path.insert(0, str(ROOT))
    from nucleo.entorno import installed_backends

    for backend in installed_backends():
        for precision in PRECISIONS:
            env = {**os.environ, "KERAS_BACKEND": backend}
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, __file__, "--uno", precision, str(size),
                 "--rondas", str(rounds)], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["?"])[-1]
                rows.append({"backend": backend, "precision": precision, "error": last})
            else:
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            rows[-1]["segundos"] = round(time.perf_counter() - start, 1)
            print(json.dumps(rows[-1]), flush=True)

    print(f"\nYOLOv2 a {size}, lotes de 8 (img/s); Transformer (fichas/s)")
    print(f"{'backend':<11} {'precisión':<15} {'inferencia':>10} {'entrenam.':>10} "
          f"{'Transformer':>12}")
    for row in rows:
        if "error" in row:
            print(f"{row['backend']:<11} {row['precision']:<15} error: {row['error']}")
            continue
        print(f"{row['backend']:<11} {row['precision']:<15} "
              f"{row['yolo_inferencia_img_s']:>10.2f} {row['yolo_entrenamiento_img_s']:>10.2f} "
              f"{row['transformer_fichas_s']:>12.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
