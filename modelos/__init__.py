"""Constructores de modelos de redes-keras y su guardado en HDF5.

Ejemplo::

    import modelos
    red = modelos.build_xor()
    red.fit(x, y, epochs=1000, verbose=0)
    modelos.save(red, "pesos/xor.h5")
    red2 = modelos.load("pesos/xor.h5")
"""

from modelos.clasificadores import build_cifar_cnn
from modelos.clasificadores import build_mlp
from modelos.clasificadores import build_sports_cnn
from modelos.clasificadores import build_xor
from modelos.guardado import load
from modelos.guardado import load_metadata
from modelos.guardado import load_weights
from modelos.guardado import save
from modelos.registro import builder_names
from modelos.registro import get_builder
from modelos.seq2seq import build_seq2seq
from modelos.transformer import build_decoder_lm, build_encoder_classifier, build_transformer
from modelos.ventas import build_sales_mlp
from modelos.ventas_rnn import build_sales_rnn
from modelos.yolo import build_yolo

__all__ = [
    "build_cifar_cnn",
    "build_decoder_lm",
    "build_encoder_classifier",
    "build_mlp",
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
