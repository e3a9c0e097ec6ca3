"""La tarea de ``redes exportar``: exportar, medir y comprobar frente a Keras."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from entrenamiento.resultado import Table, TaskResult

#: Diferencia máxima admitida en float32 frente a Keras, relativa a la mayor salida
#: (``max|Δ| ≤ TOLERANCE · max(1, max|y|)``).
TOLERANCE = 1e-4


def example_inputs(engine, *, batch: int = 2, length: int = 6, seed: int = 0
                   ) -> list[np.ndarray]:
    """Entradas válidas de ejemplo para ``engine``: reales en [0, 1) o ids de su vocabulario.

    Las dimensiones libres (la longitud de una frase) toman ``length``.
    """
    rng = np.random.default_rng(seed)
    kwargs = engine.description["kwargs"]
    vocabularies = [value for key, value in kwargs.items()
                    if "vocab" in key and isinstance(value, int) and value > 1]
    high = min(vocabularies) if vocabularies else 2
    arrays = []
    for spec in engine.description["inputs"]:
        shape = [batch] + [length if size is None else size for size in spec["shape"][1:]]
        if spec["dtype"].startswith("int"):
            arrays.append(rng.integers(1, high, shape).astype(spec["dtype"]))
        else:
            arrays.append(rng.random(shape, dtype=np.float32).astype(spec["dtype"]))
    return arrays


def compare_engines(reference, other, inputs) -> dict[str, float]:
    """``{"max_abs", "relative"}`` de la diferencia entre dos motores con ``inputs``."""
    expected = reference.predict_on_batch(inputs)
    got = other.predict_on_batch(inputs)
    difference = float(np.max(np.abs(got.astype(np.float64) - expected)))
    scale = max(1.0, float(np.max(np.abs(expected))))
    return {"max_abs": difference, "relative": difference / scale}


def export_weights(weights, fmt: str, out_dir, *, check: bool = True) -> TaskResult:
    """Exporta ``weights`` a ``fmt`` en ``out_dir`` y, con ``check``, lo compara con Keras.

    La comprobación ejecuta la exportación con su motor (si está instalado) y con Keras
    sobre la misma entrada de ejemplo, en float32.

    Returns:
        Un :class:`TaskResult`: ``metrics`` con ``segundos``, ``megabytes`` y, si se
        comprobó, ``diferencia_maxima`` y ``diferencia_relativa``; ``files`` con la
        descripción y el artefacto.

    Raises:
        ArgumentError, EnvironmentSetupError, ModelFileError: ver
            :func:`modelos.exportar.export_model`.
        ModelFileError: si la comprobación supera :data:`TOLERANCE`.
    """
    import modelos
    from datos.errores import ModelFileError
    from modelos.exportar import RUNTIME_NEEDS, export_model, missing_modules, read_description
    from modelos.motores import KerasEngine, open_export

    info = modelos.load_metadata(weights)
    began = time.perf_counter()
    model = modelos.load(weights, compile=False)
    description_path = export_model(model, fmt, out_dir, metadata=info["metadata"])
    seconds = time.perf_counter() - began
    description = read_description(description_path)
    artifact = Path(description["directory"]) / description["artifact"]
    files = [artifact, *artifact.parent.glob("modelo.bin")] if artifact.is_file() else \
        [p for p in artifact.rglob("*") if p.is_file()]
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    metrics: dict[str, Any] = {"formato": fmt, "segundos": round(seconds, 1),
                               "megabytes": round(megabytes, 2)}
    lines = [f"{info['builder']} → {fmt} en {description_path.parent} "
             f"({megabytes:.1f} MB, {seconds:.1f} s)"]
    if check and not missing_modules(RUNTIME_NEEDS[fmt]):
        engine = open_export(description, precision="float32")
        reference = KerasEngine(model, info["metadata"])
        comparison = compare_engines(reference, engine, example_inputs(reference))
        metrics["diferencia_maxima"] = comparison["max_abs"]
        metrics["diferencia_relativa"] = comparison["relative"]
        lines.append(f"motor {engine.name} frente a Keras (float32): max|Δ| = "
                     f"{comparison['max_abs']:.2e} (relativa {comparison['relative']:.2e}; "
                     f"tolerancia {TOLERANCE:g})")
        if comparison["relative"] > TOLERANCE:
            raise ModelFileError(
                f"La exportación a {fmt} de «{weights}» no coincide con Keras: diferencia "
                f"relativa {comparison['relative']:.2e} > {TOLERANCE:g}.")
    elif check:
        lines.append(f"sin comprobar: falta {', '.join(missing_modules(RUNTIME_NEEDS[fmt]))} "
                     "para ejecutarla")
    inputs = [(item["name"], str(tuple(item["shape"])), item["dtype"])
              for item in description["inputs"]]
    return TaskResult(
        title=f"Exportación a {fmt}",
        metrics=metrics,
        files={"descripcion": description_path, "artefacto": artifact},
        data={"constructor": description["builder"], "entradas": description["inputs"],
              "salidas": description["outputs"]},
        tables=[Table("Entradas", ("Nombre", "Forma", "Tipo"), inputs)],
        text=lines,
    )
