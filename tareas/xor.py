"""La tarea XOR del blog «Programa tu primer red neuronal con Python y Keras»."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from informes.resultado import Table
from informes.resultado import TaskResult
from informes.resultado import training_files

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_TARGETS = np.array([[0], [1], [1], [0]], dtype=np.float32)


def train_xor(*, epochs: int = 1000, seed: int = 0, run_dir=None,
              precision: str = "float32", verbose: Any = 0) -> TaskResult:
    """Entrena la red XOR sobre las 4 filas de la tabla, como el blog (1000 épocas).

    XOR no guarda respaldo por época (cuesta más que la propia época), así que no se
    reanuda: volver a ejecutarla entrena de nuevo y solo sustituye ``modelo.h5`` si la
    nueva ejecución mejora la pérdida del modelo ya guardado.

    Args:
        epochs: épocas (1000 en el blog).
        seed: semilla.
        run_dir: carpeta de la ejecución (por defecto ``pesos/xor``).
        precision: ``"float32"``, ``"mixed_bfloat16"`` o ``"auto"`` (la más rápida aquí).
        verbose: barra de progreso de Keras (0 por defecto: son 1000 épocas de 1 paso).

    Returns:
        Un :class:`~informes.resultado.TaskResult` con las métricas, las
        predicciones (``data["predicciones"]``) y los archivos escritos.
    """
    from entrenamiento.entrenar import train

    run_dir = Path(run_dir or Path("pesos") / "xor")
    start = time.perf_counter()
    result = train("xor", {}, (XOR_INPUTS, XOR_TARGETS), None, run_dir=run_dir, epochs=epochs,
                   batch_size=4, seed=seed, monitor="loss", precision=precision,
                   metadata={"tarea": "xor"}, verbose=verbose, backup=False)
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
        },
        files=training_files(result),
        data={"predicciones": rows},
        tables=[Table("XOR: predicciones", ("Entrada → esperado", "Salida"),
                      [(f"{p['entrada']} → {p['esperado']}", f"{p['prediccion']:.4f}")
                       for p in rows])],
        model=result.model,
        history=result.history,
    )
