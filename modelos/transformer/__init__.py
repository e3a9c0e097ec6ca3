"""El Transformer de «Attention is all you need»: capas, constructores y decodificación.

Ejemplo::

    from modelos.transformer import build_transformer, translate
    modelo = build_transformer(src_vocab, tgt_vocab, num_layers=2, d_model=128,
                               num_heads=4, d_ff=512)
    modelo.fit([origen, destino_entrada], destino_salida, epochs=10)
    frases = translate(modelo, origen, max_len=20, beam_size=4)
"""

from modelos.transformer.capas import Decoder
from modelos.transformer.capas import DecoderLayer
from modelos.transformer.capas import Encoder
from modelos.transformer.capas import EncoderLayer
from modelos.transformer.capas import FeedForward
from modelos.transformer.capas import MultiHeadAttention
from modelos.transformer.capas import PositionalEncoding
from modelos.transformer.capas import TokenAndPositionEmbedding
from modelos.transformer.constructores import build_decoder_lm
from modelos.transformer.constructores import build_encoder_classifier
from modelos.transformer.constructores import build_transformer
from modelos.transformer.esquema import WarmupSchedule
from modelos.transformer.perdidas import MaskedAccuracy
from modelos.transformer.perdidas import MaskedSparseCrossEntropy

__all__ = [
    "Decoder",
    "DecoderLayer",
    "Encoder",
    "EncoderLayer",
    "FeedForward",
    "MaskedAccuracy",
    "MaskedSparseCrossEntropy",
    "MultiHeadAttention",
    "PositionalEncoding",
    "TokenAndPositionEmbedding",
    "WarmupSchedule",
    "build_decoder_lm",
    "build_encoder_classifier",
    "build_transformer",
]
