"""Constructores de modelos de redes-keras y su guardado en HDF5.

Cada familia es una carpeta con su constructor, sus objetivos, pérdida y
decodificación, sus formatos de pesos y su preprocesado: ``clasificacion``, ``ventas``,
``yolo`` (con Darknet y sus ``.weights``), ``mobilenet`` (con los ``.pth`` de
torchvision), ``transformer`` y ``seq2seq``. Aquí viven
también el registro de constructores y el formato HDF5 (``registro``, ``guardado``,
``archivo_h5``).

Ejemplo::

    from modelos import build_xor, load, save

    red = build_xor()
    red.fit(x, y, epochs=1000, verbose=0)
    save(red, "pesos/xor.h5")
    red2 = load("pesos/xor.h5")
"""

from modelos.clasificacion import build_cifar_cnn
from modelos.clasificacion import build_mlp
from modelos.clasificacion import build_sports_cnn
from modelos.clasificacion import build_xor
from modelos.guardado import load
from modelos.guardado import load_metadata
from modelos.guardado import load_weights
from modelos.guardado import save
from modelos.registro import builder_names
from modelos.registro import get_builder
from modelos.mobilenet import build_mobilenetv2
from modelos.seq2seq import build_seq2seq
from modelos.transformer import build_decoder_lm, build_encoder_classifier, build_transformer
from modelos.ventas import build_sales_global
from modelos.ventas import build_sales_mlp
from modelos.ventas import build_sales_rnn
from modelos.yolo import build_yolo

__all__ = [
    "build_cifar_cnn",
    "build_decoder_lm",
    "build_encoder_classifier",
    "build_mlp",
    "build_mobilenetv2",
    "build_sales_global",
    "build_sales_mlp",
    "build_seq2seq",
    "build_sales_rnn",
    "build_sports_cnn",
    "build_transformer",
    "build_xor",
    "build_yolo",
    "builder_names",
    "get_builder",
    "load",
    "load_metadata",
    "load_weights",
    "save",
]
