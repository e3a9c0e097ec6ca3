"""Los clasificadores del blog: la red XOR, los MLP de MNIST y las CNN de deportes y de
CIFAR-10 (``constructor``)."""

from modelos.clasificacion.constructor import build_cifar_cnn
from modelos.clasificacion.constructor import build_mlp
from modelos.clasificacion.constructor import build_sports_cnn
from modelos.clasificacion.constructor import build_xor
from modelos.clasificacion.preprocesado import FLAT_IMAGE_CLASSIFIER
from modelos.clasificacion.preprocesado import IMAGE_CLASSIFIER
from modelos.clasificacion.preprocesado import XOR
from modelos.registro import declare_family

__all__ = ["build_cifar_cnn", "build_mlp", "build_sports_cnn", "build_xor"]

declare_family("xor", task="xor", preprocessor=XOR)
declare_family("deportes", "cifar", task="clasificacion", preprocessor=IMAGE_CLASSIFIER)
declare_family("mlp", task="clasificacion", preprocessor=FLAT_IMAGE_CLASSIFIER)
