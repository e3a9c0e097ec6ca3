"""Perceptrones de ventas (ST1, STMV, STE), aprendizaje, guardado y pronóstico recursivo."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import modelos
from nucleo.errores import ArgumentError, DataError, ModelFileError
from datos.ventas import SalesSeries
from datos.ventas import calendar_features
from datos.ventas import make_sales_series
from datos.ventas import prepare_sales
from datos.ventas import sales_inputs
from tareas import ventas
from modelos.ventas.mlp import build_sales_mlp
from tests.helpers import run_model_saving_test

STEPS = 7


def _batch(variant, n=5, seed=0):
    rng = np.random.default_rng(seed)
    lags = rng.uniform(-1, 1, (n, STEPS))
    return sales_inputs(variant, lags, rng.integers(0, 7, n), rng.integers(1, 13, n))


# === Arquitecturas ===

@pytest.mark.parametrize("variant, blog, input_shape, params", [
    ("st1", False, (None, 1, 7), 64),        # el blog: Dense(7) 56 + Dense(1) 8
    ("stmv", False, (None, 9), 78),          # 9·7 + 7 + 8
    ("ste", False, (None, 9), 168),          # 7·2 + 12·4 + (6 + 7)·7 + 7 + 8
    ("ste", True, (None, 9), 119),           # sin retardos: 14 + 48 + 6·7 + 7 + 8
])
def test_variant_shapes_and_parameter_counts(variant, blog, input_shape, params):
    model = build_sales_mlp(variant, blog_ste=blog)
    assert model.input_shape == input_shape
    assert model.output_shape == (None, 1)
    assert model.count_params() == params
    out = model.predict(_batch(variant), verbose=0)
    assert out.shape == (5, 1) and np.all(np.abs(out) < 1)  # salida tanh


def test_st1_is_the_blogs_net():
    model = build_sales_mlp("st1")
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer", "Dense", "Flatten", "Dense"]
    assert [layer.activation.__name__ for layer in model.layers if hasattr(layer, "activation")] \
        == ["tanh", "tanh"]
    assert model.loss == "mean_absolute_error"
    assert type(model.optimizer).__name__ == "Adam"
    assert build_sales_mlp("st1", steps=14).count_params() == 14 * 14 + 14 + 15


def test_ste_uses_the_lags_and_the_blog_variant_does_not():
    x = _batch("ste")
    other = x.copy()
    other[:, :STEPS] = -other[:, :STEPS]  # otros retardos, mismo calendario
    ours = build_sales_mlp("ste")
    blog = build_sales_mlp("ste", blog_ste=True)
    assert not np.allclose(ours.predict(x, verbose=0), ours.predict(other, verbose=0))
    np.testing.assert_allclose(blog.predict(x, verbose=0), blog.predict(other, verbose=0))
    embeddings = {layer.name: layer for layer in ours.layers if "embedding" in layer.name}
    assert embeddings["embedding_dia"].embeddings.shape == (7, 2)
    assert embeddings["embedding_mes"].embeddings.shape == (12, 4)


def test_optional_regularisation_keeps_the_blog_default():
    plain = build_sales_mlp("ste")
    assert not [layer for layer in plain.layers if type(layer).__name__ == "Dropout"]
    wide = build_sales_mlp("ste", steps=14, hidden_units=16, dropout=0.2, l2=1e-3)
    assert wide.input_shape == (None, 16)
    # Dropout y L2 no añaden parámetros: 14 + 48 + (6 + 14)·16 + 16 + 17.
    assert wide.count_params() == 14 + 48 + 20 * 16 + 16 + 17
    assert "Dropout" in [type(layer).__name__ for layer in wide.layers]
    x = sales_inputs("ste", np.zeros((3, 14)), [0, 1, 2], [1, 2, 3])
    assert len(wide.losses) == 1 and float(wide.losses[0]) > 0  # penalización L2
    # El dropout solo actúa al entrenar: la predicción es determinista.
    np.testing.assert_allclose(wide.predict(x, verbose=0), wide(x, training=False), rtol=1e-5)
    assert not np.allclose(wide(x, training=False), wide(x, training=True))
    with pytest.raises(ArgumentError, match="«dropout» debe ser un número en"):
        build_sales_mlp("ste", dropout=1.0)
    with pytest.raises(ArgumentError, match="«l2» debe ser un número en"):
        build_sales_mlp("ste", l2=-0.1)


def test_builder_errors_are_spanish():
    with pytest.raises(ArgumentError,
                       match="«variant» debe ser uno de st1, stmv, ste; recibido 'lstm'"):
        build_sales_mlp("lstm")
    with pytest.raises(ArgumentError, match="«steps» debe ser un entero entre 1 y 365"):
        build_sales_mlp("st1", steps=0)
    with pytest.raises(ArgumentError, match="solo tiene sentido con variant='ste'"):
        build_sales_mlp("st1", blog_ste=True)


@pytest.mark.parametrize("kwargs, name", [
    ({"hidden_units": 10**12}, "hidden_units"),
    ({"steps": 10**6}, "steps"),
    ({"day_embedding": 10**9}, "day_embedding"),
    ({"month_embedding": 10**9}, "month_embedding"),
])
def test_builder_arguments_are_bounded(kwargs, name):
    # Regresión: un archivo manipulado podía pedir una capa de 10**12 neuronas al cargarse.
    with pytest.raises(ArgumentError, match=rf"«{name}» debe ser un entero entre 1 y \d+"):
        build_sales_mlp("ste", **kwargs)


@pytest.mark.parametrize("variant", ["st1", "ste"])
def test_save_load_round_trip(variant, tmp_path):
    model = build_sales_mlp(variant, blog_ste=False)
    restored = run_model_saving_test(model, _batch(variant), tmp_path / "m.h5")
    assert restored.name == model.name


# === Entrenamiento, aprendizaje y pronóstico ===

@pytest.fixture(scope="module")
def weekday_series():
    """Serie con un fuerte patrón semanal, ruido del 10 % y días que faltan, sin pico de verano.

    Sin cambio de nivel en la validación, lo que hay que aprender es el patrón semanal:
    el ingenuo estacional repite el ruido de hace una semana (≈ √2 veces el ruido).
    """
    return make_sales_series(days=420, seed=11, noise=0.1, summer=0.0)


@pytest.mark.slow
def test_trained_ste_beats_seasonal_naive(weekday_series):
    result = ventas.compare(weekday_series, seeds=[0], epochs=25,
                            models=(("STE", "ste", False),), baselines=True)
    rows = {row["modelo"]: row for row in result.data["filas"]}
    naive = rows["Ingenuo estacional (t−7)"]["val_loss"]
    assert rows["STE"]["val_loss"] < 0.85 * naive
    assert rows["STE"]["val_mae_unidades"] < rows["Ingenuo estacional (t−7)"]["val_mae_unidades"]
    assert rows["Último valor"]["val_loss"] > naive  # el patrón semanal domina
    assert "a un paso" in result.data["protocolo"]


@pytest.fixture(scope="module")
def trained(weekday_series, tmp_path_factory):
    run = tmp_path_factory.mktemp("ventas")
    result = ventas.train_sales(series=weekday_series, variant="ste", epochs=3, validation=30,
                                run_dir=run / "ste")
    return result


def test_train_sales_reports_and_writes_everything(trained, weekday_series):
    metrics = trained.metrics
    for key in ("loss", "val_loss", "mse", "val_mse", "val_mae_unidades", "val_rmse_unidades"):
        assert np.isfinite(metrics[key])
    assert metrics["val_loss"] < 0.5
    for key in ("pesos", "registro", "curvas", "validacion"):
        assert trained.file(key).read_bytes()[:4]  # existe y no está vacío
    assert len(trained.data["validacion"]) == 30
    assert trained.data["validacion"][-1]["fecha"] == str(weekday_series.dates[-1])
    assert trained.tables[0].rows[-1][0] == str(weekday_series.dates[-1])
    assert trained.model is not None and len(trained.history["loss"]) == 3
    stored = modelos.load_metadata(trained.file("pesos"))
    assert stored["builder"] == "ventas" and stored["kwargs"]["variant"] == "ste"
    data = prepare_sales(weekday_series, 7, 30)
    assert stored["metadata"]["escalador"] == data.scaler.to_json()  # solo entrenamiento
    assert stored["metadata"]["mejor"]["monitor"] == "loss"  # nunca se elige por validación


def test_forecast_after_load_is_identical_and_continues_the_calendar(trained, weekday_series,
                                                                     tmp_path):
    weights = trained.file("pesos")
    result = ventas.forecast(weights, weekday_series, days=8, out_dir=tmp_path)
    # El mismo pronóstico recursivo con el modelo recargado por separado.
    model = modelos.load(weights)
    data = prepare_sales(weekday_series, 7, 30)
    dates = np.array([row["fecha"] for row in result.data["pronostico"]], "datetime64[D]")
    again = ventas.recursive_forecast(model, data.scaler, "ste", 7, weekday_series, dates)
    np.testing.assert_array_equal(again, [row["unidades"] for row in result.data["pronostico"]])
    assert dates[0] > weekday_series.dates[-1]
    assert 6 not in calendar_features(dates)[0]  # los domingos casi nunca abre
    assert len(dates) == 8 and np.all(np.diff(dates).astype(int) >= 1)
    csv_lines = (tmp_path / "pronostico.csv").read_text().splitlines()
    assert csv_lines[0] == "fecha,unidades" and len(csv_lines) == 9
    assert (tmp_path / "pronostico.png").read_bytes()[:4] == b"\x89PNG"
    everyday = ventas.forecast(weights, weekday_series, days=7, out_dir=tmp_path, all_days=True)
    assert len({calendar_features([row["fecha"]])[0][0]
                for row in everyday.data["pronostico"]}) == 7


def test_forecast_days_are_bounded_and_a_long_one_shows_progress(trained, weekday_series,
                                                                  tmp_path, capsys):
    # Regresión: days=100000 no tenía límite ni progreso y pasaba de 120 s.
    weights = trained.file("pesos")
    with pytest.raises(ArgumentError, match=r"forecast: «days» debe ser un entero entre 1 y "
                       rf"{ventas.MAX_FORECAST_DAYS}; recibido 100000"):
        ventas.forecast(weights, weekday_series, days=100000, out_dir=tmp_path)
    capsys.readouterr()
    long = ventas.forecast(weights, weekday_series, days=120, out_dir=tmp_path)
    assert "Pronosticando" in capsys.readouterr().err  # barra de tqdm
    assert len(long.data["pronostico"]) == 120
    assert len(long.tables[0].rows) == 60 and "todos en pronostico.csv" in long.tables[0].title
    short = ventas.forecast(weights, weekday_series, days=3, out_dir=tmp_path)
    assert "Pronosticando" not in capsys.readouterr().err
    assert short.data["pronostico"] == long.data["pronostico"][:3]


def test_api_errors_name_the_python_argument(trained, weekday_series, tmp_path):
    weights = trained.file("pesos")
    cases = [
        (lambda: ventas.forecast(weights, weekday_series, days=0), "forecast: «days»"),
        (lambda: ventas.forecast(weights, weekday_series, history_days=0),
         "forecast: «history_days»"),
        (lambda: ventas.forecast(weights, weekday_series, all_days="sí"), "forecast: «all_days»"),
        (lambda: ventas.forecast(weights, 42), "forecast: «data»"),
        (lambda: ventas.train_sales(series=weekday_series, epochs=0),
         r"SalesConfig: «epochs \(--epocas\)»"),
        (lambda: ventas.train_sales(series=weekday_series, steps=10**6),
         r"SalesConfig: «steps \(--retardos\)»"),
        (lambda: ventas.train_sales(series=weekday_series, validation=-1),
         r"SalesConfig: «validation \(--dias-validacion\)»"),
        (lambda: ventas.train_sales(series=weekday_series, batch_size=0),
         r"SalesConfig: «batch_size \(--lote\)»"),
        (lambda: ventas.train_sales(series=weekday_series, learning_rate=-1.0),
         r"SalesConfig: «learning_rate \(--tasa\)»"),
        (lambda: ventas.train_sales(series=weekday_series, learning_rate=0.0),
         r"SalesConfig: «learning_rate \(--tasa\)»"),
        (lambda: ventas.train_sales(series=weekday_series, seed=-1),
         r"SalesConfig: «seed \(--semilla\)»"),
        (lambda: ventas.train_sales(series=weekday_series, patience=0),
         r"SalesConfig: «patience \(--paciencia\)»"),
        (lambda: ventas.train_sales(series=weekday_series, minutes=0.0),
         r"SalesConfig: «minutes \(--minutos\)»"),
        (lambda: ventas.train_sales(series=weekday_series, precision="float16"),
         r"SalesConfig: «precision \(--precision\)»"),
        (lambda: ventas.train_sales(series=weekday_series, variant="arima"),
         r"SalesConfig: «variant \(--modelo\)»"),
        (lambda: ventas.compare(weekday_series, validation=0), "compare: «validation»"),
        (lambda: ventas.compare(weekday_series, seeds=[]), "compare: «seeds»"),
        (lambda: ventas.compare(weekday_series, models=()), "compare: «models»"),
    ]
    for call, message in cases:
        with pytest.raises(ArgumentError, match=message):
            call()
    assert not list(tmp_path.iterdir())  # nada se escribió


def test_train_sales_refuses_a_series_that_would_overflow(weekday_series, tmp_path):
    # Regresión: un valor de 1e308 entrenaba y daba MAE = inf.
    values = weekday_series.values.copy()
    values[100] = 1e308
    huge = SalesSeries(weekday_series.dates, values, "ventas.csv")
    with pytest.raises(DataError, match=r"«ventas.csv»: el valor 1e\+308 del .* fuera del rango"):
        ventas.train_sales(series=huge, epochs=1, run_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def _rewrite_kwargs(path, kwargs) -> None:
    """Deja en ``path`` los argumentos que guardaba el formato anterior (solo los explícitos)."""
    with h5py.File(path, "r+") as handle:
        handle.attrs["kwargs"] = json.dumps(kwargs)


def test_load_sales_model_reads_old_files_without_retyping_defaults(trained, tmp_path):
    weights = tmp_path / "antiguo.h5"
    weights.write_bytes(trained.file("pesos").read_bytes())
    _rewrite_kwargs(weights, {"variant": "ste", "learning_rate": 0.001})  # sin «steps»
    model, scaler, variant, steps = ventas.load_sales_model(weights)
    assert (variant, steps) == ("ste", 7) and model.input_shape == (None, 9)
    # Un ST1 antiguo sin ningún argumento: la variante y los retardos por defecto del
    # constructor, leídos de su firma (no de una copia escrita a mano).
    st1 = tmp_path / "st1.h5"
    metadata = modelos.load_metadata(weights)["metadata"]
    modelos.save(build_sales_mlp(), st1, metadata=metadata)
    _rewrite_kwargs(st1, {})
    assert ventas.load_sales_model(st1)[2:] == ("st1", 7)


def test_forecast_rejects_other_models(tmp_path):
    path = modelos.save(modelos.build_xor(), tmp_path / "xor.h5")
    with pytest.raises(ModelFileError, match="no es un modelo de ventas"):
        ventas.forecast(path, make_sales_series(days=60), days=3)


def test_next_dates_and_open_weekdays():
    dates = ventas.next_dates(np.datetime64("2018-11-30"), 3, weekdays=range(6))
    assert dates.astype(str).tolist() == ["2018-12-01", "2018-12-03", "2018-12-04"]
    mondays = ventas.next_dates(np.datetime64("2018-11-30"), 3, weekdays=[0])
    assert mondays.astype(str).tolist() == ["2018-12-03", "2018-12-10", "2018-12-17"]
    assert len(ventas.next_dates(np.datetime64("2018-11-30"), 3650)) == 3650
    with pytest.raises(ArgumentError, match="«weekdays» debe tener algún día"):
        ventas.next_dates(np.datetime64("2018-11-30"), 3, weekdays=[])  # antes, un bucle sin fin
    series = make_sales_series(days=200, seed=2)
    assert ventas.open_weekdays(series.dates).tolist() == [0, 1, 2, 3, 4, 5]


def test_compare_with_rolling_origin_and_its_table(weekday_series, tmp_path):
    result = ventas.compare(weekday_series, seeds=2, folds=2, epochs=1,
                            models=(("ST1", "st1", False),), out_dir=tmp_path)
    rows = {row["modelo"]: row for row in result.data["filas"]}
    assert rows["ST1"]["corridas"] == 2 and len(rows["ST1"]["pliegues_val_loss"]) == 2
    assert rows["ST1"]["backtest_mae"] == pytest.approx(np.mean(rows["ST1"]["pliegues_val_loss"]))
    # ST1, la media de sus 2 semillas y 4 referencias (statsmodels está en el extra de pruebas).
    assert len(rows) == 6 and rows["ST1 (media de 2 semillas)"]["tipo"] == "conjunto"
    table = ventas.format_comparison(result)
    assert "Protocolo: pronóstico a un paso" in table and "origen móvil (2 bloques)" in table
    assert "± " in table
    assert (tmp_path / "comparacion.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ArgumentError, match="«folds» debe ser un entero ≥ 1"):
        ventas.compare(weekday_series, folds=0)


def test_compare_is_deterministic_and_trains_like_train_sales(weekday_series, tmp_path):
    # Un solo bucle de entrenamiento: la red de compare (en memoria, una llamada por época)
    # es la de train_sales con la misma semilla.
    first = ventas.compare(weekday_series, seeds=[3], epochs=2, baselines=False,
                           models=(("STE", "ste", False),))
    again = ventas.compare(weekday_series, seeds=[3], epochs=2, baselines=False,
                           models=(("STE", "ste", False),))
    row = first.data["filas"][0]
    assert row["val_loss"] == again.data["filas"][0]["val_loss"]
    assert first.metrics["mejor"] == "STE" and first.files == {}
    trained = ventas.train_sales(series=weekday_series, variant="ste", epochs=2, seed=3,
                                 run_dir=tmp_path)
    assert row["val_mae_unidades"] == pytest.approx(trained.metrics["val_mae_unidades"],
                                                    rel=1e-4)
    assert row["loss"] == pytest.approx(trained.metrics["loss"], rel=1e-4)


def test_compare_row_with_its_own_settings(weekday_series):
    wide = ("STE ancha", "ste", False, {"steps": 14, "hidden_units": 16, "dropout": 0.2})
    result = ventas.compare(weekday_series, seeds=1, epochs=1, baselines=False,
                            models=(("STE", "ste", False), wide))
    rows = {row["modelo"]: row for row in result.data["filas"]}
    assert set(rows) == {"STE", "STE ancha"}  # mismos 30 días de validación para las dos
    assert rows["STE"]["val_loss"] != rows["STE ancha"]["val_loss"]
    with pytest.raises(ArgumentError, match="cada modelo debe ser"):
        ventas.compare(weekday_series, models=(("STE", "ste"),))
    with pytest.raises(ArgumentError, match="«dropout» debe ser un número en"):
        ventas.compare(weekday_series, seeds=1, epochs=1, baselines=False,
                       models=(("X", "ste", False, {"dropout": 2.0}),))
