"""Velocidad de YOLOv2 completo (Darknet-19, 416×416, lotes de 8) en float32 y mixed_bfloat16.

En una sola ejecución y lado a lado:

1. **Pico de multiplicación de matrices** de esta máquina en cada precisión
   (``tf.matmul`` de 2048×2048, la mejor de varias rondas): la referencia de lo que
   el hardware puede dar.
2. **Entrenamiento**: imágenes por segundo de ``train_on_batch`` con la pérdida de
   YOLOv2 y objetivos reales (8 imágenes de figuras generadas), sin contar la carga
   de datos (ver ``bench/aumento.py``: el generador va de 33× a 76× más rápido).
3. **Inferencia**: imágenes por segundo de ``model.predict_on_batch(x)`` (la función
   compilada de Keras) y, aparte, de la llamada directa ``model(x, training=False)``
   (la que usa ``detect``).
4. **El par en PyTorch** (si torch está instalado; ``bench/yolo_torch.py``): la misma
   red (yolov2-voc, o con ``--backbone mobilenetv2`` la MobileNetV2 de torchvision con la
   misma cabeza) escrita directamente en PyTorch, con el mismo lote, ``channels_last``,
   ``torch.autocast`` en bfloat16 y Adam sobre MSE de la salida cruda. Sus rondas se
   intercalan con las nuestras y el informe da el cociente nuestro / PyTorch.

Los GFLOP por imagen se cuentan capa a capa (2 · multiplicaciones-sumas de cada
convolución; darknet da 29.37 BFLOPs para ``yolov2-voc.cfg`` a 416) y el
entrenamiento cuenta 3× el pase hacia delante (delante + gradientes de entradas y
pesos). El porcentaje es GFLOP/s logrados frente al pico medido en la misma
precisión. Las medidas de las dos precisiones se intercalan y se toma la mejor
ronda, para que la carga de la máquina afecte a ambas por igual.

Uso: ``python bench/yolo.py [--rapido] [--lote 8] [--tamanio 416] [--backbone darknet19]
[--sin-pytorch]``
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nucleo.entorno import import_tensorflow  # noqa: E402

tf = import_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from datos.anotaciones import read_voc  # noqa: E402
from datos.sinteticos import make_shapes_dataset  # noqa: E402
from modelos.yolo import YoloDataset  # noqa: E402
from modelos.yolo import build_yolo  # noqa: E402

PRECISIONS = ("float32", "mixed_bfloat16")
LABELS = ["circulo", "cuadrado", "triangulo"]


def conv_gflops(model) -> float:
    """GFLOP de un pase hacia delante por imagen: 2 · k_h · k_w · C_in · C_out · H · W."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):   # un filtro por canal
            kh, kw, cin, multiplier = layer.kernel.shape
            _, h, w, _ = layer.output.shape
            total += 2 * kh * kw * cin * multiplier * h * w
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            _, h, w, _ = layer.output.shape
            total += 2 * kh * kw * cin * cout * h * w
    return total / 1e9


def matmul_peak(dtype: str, n: int = 2048, rounds: int = 5) -> float:
    """GFLOP/s de ``tf.matmul`` n×n en ``dtype`` (la mejor de ``rounds``)."""
    a = tf.random.normal((n, n), dtype=tf.float32)
    b = tf.random.normal((n, n), dtype=tf.float32)
    if dtype == "bfloat16":
        a, b = tf.cast(a, tf.bfloat16), tf.cast(b, tf.bfloat16)

    @tf.function
    def run(x, y):
        return tf.matmul(x, y)

    run(a, b).numpy()
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(3):
            out = run(a, b)
        out.numpy()
        best = max(best, 3 * 2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def build(precision: str, size: int, backbone: str, jit):
    keras.mixed_precision.set_dtype_policy(precision)
    keras.utils.set_random_seed(0)
    model = build_yolo(LABELS, input_size=size, backbone=backbone, learning_rate=1e-4)
    if jit is not None:
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=model.loss, jit_compile=jit)
    keras.mixed_precision.set_dtype_policy("float32")
    return model


def timed(fn, steps: int) -> float:
    """Segundos por paso (la media de ``steps`` pasos tras uno de calentamiento)."""
    fn()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps


class _BatchClock(keras.callbacks.Callback):
    """Anota cuándo termina cada lote de ``fit``."""

    def __init__(self):
        super().__init__()
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def fit_rate(model, batch: int, size: int, steps: int) -> float:
    """Imágenes por segundo de ``fit`` como en ``redes deteccion entrenar``: figuras con
    aumento (imgaug con cajas) y 2 hilos de datos, sin contar el primer lote."""
    with tempfile.TemporaryDirectory() as tmp:
        root = make_shapes_dataset(tmp, n_images=batch * (steps + 1), classes=LABELS, seed=1)
        records, _ = read_voc(root / "annotations", root / "images")
        data = YoloDataset(records, LABELS, image_size=size, batch_size=batch,
                           augmenter=True, workers=2, seed=0)
        clock = _BatchClock()
        model.fit(data, epochs=1, steps_per_epoch=steps + 1, callbacks=[clock], verbose=0)
    return batch * steps / (clock.ends[-1] - clock.ends[0])


def breakdown(model, x, y, steps: int, rounds: int) -> None:
    """Dónde va el tiempo de un paso de entrenamiento (la mejor de ``rounds`` rondas).

    Mide por separado, cada uno en su ``tf.function``: la red hacia delante (modo
    entrenamiento: BatchNorm con las estadísticas del lote), la red más la pérdida, los
    gradientes (delante + detrás), la actualización de Adam sola sobre esos gradientes y
    el paso entero de ``train_on_batch``.
    """
    variables = model.trainable_variables
    optimizer = model.optimizer
    x, y = tf.constant(x), tf.constant(y)

    @tf.function
    def forward():
        return model(x, training=True)

    @tf.function
    def forward_loss():
        return model.compute_loss(x=x, y=y, y_pred=model(x, training=True))

    @tf.function
    def gradients():
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
        return tape.gradient(loss, variables)

    grads = gradients()

    @tf.function
    def adam():
        optimizer.apply(grads, variables)

    parts = {"red hacia delante": forward, "red + pérdida": forward_loss,
             "gradientes (delante + detrás)": gradients, "Adam (solo la actualización)": adam,
             "paso entero (train_on_batch)": lambda: model.train_on_batch(x, y)}
    best = {name: float("inf") for name in parts}
    for _ in range(rounds):
        for name, fn in parts.items():
            best[name] = min(best[name], timed(fn, steps))
    total = best["paso entero (train_on_batch)"]
    print("\nDesglose del paso de entrenamiento (segundos por lote, % del paso entero):")
    for name, seconds in best.items():
        print(f"  {name:<34}{seconds:>8.3f} s{100 * seconds / total:>7.0f}%")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rapido", action="store_true", help="pocos pasos (comprobación)")
    parser.add_argument("--lote", type=int, default=8)
    parser.add_argument("--tamanio", type=int, default=416)
    parser.add_argument("--backbone", default="darknet19")
    parser.add_argument("--rondas", type=int, default=3)
    parser.add_argument("--jit", choices=("auto", "si", "no"), default="auto",
                        help="XLA en el paso de entrenamiento (auto: lo que decida Keras)")
    parser.add_argument("--sin-pytorch", action="store_true",
                        help="no medir el par escrito en PyTorch")
    parser.add_argument("--precision", choices=(*PRECISIONS, "ambas", "auto"), default="auto",
                        help="precisiones a medir; auto: las dos si la CPU calcula en "
                             "bfloat16 de forma nativa, solo float32 si lo emula (un paso "
                             "de entrenamiento emulado tarda minutos)")
    parser.add_argument("--desglose", action="store_true",
                        help="desglosa el paso de entrenamiento: red, pérdida, gradientes, Adam")
    parser.add_argument("--extremo", action="store_true",
                        help="mide también fit con el aumento y 2 hilos de datos (como redes "
                             "deteccion entrenar) frente al paso desnudo")
    args = parser.parse_args(argv)
    from nucleo.entorno import native_bfloat16

    chosen = {"ambas": PRECISIONS, "float32": ("float32",),
              "mixed_bfloat16": ("mixed_bfloat16",),
              "auto": PRECISIONS if native_bfloat16() else ("float32",)}[args.precision]
    peer = None
    if not args.sin_pytorch and args.backbone in ("darknet19", "mobilenetv2") \
            and importlib.util.find_spec("torch") is not None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import yolo_torch as peer
    steps = 1 if args.rapido else 4
    rounds = 1 if args.rapido else args.rondas
    jit = {"auto": None, "si": True, "no": False}[args.jit]

    with tempfile.TemporaryDirectory() as tmp:
        root = make_shapes_dataset(tmp, n_images=args.lote, classes=LABELS, seed=0)
        images, _ = read_voc(root / "annotations", root / "images")
        x, y = YoloDataset(images, LABELS, image_size=args.tamanio, batch_size=args.lote,
                           shuffle=False)[0]

    print(f"YOLOv2 {args.backbone} {args.tamanio}×{args.tamanio}, lote {args.lote}, "
          f"{len(LABELS)} clases; {steps} pasos por medida, mejor de {rounds} rondas")
    peaks = {p: matmul_peak("bfloat16" if p == "mixed_bfloat16" else "float32",
                            rounds=2 if args.rapido else 5) for p in chosen}
    models = {p: build(p, args.tamanio, args.backbone, jit) for p in chosen}
    gflops = conv_gflops(next(iter(models.values())))
    train = {p: float("inf") for p in chosen}
    infer = {p: float("inf") for p in chosen}
    eager = {p: float("inf") for p in chosen}
    torch_rates = {p: [0.0, 0.0] for p in chosen}   # entrenamiento, inferencia
    for _ in range(rounds):
        for p, model in models.items():
            train[p] = min(train[p], timed(lambda m=model: m.train_on_batch(x, y), steps))
            infer[p] = min(infer[p], timed(lambda m=model: m.predict_on_batch(x), steps))
            eager[p] = min(eager[p], timed(
                lambda m=model: np.asarray(m(x, training=False)), steps))
            if peer is not None:
                name = "bfloat16" if p == "mixed_bfloat16" else "float32"
                options = {"batch": args.lote, "size": args.tamanio, "precision": name,
                           "steps": steps, "warmup": 1, "rounds": 1,
                           "backbone": args.backbone}
                torch_rates[p][0] = max(torch_rates[p][0], peer.torch_train_rate(**options))
                torch_rates[p][1] = max(torch_rates[p][1], peer.torch_infer_rate(**options))

    print(f"\nGFLOP por imagen (pase hacia delante): {gflops:.2f}; entrenamiento ×3 = "
          f"{3 * gflops:.2f}")
    header = (f"{'precisión':<16}{'pico matmul':>14}{'entren. img/s':>15}{'GFLOP/s':>10}"
              f"{'% pico':>8}{'infer. img/s':>14}{'GFLOP/s':>10}{'% pico':>8}")
    print(header)
    print("-" * len(header))
    rows = {}
    for p in chosen:
        train_ips = args.lote / train[p]
        infer_ips = args.lote / infer[p]
        train_gf, infer_gf = 3 * gflops * train_ips, gflops * infer_ips
        rows[p] = (train_ips, infer_ips)
        print(f"{p:<16}{peaks[p]:>10.0f} GF/s{train_ips:>15.2f}{train_gf:>10.0f}"
              f"{100 * train_gf / peaks[p]:>7.0f}%{infer_ips:>14.2f}{infer_gf:>10.0f}"
              f"{100 * infer_gf / peaks[p]:>7.0f}%")
    for p in chosen:
        print(f"{p}: llamada directa model(x) {args.lote / eager[p]:.2f} img/s "
              f"({infer[p] / eager[p]:.2f}× predict_on_batch)")
    if peer is not None:
        print(f"\nPar en PyTorch ({args.backbone} escrita en PyTorch con la misma cabeza, "
              "channels_last, Adam + MSE):")
        for p in chosen:
            (t_ips, i_ips), (ours_t, ours_i) = torch_rates[p], rows[p]
            print(f"{p:<16} PyTorch entren. {t_ips:6.2f} img/s → nuestro / PyTorch "
                  f"{ours_t / t_ips:.2f}×;  infer. {i_ips:6.2f} img/s → {ours_i / i_ips:.2f}×")
    if args.extremo:
        for p, model in models.items():
            rate = fit_rate(model, args.lote, args.tamanio, steps)
            print(f"{p}: fit con aumento y 2 hilos de datos {rate:.2f} img/s = "
                  f"{rate / rows[p][0]:.2f}× el paso desnudo (objetivo ≥ 0.95×)")
    if args.desglose:
        breakdown(next(iter(models.values())), x, y, steps, rounds)
    if len(chosen) < 2:
        print(f"jit_compile del modelo: {next(iter(models.values())).jit_compile}")
        return 0
    ratio_train = rows["mixed_bfloat16"][0] / rows["float32"][0]
    ratio_infer = rows["mixed_bfloat16"][1] / rows["float32"][1]
    print(f"\nmixed_bfloat16 / float32: entrenamiento {ratio_train:.2f}×, "
          f"inferencia {ratio_infer:.2f}×")
    print(f"Objetivos en mixed_bfloat16: ≥ 4 img/s entrenando ({rows['mixed_bfloat16'][0]:.2f}) "
          f"y ≥ 20 img/s infiriendo ({rows['mixed_bfloat16'][1]:.2f}).")
    print(f"jit_compile del modelo: {models['float32'].jit_compile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
