"""Lo que reciben los traductores (Transformer y seq2seq): ids de fichas de los
tokenizadores que viajan en los metadatos del modelo."""

from modelos.preprocesado import Preprocessor

TOKENS = Preprocessor(
    input="int32: ids de los tokenizadores de metadata (0 = relleno)",
    output="float32 (B, T, vocabulario): probabilidades de la ficha siguiente")

#: Los modelos de texto sin tarea de ``redes`` (tipo GPT, tipo BERT): solo la entrada.
TOKEN_IDS = Preprocessor(input=TOKENS.input)
