"""Pronosticadores de ventas recurrentes (LSTM, GRU, SimpleRNN): arquitectura, aprendizaje,
guardado y las órdenes ``redes pronostico entrenar|predecir --modelo lstm``."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import modelos
from nucleo.errores import ArgumentError
from datos.ventas import make_sales_series
from datos.ventas import prepare_sales
from datos.ventas import sales_inputs
from datos.ventas import write_sales_csv
from tareas import ventas
from cli.principal import main
from tareas.ventas.referencias import seasonal_naive
from modelos.ventas.rnn import build_sales_rnn

STEPS = 7


def _predict(model, x) -> np.ndarray:
    """Predicción en modo inmediato: sin trazar la función de predict en cada modelo."""
    return keras.ops.convert_to_numpy(model(x, training=False))


def _batch(n=5, seed=0, steps=STEPS):
    rng = np.random.default_rng(seed)
    lags = rng.uniform(-1, 1, (n, steps))
    return sales_inputs("lstm", lags, rng.integers(0, 7, n), rng.integers(1, 13, n))


def _keras_cell_params(cell, units, input_dim):
    """Parámetros de una celda de Keras según su definición (no según el modelo).

    SimpleRNN: 1 bloque; GRU: 3 (puertas z, r y candidato), con dos vectores de sesgo
    porque ``reset_after=True`` es el valor por defecto de Keras; LSTM: 4 (i, f, c, o).
    Cada bloque: núcleo ``input_dim × units``, recurrente ``units × units`` y sesgos.
    """
    blocks = {"simple": 1, "gru": 3, "lstm": 4}[cell]
    biases = 2 if cell == "gru" else 1
    return blocks * (input_dim * units + units * units + biases * units)


def _expected_params(cell, units, embeddings, bidirectional, day=2, month=4):
    directions = 2 if bidirectional else 1
    recurrent = directions * _keras_cell_params(cell, units, input_dim=1)  # un valor por paso
    features = directions * units
    calendar = 0
    if embeddings:
        calendar = 7 * day + 12 * month  # 7 días y 12 meses
        features += day + month
    return recurrent + calendar + features + 1  # Dense(1): pesos + sesgo


# === Arquitectura ===

@pytest.mark.parametrize("cell, units, embeddings, bidirectional", [
    ("lstm", 8, True, False), ("lstm", 5, False, True), ("gru", 8, True, False),
    ("gru", 3, True, True), ("simple", 8, True, False), ("simple", 6, False, False),
])
def test_parameter_counts_follow_the_keras_cell_formulas(cell, units, embeddings,
                                                         bidirectional):
    model = build_sales_rnn(cell, units=units, embeddings=embeddings,
                            bidirectional=bidirectional)
    assert model.count_params() == _expected_params(cell, units, embeddings, bidirectional)
    recurrent = model.get_layer("bidireccional" if bidirectional else cell)
    assert recurrent.count_params() == (2 if bidirectional else 1) * _keras_cell_params(
        cell, units, 1)
    # La entrada de la STE y los 7 retardos como secuencia de 7 pasos de un valor.
    assert model.input_shape == (None, STEPS + 2) and model.output_shape == (None, 1)
    assert tuple(model.get_layer("secuencia").output.shape) == (None, STEPS, 1)
    assert model.loss == "mean_absolute_error" and type(model.optimizer).__name__ == "Adam"
    out = _predict(model, _batch())
    assert out.shape == (5, 1) and np.all(np.abs(out) < 1)  # salida tanh


def test_the_lags_are_a_sequence_from_oldest_to_newest():
    """SimpleRNN de 1 unidad con pesos a mano: la salida es la recurrencia en numpy."""
    model = build_sales_rnn("simple", units=1, embeddings=False)
    w, u, b, v, c = 0.7, -0.4, 0.1, 1.3, -0.2
    model.get_layer("simple").set_weights([np.array([[w]]), np.array([[u]]), np.array([b])])
    model.get_layer("salida").set_weights([np.array([[v]]), np.array([c])])
    x = _batch(n=4, seed=3)
    h = np.zeros(4)
    for t in range(STEPS):  # columna 0 = t−7 (la más antigua) … columna 6 = t−1
        h = np.tanh(w * x[:, t] + u * h + b)
    expected = np.tanh(v * h + c)
    np.testing.assert_allclose(_predict(model, x)[:, 0], expected, atol=1e-5)


def test_calendar_embeddings_are_used_only_when_asked():
    x = _batch(n=6, seed=1)
    other_day = x.copy()
    other_day[:, STEPS] = (other_day[:, STEPS] + 3) % 7
    with_calendar = build_sales_rnn("gru", units=4)
    without = build_sales_rnn("gru", units=4, embeddings=False)
    assert not np.allclose(_predict(with_calendar, x), _predict(with_calendar, other_day))
    np.testing.assert_array_equal(_predict(without, x), _predict(without, other_day))


@pytest.mark.parametrize("kwargs", [
    {"cell": "lstm"}, {"cell": "gru", "bidirectional": True, "units": 4, "embeddings": False,
                       "steps": 10},
])
def test_save_load_round_trip_gives_identical_predictions(kwargs, tmp_path):
    model = build_sales_rnn(**kwargs)
    # Pesos perturbados: los sesgos iniciales a cero no bastan para ver un error de carga.
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.normal(0, 0.1, w.shape).astype(w.dtype)
                       for w in model.get_weights()])
    x = _batch(steps=kwargs.get("steps", STEPS))
    modelos.save(model, tmp_path / "m.h5")
    restored = modelos.load(tmp_path / "m.h5")
    np.testing.assert_array_equal(_predict(restored, x), _predict(model, x))
    assert restored.count_params() == model.count_params()
    stored = modelos.load_metadata(tmp_path / "m.h5")
    # Los valores por defecto también se guardan (8 unidades si no se dan).
    assert stored["builder"] == "ventas_rnn" and stored["kwargs"]["units"] == kwargs.get(
        "units", 8)
    assert restored.name == model.name


@pytest.mark.parametrize("kwargs, message", [
    ({"cell": "transformer"}, "«cell» debe ser uno de lstm, gru, simple; recibido 'transformer'"),
    ({"cell": "LSTM"}, "«cell» debe ser uno de lstm, gru, simple"),
    ({"units": 0}, "«units» debe ser un entero entre 1 y 4096; recibido 0"),
    ({"units": 10**9}, "«units» debe ser un entero entre 1 y 4096"),
    ({"steps": 0}, "«steps» debe ser un entero entre 1 y 365"),
    ({"embeddings": "sí"}, "«embeddings» debe ser True o False; recibido 'sí'"),
    ({"bidirectional": 1}, "«bidirectional» debe ser True o False; recibido 1"),
    ({"dropout": 1.0}, "«dropout» debe ser un número en"),
    ({"day_embedding": 10**6}, "«day_embedding» debe ser un entero entre 1 y 256"),
    ({"learning_rate": -1.0}, "«learning_rate» debe ser un número en"),
])
def test_bad_arguments_give_clear_spanish_errors(kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        build_sales_rnn(**kwargs)


def test_api_and_cli_know_the_recurrent_models(tmp_path):
    series = make_sales_series(days=120, seed=1)
    assert [case[1] for case in ventas.MODEL_CASES[-3:]] == ["lstm", "gru", "rnn"]
    with pytest.raises(ArgumentError, match=r"SalesConfig: «variant \(--modelo\)» debe ser "
                       "uno de 'st1', 'stmv', 'ste', 'lstm', 'gru', 'rnn'; recibido 'LSTM'"):
        ventas.train_sales(series=series, variant="LSTM", run_dir=tmp_path)
    with pytest.raises(ArgumentError, match="solo existe para variant='ste'"):
        ventas.train_sales(series=series, variant="lstm", blog_ste=True, run_dir=tmp_path)
    with pytest.raises(ArgumentError, match="build_sales_rnn: «units» debe ser un entero"):
        ventas.compare(series, seeds=1, epochs=1, baselines=False,
                       models=(("X", "gru", False, {"units": 0}),))
    assert not list(tmp_path.iterdir())  # nada se escribió


# === Aprendizaje ===

def test_recurrent_forecaster_learns_the_weekly_pattern():
    """Una LSTM supera con holgura al ingenuo estacional con el protocolo de compare."""
    series = make_sales_series(days=420, seed=11, noise=0.1, summer=0.0)
    result = ventas.compare(series, seeds=[0], epochs=8, baselines=False,
                            models=(("LSTM", "lstm", False),))
    lstm = result.data["filas"][0]
    # El ingenuo estacional (t−7) en los mismos 30 días y la misma escala.
    data = prepare_sales(series, STEPS, 30)
    real = series.values[data.validation.index]
    naive = seasonal_naive(series, data.validation.index, data.cut)
    naive_mae = np.mean(np.abs(data.scaler.transform(naive) - data.scaler.transform(real)))
    assert lstm["val_loss"] < 0.85 * naive_mae, (lstm["val_loss"], naive_mae)
    assert lstm["val_mae_unidades"] < np.mean(np.abs(naive - real))
    assert np.isfinite(lstm["loss"]) and lstm["loss"] < 0.2  # MAE de entrenamiento


# === CLI de punta a punta ===

def test_cli_train_and_forecast_with_an_lstm(tmp_path, capsys):
    series = make_sales_series(days=100, seed=4)
    csv_path = write_sales_csv(series, tmp_path / "ventas.csv", header=True)
    run = tmp_path / "lstm"
    assert main(["ventas", "entrenar", "--csv", str(csv_path), "--modelo", "lstm",
                 "--epocas", "1", "--salida", str(run), "--json", str(tmp_path / "e.json")]) == 0
    assert "Ventas «LSTM»: métricas" in capsys.readouterr().out
    trained = json.loads((tmp_path / "e.json").read_text())
    assert trained["ajustes"]["variante"] == "lstm" and len(trained["validacion"]) == 30
    stored = modelos.load_metadata(run / "modelo.h5")
    assert stored["builder"] == "ventas_rnn" and stored["kwargs"]["cell"] == "lstm"
    assert stored["metadata"]["ventas"]["variante"] == "lstm"

    assert main(["ventas", "pronosticar", "--pesos", str(run / "modelo.h5"), "--csv",
                 str(csv_path), "--dias", "3", "--json", str(tmp_path / "p.json")]) == 0
    assert "Pronóstico recursivo de 3 días (LSTM)" in capsys.readouterr().out
    forecast = json.loads((tmp_path / "p.json").read_text())
    assert len(forecast["pronostico"]) == 3
    # El mismo pronóstico recursivo con el modelo recargado por separado.
    model = modelos.load(run / "modelo.h5")
    dates = np.array([row["fecha"] for row in forecast["pronostico"]], "datetime64[D]")
    again = ventas.recursive_forecast(model, prepare_sales(series, 7, 30).scaler, "lstm", 7,
                                      series, dates)
    np.testing.assert_array_equal(again, [row["unidades"] for row in forecast["pronostico"]])
