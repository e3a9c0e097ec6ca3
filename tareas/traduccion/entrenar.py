"""Entrenar el traductor de números escritos en palabras (español → inglés).

Entrena con :func:`entrenamiento.entrenar.train` (registro CSV, mejor modelo,
reanudación, curvas) y mide el acierto exacto en números nunca vistos. Con
``architecture="lstm"`` o ``"gru"`` la misma tarea entrena el seq2seq recurrente
(:func:`modelos.build_seq2seq`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError
from datos.lotes_numeros import NumberBatches
from datos.numeros import MAX_NUMBER
from datos.numeros import EncodedPairs
from datos.numeros import WordTokenizer
from datos.numeros import encode_pairs
from datos.numeros import make_tokenizers
from datos.numeros import split_numbers
from nucleo.validacion import check_int
from informes.resultado import Table
from informes.resultado import TaskResult
from informes.resultado import training_files
from tareas.traduccion.prediccion import TASK
# Las arquitecturas de la tarea: el Transformer o un seq2seq recurrente (build_seq2seq)
# con esa celda; mismo reparto, semilla y presupuesto de tiempo.
from nucleo.vocabulario import TRANSLATION_ARCHITECTURES as ARCHITECTURES

logger = logging.getLogger("redes")

# Todos los números de entrenamiento < 10.000 entran en el entrenamiento (ver split_numbers).
DENSE_BELOW = 10_000

# Modelo pequeño de la tarea: 2 + 2 capas, d_model 128 (el artículo: 6 + 6 y 512).
SMALL_MODEL = {"num_layers": 2, "d_model": 128, "num_heads": 4, "d_ff": 512, "dropout": 0.1}

# El seq2seq de la tarea: codificador bidireccional de 128 por sentido, atención de Bahdanau
# (en una CPU cada paso recurrente es secuencial: más pequeño, más pasos en el mismo tiempo).
RNN_MODEL = {"units": 128, "embed_dim": 64, "bidirectional_encoder": True,
             "attention": "bahdanau", "dropout": 0.0}

# La demo: 0..999, un modelo aún menor y épocas cortas (una pasada completa cada una).
DEMO_SETTINGS = {
    "maximum": 999, "n_validation": 50, "n_test": 100, "n_train": None,
    "model": {"num_layers": 1, "d_model": 64, "num_heads": 4, "d_ff": 128, "dropout": 0.0},
    "epochs": 40, "batch_size": 32, "warmup_steps": 300,
}


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
    hits = sum(p == r for p, r in zip(predictions, references, strict=True))
    return hits / max(len(references), 1), predictions


def _step_counter():
    """Un callback que cuenta los lotes entrenados (para las fichas por segundo)."""
    from nucleo.keras_listo import keras

    class StepCounter(keras.callbacks.Callback):
        steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1

    return StepCounter()


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
    architecture: str = "transformer",
) -> TaskResult:
    """Entrena el traductor de números español → inglés y mide el acierto exacto en prueba.

    Args:
        run_dir: carpeta de la ejecución (modelo.h5, registro.csv, curvas.png).
        maximum: los números van de 0 a ``maximum`` (≤ 999.999).
        n_train: números de entrenamiento (``None`` = todos los que no son de prueba
            ni de validación).
        n_validation: números de validación (eligen el mejor modelo).
        n_test: números de prueba, nunca vistos al entrenar.
        model: argumentos del constructor que sustituyen a :data:`SMALL_MODEL`
            (:func:`modelos.build_transformer`) o a :data:`RNN_MODEL`
            (:func:`modelos.build_seq2seq`).
        epochs: épocas como máximo.
        steps_per_epoch: lotes por época (``None`` = una pasada completa).
        batch_size: tamaño de lote.
        warmup_steps: pasos de calentamiento de la tasa de aprendizaje (solo el
            Transformer; el seq2seq usa Adam con tasa fija).
        max_seconds: tiempo máximo de entrenamiento (se para al terminar el lote).
        beam_size: haz para la evaluación final (1 = voraz).
        precision: ``"float32"``, ``"mixed_bfloat16"`` o ``"auto"`` (la más rápida aquí).
        seed: semilla de la división, la inicialización y los lotes.
        verbose: barra de progreso de Keras.
        architecture: ``"transformer"``, o ``"lstm"`` / ``"gru"`` para un seq2seq
            recurrente (:func:`modelos.build_seq2seq` con esa celda). El reparto, la
            semilla y el tope de tiempo son los mismos.

    Returns:
        :class:`TaskResult` con ``metrics`` (``test_exact_match``: acierto exacto de
        frases de prueba, pérdidas, épocas, segundos, pasos y fichas por segundo al
        entrenar y al decodificar), ``files`` (``pesos``,
        ``registro``, ``curvas``), ``data`` (``ejemplos``, ``errores``, ``division``,
        ``modelo``), la tabla de ejemplos, el modelo y el historial.
    """
    from entrenamiento.callbacks import TimeLimit
    from entrenamiento.entrenar import train
    from modelos.transformer.decodificacion import MAX_BEAM

    where = "train_numbers"
    if architecture not in ARCHITECTURES:
        raise ArgumentError(f"{where}: «architecture» debe ser 'transformer', 'lstm' o 'gru'; "
                            f"recibido {architecture!r}.")
    check_int(beam_size, "beam_size", maximum=MAX_BEAM, where=where)
    check_int(batch_size, "batch_size", where=where)
    if steps_per_epoch is not None:
        check_int(steps_per_epoch, "steps_per_epoch", where=where)
    if max_seconds is not None and not (isinstance(max_seconds, (int, float)) and max_seconds > 0):
        raise ArgumentError(f"{where}: «max_seconds» debe ser un número > 0; "
                            f"recibido {max_seconds!r}.")
    recurrent = architecture != "transformer"
    defaults = {**RNN_MODEL, "cell": architecture} if recurrent else SMALL_MODEL
    settings = {**defaults, **(model or {})}
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
              "max_len": max(lengths.values()) + 2,
              **({} if recurrent else {"warmup_steps": warmup_steps}), **settings}
    metadata = {
        "tarea": TASK, "arquitectura": architecture, "maximo": maximum, "semilla": seed,
        "longitudes": lengths,
        "tokenizador_origen": source_tok.to_json(), "tokenizador_destino": target_tok.to_json(),
    }
    limit = [TimeLimit(max_seconds)] if max_seconds else []
    counter = _step_counter()
    batches = NumberBatches(train_pairs, batch_size, steps_per_epoch=steps_per_epoch, seed=seed)
    train_start = time.perf_counter()
    result = train("seq2seq" if recurrent else "transformer", kwargs, batches, validation,
                   run_dir=run_dir, epochs=epochs, batch_size=batch_size, seed=seed,
                   monitor="val_loss" if validation is not None else "loss",
                   precision=precision, metadata=metadata, verbose=verbose,
                   callbacks=[*limit, counter])
    train_seconds = time.perf_counter() - train_start
    # Fichas reales (origen + destino, sin relleno) por lote medio de entrenamiento.
    pair_tokens = float(np.mean((train_pairs.source != 0).sum(1)
                                + (train_pairs.target_out != 0).sum(1)))

    eval_start = time.perf_counter()
    score, predictions = exact_match(result.model, test_pairs, target_tok, beam_size=beam_size)
    eval_seconds = time.perf_counter() - eval_start
    # Fichas generadas: las de cada traducción más su «</s>».
    generated = sum(len(WordTokenizer.split(p)) + 1 for p in predictions)
    history = result.history
    figures: dict[str, Any] = {"epocas": len(history.get("loss", []))}
    for key in ("loss", "masked_accuracy", "val_loss", "val_masked_accuracy"):
        if history.get(key):
            figures[key] = float(history[key][-1])
    figures.update({"test_exact_match": score, "numeros_prueba": int(len(split.test)),
                    "segundos_entrenamiento": round(train_seconds, 1),
                    "pasos_entrenamiento": counter.steps,
                    "fichas_por_s_entrenamiento": round(
                        counter.steps * batch_size * pair_tokens / max(train_seconds, 1e-9)),
                    "segundos_evaluacion": round(eval_seconds, 1),
                    "fichas_por_s_decodificacion": round(generated / max(eval_seconds, 1e-9)),
                    "segundos": round(time.perf_counter() - start, 1)})
    mistakes = [{"numero": int(n), "prediccion": p, "referencia": target_tok.decode(r)}
                for n, p, r in zip(test_pairs.numbers, predictions, test_pairs.target_out,
                                   strict=True)
                if p != target_tok.decode(r)]
    shown = np.unique(np.linspace(0, len(predictions) - 1, 5).astype(int)) if predictions else []
    examples = [{"numero": int(test_pairs.numbers[i]), "origen": source_tok.decode(
        test_pairs.source[i]), "prediccion": predictions[i]} for i in shown]
    files = {name: path for name, path in training_files(result).items() if path is not None}
    return TaskResult(
        title=f"{TITLES[architecture]} «numeros»: métricas finales",
        metrics=figures,
        files=files,
        data={
            "ejemplos": examples,
            "errores": mistakes[:20],
            "division": {"entrenamiento": int(len(split.train)),
                         "validacion": int(len(split.validation)),
                         "prueba": int(len(split.test))},
            "modelo": {**kwargs, "parametros": int(result.model.count_params()),
                       "arquitectura": architecture,
                       "precision": precision, "lote": batch_size,
                       "pasos_por_epoca": len(batches),
                       "parada_por_tiempo": bool(limit and limit[0].stopped)},
        },
        tables=[Table("Números de prueba (nunca vistos)", ("Español", "Traducción"),
                      [(f"{e['origen']} ({e['numero']})", e["prediccion"]) for e in examples])],
        model=result.model,
        history=dict(history),
    )


TITLES = {"transformer": "Transformer", "lstm": "Seq2seq LSTM", "gru": "Seq2seq GRU"}


def run_translation_demo(out_dir="pesos/demo/transformer", *, seed: int = 0,
                         verbose: Any = 0) -> TaskResult:
    """Demo corta: entrena un traductor de 0..999 y traduce números que no vio.

    Returns:
        El :class:`TaskResult` de :func:`train_numbers` (sus ``ejemplos`` son números de
        prueba con su traducción).
    """
    settings = dict(DEMO_SETTINGS)
    return train_numbers(out_dir, maximum=settings["maximum"], n_train=settings["n_train"],
                         n_validation=settings["n_validation"], n_test=settings["n_test"],
                         model=settings["model"], epochs=settings["epochs"],
                         steps_per_epoch=None, batch_size=settings["batch_size"],
                         warmup_steps=settings["warmup_steps"], seed=seed, verbose=verbose)
