"""Traductores guardados: cargarlos, traducir frases y dibujar la atención."""

from __future__ import annotations

import dataclasses
from typing import Any

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nucleo.errores import ArgumentError, DataError, ModelFileError
from nucleo.validacion import check_int
from datos.numeros import WordTokenizer
from datos.numeros import shorten
from informes.resultado import TaskResult
from tareas.base import Predictor
from tareas.registro import LEGACY_TASKS
# Las arquitecturas de la tarea: el Transformer o un seq2seq recurrente (build_seq2seq)
# con esa celda; mismo reparto, semilla y presupuesto de tiempo.


# La tarea que anotan sus modelos (los de versiones anteriores decían «numeros»).
TASK = "traduccion"
#: Frases por llamada a :meth:`TranslationPredictor.run_batch` al traducir una lista.
PREDICT_BATCH = 32


def load_translator(weights, engine: str = "keras"):
    """Carga un traductor de :func:`train_numbers`: ``(modelo, tok_origen, tok_destino, meta)``.

    Con ``engine="keras"`` (por defecto) el modelo es el de Keras; con otro motor
    (:func:`inferencia.motores.load_engine`; ``weights`` puede ser entonces la carpeta de
    ``redes TAREA exportar``), el motor.

    Raises:
        ModelFileError: si el archivo no es de esta tarea o sus metadatos no valen.
    """
    import modelos
    from inferencia.motores import load_engine, source_metadata

    metadata = source_metadata(weights)
    if LEGACY_TASKS.get(metadata.get("tarea"), metadata.get("tarea")) != TASK:
        raise ModelFileError(f"«{weights}» no es un traductor de números entrenado con "
                             "«redes traduccion entrenar» (faltan los tokenizadores en los "
                             "metadatos).")
    lengths = metadata.get("longitudes")
    target_len = lengths.get("destino") if isinstance(lengths, dict) else None
    if isinstance(target_len, bool) or not isinstance(target_len, int) or target_len < 1:
        raise ModelFileError(f"«{weights}»: los metadatos no tienen «longitudes» → «destino» "
                             f"(un entero ≥ 1); tienen {shorten(repr(lengths))}.")
    source_tok = WordTokenizer.from_json(metadata.get("tokenizador_origen"))
    target_tok = WordTokenizer.from_json(metadata.get("tokenizador_destino"))
    model = (modelos.load(weights, compile=False) if engine == "keras"
             else load_engine(weights, engine))
    return model, source_tok, target_tok, metadata


def _sentences(texts) -> list[str]:
    """Las frases de la llamada como lista; una sola cadena es una frase."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts or any(not isinstance(text, str) or not text.strip() for text in texts):
        raise DataError("Hace falta al menos una frase que traducir, y ninguna vacía.")
    return texts


def _check_beam(beam_size, where: str) -> int:
    """``beam_size`` entre 1 y ``MAX_BEAM`` (el error nombra ``where``)."""
    from modelos.transformer.decodificacion import MAX_BEAM

    return check_int(beam_size, "beam_size", maximum=MAX_BEAM, where=where)


def encode_texts(texts: list[str], source_tok: WordTokenizer, limit: int) -> np.ndarray:
    """Ids ``(N, S)`` de las frases, comprobando que caben en las ``limit`` posiciones.

    Raises:
        DataError: palabras fuera del vocabulario, o una frase más larga que ``limit``
            (dice cuántos tokens tiene y cuántos admite el traductor).
    """
    source = source_tok.encode_batch(texts)
    for text, length in zip(texts, (source != 0).sum(axis=1), strict=True):
        if length > limit:
            raise DataError(f"«{shorten(text)}» tiene {length} palabras y el traductor admite "
                            f"como máximo {limit} por frase (el tamaño de su tabla de "
                            "posiciones).")
    return source


def translate_texts(weights, texts: Sequence[str], *, beam_size: int = 1,
                    engine: str = "keras") -> list[TaskResult]:
    """Traduce frases en español con un traductor guardado.

    Traduce con el predictor de la tarea (:func:`load`), el mismo que el servicio, en
    lotes de :data:`PREDICT_BATCH` frases.

    Args:
        weights: ``modelo.h5`` de :func:`train_numbers` (o su carpeta de
            ``redes TAREA exportar``).
        texts: las frases (una cadena sola es una frase).
        beam_size: 1 = voraz; K > 1 = búsqueda en haz.
        engine: motor de inferencia (:func:`inferencia.motores.load_engine`). Con keras,
            la decodificación usa la caché de claves y valores; con otro motor, ejecuta
            el modelo entero sobre el prefijo en cada paso.

    Returns:
        Un :class:`TaskResult` por frase, con ``data`` ``{"origen", "traduccion"}``.

    Raises:
        ArgumentError: ``beam_size`` no es un entero entre 1 y
            :data:`~modelos.transformer.decodificacion.MAX_BEAM`.
        DataError: frase vacía, con palabras fuera del vocabulario (las nombra) o más
            larga de lo que admite el modelo (dice el máximo).
    """
    texts = _sentences(texts)
    beam_size = _check_beam(beam_size, "translate_texts")
    predictor = load(weights, engine)
    # Todas las frases se comprueban antes de traducir ninguna.
    items = [predictor.prepare(text, beam_size=beam_size) for text in texts]
    answers = []
    for start in range(0, len(items), PREDICT_BATCH):
        answers += predictor.run_batch(items[start:start + PREDICT_BATCH])
    results = []
    for text, answer in zip(texts, answers, strict=True):
        translation = answer["traduccion"]
        results.append(TaskResult(title="Traducción",
                                  data={"origen": text, "traduccion": translation},
                                  text=[f"{text} → {translation}"]))
    return results


def plot_attention(maps: dict[str, list[np.ndarray]], source_tokens: Sequence[str],
                   target_tokens: Sequence[str], out_dir) -> list[Path]:
    """Un PNG por tipo de atención: una fila por capa y una columna por cabeza.

    Args:
        maps: lo que devuelve :func:`modelos.transformer.attention_maps` (una frase).
        source_tokens: palabras del origen (eje de las claves del codificador).
        target_tokens: palabras del destino desplazado (``<s>`` ...).
        out_dir: carpeta de destino.

    Returns:
        Las rutas de ``atencion_codificador.png``, ``atencion_decodificador.png`` y
        ``atencion_cruzada.png`` (de un seq2seq recurrente, solo la última).
    """
    from informes.graficos import new_figure, save_figure

    kinds = (("encoder", "codificador", "Auto-atención del codificador", source_tokens,
              source_tokens),
             ("decoder_self", "decodificador", "Auto-atención enmascarada del decodificador",
              target_tokens, target_tokens),
             ("decoder_cross", "cruzada", "Atención cruzada (destino → origen)", target_tokens,
              source_tokens))
    paths = []
    for key, name, title, rows, cols in kinds:
        if key not in maps:  # un seq2seq recurrente solo tiene la atención cruzada
            continue
        weights = maps[key]
        layers, heads = len(weights), weights[0].shape[1]
        size = 0.3 * max(len(rows), len(cols)) + 1.2
        fig = new_figure(size * heads, size * layers + 0.6)
        axes = fig.subplots(layers, heads, squeeze=False)
        for layer in range(layers):
            for head in range(heads):
                ax = axes[layer][head]
                matrix = weights[layer][0, head, : len(rows), : len(cols)]
                ax.imshow(matrix, cmap="viridis", vmin=0.0, vmax=1.0)
                ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=7)
                ax.set_yticks(range(len(rows)), rows, fontsize=7)
                ax.set_title(f"capa {layer + 1}, cabeza {head + 1}", fontsize=8)
        fig.suptitle(title)
        paths.append(save_figure(fig, Path(out_dir) / f"atencion_{name}.png"))
    return paths


def attention_dir(weights, out_dir=None) -> Path:
    """La carpeta de los PNG de :func:`attention_figures`: ``out_dir`` o ``atencion/``
    junto a los pesos."""
    return Path(out_dir) if out_dir else Path(weights).parent / "atencion"


def attention_figures(weights, text: str, out_dir=None, *, beam_size: int = 1) -> TaskResult:
    """Traduce ``text`` y dibuja la atención de cada capa y cabeza sobre esa traducción.

    Returns:
        :class:`TaskResult` con ``data`` ``{"origen", "traduccion"}`` y en ``files``
        los tres PNG (``atencion_codificador``, ``atencion_decodificador``,
        ``atencion_cruzada``).

    Raises:
        DataError: frase vacía, con palabras fuera del vocabulario o demasiado larga.
    """
    from modelos.transformer.decodificacion import attention_maps

    if not isinstance(text, str):
        raise DataError("attention_figures: «text» debe ser una frase (texto).")
    (text,) = _sentences([text])
    beam_size = _check_beam(beam_size, "attention_figures")
    predictor = load(weights)
    source_tok, target_tok = predictor.source_tok, predictor.target_tok
    item = predictor.prepare(text, beam_size=beam_size)
    (ids,) = predictor.translate_ids([item])   # la traducción de translate_texts
    target = [target_tok.index["<s>"], *ids]
    maps = attention_maps(predictor.engine, item.source[None], [target])
    source_words = [source_tok.vocabulary[i] for i in item.source]
    target_words = [target_tok.vocabulary[i] for i in target]
    paths = plot_attention(maps, source_words, target_words, attention_dir(weights, out_dir))
    translation = target_tok.decode(ids)
    return TaskResult(title="Atención", files={p.stem: p for p in paths},
                      data={"origen": text, "traduccion": translation},
                      text=[f"{text} → {translation}"])


# === El predictor de la tarea (CLI, API y servicio) ===

@dataclasses.dataclass
class TranslationInput:
    text: str
    source: np.ndarray   # ids (S,) sin relleno
    attention: bool
    beam_size: int = 1   # 1 = voraz; K > 1 = búsqueda en haz


class TranslationPredictor(Predictor):
    """Un traductor de números de ``redes traduccion entrenar`` cargado."""

    task = "traduccion"

    def __init__(self, weights, engine, source_tok, target_tok, metadata):
        super().__init__(weights, engine)
        from modelos.transformer.decodificacion import sequence_limits

        self.source_tok, self.target_tok = source_tok, target_tok
        self.source_limit, target_limit = sequence_limits(engine)
        # Un token más que la traducción más larga vista al entrenar (para «</s>»), sin
        # pasar de la tabla de posiciones; los mapas de atención necesitan además sitio
        # para «<s>».
        self.output_len = min(metadata["longitudes"]["destino"] + 1, target_limit - 1)

    def details(self):
        return {"entrada": [self.source_limit], "vocabulario_origen": len(self.source_tok),
                "vocabulario_destino": len(self.target_tok)}

    def prepare(self, text: str, attention: bool = False, *,
                beam_size: int = 1) -> TranslationInput:
        """Una frase como ids; ``attention``: devolver también la atención cruzada;
        ``beam_size``: 1 = voraz, K > 1 = búsqueda en haz.

        Raises:
            DataError: palabras fuera del vocabulario o una frase demasiado larga.
        """
        if attention and getattr(self.engine, "name", "keras") != "keras":
            # Los pesos de atención salen de las capas del modelo de Keras; un artefacto
            # exportado solo da la salida (la petición no debe llegar al lote).
            raise ArgumentError(
                f"Los pesos de atención necesitan el motor keras y este modelo se sirve con "
                f"«{self.engine.name}»: sirva el .h5 con --motor keras (o pida la "
                "traducción sin atencion=1).")
        ids = encode_texts([text], self.source_tok, self.source_limit)[0]
        return TranslationInput(text, ids[ids != 0], attention,
                                _check_beam(beam_size, "TranslationPredictor.prepare"))

    def example_input(self):
        return self.prepare(next(w for w in self.source_tok.vocabulary if w.isalpha()), False)

    def translate_ids(self, items: list[TranslationInput]) -> list[list[int]]:
        """Los ids de la traducción de cada entrada, sin ``<s>`` ni ``</s>``.

        Una llamada a :func:`~modelos.transformer.decodificacion.translate` por cada
        ``beam_size`` distinto entre las entradas.
        """
        from modelos.transformer.decodificacion import translate

        translated: list[list[int]] = [[] for _ in items]
        for beam in sorted({item.beam_size for item in items}):
            group = [i for i, item in enumerate(items) if item.beam_size == beam]
            # Formas fijas (todas las posiciones; lotes de 1, 2, 4, 8...): la decodificación
            # compilada no se vuelve a trazar con cada longitud ni con cada tamaño de lote.
            rows = 1 << (len(group) - 1).bit_length()
            source = np.zeros((rows, self.source_limit), dtype=np.int32)
            for row, i in zip(source, group + group[:1] * (rows - len(group)), strict=True):
                row[:len(items[i].source)] = items[i].source
            found = translate(self.engine, source, self.output_len, beam_size=beam)
            for i, ids in zip(group, found, strict=False):
                translated[i] = list(ids)
        return translated

    def run_batch(self, items: list[TranslationInput]) -> list[dict[str, Any]]:
        from modelos.transformer.decodificacion import attention_maps

        results = []
        for item, ids in zip(items, self.translate_ids(items), strict=True):
            result = {"texto": item.text, "traduccion": self.target_tok.decode(ids)}
            if item.attention:
                target = [self.target_tok.index["<s>"], *ids]
                cross = attention_maps(self.engine, item.source[None], [target])["decoder_cross"]
                weights = np.asarray(cross[-1][0], dtype=np.float64).mean(axis=0)
                # Fila i: la palabra de salida i (la que se predice tras target[i]).
                words = [self.target_tok.vocabulary[i] for i in ids]
                result["atencion"] = {
                    "origen": [self.source_tok.vocabulary[i] for i in item.source],
                    "destino": words,
                    "pesos": np.round(weights[:len(words)], 5).tolist()}
            results.append(result)
        return results


def load(weights, engine: str = "keras") -> TranslationPredictor:
    """Carga un traductor de :func:`~tareas.traduccion.entrenar.train_numbers` (ver
    :func:`load_translator`)."""
    model, source_tok, target_tok, metadata = load_translator(weights, engine)
    if engine == "keras":
        from inferencia.motores import KerasEngine

        model = KerasEngine(model, metadata)
    return TranslationPredictor(weights, model, source_tok, target_tok, metadata)
