"""La tarea del Transformer que entrena aquí: traducir números escritos en palabras.

Son las funciones de ``redes transformer ...``: entrenar (con
:func:`entrenamiento.entrenar.train`: registro CSV, mejor modelo, reanudación,
curvas), medir el acierto exacto en números nunca vistos, traducir frases y
dibujar los mapas de atención con las palabras en los ejes.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from datos.entorno import import_tensorflow

import_tensorflow()

import keras  # noqa: E402

from datos.errores import ArgumentError, DataError, ModelFileError  # noqa: E402
from datos.numeros import EncodedPairs  # noqa: E402
from datos.numeros import MAX_NUMBER  # noqa: E402
from datos.numeros import WordTokenizer  # noqa: E402
from datos.numeros import encode_pairs  # noqa: E402
from datos.numeros import make_tokenizers  # noqa: E402
from datos.numeros import split_numbers  # noqa: E402
from datos.validacion import check_int  # noqa: E402

logger = logging.getLogger("redes")

TASK = "numeros"
# Todos los números de entrenamiento < 10.000 entran en el entrenamiento (ver split_numbers).
DENSE_BELOW = 10_000

# Modelo pequeño de la tarea: 2 + 2 capas, d_model 128 (el artículo: 6 + 6 y 512).
SMALL_MODEL = {"num_layers": 2, "d_model": 128, "num_heads": 4, "d_ff": 512, "dropout": 0.1}

# La demo: 0..999, un modelo aún menor y ~10 épocas cortas (≈ 30-60 s en 2 núcleos).
DEMO_SETTINGS = {
    "maximum": 999, "n_validation": 50, "n_test": 100, "n_train": None,
    "model": {"num_layers": 1, "d_model": 64, "num_heads": 4, "d_ff": 128, "dropout": 0.0},
    "epochs": 40, "batch_size": 32, "warmup_steps": 300,
}


class NumberBatches(keras.utils.PyDataset):
    """Lotes ``((origen, destino_entrada), destino_salida)`` de pares codificados.

    Con ``steps_per_epoch`` cada época es una muestra aleatoria (sin repetición) de
    ``steps_per_epoch · batch_size`` pares: con 200.000 números, épocas cortas que
    validan y guardan a menudo. Sin él, una pasada completa. Reproducible con ``seed``.
    """

    def __init__(self, pairs: EncodedPairs, batch_size: int, *, shuffle: bool = True,
                 steps_per_epoch: int | None = None, seed: int = 0):
        super().__init__()
        self.pairs = pairs
        self.batch_size = batch_size
        self.shuffle = shuffle
        count = len(pairs.source)
        full = math.ceil(count / batch_size)
        self.steps = full if steps_per_epoch is None else min(steps_per_epoch, full)
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(count)
        self.on_epoch_end()

    def __len__(self) -> int:
        return self.steps

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.order = self.rng.permutation(len(self.pairs.source))

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        pairs = self.pairs
        return (pairs.source[rows], pairs.target_in[rows]), pairs.target_out[rows]


def exact_match(model, pairs: EncodedPairs, target_tokenizer: WordTokenizer, *,
                beam_size: int = 1, batch_size: int = 500) -> tuple[float, list[str]]:
    """Fracción de frases traducidas exactamente igual que la referencia, y las traducciones."""
    from modelos.transformer.decodificacion import translate

    max_len = pairs.target_out.shape[1]
    predictions: list[str] = []
    for start in range(0, len(pairs.source), batch_size):
        ids = translate(model, pairs.source[start:start + batch_size], max_len,
                        beam_size=beam_size)
        predictions += [target_tokenizer.decode(row) for row in ids]
    references = [target_tokenizer.decode(row) for row in pairs.target_out]
    hits = sum(p == r for p, r in zip(predictions, references))
    return hits / max(len(references), 1), predictions


def train_numbers(
    run_dir="pesos/transformer",
    *,
    maximum: int = MAX_NUMBER,
    n_train: int | None = 200_000,
    n_validation: int = 500,
    n_test: int = 2000,
    model: dict[str, Any] | None = None,
    epochs: int = 30,
    steps_per_epoch: int | None = 400,
    batch_size: int = 64,
    warmup_steps: int = 1000,
    max_seconds: float | None = None,
    beam_size: int = 1,
    precision: str = "float32",
    seed: int = 0,
    verbose: Any = "auto",
) -> dict[str, Any]:
    """Entrena el traductor de números español → inglés y mide el acierto exacto en prueba.

    Args:
        run_dir: carpeta de la ejecución (modelo.h5, registro.csv, curvas.png).
        maximum: los números van de 0 a ``maximum`` (≤ 999.999).
        n_train: números de entrenamiento (``None`` = todos los que no son de prueba
            ni de validación).
        n_validation: números de validación (eligen el mejor modelo).
        n_test: números de prueba, nunca vistos al entrenar.
        model: argumentos de :func:`modelos.build_transformer` que sustituyen a
            :data:`SMALL_MODEL`.
        epochs: épocas como máximo.
        steps_per_epoch: lotes por época (``None`` = una pasada completa).
        batch_size: tamaño de lote.
        warmup_steps: pasos de calentamiento de la tasa de aprendizaje.
        max_seconds: tiempo máximo de entrenamiento (se para al terminar el lote).
        beam_size: haz para la evaluación final (1 = voraz).
        precision: ``"float32"`` o ``"mixed_bfloat16"``.
        seed: semilla de la división, la inicialización y los lotes.
        verbose: barra de progreso de Keras.

    Returns:
        ``{"metricas", "archivos", "ejemplos", "division", "modelo"}``; ``metricas``
        incluye ``test_exact_match`` (acierto exacto de frases de prueba).
    """
    from entrenamiento.entrenar import TimeLimit, train

    where = "train_numbers"
    check_int(beam_size, "beam_size", where=where)
    check_int(batch_size, "batch_size", where=where)
    if steps_per_epoch is not None:
        check_int(steps_per_epoch, "steps_per_epoch", where=where)
    if max_seconds is not None and not (isinstance(max_seconds, (int, float)) and max_seconds > 0):
        raise ArgumentError(f"{where}: «max_seconds» debe ser un número > 0; "
                            f"recibido {max_seconds!r}.")
    settings = {**SMALL_MODEL, **(model or {})}
    start = time.perf_counter()
    split = split_numbers(maximum, n_validation=n_validation, n_test=n_test, n_train=n_train,
                          dense_below=DENSE_BELOW, seed=seed)
    source_tok, target_tok = make_tokenizers(maximum)
    train_pairs = encode_pairs(split.train, source_tok, target_tok)
    lengths = {"origen": train_pairs.source.shape[1], "destino": train_pairs.target_in.shape[1]}
    encode = dict(source_len=lengths["origen"], target_len=lengths["destino"])
    test_pairs = encode_pairs(split.test, source_tok, target_tok, **encode)
    logger.info("Números 0..%d: %d de entrenamiento, %d de validación, %d de prueba "
                "(vocabularios %d / %d; datos en %.1f s).", maximum, len(split.train),
                len(split.validation), len(split.test), len(source_tok), len(target_tok),
                time.perf_counter() - start)
    validation = None
    if len(split.validation):
        validation = NumberBatches(encode_pairs(split.validation, source_tok, target_tok,
                                                **encode), 500, shuffle=False)
    kwargs = {"src_vocab": len(source_tok), "tgt_vocab": len(target_tok),
              "max_len": max(lengths.values()) + 2, "warmup_steps": warmup_steps, **settings}
    metadata = {
        "tarea": TASK, "maximo": maximum, "semilla": seed, "longitudes": lengths,
        "tokenizador_origen": source_tok.to_json(), "tokenizador_destino": target_tok.to_json(),
    }
    limit = [TimeLimit(max_seconds)] if max_seconds else []
    batches = NumberBatches(train_pairs, batch_size, steps_per_epoch=steps_per_epoch, seed=seed)
    train_start = time.perf_counter()
    result = train("transformer", kwargs, batches, validation, run_dir=run_dir, epochs=epochs,
                   batch_size=batch_size, seed=seed,
                   monitor="val_loss" if validation is not None else "loss",
                   precision=precision, metadata=metadata, verbose=verbose, callbacks=limit)
    train_seconds = time.perf_counter() - train_start

    eval_start = time.perf_counter()
    score, predictions = exact_match(result.model, test_pairs, target_tok, beam_size=beam_size)
    eval_seconds = time.perf_counter() - eval_start
    history = result.history
    figures: dict[str, Any] = {"epocas": len(history.get("loss", []))}
    for key in ("loss", "masked_accuracy", "val_loss", "val_masked_accuracy"):
        if history.get(key):
            figures[key] = float(history[key][-1])
    figures.update({"test_exact_match": score, "numeros_prueba": int(len(split.test)),
                    "segundos_entrenamiento": round(train_seconds, 1),
                    "segundos_evaluacion": round(eval_seconds, 1),
                    "segundos": round(time.perf_counter() - start, 1)})
    mistakes = [{"numero": int(n), "prediccion": p, "referencia": target_tok.decode(r)}
                for n, p, r in zip(test_pairs.numbers, predictions, test_pairs.target_out)
                if p != target_tok.decode(r)]
    shown = np.unique(np.linspace(0, len(predictions) - 1, 5).astype(int)) if predictions else []
    examples = [{"numero": int(test_pairs.numbers[i]), "origen": source_tok.decode(
        test_pairs.source[i]), "prediccion": predictions[i]} for i in shown]
    return {
        "metricas": figures,
        "archivos": {"pesos": str(result.weights_path), "registro": str(result.log_path),
                     "curvas": str(result.plot_path)},
        "ejemplos": examples,
        "errores": mistakes[:20],
        "division": {"entrenamiento": int(len(split.train)),
                     "validacion": int(len(split.validation)), "prueba": int(len(split.test))},
        "modelo": {**kwargs, "parametros": int(result.model.count_params()),
                   "precision": precision, "lote": batch_size,
                   "pasos_por_epoca": len(batches), "parada_por_tiempo": bool(
                       limit and limit[0].stopped)},
    }


def load_translator(weights):
    """Carga un traductor de :func:`train_numbers`: ``(modelo, tok_origen, tok_destino, meta)``.

    Raises:
        ModelFileError: si el archivo no es de esta tarea.
    """
    import modelos

    metadata = modelos.load_metadata(weights)["metadata"]
    if metadata.get("tarea") != TASK:
        raise ModelFileError(f"«{weights}» no es un traductor de números entrenado con "
                             "«redes transformer entrenar --tarea numeros» (faltan los "
                             "tokenizadores en los metadatos).")
    source_tok = WordTokenizer.from_json(metadata.get("tokenizador_origen"))
    target_tok = WordTokenizer.from_json(metadata.get("tokenizador_destino"))
    return modelos.load(weights, compile=False), source_tok, target_tok, metadata


def _encode_texts(texts: Sequence[str], source_tok: WordTokenizer) -> np.ndarray:
    if not texts or any(not text.strip() for text in texts):
        raise DataError("Hace falta al menos una frase no vacía que traducir.")
    return source_tok.encode_batch(list(texts))


def translate_texts(weights, texts: Sequence[str], *, beam_size: int = 1) -> list[dict[str, str]]:
    """Traduce frases en español con un traductor guardado.

    Returns:
        Una entrada por frase: ``{"origen", "traduccion"}``.

    Raises:
        DataError: frase vacía o con palabras fuera del vocabulario (las nombra).
    """
    from modelos.transformer.decodificacion import translate

    model, source_tok, target_tok, metadata = load_translator(weights)
    source = _encode_texts(texts, source_tok)
    ids = translate(model, source, metadata["longitudes"]["destino"] + 1,
                    beam_size=check_int(beam_size, "--haz"))
    return [{"origen": text, "traduccion": target_tok.decode(row)}
            for text, row in zip(texts, ids)]


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
        ``atencion_cruzada.png``.
    """
    from entrenamiento.graficos import new_figure, save_figure

    kinds = (("encoder", "codificador", "Auto-atención del codificador", source_tokens,
              source_tokens),
             ("decoder_self", "decodificador", "Auto-atención enmascarada del decodificador",
              target_tokens, target_tokens),
             ("decoder_cross", "cruzada", "Atención cruzada (destino → origen)", target_tokens,
              source_tokens))
    paths = []
    for key, name, title, rows, cols in kinds:
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


def attention_figures(weights, text: str, out_dir=None, *, beam_size: int = 1) -> dict[str, Any]:
    """Traduce ``text`` y dibuja la atención de cada capa y cabeza sobre esa traducción.

    Returns:
        ``{"origen", "traduccion", "archivos"}``.
    """
    from modelos.transformer.decodificacion import attention_maps, translate

    model, source_tok, target_tok, metadata = load_translator(weights)
    source = _encode_texts([text], source_tok)
    ids = translate(model, source, metadata["longitudes"]["destino"] + 1,
                    beam_size=check_int(beam_size, "--haz"))[0]
    target = [target_tok.index["<s>"], *ids]
    maps = attention_maps(model, source, [target])
    source_words = [source_tok.vocabulary[i] for i in source[0] if i]
    target_words = [target_tok.vocabulary[i] for i in target]
    out_dir = Path(out_dir or Path(weights).parent / "atencion")
    paths = plot_attention(maps, source_words, target_words, out_dir)
    return {"origen": text, "traduccion": target_tok.decode(ids),
            "archivos": {p.stem: str(p) for p in paths}}


def run_translation_demo(out_dir="pesos/demo/transformer", *, seed: int = 0,
                         verbose: Any = 0) -> dict[str, Any]:
    """Demo corta: entrena un traductor de 0..999 y traduce números que no vio.

    Returns:
        El resultado de :func:`train_numbers` con ``"traducciones"``: algunos números
        de prueba con su traducción.
    """
    settings = dict(DEMO_SETTINGS)
    result = train_numbers(out_dir, maximum=settings["maximum"], n_train=settings["n_train"],
                           n_validation=settings["n_validation"], n_test=settings["n_test"],
                           model=settings["model"], epochs=settings["epochs"],
                           steps_per_epoch=None, batch_size=settings["batch_size"],
                           warmup_steps=settings["warmup_steps"], seed=seed, verbose=verbose)
    result["traducciones"] = result["ejemplos"]
    return result
