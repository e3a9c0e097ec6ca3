"""El Transformer de «Attention is all you need»: capas, constructores y decodificación.

Módulos: ``incrustaciones`` (tokens y posiciones), ``atencion`` (atención
multi-cabeza), ``bloques`` (capas y pilas de codificador y decodificador),
``constructores``, ``perdidas``, ``esquema`` (la tasa con calentamiento) y
``decodificacion`` (traducir, generar, mapas de atención).

Ejemplo::

    from modelos.transformer import build_transformer, translate
    modelo = build_transformer(src_vocab, tgt_vocab, num_layers=2, d_model=128,
                               num_heads=4, d_ff=512)
    modelo.fit([origen, destino_entrada], destino_salida, epochs=10)
    frases = translate(modelo, origen, max_len=20, beam_size=4)
"""

from modelos.transformer.atencion import MultiHeadAttention
from modelos.transformer.bloques import Decoder
from modelos.transformer.bloques import DecoderLayer
from modelos.transformer.bloques import Encoder
from modelos.transformer.bloques import EncoderLayer
from modelos.transformer.bloques import FeedForward
from modelos.transformer.constructores import build_decoder_lm
from modelos.transformer.constructores import build_encoder_classifier
from modelos.transformer.constructores import build_transformer
from modelos.transformer.decodificacion import attention_maps
from modelos.transformer.decodificacion import generate
from modelos.transformer.decodificacion import translate
from modelos.transformer.esquema import WarmupSchedule
from modelos.transformer.incrustaciones import PAD_ID
from modelos.transformer.incrustaciones import PositionalEncoding
from modelos.transformer.incrustaciones import TokenAndPositionEmbedding
from modelos.transformer.perdidas import MaskedAccuracy
from modelos.transformer.perdidas import MaskedSparseCrossEntropy
from modelos.transformer.preprocesado import TOKEN_IDS
from modelos.transformer.preprocesado import TOKENS
from modelos.registro import declare_family

__all__ = [
    "Decoder",
    "DecoderLayer",
    "Encoder",
    "EncoderLayer",
    "FeedForward",
    "MaskedAccuracy",
    "MaskedSparseCrossEntropy",
    "MultiHeadAttention",
    "PAD_ID",
    "PositionalEncoding",
    "TokenAndPositionEmbedding",
    "WarmupSchedule",
    "attention_maps",
    "build_decoder_lm",
    "build_encoder_classifier",
    "build_transformer",
    "generate",
    "translate",
]

declare_family("transformer", task="traduccion", preprocessor=TOKENS)
declare_family("transformer_lm", "transformer_clasificador", task=None, preprocessor=TOKEN_IDS)
