"""Todo JSON que escribe el proyecto es estricto (RFC 8259): ``null`` donde no hay número,
nunca ``NaN`` ni ``Infinity``, que un navegador (``JSON.parse``) rechaza."""

from __future__ import annotations

import io
import json

import h5py
import numpy as np
import pytest

import modelos
from cli.principal import main
from informes.resultado import TaskResult
from informes.resultado import report


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"JSON no estricto: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.neutral
def test_reports_and_model_metadata_write_null_for_missing_numbers(tmp_path):
    path = tmp_path / "r.json"
    report(TaskResult(title="t", metrics={"nan": float("nan"), "inf": np.float32("inf"),
                                          "bien": 0.5},
                      data={"lista": [1.0, float("-inf")]}), path, stream=io.StringIO())
    data = _strict(path.read_text())
    assert data["metricas"] == {"nan": None, "inf": None, "bien": 0.5}
    assert data["lista"] == [1.0, None]
    saved = modelos.save(modelos.build_xor(), tmp_path / "x.h5",
                         metadata={"cajas_tragonas": float("nan"), "v": np.float64(2.0)})
    with h5py.File(saved) as handle:
        _strict(handle.attrs["metadata"])
    metadata = modelos.load_metadata(saved)["metadata"]
    assert (metadata["cajas_tragonas"], metadata["v"]) == (None, 2.0)


def test_detection_evaluation_without_boxes_is_strict_json(shapes, tmp_path):
    """Un detector sin entrenar no dibuja ninguna caja: «cajas_tragonas» no tiene valor."""
    weights = modelos.save(modelos.build_yolo(["circulo", "cuadrado"], input_size=64,
                                              backbone="tiny", width_multiplier=0.125),
                           tmp_path / "m.h5")
    summary = tmp_path / "evaluacion.json"
    assert main(["deteccion", "evaluar", "--pesos", str(weights), "--anotaciones",
                 str(shapes / "annotations"), "--imagenes", str(shapes / "images"),
                 "--json", str(summary)]) == 0
    data = _strict(summary.read_text())
    assert data["metricas"]["cajas_tragonas"] is None
