"""La tarea XOR del blog «Programa tu primer red neuronal con Python y Keras»."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from informes.resultado import Table
from informes.resultado import TaskResult
from informes.resultado import training_files
from nucleo.vocabulario import DEFAULT_TRAINING_PRECISION
from nucleo.vocabulario import MAX_LEARNING_RATE
from nucleo.vocabulario import TRAINING_PRECISIONS
from tareas.configuracion import USED_PRECISION_KEY
from tareas.configuracion import TrainingConfig
from tareas.configuracion import save_run_config
from tareas.base import Predictor
from tareas.configuracion import setting

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_TARGETS = np.array([[0], [1], [1], [0]], dtype=np.float32)


@dataclasses.dataclass(frozen=True)
class XorConfig(TrainingConfig):
    """La configuración de :func:`train_xor` (los valores del blog).

    Attributes:
        epochs: épocas (``--epocas``; 1000 en el blog).
        seed: semilla (``--semilla``).
        run_dir: carpeta de la ejecución (``--salida``; ``pesos/xor``).
        precision: ``"auto"`` (la más rápida aquí), ``"float32"`` o ``"mixed_bfloat16"``
            (``--precision``).
        batch_size: filas por lote (``--lote``; 4 en el blog: la tabla entera).
        learning_rate: tasa de Adam (``--tasa``; ``None``: la del blog, la de Keras).
        patience: épocas sin mejorar la pérdida antes de parar (``--paciencia``; ``None``:
            todas las épocas, como el blog).
        minutes: tiempo máximo de entrenamiento en minutos (``--minutos``; ``None``: sin
            tope).
    """

    TASK = "xor"
    RESOLVED_KEYS = (USED_PRECISION_KEY,)

    epochs: int = setting("--epocas", 1000, minimum=1)
    seed: int = setting("--semilla", 0, minimum=0)
    run_dir: Path = setting("--salida", Path("pesos") / "xor")
    precision: str = setting("--precision", DEFAULT_TRAINING_PRECISION,
                             choices=TRAINING_PRECISIONS)
    batch_size: int = setting("--lote", 4, minimum=1, maximum=4)
    learning_rate: float | None = setting("--tasa", None, above=0.0, maximum=MAX_LEARNING_RATE)
    patience: int | None = setting("--paciencia", None, minimum=1, zero_is_none=True)
    minutes: float | None = setting("--minutos", None, above=0.0)


def train_xor(config: XorConfig | None = None, *, verbose: Any = 0, cluster=None,
              devices=None, **overrides) -> TaskResult:
    """Entrena la red XOR sobre las 4 filas de la tabla, como el blog (1000 épocas).

    XOR no guarda respaldo por época (cuesta más que la propia época), así que no se
    reanuda: volver a ejecutarla entrena de nuevo y solo sustituye ``modelo.h5`` si la
    nueva ejecución mejora la pérdida del modelo ya guardado. La configuración completa
    queda en ``configuracion.json`` de la carpeta.

    Args:
        config: la :class:`XorConfig` (``None``: la del blog).
        verbose: barra de progreso de Keras (0 por defecto: son 1000 épocas de 1 paso).
        cluster: con varios procesos, el :class:`~entrenamiento.distribuido.Cluster`
            (cada uno calcula con su parte de las 4 filas de cada lote).
        devices: ``--dispositivos``: datos en paralelo en varios dispositivos de este
            proceso (:func:`entrenamiento.distribuido.local_devices`); ``None``, uno.
        **overrides: campos de :class:`XorConfig` que cambian (``epochs=100``).

    Returns:
        Un :class:`~informes.resultado.TaskResult` con las métricas, las
        predicciones (``data["predicciones"]``) y los archivos escritos.
    """
    from entrenamiento.callbacks import TimeLimit
    from entrenamiento.entrenar import train

    config = XorConfig.build(config, **overrides)
    files = {"configuracion": save_run_config(config, config.run_dir, cluster)}
    limit = [] if config.minutes is None else [TimeLimit(config.minutes * 60.0, cluster)]
    start = time.perf_counter()
    result = train("xor", {}, (XOR_INPUTS, XOR_TARGETS), None, initialize=_learning_rate(config),
                   run_dir=config.run_dir, cluster=cluster, devices=devices,
                   epochs=config.epochs,
                   batch_size=config.batch_size, seed=config.seed, monitor="loss",
                   patience=config.patience, precision=config.precision,
                   metadata={"tarea": "xor"}, verbose=verbose, backup=False,
                   callbacks=limit, tensorboard=config.tensorboard)
    seconds = time.perf_counter() - start
    predictions = result.model.predict(XOR_INPUTS, verbose=0).ravel()
    rows = [{"entrada": row.astype(int).tolist(), "esperado": int(t), "prediccion": float(p),
             "redondeo": int(round(float(p)))}
            for row, t, p in zip(XOR_INPUTS, XOR_TARGETS.ravel(), predictions, strict=True)]
    # La época cuyos pesos quedaron (la mejor), no la última: son los que se guardan.
    kept = result.best_epoch if result.best_epoch is not None else -1
    return TaskResult(
        title="XOR: métricas finales",
        metrics={
            "epocas": len(result.history["loss"]),
            "loss": float(result.history["loss"][kept]),
            "binary_accuracy": float(result.history["binary_accuracy"][kept]),
            "segundos": round(seconds, 2),
            **result.summary(),
        },
        files={**training_files(result), **files},
        data={"predicciones": rows},
        tables=[Table("XOR: predicciones", ("Entrada → esperado", "Salida"),
                      [(f"{p['entrada']} → {p['esperado']}", f"{p['prediccion']:.4f}")
                       for p in rows])],
        model=result.model,
        history=result.history,
    )


def _learning_rate(config: XorConfig):
    """Fija ``--tasa`` en el Adam del blog tras construir la red (``None``: la del blog)."""
    if config.learning_rate is None:
        return None

    def initialize(model) -> None:
        model.optimizer.learning_rate = config.learning_rate

    return initialize


# === Evaluar y predecir con una red XOR guardada (redes xor evaluar / predecir) ===

#: Lo que escribe :func:`evaluate_xor` en ``out_dir``.
EVALUATION_CSV = "evaluacion.csv"


def load_xor(weights, engine: str = "keras"):
    """Abre una red XOR guardada (``modelo.h5`` o su exportación) con ``engine``.

    Raises:
        ModelFileError: el archivo no existe o no es una red XOR.
    """
    from inferencia.motores import load_engine
    from inferencia.motores import source_info
    from nucleo.errores import ModelFileError

    builder = source_info(weights)["builder"]
    if builder != "xor":
        raise ModelFileError(f"«{weights}» no es una red XOR (constructor «{builder}»); "
                             "entrena una con «redes xor entrenar».")
    return load_engine(weights, engine)


def _outputs(model, inputs: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict_on_batch(inputs.astype(np.float32)),
                      dtype=np.float64).reshape(-1)


def evaluate_xor(weights, *, engine: str = "keras", out_dir=None) -> TaskResult:
    """Exactitud de una red XOR guardada en las 4 filas de la tabla del blog.

    Args:
        weights: ``modelo.h5`` de :func:`train_xor` (o su carpeta de exportación).
        engine: motor de inferencia (:func:`inferencia.motores.load_engine`).
        out_dir: carpeta donde escribir ``evaluacion.csv`` (``None``: no se escribe).

    Returns:
        Un :class:`~informes.resultado.TaskResult` con ``binary_accuracy`` (la fracción
        de filas cuyo redondeo es el esperado) y ``data["predicciones"]``.
    """

    from nucleo.archivos import write_csv

    model = load_xor(weights, engine)
    outputs = _outputs(model, XOR_INPUTS)
    rows = [{"entrada": row.astype(int).tolist(), "esperado": int(t), "prediccion": float(p),
             "redondeo": int(round(p))}
            for row, t, p in zip(XOR_INPUTS, XOR_TARGETS.ravel(), outputs, strict=True)]
    accuracy = float(np.mean([row["redondeo"] == row["esperado"] for row in rows]))
    files = {}
    if out_dir is not None:
        files["evaluacion"] = write_csv(
            Path(out_dir) / EVALUATION_CSV, ("a", "b", "esperado", "prediccion", "redondeo"),
            ((*r["entrada"], r["esperado"], f"{r['prediccion']:.6f}", r["redondeo"])
             for r in rows))
    return TaskResult(
        title="XOR: evaluación en las 4 filas de la tabla",
        metrics={"binary_accuracy": accuracy},
        files=files,
        data={"predicciones": rows, "motor": model.name},
        tables=[Table("XOR: predicciones", ("Entrada → esperado", "Salida"),
                      [(f"{r['entrada']} → {r['esperado']}", f"{r['prediccion']:.4f}")
                       for r in rows])],
    )


def predict_xor(weights, pairs, *, engine: str = "keras") -> list[TaskResult]:
    """La salida de una red XOR guardada para cada par de bits.

    Args:
        weights: ``modelo.h5`` de :func:`train_xor` (o su carpeta de exportación).
        pairs: pares ``(a, b)`` de 0 y 1 (p. ej. ``[(0, 1), (1, 1)]``).
        engine: motor de inferencia.

    Returns:
        Un :class:`~informes.resultado.TaskResult` por par, con ``data`` ``{"entrada",
        "salida", "redondeo"}``.

    Raises:
        ArgumentError: algún par no es de dos bits (0 o 1), o no hay ninguno.
    """
    from nucleo.errores import ArgumentError

    try:
        inputs = np.asarray(pairs, dtype=np.float64)
    except (TypeError, ValueError):
        inputs = np.empty((0, 0))
    if (inputs.ndim != 2 or inputs.shape[1:] != (2,) or not len(inputs)
            or not np.isin(inputs, (0, 1)).all()):
        raise ArgumentError(f"predict_xor: «pairs» debe ser una lista de pares de 0 y 1; "
                            f"recibido {pairs!r}.")
    model = load_xor(weights, engine)
    outputs = _outputs(model, inputs)
    results = []
    for row, output in zip(inputs.astype(int), outputs, strict=True):
        rounded = int(round(output))
        results.append(TaskResult(
            title="XOR", data={"entrada": row.tolist(), "salida": float(output),
                               "redondeo": rounded},
            text=[f"{int(row[0])} XOR {int(row[1])} → {output:.4f} ({rounded})"]))
    return results


# === El predictor de la tarea (la interfaz común, tareas.base) ===

class XorPredictor(Predictor):
    """Una red XOR cargada: un par de bits en, su salida y su redondeo fuera."""

    task = "xor"

    def prepare(self, a, b) -> np.ndarray:
        """Comprueba que ``a`` y ``b`` son 0 o 1."""
        from nucleo.errores import ArgumentError

        if a not in (0, 1) or b not in (0, 1) or isinstance(a, bool) or isinstance(b, bool):
            raise ArgumentError(f"XOR: se esperaban dos bits (0 o 1); recibidos {a!r} y {b!r}.")
        return np.array([a, b], dtype=np.float32)

    def run_batch(self, items: list[np.ndarray]) -> list[dict[str, Any]]:
        outputs = _outputs(self.engine, np.stack(items))
        return [{"entrada": item.astype(int).tolist(), "salida": float(output),
                 "redondeo": int(round(output))} for item, output in zip(items, outputs,
                                                                         strict=True)]

    def example_input(self) -> np.ndarray:
        return self.prepare(0, 1)


def load(weights, engine: str = "keras") -> XorPredictor:
    """Carga una red XOR guardada para predecir (ver :func:`load_xor`)."""
    return XorPredictor(weights, load_xor(weights, engine))


# La interfaz común de las tareas (ver tareas.base): entrenar con su configuración,
# evaluar, cargar un predictor (load) y predecir sobre entradas en bruto.
train = train_xor
evaluate = evaluate_xor
predict = predict_xor
