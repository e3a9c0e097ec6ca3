"""Entrenar el traductor de números escritos en palabras (español → inglés).

:func:`train_numbers` recibe una
:class:`~tareas.traduccion.configuracion.TranslationConfig`, reparte y codifica los
números (:func:`_data`), entrena con :func:`entrenamiento.entrenar.train` (registro CSV,
mejor modelo, reanudación, curvas) y mide el acierto exacto en números nunca vistos
(:func:`_report`). Con ``architecture="lstm"`` o ``"gru"`` la misma tarea entrena el
seq2seq recurrente (:func:`modelos.build_seq2seq`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import numpy as np

from datos.lotes_numeros import NumberBatches
from datos.numeros import EncodedPairs
from datos.numeros import WordTokenizer
from datos.numeros import encode_pairs
from datos.numeros import make_tokenizers
from datos.numeros import split_numbers
from nucleo.validacion import check_int
from informes.resultado import Table
from informes.resultado import TaskResult
from informes.resultado import training_files
from tareas.configuracion import save_run_config
from tareas.traduccion.configuracion import DEMO_CONFIG
from tareas.traduccion.configuracion import TranslationConfig
from tareas.traduccion.prediccion import TASK

logger = logging.getLogger("redes")

# Todos los números de entrenamiento < 10.000 entran en el entrenamiento (ver split_numbers).
DENSE_BELOW = 10_000


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


@dataclasses.dataclass
class _Data:
    """Los números de cada partición, codificados, y los lotes de entrenamiento."""

    split: Any
    source_tok: WordTokenizer
    target_tok: WordTokenizer
    train_pairs: EncodedPairs
    test_pairs: EncodedPairs
    lengths: dict[str, int]
    batches: NumberBatches
    validation: NumberBatches | None


def _check(config: TranslationConfig) -> None:
    """Lo que la configuración no comprueba sola (el tope del haz vive con el decodificador)."""
    from modelos.transformer.decodificacion import MAX_BEAM

    check_int(config.beam_size, "beam_size (--haz)", maximum=MAX_BEAM, where="train_numbers")


def _data(config: TranslationConfig) -> _Data:
    """Reparte los números, crea los vocabularios y codifica cada partición."""
    start = time.perf_counter()
    split = split_numbers(config.maximum, n_validation=config.n_validation,
                          n_test=config.n_test, n_train=config.n_train,
                          dense_below=DENSE_BELOW, seed=config.seed)
    source_tok, target_tok = make_tokenizers(config.maximum)
    train_pairs = encode_pairs(split.train, source_tok, target_tok)
    lengths = {"origen": train_pairs.source.shape[1], "destino": train_pairs.target_in.shape[1]}
    encode = dict(source_len=lengths["origen"], target_len=lengths["destino"])
    test_pairs = encode_pairs(split.test, source_tok, target_tok, **encode)
    logger.info("Números 0..%d: %d de entrenamiento, %d de validación, %d de prueba "
                "(vocabularios %d / %d; datos en %.1f s).", config.maximum, len(split.train),
                len(split.validation), len(split.test), len(source_tok), len(target_tok),
                time.perf_counter() - start)
    validation = None
    if len(split.validation):
        validation = NumberBatches(encode_pairs(split.validation, source_tok, target_tok,
                                                **encode), 500, shuffle=False)
    batches = NumberBatches(train_pairs, config.batch_size,
                            steps_per_epoch=config.steps_per_epoch, seed=config.seed)
    return _Data(split, source_tok, target_tok, train_pairs, test_pairs, lengths, batches,
                 validation)


def _builder_kwargs(config: TranslationConfig, data: _Data) -> dict[str, Any]:
    """Los argumentos de :func:`modelos.build_transformer` o :func:`modelos.build_seq2seq`."""
    max_len = max(data.lengths.values()) + 2
    return {"src_vocab": len(data.source_tok), "tgt_vocab": len(data.target_tok),
            "max_len": max_len if config.max_len is None else config.max_len,
            **({} if config.recurrent else {"warmup_steps": config.warmup_steps}),
            **config.model_kwargs()}


def train_numbers(config: TranslationConfig | None = None, *, verbose: Any = "auto",
                  cluster=None, devices=None, **overrides) -> TaskResult:
    """Entrena el traductor de números español → inglés y mide el acierto exacto en prueba.

    Guarda el mejor modelo por la pérdida de validación. ``learning_rate`` (``--tasa``)
    es la tasa fija de Adam en el seq2seq LSTM/GRU y, en el Transformer, la tasa máxima
    del esquema con calentamiento del artículo (escalado sin cambiar su forma);
    ``patience`` (``--paciencia``) para tras tantas épocas sin mejorar la pérdida de
    validación y ``minutes`` (``--minutos``) al terminar el lote en que se cumple el tope.

    Args:
        config: la :class:`~tareas.traduccion.configuracion.TranslationConfig`
            (``None``: la de la tarea, el Transformer pequeño).
        verbose: barra de progreso de Keras.
        cluster: con varios procesos, el :class:`~entrenamiento.distribuido.Cluster`.
        devices: ``--dispositivos``: datos en paralelo en varios dispositivos de este
            proceso (:func:`entrenamiento.distribuido.local_devices`); ``None``, uno.
        **overrides: campos de la configuración que cambian (``maximum=999, epochs=10``).

    Returns:
        :class:`TaskResult` con ``metrics`` (``test_exact_match``: acierto exacto de
        frases de prueba, pérdidas, épocas, segundos, pasos y fichas por segundo al
        entrenar y al decodificar), ``files`` (``pesos``, ``registro``, ``curvas``,
        ``configuracion``), ``data`` (``ejemplos``, ``errores``, ``division``,
        ``modelo``), la tabla de ejemplos, el modelo y el historial.
    """
    from entrenamiento.callbacks import TimeLimit
    from entrenamiento.entrenar import train

    config = TranslationConfig.build(config, **overrides)
    _check(config)
    start = time.perf_counter()
    data = _data(config)
    kwargs = _builder_kwargs(config, data)
    metadata = {
        "tarea": TASK, "arquitectura": config.architecture, "maximo": config.maximum,
        "semilla": config.seed, "longitudes": data.lengths,
        "tokenizador_origen": data.source_tok.to_json(),
        "tokenizador_destino": data.target_tok.to_json(),
    }
    limit = [TimeLimit(config.minutes * 60, cluster)] if config.minutes else []
    counter = _step_counter()
    run_dir = config.resolved_run_dir()
    config_file = save_run_config(config.replace(run_dir=run_dir), run_dir, cluster)
    train_start = time.perf_counter()
    result = train("seq2seq" if config.recurrent else "transformer", kwargs, data.batches,
                   data.validation, run_dir=run_dir, cluster=cluster, devices=devices,
                   epochs=config.epochs,
                   batch_size=config.batch_size, seed=config.seed,
                   monitor="val_loss" if data.validation is not None else "loss",
                   patience=config.patience, precision=config.precision, metadata=metadata,
                   verbose=verbose, callbacks=[*limit, counter],
                   tensorboard=config.tensorboard)
    timing = {"train": time.perf_counter() - train_start, "start": start,
              "steps": counter.steps, "stopped": bool(limit and limit[0].stopped)}
    report = _report(config, data, result, kwargs, timing)
    report.files["configuracion"] = config_file
    return report


def _report(config: TranslationConfig, data: _Data, result, kwargs: dict[str, Any],
            timing: dict[str, Any]) -> TaskResult:
    """Acierto exacto en prueba, velocidades, ejemplos y errores."""
    train_seconds = timing["train"]
    # Fichas reales (origen + destino, sin relleno) por lote medio de entrenamiento.
    pair_tokens = float(np.mean((data.train_pairs.source != 0).sum(1)
                                + (data.train_pairs.target_out != 0).sum(1)))
    eval_start = time.perf_counter()
    score, predictions = exact_match(result.model, data.test_pairs, data.target_tok,
                                     beam_size=config.beam_size)
    eval_seconds = time.perf_counter() - eval_start
    # Fichas generadas: las de cada traducción más su «</s>».
    generated = sum(len(WordTokenizer.split(p)) + 1 for p in predictions)
    history = result.history
    figures: dict[str, Any] = {"epocas": len(history.get("loss", []))}
    for key in ("loss", "masked_accuracy", "val_loss", "val_masked_accuracy"):
        if history.get(key):
            figures[key] = float(history[key][-1])
    figures.update({"test_exact_match": score, "numeros_prueba": int(len(data.split.test)),
                    "segundos_entrenamiento": round(train_seconds, 1),
                    "pasos_entrenamiento": timing["steps"],
                    "fichas_por_s_entrenamiento": round(
                        timing["steps"] * config.batch_size * pair_tokens
                        / max(train_seconds, 1e-9)),
                    "segundos_evaluacion": round(eval_seconds, 1),
                    "fichas_por_s_decodificacion": round(generated / max(eval_seconds, 1e-9)),
                    "segundos": round(time.perf_counter() - timing["start"], 1),
                    **result.summary()})
    test_pairs, target_tok, split = data.test_pairs, data.target_tok, data.split
    mistakes = [{"numero": int(n), "prediccion": p, "referencia": target_tok.decode(r)}
                for n, p, r in zip(test_pairs.numbers, predictions, test_pairs.target_out,
                                   strict=True)
                if p != target_tok.decode(r)]
    shown = np.unique(np.linspace(0, len(predictions) - 1, 5).astype(int)) if predictions else []
    examples = [{"numero": int(test_pairs.numbers[i]), "origen": data.source_tok.decode(
        test_pairs.source[i]), "prediccion": predictions[i]} for i in shown]
    files = {name: path for name, path in training_files(result).items() if path is not None}
    return TaskResult(
        title=f"{TITLES[config.architecture]} «numeros»: métricas finales",
        metrics=figures,
        files=files,
        data={
            "ejemplos": examples,
            "errores": mistakes[:20],
            "division": {"entrenamiento": int(len(split.train)),
                         "validacion": int(len(split.validation)),
                         "prueba": int(len(split.test))},
            "modelo": {**kwargs, "parametros": int(result.model.count_params()),
                       "arquitectura": config.architecture,
                       "precision": config.precision, "lote": config.batch_size,
                       "pasos_por_epoca": len(data.batches),
                       "parada_por_tiempo": timing["stopped"]},
        },
        tables=[Table("Números de prueba (nunca vistos)", ("Español", "Traducción"),
                      [(f"{e['origen']} ({e['numero']})", e["prediccion"]) for e in examples])],
        model=result.model,
        history=dict(history),
    )


TITLES = {"transformer": "Transformer", "lstm": "Seq2seq LSTM", "gru": "Seq2seq GRU"}


def run_translation_demo(out_dir="pesos/demo/transformer", *, seed: int = 0,
                         verbose: Any = 0, **overrides) -> TaskResult:
    """Demo corta: entrena un traductor de 0..999 y traduce números que no vio.

    Args:
        out_dir: carpeta de la ejecución.
        seed: semilla.
        verbose: barra de progreso de Keras.
        **overrides: campos de :data:`~tareas.traduccion.configuracion.DEMO_CONFIG` que
            cambian (una demo aún más corta en las pruebas).

    Returns:
        El :class:`TaskResult` de :func:`train_numbers` (sus ``ejemplos`` son números de
        prueba con su traducción).
    """
    return train_numbers(DEMO_CONFIG.replace(run_dir=out_dir, seed=seed, **overrides),
                         verbose=verbose)
