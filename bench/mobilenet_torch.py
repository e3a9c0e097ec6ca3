"""MobileNetV2 en PyTorch puro: la referencia con la que comparar ``modelos.build_mobilenetv2``.

Es la red de torchvision (``torchvision.models.mobilenet_v2``) escrita con ``torch.nn``,
con sus mismos nombres de parámetros, para cargar ``mobilenet_v2-b0353104.pth`` con
``load_state_dict`` sin instalar torchvision. Solo para medir y comparar (bench y
``tests/test_mobilenet.py``); la biblioteca no la usa.

Uso: ``python bench/mobilenet_torch.py ARCHIVO.pth`` imprime, para las fotos de prueba,
la clase de ImageNet de PyTorch y la de Keras (la nuestra y ``keras.applications``) y la
diferencia máxima de sus logits.
"""

from __future__ import annotations

import sys

import numpy as np


def _make_divisible(value: float, divisor: int = 8) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def build_torch_mobilenetv2(num_classes: int = 1000, alpha: float = 1.0):
    """La MobileNetV2 de torchvision con ``torch.nn`` (mismas claves de ``state_dict``)."""
    from torch import nn

    def conv_bn(inp, out, kernel, stride, groups=1):
        return nn.Sequential(nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2,
                                       groups=groups, bias=False),
                             nn.BatchNorm2d(out), nn.ReLU6(inplace=True))

    class InvertedResidual(nn.Module):
        def __init__(self, inp, out, stride, expand):
            super().__init__()
            hidden = int(round(inp * expand))
            self.residual = stride == 1 and inp == out
            layers = [] if expand == 1 else [conv_bn(inp, hidden, 1, 1)]
            layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden),
                       nn.Conv2d(hidden, out, 1, 1, 0, bias=False), nn.BatchNorm2d(out)]
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.residual else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self):
            super().__init__()
            inp = _make_divisible(32 * alpha)
            last = _make_divisible(1280 * max(1.0, alpha))
            features = [conv_bn(3, inp, 3, 2)]
            for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                               (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
                out = _make_divisible(c * alpha)
                for i in range(n):
                    features.append(InvertedResidual(inp, out, s if i == 0 else 1, t))
                    inp = out
            features.append(conv_bn(inp, last, 1, 1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

        def forward(self, x):
            x = self.features(x).mean((2, 3))
            return self.classifier(x)

    return MobileNetV2()


def imagenet_normalized(images: np.ndarray) -> np.ndarray:
    """``(x − media) / desviación`` de ImageNet, como la entrada de torchvision."""
    from modelos.mobilenet.constructor import IMAGENET_MEAN, IMAGENET_STD

    return (images - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD)


def torch_logits(path, images: np.ndarray, *, num_classes: int = 1000,
                 alpha: float = 1.0) -> np.ndarray:
    """Logits de PyTorch para ``images`` ``(B, alto, ancho, 3)`` en ``[0, 1]``."""
    import torch

    net = build_torch_mobilenetv2(num_classes=num_classes, alpha=alpha)
    net.load_state_dict(torch.load(str(path), map_location="cpu", weights_only=True))
    net.eval()
    x = torch.from_numpy(imagenet_normalized(images).transpose(0, 3, 1, 2).copy())
    with torch.inference_mode():
        return net(x).numpy()


def keras_applications_logits(path, images: np.ndarray, epsilon: float | None = None
                              ) -> np.ndarray:
    """Logits de ``keras.applications.MobileNetV2`` con los pesos de torchvision copiados
    en orden y la entrada normalizada como la de torchvision: lo que queda distinto es su
    relleno asimétrico en los pasos 2 y su épsilon 1e-3 (``epsilon`` lo cambia en todas
    sus BatchNormalization, para separar las dos causas)."""
    import keras

    from modelos.mobilenet.torchvision import layer_weights, read_state_dict

    state = read_state_dict(path)
    arrays = layer_weights(state)
    model = keras.applications.MobileNetV2(weights=None, input_shape=images.shape[1:])
    layers = [layer for layer in model.layers if layer.get_weights()]
    for layer, weights in zip(layers, arrays.values(), strict=True):
        layer.set_weights(weights)
        if epsilon is not None and isinstance(layer, keras.layers.BatchNormalization):
            layer.epsilon = epsilon
    # Los logits: la entrada de la última Dense (que lleva el softmax) por sus pesos.
    dense = model.layers[-1]
    features = keras.Model(model.inputs, dense.input).predict(imagenet_normalized(images),
                                                              verbose=0)
    kernel, bias = dense.get_weights()
    return features @ kernel + bias


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    from modelos.mobilenet.constructor import build_mobilenetv2, imagenet_input, logits_model
    from modelos.mobilenet.torchvision import load_torchvision_mobilenetv2
    from tests.fotos import test_photos

    path = argv[0]
    names, photos = test_photos()
    images = np.stack([imagenet_input(photo) for photo in photos])
    reference = torch_logits(path, images)
    model = build_mobilenetv2()
    load_torchvision_mobilenetv2(model, path)
    ours = logits_model(model).predict(images, verbose=0)
    applications = keras_applications_logits(path, images)
    same_epsilon = keras_applications_logits(path, images, epsilon=1e-5)
    scale = float(np.abs(reference).max())
    rows = zip(names, reference, ours, applications, same_epsilon, strict=True)
    for name, row, mine, app, eps in rows:
        print(f"{name:10s} torch {int(row.argmax()):4d}  nuestra {int(mine.argmax()):4d}  "
              f"keras.applications {int(app.argmax()):4d} (con épsilon 1e-5: "
              f"{int(eps.argmax()):4d})")
    print(f"diferencia máxima de logits / escala ({scale:.1f}): nuestra "
          f"{np.abs(ours - reference).max() / scale:.2e}; keras.applications "
          f"{np.abs(applications - reference).max() / scale:.2e}, y con épsilon 1e-5 "
          f"{np.abs(same_epsilon - reference).max() / scale:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
