"""La tarea XOR del blog: aprende hasta exactitud 1.0 y predice 0, 1, 1, 0."""

import numpy as np

import modelos
from entrenamiento.xor import XOR_INPUTS
from entrenamiento.xor import train_xor


def test_xor_learns_to_accuracy_one_like_the_blog(tmp_path):
    result = train_xor(epochs=1000, seed=0, run_dir=tmp_path)
    assert result["metricas"]["epocas"] == 1000
    assert result["metricas"]["binary_accuracy"] == 1.0
    assert [p["redondeo"] for p in result["predicciones"]] == [0, 1, 1, 0]
    restored = modelos.load(result["archivos"]["pesos"])
    np.testing.assert_array_equal(restored.predict(XOR_INPUTS, verbose=0).round().ravel(), [0, 1, 1, 0])


def test_xor_is_deterministic_when_seeded(tmp_path):
    first = train_xor(epochs=50, seed=3, run_dir=tmp_path / "a")
    second = train_xor(epochs=50, seed=3, run_dir=tmp_path / "b")
    assert first["metricas"]["loss"] == second["metricas"]["loss"]
    assert [p["prediccion"] for p in first["predicciones"]] == [
        p["prediccion"] for p in second["predicciones"]]
