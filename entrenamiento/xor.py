"""La tarea XOR del blog «Programa tu primer red neuronal con Python y Keras»."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_TARGETS = np.array([[0], [1], [1], [0]], dtype=np.float32)


def train_xor(*, epochs: int = 1000, seed: int = 0, run_dir=None,
              precision: str = "float32", verbose: Any = 0) -> dict[str, Any]:
    """Entrena la red XOR sobre las 4 filas de la tabla, como el blog (1000 épocas).

    Args:
        epochs: épocas (1000 en el blog).
        seed: semilla.
        run_dir: carpeta de la ejecución (por defecto ``pesos/xor``).
        precision: ``"float32"`` o ``"mixed_bfloat16"``.
        verbose: barra de progreso de Keras (0 por defecto: son 1000 épocas de 1 paso).

    Returns:
        Diccionario con las métricas, las predicciones y las rutas escritas.
    """
    from entrenamiento.entrenar import train

    run_dir = Path(run_dir or Path("pesos") / "xor")
    start = time.perf_counter()
    result = train("xor", {}, (XOR_INPUTS, XOR_TARGETS), None, run_dir=run_dir, epochs=epochs,
                   batch_size=4, seed=seed, monitor="loss", precision=precision,
                   metadata={"tarea": "xor"}, verbose=verbose, backup=False)
    seconds = time.perf_counter() - start
    predictions = result.model.predict(XOR_INPUTS, verbose=0).ravel()
    return {
        "metricas": {
            "epocas": len(result.history["loss"]),
            "loss": float(result.history["loss"][-1]),
            "binary_accuracy": float(result.history["binary_accuracy"][-1]),
            "segundos": round(seconds, 2),
        },
        "predicciones": [
            {"entrada": row.astype(int).tolist(), "esperado": int(t), "prediccion": float(p),
             "redondeo": int(round(float(p)))}
            for row, t, p in zip(XOR_INPUTS, XOR_TARGETS.ravel(), predictions)
        ],
        "archivos": {"pesos": str(result.weights_path), "registro": str(result.log_path),
                     "curvas": str(result.plot_path)},
    }
