"""Pruebas de informes.tablas: resumen de clasificación, tablas de texto y JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from nucleo import archivos
from nucleo.errores import ArgumentError, DataError
from informes.tablas import classification_summary
from informes.tablas import format_classification_report
from informes.tablas import format_table
from informes.tablas import read_json
from informes.tablas import write_json

NAMES = ["gato", "perro", "pez"]
# Caso hecho a mano: 6 ejemplos, 4 aciertos; «pez» nunca se predice.
Y_TRUE = [0, 0, 0, 1, 1, 2]
Y_PRED = [0, 1, 0, 1, 1, 0]
MATRIX = [[2, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_summary_hand_computed():
    summary = classification_summary(Y_TRUE, Y_PRED, NAMES)
    assert summary["confusion_matrix"] == MATRIX
    assert summary["accuracy"] == pytest.approx(4 / 6)
    report = summary["report"]
    assert report["gato"]["precision"] == pytest.approx(2 / 3)
    assert report["gato"]["recall"] == pytest.approx(2 / 3)
    assert report["perro"]["precision"] == pytest.approx(2 / 3)
    assert report["perro"]["recall"] == pytest.approx(1.0)
    assert report["pez"]["precision"] == 0 and report["pez"]["recall"] == 0  # zero_division=0
    assert report["pez"]["support"] == 1
    assert isinstance(summary["accuracy"], float)
    json.dumps(summary)  # todo es JSON


def test_summary_accepts_one_hot_and_probabilities():
    one_hot = np.eye(3)[Y_TRUE]
    rng = np.random.default_rng(0)
    probabilities = rng.uniform(0, 0.3, size=(6, 3))
    probabilities[np.arange(6), Y_PRED] = 0.9
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    summary = classification_summary(one_hot, probabilities, NAMES)
    assert summary["confusion_matrix"] == MATRIX


def test_summary_binary_sigmoid_output():
    probabilities = np.array([[0.2], [0.7], [0.4], [0.6]])
    summary = classification_summary([0, 1, 1, 0], probabilities, ["no", "sí"])
    assert summary["confusion_matrix"] == [[1, 1], [1, 1]]
    assert summary["accuracy"] == 0.5


def test_summary_keeps_absent_classes_in_matrix():
    summary = classification_summary([0, 0], [0, 0], NAMES)
    assert summary["confusion_matrix"] == [[2, 0, 0], [0, 0, 0], [0, 0, 0]]


@pytest.mark.parametrize(
    ("y_true", "y_pred", "pattern"),
    [
        ([0, 1], [0], "2 ejemplos.*1"),
        ([0, 3], [0, 1], "etiqueta 3"),
        ([], [], "ningún ejemplo"),
        (np.eye(4)[[0, 1]], [0, 1], "4 columnas"),
    ],
    ids=["longitudes", "fuera_de_rango", "vacio", "columnas"],
)
def test_summary_errors(y_true, y_pred, pattern):
    with pytest.raises(DataError, match=pattern):
        classification_summary(y_true, y_pred, NAMES)


def test_format_table():
    text = format_table({"pérdida": 0.123456, "exactitud": 0.9, "épocas": 3}, title="Evaluación")
    lines = text.splitlines()
    assert lines[0] == "Evaluación"
    assert lines[1].split() == ["Métrica", "Valor"]
    assert "0.1235" in text and "0.9000" in text and "0.123456" not in text
    rows = lines[3:]
    assert [row.split()[0] for row in rows] == ["pérdida", "exactitud", "épocas"]
    assert len({len(row) for row in rows}) == 1  # valores alineados a la derecha
    assert format_table([("a", np.float32(0.5))]).splitlines()[-1].endswith("0.5000")


def test_format_table_rejects_bad_rows():
    with pytest.raises(ArgumentError, match="«rows»"):
        format_table([1, 2, 3])


def test_format_classification_report():
    text = format_classification_report(classification_summary(Y_TRUE, Y_PRED, NAMES))
    assert "Exactitud: 0.6667 (6 ejemplos)" in text
    assert "Precisión" in text and "Exhaustividad" in text
    perro = next(line for line in text.splitlines() if line.startswith("perro "))
    assert perro.split() == ["perro", "0.6667", "1.0000", "0.8000", "2"]
    assert "media macro" in text and "media ponderada" in text
    matrix_rows = text.split("Matriz de confusión")[1].splitlines()[3:]
    assert [row.split()[1:] for row in matrix_rows] == [[str(c) for c in row] for row in MATRIX]
    with pytest.raises(ArgumentError, match="confusion_matrix"):
        format_classification_report({"accuracy": 1.0, "report": {}})


def test_write_json_round_trip(tmp_path):
    data = {
        "exactitud": np.float32(0.75),
        "épocas": np.int64(3),
        "matriz": np.array([[1, 2], [3, 4]]),
        "ruta": Path("pesos/modelo.h5"),
        "clases": ("gato", "pingüino"),
        np.int64(7): True,
    }
    path = write_json(tmp_path / "sub" / "evaluacion.json", data)
    assert read_json(path) == {
        "exactitud": 0.75, "épocas": 3, "matriz": [[1, 2], [3, 4]],
        "ruta": "pesos/modelo.h5", "clases": ["gato", "pingüino"], "7": True,
    }
    text = path.read_text(encoding="utf-8")
    assert "pingüino" in text and "\\u" not in text  # ensure_ascii=False


def test_write_json_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_json(tmp_path / "datos.json", [1])
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # no el 0600 de mkstemp


def test_write_json_failure_keeps_old_file(tmp_path):
    path = write_json(tmp_path / "datos.json", {"a": 1})
    before = path.read_bytes()
    with pytest.raises(ArgumentError, match=r"datos\.json.*object"):
        write_json(path, {"a": 2, "b": object()})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["datos.json"]  # sin temporales


def test_write_json_interrupted_write_keeps_old_file(tmp_path, monkeypatch):
    path = write_json(tmp_path / "datos.json", {"a": 1})

    def broken(*args):
        raise OSError("disco lleno")

    monkeypatch.setattr(archivos.os, "replace", broken)
    with pytest.raises(OSError, match="disco lleno"):
        write_json(path, {"a": 2})
    assert read_json(path) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["datos.json"]


def test_read_json_errors(tmp_path):
    with pytest.raises(DataError, match="no_existe.json"):
        read_json(tmp_path / "no_existe.json")
    bad = tmp_path / "malo.json"
    bad.write_text("{")
    with pytest.raises(DataError, match="malo.json"):
        read_json(bad)
