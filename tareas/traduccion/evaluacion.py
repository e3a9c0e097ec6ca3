"""Evaluar un traductor guardado y dibujar su atención con otro motor: ``redes traduccion
evaluar`` y ``redes traduccion atencion --motor``.

:func:`evaluate_translator` mide el acierto exacto (la traducción entera igual a la
referencia) en números generados como la partición de prueba del entrenamiento: con la
semilla y el número de frases de prueba del entrenamiento (los valores por defecto) son
exactamente los mismos números, nunca vistos al entrenar, y la cifra es la
``test_exact_match`` de :func:`~tareas.traduccion.train_numbers`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from datos.numeros import encode_pairs
from datos.numeros import split_numbers
from informes.resultado import Table
from informes.resultado import TaskResult
from nucleo.archivos import write_csv
from nucleo.errores import ArgumentError
from nucleo.validacion import check_int
from tareas.traduccion.entrenar import exact_match
from tareas.traduccion.prediccion import attention_dir
from tareas.traduccion.prediccion import attention_figures
from tareas.traduccion.prediccion import encode_texts
from tareas.traduccion.prediccion import load_translator
from tareas.traduccion.prediccion import plot_attention

EVALUATION_CSV = "evaluacion.csv"
#: Frases de prueba por defecto: las de :func:`~tareas.traduccion.train_numbers`.
DEFAULT_TEST = 2000
#: Ejemplos que se muestran en la tabla de la terminal.
SHOWN_EXAMPLES = 5


def test_numbers(metadata: dict[str, Any], n_test: int, seed: int | None) -> np.ndarray:
    """Los números de prueba de un traductor: los de la partición de prueba de
    :func:`datos.numeros.split_numbers` con su máximo y ``seed`` (por defecto la suya).

    Raises:
        ArgumentError: no caben ``n_test`` números en 0..máximo.
    """
    maximum = int(metadata["maximo"])
    seed = int(metadata.get("semilla", 0)) if seed is None else seed
    if n_test > maximum:
        raise ArgumentError(f"evaluate_translator: «n_test» (--frases-prueba) debe ser como "
                            f"mucho {maximum} (el traductor ve los números 0..{maximum}); "
                            f"recibido {n_test}.")
    # La prueba son los primeros n_test de la permutación: no dependen de la validación.
    return split_numbers(maximum, n_validation=0, n_test=n_test, seed=seed).test


def evaluate_translator(weights, *, n_test: int = DEFAULT_TEST, seed: int | None = None,
                        beam_size: int = 1, engine: str = "keras",
                        out_dir=None) -> TaskResult:
    """Acierto exacto de un traductor guardado en números escritos en palabras.

    Args:
        weights: ``modelo.h5`` de :func:`~tareas.traduccion.train_numbers` (o su
            exportación).
        n_test: números de prueba (2000, los del entrenamiento).
        seed: semilla del sorteo (por defecto la del entrenamiento: los mismos números
            de prueba, nunca vistos; con otra, los números pueden haberse visto).
        beam_size: 1 = voraz; K > 1 = búsqueda en haz.
        engine: motor de inferencia (:func:`inferencia.motores.load_engine`).
        out_dir: carpeta donde escribir ``evaluacion.csv`` (``None``: no se escribe).

    Returns:
        Un :class:`~informes.resultado.TaskResult` con ``metrics`` (``test_exact_match``,
        ``numeros_prueba``, ``segundos_evaluacion``) y ``data`` (``ejemplos``,
        ``errores``, ``semilla``).

    Raises:
        ArgumentError: argumentos no válidos.
        ModelFileError: ``weights`` no es un traductor de números.
    """
    check_int(n_test, "n_test (--frases-prueba)", where="evaluate_translator")
    if seed is not None:
        check_int(seed, "seed (--semilla)", minimum=0, where="evaluate_translator")
    model, source_tok, target_tok, metadata = load_translator(weights, engine)
    numbers = test_numbers(metadata, n_test, seed)
    lengths = metadata["longitudes"]
    pairs = encode_pairs(numbers, source_tok, target_tok, source_len=lengths["origen"],
                         target_len=lengths["destino"])
    start = time.perf_counter()
    score, predictions = exact_match(model, pairs, target_tok, beam_size=beam_size)
    seconds = time.perf_counter() - start
    rows = [{"numero": int(n), "origen": source_tok.decode(s),
             "referencia": target_tok.decode(r), "prediccion": p}
            for n, s, r, p in zip(numbers, pairs.source, pairs.target_out, predictions,
                                  strict=True)]
    files = {}
    if out_dir is not None:
        files["evaluacion"] = _write_rows(Path(out_dir) / EVALUATION_CSV, rows)
    shown = np.unique(np.linspace(0, len(rows) - 1, SHOWN_EXAMPLES).astype(int))
    return TaskResult(
        title="Traductor de números: acierto exacto",
        metrics={"test_exact_match": score, "numeros_prueba": len(rows),
                 "segundos_evaluacion": round(seconds, 1)},
        files=files,
        data={"ejemplos": [rows[i] for i in shown],
              "errores": [row for row in rows if row["prediccion"] != row["referencia"]][:20],
              "semilla": int(metadata.get("semilla", 0)) if seed is None else seed,
              "motor": "keras" if engine == "keras" else model.name},
        tables=[Table("Números de prueba", ("Español", "Traducción"),
                      [(f"{rows[i]['origen']} ({rows[i]['numero']})", rows[i]["prediccion"])
                       for i in shown])],
    )


def _write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    return write_csv(path, ("numero", "origen", "referencia", "prediccion", "acierto"),
                     ((r["numero"], r["origen"], r["referencia"], r["prediccion"],
                       int(r["prediccion"] == r["referencia"])) for r in rows))


def attention_with_engine(weights, text: str, out_dir=None, *, beam_size: int = 1,
                          engine: str = "keras") -> TaskResult:
    """:func:`~tareas.traduccion.attention_figures`, con la traducción hecha por ``engine``.

    Los mapas de atención se leen siempre de las capas del modelo de Keras (``weights``
    debe ser el ``.h5``); con otro motor, es ese motor el que traduce y la atención se
    dibuja sobre su traducción.

    Raises:
        DataError: frase vacía, con palabras fuera del vocabulario o demasiado larga.
        ModelFileError: ``weights`` no es un traductor ``.h5``.
    """
    import modelos
    from modelos.transformer.decodificacion import attention_maps
    from modelos.transformer.decodificacion import sequence_limits
    from modelos.transformer.decodificacion import translate

    if engine == "keras":
        return attention_figures(weights, text, out_dir, beam_size=beam_size)
    runner, source_tok, target_tok, metadata = load_translator(weights, engine)
    keras_model = modelos.load(weights, compile=False)
    source_limit, target_limit = sequence_limits(keras_model)
    source = encode_texts([text], source_tok, source_limit)
    output_len = min(metadata["longitudes"]["destino"] + 1, target_limit - 1)
    ids = translate(runner, source, output_len, beam_size=beam_size)[0]
    target = [target_tok.index["<s>"], *ids]
    maps = attention_maps(keras_model, source, [target])
    paths = plot_attention(maps, [source_tok.vocabulary[i] for i in source[0] if i],
                           [target_tok.vocabulary[i] for i in target],
                           attention_dir(weights, out_dir))
    translation = target_tok.decode(ids)
    return TaskResult(title="Atención", files={p.stem: p for p in paths},
                      data={"origen": text, "traduccion": translation, "motor": runner.name},
                      text=[f"{text} → {translation} (traducido con {runner.name})"])
