"""YOLOv2-voc en PyTorch puro: la referencia con la que comparar ``modelos.build_yolo``.

La red es capa a capa la de ``yolov2-voc.cfg`` de darknet, la misma que construye
:func:`modelos.yolo.darknet.build_darknet19` (``backbone="darknet19"``):

- conv_1..conv_18 de Darknet-19 con cinco max-pools 2×2 de paso 2 (416 → 13), y
  conv_19, conv_20 (1024, 3×3); cada convolución sin sesgo, seguida de BatchNorm
  y LeakyReLU(0.1);
- el *passthrough*: la salida de conv_13 (26×26×512) → conv_21 (64, 1×1) → reorg de
  paso 2 con el orden de darknet (13×13×256), concatenado delante de conv_20
  (13×13×1280) → conv_22 (1024, 3×3);
- conv_23: 1×1 con sesgo a ``A·(5 + C)`` canales, sin activar, y la salida ordenada
  como la nuestra: ``(B, S, S, A, 5 + C)``.

Con 20 clases y 5 anclas tiene 50.676.061 números contando, como Keras y los
``.weights`` de darknet, las medias y varianzas de BatchNorm
(:func:`keras_style_param_count`). El épsilon (1e-3) y el momento (0.99 en Keras,
0.01 en PyTorch) de BatchNorm son los de nuestro modelo.

Se mide, en float32 y en bfloat16 (``torch.autocast`` de CPU), con el modelo y la
entrada en ``torch.channels_last``:

1. **Entrenamiento**: imágenes por segundo de un paso completo (delante, pérdida MSE
   contra un objetivo aleatorio fijo de la forma de la salida, ``backward``, Adam con
   tasa 1e-4 y ``zero_grad``).
2. **Inferencia**: imágenes por segundo de ``net.eval()`` bajo
   ``torch.inference_mode()``.

Se toma la mejor de varias rondas, cada una tras unos pasos sin medir. La tabla de
capas se importa de ``modelos.yolo.darknet`` (con Keras); el modelo de Keras solo se
construye al final, para comparar el número de parámetros.

Uso: ``python bench/yolo_torch.py [--rapido] [--lote 8] [--tamanio 416]
[--precision float32|bfloat16|ambas] [--pasos 10] [--rondas 3]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

PRECISIONS = ("float32", "bfloat16")
# La tabla de capas y las constantes de la red, las de modelos/yolo/darknet.py (importarlas
# trae Keras y TensorFlow, pero no calculan nada mientras se mide PyTorch).
from modelos.yolo.darknet import DARKNET19_LAYERS  # noqa: E402
from modelos.yolo.darknet import DOWNSAMPLING as STRIDE  # noqa: E402
from modelos.yolo.darknet import FINAL_FILTERS  # noqa: E402
from modelos.yolo.darknet import LEAKY_SLOPE  # noqa: E402
from modelos.yolo.darknet import PASSTHROUGH_FILTERS  # noqa: E402
from modelos.yolo.darknet import PASSTHROUGH_SOURCE  # noqa: E402

BN_EPSILON = 1e-3             # el de build_yolo (y Keras) por defecto
BN_MOMENTUM = 0.01            # 1 - 0.99, el momento de Keras en la convención de PyTorch
SEED = 0
LEARNING_RATE = 1e-4
DARKNET_VOC_PARAMS = 50_676_061   # 20 clases, 5 anclas (modelos/yolo/darknet.py)


# === La red ===
class ConvBlock(nn.Sequential):
    """Un ``[convolutional]`` de darknet con ``batch_normalize=1``: conv sin sesgo → BN → leaky."""

    def __init__(self, in_channels: int, filters: int, size: int):
        super().__init__(
            nn.Conv2d(in_channels, filters, size, padding=size // 2, bias=False),
            nn.BatchNorm2d(filters, eps=BN_EPSILON, momentum=BN_MOMENTUM),
            nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
        )


def reorg_darknet(x: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """La capa ``[reorg]`` de darknet (``reorg_cpu`` con ``forward=0``) en NCHW.

    (B, C, H, W) → (B, C·s², H/s, W/s), con el mismo orden de canales que
    ``modelos.yolo.darknet.Reorg(order="darknet")``: la memoria (C, H, W) se lee como
    (C/s², s·H, s·W) y ``out[(dy·s + dx)·C/s² + c2, j, i] = x[c2, s·j + dy, s·i + dx]``.
    """
    batch, channels, height, width = x.shape
    s = stride
    x = x.reshape(batch, channels // (s * s), height, s, width, s)
    x = x.permute(0, 3, 5, 1, 2, 4)                      # (B, dy, dx, c2, j, i)
    return x.reshape(batch, channels * s * s, height // s, width // s)


class TorchYolo(nn.Module):
    """YOLOv2-voc (Darknet-19 + passthrough) de darknet: imagen NCHW → (B, S, S, A, 5 + C)."""

    def __init__(self, num_classes: int = 20, anchors: int = 5):
        super().__init__()
        self.num_anchors = anchors
        self.depth = 5 + num_classes
        # La parte principal se parte en dos: hasta conv_13 (26×26) y el resto (13×13).
        head, tail, channels, index = [], [], 3, 0
        for entry in DARKNET19_LAYERS:
            target = head if index < PASSTHROUGH_SOURCE else tail
            if entry == "M":
                target.append(nn.MaxPool2d(2, stride=2))
                continue
            filters, size = entry
            index += 1
            target.append(ConvBlock(channels, filters, size))
            channels = filters
        self.head = nn.Sequential(*head)                   # conv_1..conv_13
        self.tail = nn.Sequential(*tail)                   # pool_5, conv_14..conv_20
        self.passthrough = ConvBlock(512, PASSTHROUGH_FILTERS, 1)      # conv_21
        concat = PASSTHROUGH_FILTERS * 4 + channels        # 256 + 1024 = 1280
        self.final = ConvBlock(concat, FINAL_FILTERS, 3)   # conv_22
        self.output = nn.Conv2d(FINAL_FILTERS, anchors * self.depth, 1)  # conv_23, con sesgo

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.head(x)                                # (B, 512, 26, 26)
        x = self.tail(skip)                                # (B, 1024, 13, 13)
        skip = reorg_darknet(self.passthrough(skip))       # (B, 256, 13, 13)
        x = self.final(torch.cat([skip, x], dim=1))        # [reorg, conv_20] como en la cfg
        x = self.output(x)                                 # (B, A·(5 + C), S, S)
        batch, _, grid_h, grid_w = x.shape
        x = x.permute(0, 2, 3, 1)                          # (B, S, S, A·(5 + C))
        return x.reshape(batch, grid_h, grid_w, self.num_anchors, self.depth)


def build_torch_yolo(num_classes: int = 20, anchors: int = 5) -> nn.Module:
    """YOLOv2-voc de darknet en PyTorch, par de ``modelos.build_yolo(backbone="darknet19")``.

    Args:
        num_classes: número de clases C (20 en VOC).
        anchors: número de anclas A (5 en VOC).

    Returns:
        ``nn.Module`` en modo entrenamiento: entrada (B, 3, alto, ancho) con lados
        múltiplos de 32, salida cruda (sin activar) (B, alto/32, ancho/32, A, 5 + C).
    """
    if num_classes < 1 or anchors < 1:
        raise ValueError("build_torch_yolo: «num_classes» y «anchors» deben ser ≥ 1; "
                         f"recibidos {num_classes} y {anchors}.")
    return TorchYolo(num_classes, anchors)


class TorchMobileNetYolo(nn.Module):
    """La MobileNetV2 de torchvision (``bench/mobilenet_torch.py``) con la convolución de
    detección 1×1 de YOLOv2 encima, a paso 32: el par de ``modelos.build_yolo(backbone=
    "mobilenetv2")``. La entrada ya normalizada (la nuestra lleva la normalización
    dentro: un ``Rescaling``, despreciable)."""

    def __init__(self, num_classes: int = 20, anchors: int = 5, alpha: float = 1.0):
        super().__init__()
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from mobilenet_torch import build_torch_mobilenetv2

        self.num_anchors, self.depth = anchors, 5 + num_classes
        self.features = build_torch_mobilenetv2(alpha=alpha).features
        channels = self.features[-1][0].out_channels
        self.output = nn.Conv2d(channels, anchors * self.depth, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.output(self.features(x))
        batch, _, grid_h, grid_w = x.shape
        x = x.permute(0, 2, 3, 1)
        return x.reshape(batch, grid_h, grid_w, self.num_anchors, self.depth)


#: Extractores con par en PyTorch: su constructor.
TORCH_BACKBONES = {"darknet19": lambda: build_torch_yolo(),
                   "mobilenetv2": lambda: TorchMobileNetYolo()}


def keras_style_param_count(net: nn.Module) -> int:
    """Parámetros contados como Keras: los entrenables más medias y varianzas de BatchNorm.

    Keras cuenta en cada BatchNormalization gamma, beta, ``moving_mean`` y
    ``moving_variance`` (4 por canal), como los ``.weights`` de darknet; PyTorch guarda
    las dos últimas como búferes (``running_mean``, ``running_var``), que aquí se suman.
    ``num_batches_tracked`` no cuenta.
    """
    total = sum(p.numel() for p in net.parameters())
    for module in net.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if module.running_mean is not None:
                total += module.running_mean.numel() + module.running_var.numel()
    return total


def keras_param_count(num_classes: int = 20, size: int = 416) -> int:
    """``count_params()`` de ``modelos.build_yolo`` con ``num_classes`` clases (importa Keras).

    Keras (y TensorFlow) solo se importan aquí, para que sus hilos no afecten a las
    medidas de PyTorch: conviene llamarla después de medir.
    """
    from modelos import build_yolo

    model = build_yolo(labels=[str(i) for i in range(num_classes)], input_size=size,
                       compile=False)
    return int(model.count_params())


# === Medidas ===
def _check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"«precision» debe ser una de {', '.join(PRECISIONS)}; "
                         f"recibido {precision!r}.")


def _set_threads(threads: int | None) -> None:
    torch.set_num_threads(threads or os.cpu_count() or 1)


def _autocast(precision: str):
    """``torch.autocast`` de CPU en bfloat16, o un contexto que no hace nada en float32."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16")


def _best_rate(step, batch: int, steps: int, warmup: int, rounds: int) -> float:
    """Imágenes por segundo: la mejor de ``rounds`` rondas de ``steps`` pasos medidos."""
    best = 0.0
    for _ in range(max(1, rounds)):
        for _ in range(warmup):
            step()
        start = time.perf_counter()
        for _ in range(max(1, steps)):
            step()
        best = max(best, batch * max(1, steps) / (time.perf_counter() - start))
    return best


def _setup(batch: int, size: int, precision: str, threads: int | None,
           backbone: str = "darknet19"):
    _check_precision(precision)
    if size % STRIDE:
        raise ValueError(f"«size» ({size}) debe ser múltiplo de {STRIDE}.")
    _set_threads(threads)
    torch.manual_seed(SEED)
    net = TORCH_BACKBONES[backbone]().to(memory_format=torch.channels_last)
    x = torch.rand(batch, 3, size, size).to(memory_format=torch.channels_last)
    return net, x


def torch_train_rate(batch: int = 8, size: int = 416, precision: str = "bfloat16",
                     steps: int = 10, warmup: int = 3, rounds: int = 3,
                     threads: int | None = None, backbone: str = "darknet19") -> float:
    """Imágenes por segundo de un paso de entrenamiento completo en PyTorch.

    Cada paso: pase hacia delante (bajo ``torch.autocast("cpu", dtype=torch.bfloat16)``
    si ``precision="bfloat16"``; sin autocast en float32), pérdida MSE entre la salida
    cruda y un objetivo aleatorio fijo de su misma forma, ``loss.backward()``,
    ``Adam(lr=1e-4).step()`` y ``zero_grad(set_to_none=True)``. Modelo y entrada en
    ``torch.channels_last``; semilla fija.

    Args:
        batch: imágenes por lote.
        size: lado de la entrada (múltiplo de 32).
        precision: ``"bfloat16"`` o ``"float32"``.
        steps: pasos medidos por ronda.
        warmup: pasos sin medir antes de cada ronda.
        rounds: rondas; se devuelve la mejor.
        threads: hilos de PyTorch (por defecto ``os.cpu_count()``).
        backbone: la red: ``"darknet19"`` (yolov2-voc) o ``"mobilenetv2"``
            (:class:`TorchMobileNetYolo`).

    Returns:
        Imágenes por segundo de la mejor ronda.
    """
    net, x = _setup(batch, size, precision, threads, backbone)
    net.train()
    grid = size // STRIDE
    target = torch.randn(batch, grid, grid, net.num_anchors, net.depth)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)

    def step():
        with _autocast(precision):
            out = net(x)
        loss = F.mse_loss(out.float(), target)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return _best_rate(step, batch, steps, warmup, rounds)


def torch_infer_rate(batch: int = 8, size: int = 416, precision: str = "bfloat16",
                     steps: int = 10, warmup: int = 3, rounds: int = 3,
                     threads: int | None = None, backbone: str = "darknet19") -> float:
    """Imágenes por segundo de la inferencia en PyTorch.

    ``net.eval()`` y pase hacia delante bajo ``torch.inference_mode()`` (más
    ``torch.autocast`` de CPU en bfloat16 si se pide), con modelo y entrada en
    ``torch.channels_last``. Los argumentos son los de :func:`torch_train_rate`.

    Returns:
        Imágenes por segundo de la mejor ronda.
    """
    net, x = _setup(batch, size, precision, threads, backbone)
    net.eval()

    def step():
        with torch.inference_mode(), _autocast(precision):
            net(x)

    return _best_rate(step, batch, steps, warmup, rounds)


# === Línea de órdenes ===
def _thousands(number: int) -> str:
    """Entero con puntos de millar, como se escribe en español: 50.676.061."""
    return f"{number:,}".replace(",", ".")


def main(argv=None) -> int:
    """Mide entrenamiento e inferencia de YOLOv2-voc en PyTorch e imprime una tabla."""
    parser = argparse.ArgumentParser(
        description="Velocidad de YOLOv2-voc (Darknet-19) en PyTorch puro, en float32 "
                    "y bfloat16: la referencia de bench/yolo.py.")
    parser.add_argument("--lote", type=int, default=8, help="imágenes por lote (8)")
    parser.add_argument("--tamanio", type=int, default=416,
                        help="lado de la entrada, múltiplo de 32 (416)")
    parser.add_argument("--precision", choices=(*PRECISIONS, "ambas"), default="ambas",
                        help="precisión que medir (ambas)")
    parser.add_argument("--pasos", type=int, default=10, help="pasos medidos por ronda (10)")
    parser.add_argument("--rondas", type=int, default=3,
                        help="rondas; se toma la mejor (3)")
    parser.add_argument("--calentamiento", type=int, default=3,
                        help="pasos sin medir antes de cada ronda (3)")
    parser.add_argument("--hilos", type=int, default=None,
                        help="hilos de PyTorch (por defecto, todos los núcleos)")
    parser.add_argument("--rapido", action="store_true",
                        help="pocos pasos (1 medido, 1 de calentamiento, 1 ronda): "
                             "comprobación rápida")
    parser.add_argument("--sin-keras", action="store_true",
                        help="no importar Keras para comparar el número de parámetros")
    args = parser.parse_args(argv)
    if args.lote < 1 or args.tamanio < STRIDE or args.tamanio % STRIDE:
        parser.error(f"--lote debe ser ≥ 1 y --tamanio un múltiplo de {STRIDE} "
                     "(p. ej. 416).")
    steps, warmup, rounds = args.pasos, args.calentamiento, args.rondas
    if args.rapido:
        steps, warmup, rounds = 1, 1, 1
    precisions = PRECISIONS if args.precision == "ambas" else (args.precision,)
    threads = args.hilos or os.cpu_count()

    print(f"YOLOv2-voc en PyTorch {torch.__version__} {args.tamanio}×{args.tamanio}, "
          f"lote {args.lote}, {threads} hilos; {steps} pasos × {rounds} rondas "
          f"(+{warmup} sin medir)")
    rows = {}
    for precision in precisions:
        kwargs = dict(batch=args.lote, size=args.tamanio, precision=precision, steps=steps,
                      warmup=warmup, rounds=rounds, threads=args.hilos)
        rows[precision] = (torch_train_rate(**kwargs), torch_infer_rate(**kwargs))

    header = f"{'precisión':<12}{'entrenamiento img/s':>22}{'inferencia img/s':>20}"
    print()
    print(header)
    print("-" * len(header))
    for precision, (train, infer) in rows.items():
        print(f"{precision:<12}{train:>22.2f}{infer:>20.2f}")
    if len(rows) == 2:
        (train32, infer32), (train16, infer16) = rows["float32"], rows["bfloat16"]
        print(f"\nbfloat16 / float32: entrenamiento {train16 / train32:.2f}×, "
              f"inferencia {infer16 / infer32:.2f}×")

    count = keras_style_param_count(build_torch_yolo())
    print("\nParámetros (20 clases, 5 anclas, contando medias y varianzas de BatchNorm): "
          f"{_thousands(count)}")
    if not args.sin_keras:
        reference = keras_param_count(20, args.tamanio)
        verdict = "coinciden" if reference == count else "NO coinciden"
        print(f"modelos.build_yolo (Keras): {_thousands(reference)} → {verdict}")
        if reference != count:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
