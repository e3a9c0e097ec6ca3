"""Entrenar en 1 proceso frente a 2 procesos (keras.distribution + DataParallel en JAX).

Lado a lado en una ejecución, cada caso en sus procesos:

1. **Velocidad**: YOLOv2 completo (Darknet-19, 20 clases, 416, lote global de 8) y el
   Transformer de la tarea de números (lote global de 64 frases de 12 fichas), pasos de
   ``train_on_batch`` con Adam: TensorFlow en 1 proceso (la referencia), JAX en 1
   proceso y JAX en 2 procesos (127.0.0.1, gloo), cada uno con la mitad de cada lote.
   Es la mejor de varias rondas tras una de calentamiento. Con 2 núcleos no cabe
   esperar ganancia: los 2 procesos se reparten los mismos núcleos y además suman los
   gradientes (*all-reduce*) en cada paso.
2. **Calidad** (``--calidad``): el detector de la demo (YOLOv2 tiny ×0.25 a 160, 640
   figuras, 25 épocas, ``redes deteccion entrenar``) entrenado con JAX en 1 y en 2 procesos, y
   su mAP@0.5 en 100 figuras nuevas (``redes deteccion evaluar``). La batería pide ≥ 0,3.

Uso: ``python bench/distribuido.py [--rapido] [--rondas 3] [--calidad] [--json F]``
(``--rapido``: YOLO a 224).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/ está en sys.path al ejecutar el script (python bench/distribuido.py).
from backends import best_rate

ROOT = Path(__file__).resolve().parents[1]


def worker(size: int, rounds: int, coordinator: str | None, processes: int,
           index: int) -> dict:
    """Las medidas de un proceso (con ``coordinator``, uno de ``processes``)."""
    sys.path.insert(0, str(ROOT))
    from nucleo.entorno import prepare_backend, set_random_seed

    prepare_backend()
    if coordinator:
        from entrenamiento import distribuido

        cluster = distribuido.initialize(coordinator, processes, index)
    import numpy as np

    import modelos

    set_random_seed(0)
    rng = np.random.default_rng(index)
    results = {}
    batch = 8 // processes
    yolo = modelos.build_yolo([f"c{i}" for i in range(20)], input_size=size)
    yolo.compile(optimizer="adam", loss="mse")
    x = rng.random((batch, size, size, 3), dtype=np.float32)
    y = rng.normal(size=(batch, *yolo.output_shape[1:])).astype(np.float32)
    results["yolo_img_s"] = best_rate(lambda: yolo.train_on_batch(x, y), 8, rounds, 2)

    sentences = 64 // processes
    transformer = modelos.build_transformer(src_vocab=60, tgt_vocab=40, max_len=16,
                                            num_layers=2, d_model=64, num_heads=4, d_ff=256)
    source = rng.integers(4, 60, (sentences, 12)).astype("int32")
    target = rng.integers(4, 40, (sentences, 12)).astype("int32")
    results["transformer_tok_s"] = best_rate(
        lambda: transformer.train_on_batch((source, target), target), 64 * 12, rounds, 5)
    if coordinator:
        from entrenamiento import distribuido

        distribuido.finish(cluster)
    return results


def _run(backend: str, processes: int, size: int, rounds: int) -> dict:
    """Lanza el caso y devuelve las medidas del proceso 0."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "r.json"
        coordinator = None
        if processes > 1:
            from cli.lanzador import free_port

            coordinator = f"127.0.0.1:{free_port()}"
        children = []
        for index in range(processes):
            command = [sys.executable, __file__, "--trabajador", "--tamanio", str(size),
                       "--rondas", str(rounds), "--procesos", str(processes),
                       "--proceso", str(index)]
            if coordinator:
                command += ["--coordinador", coordinator]
            if index == 0:
                command += ["--json", str(out)]
            children.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL))
        codes = [child.wait(timeout=1800) for child in children]
        if any(codes):
            return {"error": f"códigos {codes}"}
        return json.loads(out.read_text())


def quality(processes: int, seconds_limit: int = 3600) -> dict:
    """El detector de la demo con JAX en ``processes`` procesos: mAP@0.5 en 100 figuras."""
    sys.path.insert(0, str(ROOT))
    from datos.sinteticos import make_shapes_dataset
    from tareas.deteccion.demo import DEMO

    size = DEMO.image_size
    train = DEMO.training
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        data = make_shapes_dataset(folder / "train", n_images=DEMO.n_images,
                                   image_size=(size, size), classes=list(DEMO.classes),
                                   max_objects=DEMO.max_objects, seed=0)
        test = make_shapes_dataset(folder / "test", n_images=100, image_size=(size, size),
                                   classes=list(DEMO.classes),
                                   max_objects=DEMO.max_objects, seed=100)
        run = folder / "detector"
        weights = run / "modelo.h5"
        command = [sys.executable, "-m", "cli.principal", "--backend", "jax",
                   "deteccion", "entrenar", "--anotaciones", str(data / "annotations"),
                   "--imagenes", str(data / "images"), "--etiquetas", *DEMO.classes,
                   "--tamanio", str(size), "--backbone", train.backbone,
                   "--ancho", str(train.width_multiplier), "--anclas", train.anchors,
                   "--epocas", str(train.epochs), "--repeticiones",
                   str(train.train_times), "--lote", str(train.batch_size),
                   "--tasa", str(train.learning_rate), "--coseno",
                   "--epocas-calentamiento", str(train.warmup_epochs), "--paciencia", "0",
                   "--precision", train.precision, "--salida", str(run)]
        if processes > 1:
            command = [c for c in command if c not in ("--backend", "jax")]
            command += ["--procesos", str(processes)]
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, timeout=seconds_limit,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        summary = folder / "eval.json"
        subprocess.run([sys.executable, "-m", "cli.principal", "--backend", "jax", "deteccion",
                        "evaluar", "--pesos", str(weights), "--anotaciones",
                        str(test / "annotations"), "--imagenes", str(test / "images"),
                        "--json", str(summary)], cwd=ROOT, check=True, timeout=600,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        metrics = json.loads(summary.read_text())["metricas"]
        return {"procesos": processes, "map_50": metrics["map_50"],
                "segundos": round(seconds, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rapido", action="store_true", help="YOLO a 224 (comprobar que corre)")
    parser.add_argument("--rondas", type=int, default=3)
    parser.add_argument("--calidad", action="store_true",
                        help="también el detector de la demo en 1 y 2 procesos (~20 min)")
    parser.add_argument("--json", help="escribe las cifras en JSON")
    parser.add_argument("--trabajador", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tamanio", type=int, default=416, help=argparse.SUPPRESS)
    parser.add_argument("--procesos", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--proceso", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--coordinador", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.trabajador:
        results = worker(args.tamanio, args.rondas, args.coordinador, args.procesos,
                         args.proceso)
        if args.json:
            Path(args.json).write_text(json.dumps(results))
        return 0

    size = 224 if args.rapido else 416
    rows = []
    for backend, processes in (("tensorflow", 1), ("jax", 1), ("jax", 2)):
        result = _run(backend, processes, size, args.rondas)
        rows.append({"backend": backend, "procesos": processes, **result})
        print(f"{backend:>10} {processes} proceso(s): "
              + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                          for k, v in result.items()), flush=True)
    report = {"tamanio_yolo": size, "velocidad": rows}
    if args.calidad:
        report["calidad"] = [quality(1), quality(2)]
        for row in report["calidad"]:
            print(f"detector de la demo, JAX, {row['procesos']} proceso(s): mAP@0.5 "
                  f"{row['map_50']:.3f} en {row['segundos']:.0f} s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
