"""Backtests de muchas series y los métodos de comparación (tareas.ventas.backtest, .pares)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cli.principal import main
from datos.ventas_multiples import SeriesSchema, write_long_sales
from datos.ventas_sinteticas import make_multi_series
from nucleo.errores import DataError, EnvironmentSetupError
from tareas.ventas import pares
from tareas.ventas.backtest import cell_errors, forecast_columns, run_backtest, summarize
from tareas.ventas.backtest_informe import format_backtest
from tareas.ventas.pares import SeasonalNaiveForecaster

PATTERN = np.array([10.0, 12.0, 14.0, 13.0, 20.0, 25.0, 5.0])


def _frame(values: dict[str, np.ndarray], start="2023-01-02", **covariates) -> pd.DataFrame:
    """Formato largo de varias series que empiezan el mismo día."""
    parts = []
    for key, y in values.items():
        dates = pd.date_range(start, periods=len(y), freq="D")
        part = pd.DataFrame({"serie": key, "fecha": dates, "unidades": np.asarray(y, float)})
        for name, column in covariates.items():
            part[name] = np.asarray(column[key], dtype=float)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


@pytest.mark.neutral
def test_seasonal_naive_mase_is_the_ceiling_of_h_over_7_with_a_trend():
    # Patrón semanal + tendencia de 0.5 al día: el ingenuo a m = 7·⌈h/7⌉ días se equivoca
    # 0.5·m, y su MAE dentro de la muestra (a 7 días) es 3.5, así que MASE(h) = ⌈h/7⌉.
    days = 140
    y = np.tile(PATTERN, days // 7) + 0.5 * np.arange(days)
    frame = _frame({"a": y, "b": 2 * y})
    result = run_backtest(frame, SeriesSchema(()), [SeasonalNaiveForecaster()], horizon=14,
                          folds=2, step=7, levels=(80,), progress=False)
    (row,) = result.summary["metodos"]
    np.testing.assert_allclose(row["por_paso"]["mase"], [1.0] * 7 + [2.0] * 7)
    assert row["mase"] == pytest.approx(1.5)
    assert row["por_paso"]["mae"][0] == pytest.approx((3.5 + 7.0) / 2)
    assert result.summary["cortes"] == ["2023-04-30", "2023-05-07"]


@pytest.mark.neutral
def test_a_perfectly_weekly_series_has_no_scale_and_is_left_out_of_mase_only():
    frame = _frame({"semanal": np.tile(PATTERN, 12), "ceros": np.zeros(84)})
    result = run_backtest(frame, SeriesSchema(()), [SeasonalNaiveForecaster()], horizon=7,
                          folds=1, levels=(), progress=False)
    (row,) = result.summary["metodos"]
    assert row["mase"] is None and row["series_sin_escala"] == 2
    assert row["mae"] == 0.0 and row["smape"] == 0.0  # 0/0 en sMAPE cuenta como 0
    assert "2 series sin escala" in format_backtest(result.summary)


@pytest.mark.neutral
def test_smape_bounds_and_coverage_counting_on_hand_made_cells():
    cells = pd.DataFrame({
        "metodo": "m", "pliegue": 0, "serie": "a", "paso": [1, 1, 2, 2, 3],
        "fecha": pd.date_range("2024-01-01", periods=5), "unidades": [0.0, 10, 0, 4, 3],
        "media": [0.0, 10, 5, 6, 3], "inferior_80": [0.0, 11, -1, 4, 0],
        "superior_80": [1.0, 12, 1, 5, 2], "escala": [2.0, 2, 2, 2, np.nan]})
    errors = cell_errors(cells, (80,))
    np.testing.assert_allclose(errors["smape"], [0, 0, 200, 40, 0])
    np.testing.assert_allclose(errors["dentro_80"], [1, 0, 1, 1, 0])  # bordes incluidos
    summary = summarize(cells, (80,), 3)
    (row,) = summary["metodos"]
    assert row["cobertura"]["80"] == pytest.approx(3 / 5)
    assert row["anchura"]["80"] == pytest.approx((1 + 1 + 2 + 1 + 2) / 5)
    assert row["por_paso"]["smape"] == [0.0, 120.0, 0.0]
    assert row["mase"] == pytest.approx((0 + 0 + 2.5 + 1) / 4)  # la celda sin escala no cuenta
    rng = np.random.default_rng(0)
    random = cells.iloc[[0] * 200].assign(unidades=rng.normal(0, 5, 200),
                                          media=rng.normal(0, 5, 200))
    assert cell_errors(random, (80,))["smape"].between(0, 200).all()


class Recorder:
    """Un método que apunta lo que ve y pronostica el último valor."""

    name = "grabadora"

    def __init__(self):
        self.seen = []

    def fit(self, train, schema, horizon, levels=()):
        self.horizon, self.levels = horizon, levels
        self.seen.append({"fit_last": train["fecha"].max(), "fit_columns": set(train)})

    def predict(self, history, future):
        self.seen[-1].update(history_last=history["fecha"].max(), future=future)
        last = history.groupby("serie").tail(1)
        mean = np.repeat(last["unidades"].to_numpy()[:, None], self.horizon, axis=1)
        bounds = {level: (mean - 1, mean + 1) for level in self.levels}
        from tareas.ventas.backtest import forecast_frame
        return forecast_frame(last["serie"], last["fecha"], mean, bounds)


@pytest.mark.neutral
def test_folds_never_show_the_future_to_fit_or_predict():
    y = np.arange(120, dtype=float)
    frame = _frame({"a": y, "b": y + 1}, precio={"a": y, "b": y}, temperatura={"a": y, "b": y})
    schema = SeriesSchema((), future_covariates=("precio",), past_covariates=("temperatura",))
    recorder = Recorder()
    result = run_backtest(frame, schema, [recorder], horizon=10, folds=3, step=5,
                          levels=(90,), progress=False)
    cutoffs = [pd.Timestamp(c) for c in result.summary["cortes"]]
    assert [b - a for a, b in zip(cutoffs, cutoffs[1:])] == [pd.Timedelta(days=5)] * 2
    assert cutoffs[-1] == frame["fecha"].max() - pd.Timedelta(days=10)
    for seen, cutoff in zip(recorder.seen, cutoffs, strict=True):
        assert seen["fit_last"] == cutoff and seen["history_last"] == cutoff
        future = seen["future"]
        assert list(future.columns) == ["serie", "fecha", "precio"]  # ni ventas ni pasadas
        assert future["fecha"].min() == cutoff + pd.Timedelta(days=1)
        assert future["fecha"].max() == cutoff + pd.Timedelta(days=10)
    (row,) = result.summary["metodos"]
    # El último valor se equivoca h unidades a h días en una recta de pendiente 1.
    np.testing.assert_allclose(row["por_paso"]["mae"], np.arange(1, 11))
    assert row["cobertura"]["90"] == pytest.approx(0.1)  # solo h = 1 cae en ±1


@pytest.mark.neutral
def test_a_method_without_intervals_has_no_coverage_and_seeds_are_grouped():
    class NoIntervals(Recorder):
        def predict(self, history, future):
            out = super().predict(history, future)
            out[["inferior_80", "superior_80"]] = np.nan
            return out

    one, two = NoIntervals(), NoIntervals()
    one.name, two.name = "sin intervalos 1", "sin intervalos 2"
    one.group = two.group = "sin intervalos"
    frame = _frame({"a": np.arange(60.0)})
    summary = run_backtest(frame, SeriesSchema(()), [one, two, SeasonalNaiveForecaster()],
                           horizon=7, levels=(80,), progress=False).summary
    rows = {row["metodo"]: row for row in summary["metodos"]}
    assert rows["sin intervalos 1"]["cobertura"]["80"] is None
    assert rows["Ingenuo estacional (t−7)"]["cobertura"]["80"] is not None
    (group,) = summary["grupos"]
    assert group["metodos"] == ["sin intervalos 1", "sin intervalos 2"]
    assert group["mase_std"] == 0.0 and group["mase"] == rows["sin intervalos 1"]["mase"]


@pytest.mark.neutral
def test_a_forecast_without_its_columns_or_rows_is_a_clear_error():
    class Broken(Recorder):
        def predict(self, history, future):
            return super().predict(history, future).drop(columns="superior_80")

    frame = _frame({"a": np.arange(60.0)})
    with pytest.raises(DataError, match="le faltan las columnas superior_80"):
        run_backtest(frame, SeriesSchema(()), [Broken()], horizon=7, folds=1, levels=(80,),
                     progress=False)
    holes = frame.drop(index=[30])
    with pytest.raises(DataError, match="no tiene días consecutivos"):
        run_backtest(holes, SeriesSchema(()), [Recorder()], horizon=7, progress=False)
    with pytest.raises(DataError, match="hacen falta al menos"):
        run_backtest(frame, SeriesSchema(()), [Recorder()], horizon=28, folds=3,
                     progress=False)


@pytest.mark.neutral
def test_seasonal_naive_intervals_come_from_its_past_errors():
    rng = np.random.default_rng(1)
    y = np.maximum(np.tile(PATTERN, 30) + rng.normal(0, 1, 210), 0.0)
    history = _frame({"a": y})
    naive = SeasonalNaiveForecaster()
    naive.fit(history, SeriesSchema(()), 10, (50, 95))
    out = naive.predict(history, None)
    assert list(out.columns) == forecast_columns((50, 95)) and len(out) == 10
    np.testing.assert_allclose(out["media"].to_numpy(), np.r_[y[-7:], y[-7:-4]])
    width50, width95 = (out[f"superior_{k}"] - out[f"inferior_{k}"] for k in (50, 95))
    assert (width95 > width50).all() and (out["inferior_95"] >= 0).all()
    errors = y[7:] - y[:-7]
    assert width50.iloc[0] == pytest.approx(np.subtract(*np.quantile(errors, [0.75, 0.25])))


def _small_peer_data():
    frame, schema = make_multi_series(3, 90, seed=3)
    cut = frame["fecha"].max() - pd.Timedelta(days=7)
    train = frame[frame["fecha"] <= cut].reset_index(drop=True)
    future = frame.loc[frame["fecha"] > cut, ["serie", "fecha", *schema.future_covariates]]
    return train, future.reset_index(drop=True), schema


def _check_contract(out: pd.DataFrame, train: pd.DataFrame, levels) -> None:
    assert list(out.columns) == forecast_columns(levels)
    assert len(out) == 3 * 7 and not out.duplicated(["serie", "fecha"]).any()
    assert out["fecha"].min() == train["fecha"].max() + pd.Timedelta(days=1)
    numbers = out[forecast_columns(levels)[2:]].to_numpy()
    assert np.isfinite(numbers).all()
    for level in levels:
        assert (out[f"inferior_{level}"] <= out["media"] + 1e-9).all()
        assert (out["media"] <= out[f"superior_{level}"] + 1e-9).all()


@pytest.mark.parametrize("model, exogenous", [("AutoETS", False), ("SeasonalNaive", False),
                                              ("AutoARIMA", True)])
def test_statsforecast_wrappers_return_the_contract_columns(model, exogenous):
    pytest.importorskip("statsforecast")
    train, future, schema = _small_peer_data()
    forecaster = pares.StatsForecastForecaster(model, exogenous=exogenous, window=60)
    forecaster.fit(train, schema, 7, (80,))
    _check_contract(forecaster.predict(train, future), train, (80,))


def test_lightgbm_wrapper_returns_the_contract_columns_and_uses_the_future():
    pytest.importorskip("lightgbm")
    train, future, schema = _small_peer_data()
    forecaster = pares.LightGBMForecaster(rounds=20, calibration_windows=1)
    forecaster.fit(train, schema, 7, (80, 95))
    out = forecaster.predict(train, future)
    _check_contract(out, train, (80, 95))
    assert (out["superior_95"] - out["inferior_95"] >= out["superior_80"] - out["inferior_80"]
            - 1e-9).all()
    with pytest.raises(DataError, match="covariables futuras"):
        forecaster.predict(train, future.iloc[:-1])


def _hide_peers(monkeypatch):
    monkeypatch.setattr(pares, "missing_peers", lambda: ["statsforecast", "lightgbm"])
    real = pares.importlib.util.find_spec
    monkeypatch.setattr(pares.importlib.util, "find_spec",
                        lambda name, *a: None if name in pares.PEER_PACKAGES else real(name, *a))


@pytest.mark.neutral
def test_without_the_peers_a_single_line_says_how_to_install_them(monkeypatch):
    _hide_peers(monkeypatch)
    assert pares.peer_forecasters() == []
    note = pares.missing_peers_note()
    assert "\n" not in note and 'pip install "redes-keras[pronostico]"' in note
    assert "AutoETS" in note and "LightGBM" in note
    with pytest.raises(EnvironmentSetupError, match=r"redes-keras\[pronostico\]"):
        pares.StatsForecastForecaster().fit(pd.DataFrame(), SeriesSchema(()), 7)


@pytest.fixture(scope="module")
def long_csv(tmp_path_factory):
    frame, schema = make_multi_series(4, 100, seed=5)
    return write_long_sales(frame, schema, tmp_path_factory.mktemp("largo") / "ventas.csv")


def test_comparar_runs_the_backtest_on_a_long_csv(long_csv, tmp_path, capsys, monkeypatch):
    _hide_peers(monkeypatch)  # rápido y sin depender de que estén instalados
    out_json, out_dir = tmp_path / "c.json", tmp_path / "cmp"
    assert main(["pronostico", "comparar", "--csv", str(long_csv), "--columna-serie",
                 "tienda", "producto", "--covariables-futuras", "precio", "festivo",
                 "--horizonte", "7", "--pliegues", "1", "--intervalos", "80", "--epocas", "1",
                 "--retardos", "7", "--salida", str(out_dir), "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "Backtest de 4 series" in out and 'pip install "redes-keras[pronostico]"' in out
    stored = json.loads(out_json.read_text())
    methods = {row["metodo"]: row for row in stored["metodos"]}
    assert set(methods) == {"Ingenuo estacional (t−7)", "Red global (semilla 0)"}
    for row in methods.values():
        assert row["por_paso"]["paso"] == list(range(1, 8)) and len(row["por_paso"]["mase"]) == 7
        assert 0 <= row["cobertura"]["80"] <= 1 and row["mase"] > 0
    assert stored["metricas"]["mejor"] == stored["metodos"][0]["metodo"]
    assert (out_dir / "error_por_horizonte.png").is_file() and (out_dir / "cobertura.png").is_file()


def test_comparar_many_rejects_single_series_options(long_csv, tmp_path, capsys):
    from tests.helpers import cli_error

    err = cli_error(["pronostico", "comparar", "--csv", str(long_csv), "--columna-serie",
                     "tienda", "producto", "--dias-validacion", "30", "--salida",
                     str(tmp_path / "x")], capsys)
    assert "--dias-validacion" in err and "--pliegues" in err
