"""La tarea de ``redes TAREA exportar``: exportar, medir y comprobar frente a Keras."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError
from informes.resultado import Table, TaskResult

#: Diferencia máxima admitida en float32 frente a Keras, relativa a la mayor salida
#: (``max|Δ| ≤ TOLERANCE · max(1, max|y|)``).
TOLERANCE = 1e-4


def compare_engines(reference, other, inputs) -> dict[str, float]:
    """``{"max_abs", "relative"}`` de la diferencia entre dos motores con ``inputs``."""
    expected = reference.predict_on_batch(inputs)
    got = other.predict_on_batch(inputs)
    difference = float(np.max(np.abs(got.astype(np.float64) - expected)))
    scale = max(1.0, float(np.max(np.abs(expected))))
    return {"max_abs": difference, "relative": difference / scale}


def export_weights(weights, fmt: str, out_dir, *, check: bool = True, int8: bool = False,
                   calibration=None, samples: int | None = None) -> TaskResult:
    """Exporta ``weights`` a ``fmt`` en ``out_dir`` y, con ``check``, lo compara con Keras.

    La comprobación ejecuta la exportación con su motor (si está instalado) y con Keras
    sobre la misma entrada de ejemplo, en float32.

    Con ``int8`` (solo ``openvino`` y YOLO) cuantiza con las fotos de ``calibration``
    (:func:`inferencia.cuantizar.quantize_export`); la comprobación da entonces la
    diferencia con Keras en esas fotos, que no tiene por qué bajar de :data:`TOLERANCE`.

    Returns:
        Un :class:`TaskResult`: ``metrics`` con ``segundos``, ``megabytes`` y, si se
        comprobó, ``diferencia_maxima`` y ``diferencia_relativa``; ``files`` con la
        descripción y el artefacto.

    Raises:
        ArgumentError, EnvironmentSetupError, ModelFileError: ver
            :func:`inferencia.exportar.export_model`.
        ModelFileError: si la comprobación supera :data:`TOLERANCE`.
    """
    import modelos
    from nucleo.errores import ModelFileError
    from inferencia.exportar import RUNTIME_NEEDS, export_model, missing_modules, read_description
    from inferencia.motores import KerasEngine, example_inputs, open_export

    if int8:
        return _export_int8(weights, fmt, out_dir, check, calibration, samples)
    if calibration is not None or samples is not None:
        raise ArgumentError("--calibracion y --muestras solo sirven con --int8.")
    info = modelos.load_metadata(weights)
    began = time.perf_counter()
    model = modelos.load(weights, compile=False)
    description_path = export_model(model, fmt, out_dir, metadata=info["metadata"])
    seconds = time.perf_counter() - began
    description = read_description(description_path)
    artifact = Path(description["directory"]) / description["artifact"]
    megabytes = _megabytes(artifact)
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


def _export_int8(weights, fmt: str, out_dir, check: bool, calibration, samples
                 ) -> TaskResult:
    """``redes deteccion exportar --int8``: OpenVINO cuantizado, y cuánto se aparta de Keras."""
    import modelos
    from inferencia.cuantizar import (
        CALIBRATION_SAMPLES,
        calibration_files,
        calibration_inputs,
        quantize_export,
    )
    from inferencia.exportar import read_description
    from inferencia.motores import KerasEngine, open_export

    if fmt != "openvino":
        raise ArgumentError(f"--int8 solo se puede con --formato openvino (recibido {fmt}).")
    if calibration is None:
        raise ArgumentError("--int8 necesita --calibracion CARPETA: fotos como las que el "
                            "modelo va a ver (las de entrenamiento sirven).")
    samples = CALIBRATION_SAMPLES if samples is None else samples
    began = time.perf_counter()
    description_path = quantize_export(weights, calibration, out_dir, samples=samples)
    seconds = time.perf_counter() - began
    description = read_description(description_path)
    artifact = Path(description["directory"]) / description["artifact"]
    megabytes = _megabytes(artifact)
    used = description["cuantizacion"]["fotos"]
    metrics: dict[str, Any] = {"formato": "openvino int8", "segundos": round(seconds, 1),
                               "megabytes": round(megabytes, 2), "fotos_calibracion": used}
    lines = [f"yolo → openvino int8 en {description_path.parent} ({megabytes:.1f} MB, "
             f"{seconds:.1f} s; calibrado con {used} fotos de {calibration})"]
    if check and Path(weights).suffix == ".h5":   # con Keras como referencia
        reference = KerasEngine(modelos.load(weights, compile=False), description["metadata"])
        photos = calibration_inputs(calibration_files(calibration, 8), description)
        comparison = compare_engines(reference, open_export(description),
                                     np.concatenate(photos))
        metrics["diferencia_relativa"] = comparison["relative"]
        lines.append(f"int8 frente a Keras (float32) en {len(photos)} fotos de "
                     f"calibración: diferencia relativa {comparison['relative']:.2e} "
                     "(la calidad se mide con «redes deteccion evaluar»)")
    return TaskResult(
        title="Exportación a openvino int8",
        metrics=metrics,
        files={"descripcion": description_path, "artefacto": artifact},
        data={"constructor": description["builder"], "entradas": description["inputs"],
              "salidas": description["outputs"], "cuantizacion": description["cuantizacion"]},
        text=lines,
    )


def _megabytes(artifact: Path) -> float:
    """Lo que ocupa una exportación: el archivo (con el ``modelo.bin`` de OpenVINO) o la
    carpeta (SavedModel)."""
    files = [artifact, *artifact.parent.glob("modelo.bin")] if artifact.is_file() else \
        [path for path in artifact.rglob("*") if path.is_file()]
    return sum(path.stat().st_size for path in files) / 1e6
