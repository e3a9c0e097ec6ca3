"""Los clasificadores del blog: la red XOR, los MLP de MNIST y las CNN de deportes y de
CIFAR-10 (``constructor``)."""

from modelos.clasificacion.constructor import build_cifar_cnn
from modelos.clasificacion.constructor import build_mlp
from modelos.clasificacion.constructor import build_sports_cnn
from modelos.clasificacion.constructor import build_xor

__all__ = ["build_cifar_cnn", "build_mlp", "build_sports_cnn", "build_xor"]
