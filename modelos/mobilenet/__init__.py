"""MobileNetV2 de ImageNet con la arquitectura de torchvision (``constructor``) y la
lectura de sus pesos ``.pth`` sin ejecutar nada (``torchvision``)."""

from modelos.clasificacion.preprocesado import IMAGE_CLASSIFIER
from modelos.mobilenet.constructor import build_mobilenetv2
from modelos.registro import declare_family

__all__ = ["build_mobilenetv2"]

declare_family("mobilenetv2", task="clasificacion", preprocessor=IMAGE_CLASSIFIER)
