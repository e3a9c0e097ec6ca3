"""Traducción español → inglés de números escritos en palabras, generada por el proyecto.

«trescientos cuarenta y dos mil uno» → «three hundred and forty-two thousand and one»,
de 0 a 999.999. Las palabras las escribe ``num2words``; el tokenizador por palabras
es nuestro (:class:`WordTokenizer`) y se guarda como JSON dentro del ``modelo.h5``
(``modelos.save(..., metadata=...)``), sin pickle. La división en entrenamiento,
validación y prueba es **por número**: ningún número de prueba aparece en el
entrenamiento.

Ejemplo::

    division = split_numbers(999_999, n_validation=500, n_test=2000, n_train=200_000)
    origen, destino = make_tokenizers(999_999)
    datos = encode_pairs(division.train, origen, destino)
    datos.source.shape, datos.target_in.shape, datos.target_out.shape
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError, DataError
from nucleo.validacion import check_int

MAX_NUMBER = 999_999
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)  # ids 0, 1, 2, 3
_WORD = re.compile(r"\w+|[^\w\s]")
# Cuánto de una frase del usuario se repite en un mensaje de error, y cuántas
# palabras desconocidas se nombran: una línea de 40 KB no cabe en un mensaje.
ECHO_CHARS = 60
SHOWN_UNKNOWN = 5


def shorten(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` en una línea y, si pasa de ``limit`` caracteres, cortado con «…»."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def number_words(number: int, lang: str) -> str:
    """El número en palabras (``lang`` = ``"es"`` o ``"en"``), con ``num2words``."""
    from num2words import num2words

    return num2words(int(number), lang=lang)


class WordTokenizer:
    """Tokenizador por palabras: separa palabras y signos («forty-two» → forty, -, two).

    Los ids 0..3 son ``<pad>``, ``<unk>``, ``<s>`` y ``</s>``; después, las palabras.

    Args:
        words: las palabras del vocabulario (sin los especiales), en orden.

    Example:
        >>> tok = WordTokenizer.fit(["forty-two", "one thousand, two"])
        >>> tok.decode(tok.encode("forty-two"))
        'forty-two'
    """

    def __init__(self, words: Sequence[str]):
        words = list(words)
        if len(set(words)) != len(words) or any(w in SPECIAL_TOKENS for w in words):
            raise ArgumentError("WordTokenizer: el vocabulario tiene palabras repetidas o "
                                "especiales (<pad>, <unk>, <s>, </s>).")
        self.vocabulary = [*SPECIAL_TOKENS, *words]
        self.index = {word: i for i, word in enumerate(self.vocabulary)}

    @staticmethod
    def split(text: str) -> list[str]:
        """Palabras y signos de ``text`` en minúsculas."""
        return _WORD.findall(text.lower())

    @classmethod
    def fit(cls, texts: Iterable[str]) -> WordTokenizer:
        """Vocabulario con todas las palabras de ``texts``, en orden alfabético."""
        return cls(sorted({word for text in texts for word in cls.split(text)}))

    def __len__(self) -> int:
        return len(self.vocabulary)

    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False,
               strict: bool = True) -> list[int]:
        """Ids de ``text``; con ``strict`` una palabra desconocida es un error (si no, ``<unk>``).

        Raises:
            DataError: palabras fuera del vocabulario: nombra las primeras
                (:data:`SHOWN_UNKNOWN`), cuenta las demás, repite la frase cortada
                (:data:`ECHO_CHARS` caracteres) y muestra algunas palabras válidas.
        """
        unknown_id = self.index[UNK]
        ids = [self.index.get(word, unknown_id) for word in self.split(text)]
        if strict and unknown_id in ids:
            raise DataError(self._unknown_message(text))
        return [self.index[BOS]] * add_bos + ids + [self.index[EOS]] * add_eos

    def _unknown_message(self, text: str) -> str:
        unknown = list(dict.fromkeys(w for w in self.split(text) if w not in self.index))
        named = ", ".join(f"«{shorten(word, 30)}»" for word in unknown[:SHOWN_UNKNOWN])
        rest = len(unknown) - SHOWN_UNKNOWN
        known = ", ".join(self.vocabulary[4:14])
        vocabulary = f"vocabulario ({len(self) - 4} palabras: {known}...)"
        if len(unknown) == 1:
            return f"La palabra {named} de «{shorten(text)}» no está en el {vocabulary}."
        more = f" y {rest} más" if rest > 0 else ""
        return (f"{len(unknown)} palabras de «{shorten(text)}» no están en el {vocabulary}: "
                f"{named}{more}.")

    def decode(self, ids: Iterable[int]) -> str:
        """Texto de ``ids`` sin especiales: «,» tras la palabra anterior y «-» sin espacios."""
        text = ""
        for i in ids:
            i = int(i)
            if i < len(SPECIAL_TOKENS) or i >= len(self):
                continue
            word = self.vocabulary[i]
            glue = word in (",", "-") or text.endswith("-") or not text
            text += word if glue else " " + word
        return text

    def encode_batch(self, texts: Sequence[str], length: int | None = None, **kwargs) -> np.ndarray:
        """Matriz ``(N, length)`` de ids con relleno 0 al final (``length``: la más larga)."""
        rows = [self.encode(text, **kwargs) for text in texts]
        length = max(map(len, rows), default=0) if length is None else length
        out = np.zeros((len(rows), length), "int32")
        for i, row in enumerate(rows):
            if len(row) > length:
                raise DataError(f"«{shorten(texts[i])}» tiene {len(row)} tokens; el máximo es "
                                f"{length}.")
            out[i, : len(row)] = row
        return out

    def to_json(self) -> dict[str, Any]:
        """Diccionario JSON (para los metadatos del modelo)."""
        return {"tipo": "palabras", "vocabulario": self.vocabulary}

    @classmethod
    def from_json(cls, data: Any) -> WordTokenizer:
        """Reconstruye el tokenizador de :meth:`to_json`.

        Raises:
            DataError: si ``data`` no es un tokenizador por palabras válido.
        """
        vocabulary = data.get("vocabulario") if isinstance(data, dict) else None
        if (not isinstance(data, dict) or data.get("tipo") != "palabras"
                or not isinstance(vocabulary, list)
                or tuple(vocabulary[:4]) != SPECIAL_TOKENS
                or not all(isinstance(w, str) for w in vocabulary)):
            raise DataError("El tokenizador guardado no es válido: se esperaba "
                            "{'tipo': 'palabras', 'vocabulario': ['<pad>', '<unk>', '<s>', "
                            "'</s>', ...]}.")
        return cls(vocabulary[4:])


def _covering_numbers(maximum: int) -> list[int]:
    """Números cuyas palabras cubren las de todo 0..maximum (unidades, centenas, miles)."""
    small = range(0, min(maximum, 1100) + 1)
    thousands = (k * 1000 + extra for k in range(1, 1000) for extra in (0, 1, 100))
    return sorted({*small, *(n for n in thousands if n <= maximum)})


def make_tokenizers(maximum: int = MAX_NUMBER) -> tuple[WordTokenizer, WordTokenizer]:
    """Tokenizadores de origen (español) y destino (inglés) para los números 0..maximum."""
    check_int(maximum, "maximum", minimum=1, maximum=MAX_NUMBER, where="make_tokenizers")
    numbers = _covering_numbers(maximum)
    return (WordTokenizer.fit(number_words(n, "es") for n in numbers),
            WordTokenizer.fit(number_words(n, "en") for n in numbers))


@dataclasses.dataclass(frozen=True)
class NumberSplit:
    """Números (ordenados) de cada partición; disjuntos entre sí."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def split_numbers(maximum: int = MAX_NUMBER, *, n_validation: int = 500, n_test: int = 2000,
                  n_train: int | None = None, dense_below: int = 0, seed: int = 0
                  ) -> NumberSplit:
    """Divide 0..maximum por número: prueba y validación primero, el entrenamiento del resto.

    Args:
        maximum: el mayor número (≤ 999.999).
        n_validation: números de validación.
        n_test: números de prueba (nunca vistos al entrenar).
        n_train: números de entrenamiento; ``None`` = todos los restantes.
        dense_below: los números restantes menores que este van todos al
            entrenamiento (y el resto de ``n_train`` se sortea entre los mayores): al
            sortear 200.000 de un millón solo saldrían ~200 menores de 1000, y «ciento
            veinte» es de los primeros que prueba un usuario. Prueba y validación siguen
            sorteándose en todo el rango.
        seed: semilla de la permutación.

    Raises:
        ArgumentError: si no caben tantos números en el rango.
    """
    where = "split_numbers"
    check_int(maximum, "maximum", minimum=1, maximum=MAX_NUMBER, where=where)
    check_int(n_validation, "n_validation", minimum=0, where=where)
    check_int(n_test, "n_test", minimum=0, where=where)
    check_int(dense_below, "dense_below", minimum=0, where=where)
    rest = maximum + 1 - n_validation - n_test
    if n_train is not None:
        check_int(n_train, "n_train", where=where)
    if rest < 1 or (n_train is not None and n_train > rest):
        raise ArgumentError(f"{where}: 0..{maximum} tiene {maximum + 1} números; no caben "
                            f"{n_test} de prueba, {n_validation} de validación y "
                            f"{n_train or 'al menos 1'} de entrenamiento.")
    order = np.random.default_rng(seed).permutation(maximum + 1)
    test, validation = order[:n_test], order[n_test:n_test + n_validation]
    rest_numbers = order[n_test + n_validation:]
    small = rest_numbers < dense_below
    # Primero los pequeños, después los demás en orden aleatorio.
    train = np.concatenate([rest_numbers[small], rest_numbers[~small]])[: n_train or rest]
    return NumberSplit(np.sort(train), np.sort(validation), np.sort(test))


@dataclasses.dataclass(frozen=True)
class EncodedPairs:
    """Pares codificados para *teacher forcing*.

    ``source`` (N, S); ``target_in`` = ``<s>`` + y y ``target_out`` = y + ``</s>``, (N, T).
    """

    numbers: np.ndarray
    source: np.ndarray
    target_in: np.ndarray
    target_out: np.ndarray


def encode_pairs(numbers: Sequence[int], source_tokenizer: WordTokenizer,
                 target_tokenizer: WordTokenizer, *, source_len: int | None = None,
                 target_len: int | None = None) -> EncodedPairs:
    """Escribe cada número en español e inglés y lo codifica para *teacher forcing*."""
    numbers = np.asarray(numbers, dtype=np.int64)
    source = source_tokenizer.encode_batch([number_words(n, "es") for n in numbers], source_len)
    target = target_tokenizer.encode_batch(
        [number_words(n, "en") for n in numbers],
        None if target_len is None else target_len + 1, add_bos=True, add_eos=True)
    return EncodedPairs(numbers, source, target[:, :-1], target[:, 1:])
