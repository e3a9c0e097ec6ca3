"""Muchas series en un modelo: formato largo, red global, intervalos y sus órdenes.

Un solo entrenamiento (24 series sintéticas × 200 días, 15 épocas, por la orden
``redes pronostico entrenar``) sirve a las pruebas de aprendizaje, cobertura, guardado,
exportación y ``predecir``. Tolerancia de la cobertura: ±5 puntos sobre el nivel nominal
en la validación (24 series × 28 días que nadie vio al entrenar ni al calibrar).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cli.principal import main
from datos.ventas import make_sales_series
from datos.ventas import write_sales_csv
from datos.ventas_multiples import SeriesSchema, future_values, read_future, read_long_sales
from datos.ventas_multiples import read_long_table, write_long_sales
from datos.ventas_sinteticas import make_multi_series
from datos.ventas_ventanas import SeriesEncoding
from nucleo.errores import ArgumentError, DataError, ModelFileError

SCHEMA_ARGS = {"series_columns": ("tienda", "producto"),
               "future_covariates": ("precio", "festivo")}
HISTORY_DAYS, HORIZON = 200, 28
#: Tolerancia de la cobertura empírica frente a la nominal, en puntos.
COVERAGE_TOLERANCE = 5.0


def _csv(tmp_path, frame, schema, name="largo.csv"):
    return write_long_sales(frame, schema, tmp_path / name)


# === Datos: generador, lector y sus errores (baratos: sin Keras) ===

@pytest.mark.neutral
def test_generator_has_the_stated_structure_and_is_deterministic():
    frame, schema = make_multi_series(40, 365, seed=3)
    again, _ = make_multi_series(40, 365, seed=3)
    assert frame.equals(again) and not frame.equals(make_multi_series(40, 365, seed=4)[0])
    assert schema == SeriesSchema(("tienda", "producto"), ("precio", "festivo"))
    assert list(frame.columns) == ["serie", "fecha", "unidades", "precio", "festivo"]
    zeros = frame.groupby("serie")["unidades"].apply(lambda v: float((v == 0).mean()))
    assert 4 <= int((zeros > 0.3).sum()) <= 12            # ~20 % intermitentes
    regular = frame[frame["serie"].isin(zeros[zeros == 0].index)]
    relative = regular["unidades"] / regular.groupby("serie")["unidades"].transform("mean")
    assert relative[regular["festivo"] == 1].mean() > 1.5  # festivo ×1.8
    cheap = regular["precio"] < regular.groupby("serie")["precio"].transform("max") * 0.95
    assert relative[cheap].mean() > 1.2 * relative[~cheap].mean()  # elasticidad al precio


@pytest.mark.neutral
def test_long_csv_round_trip_and_the_blog_csv_as_one_series(tmp_path):
    frame, schema = make_multi_series(5, 60, seed=1)
    path = _csv(tmp_path, frame, schema)
    read, read_schema = read_long_sales(path, **SCHEMA_ARGS)
    assert read.equals(frame) and read_schema == schema
    blog = write_sales_csv(make_sales_series(days=60, seed=0), tmp_path / "blog.csv")
    with pytest.raises(DataError, match=r"serie «serie».*línea \d+.*--huecos rellenar"):
        read_long_sales(blog)
    single, single_schema = read_long_sales(blog, gaps="rellenar")
    assert set(single["serie"]) == {"serie"} and single_schema.series_columns == ()
    assert len(single) == 60 and (single["unidades"] == 0).sum() > 0  # domingos: 0


def _bad(tmp_path, edit, **options):
    frame, schema = make_multi_series(3, 40, seed=0)
    text = _csv(tmp_path, frame, schema).read_text().splitlines()
    path = tmp_path / "malo.csv"
    path.write_text("\n".join(edit(text)) + "\n")
    return lambda: read_long_sales(path, **{**SCHEMA_ARGS, **options})


@pytest.mark.neutral
@pytest.mark.parametrize("edit, options, message", [
    (lambda t: t[:5] + [t[4]] + t[5:], {},
     r"serie «T01 / P001» \(columnas tienda, producto\) repite el día 2022-01-04 en las "
     r"líneas 5 y 6"),
    (lambda t: t[:10] + t[12:], {},
     r"serie «T01 / P001» .*le faltan 2 días entre el 2022-01-09 \(línea 10\) y el "
     r"2022-01-12 \(línea 11\)\. Con «--huecos rellenar»"),
    (lambda t: t, {"min_length": 50},
     r"serie «T01 / P001» \(columnas tienda, producto\), que empieza en la línea 2, tiene "
     r"40 días y hacen falta al menos 50"),
    (lambda t: t[:7] + [t[7].rsplit(",", 2)[0] + ",barato,0"] + t[8:], {},
     r"línea 8, columna «precio»: el valor 'barato' no es un número"),
    (lambda t: t[:7] + [t[7].rsplit(",", 2)[0] + ",,0"] + t[8:], {},
     r"línea 8, columna «precio»: el valor '' está vacío"),
    (lambda t: t, {"future_covariates": ("precio", "promo")},
     r"línea 1: no hay ninguna columna «promo» para una covariable"),
])
def test_each_bad_csv_names_the_column_and_the_line(tmp_path, edit, options, message):
    with pytest.raises(DataError, match=message):
        _bad(tmp_path, edit, **options)()


@pytest.mark.neutral
def test_gaps_can_be_filled_with_zero_and_the_previous_covariates(tmp_path):
    frame, schema = make_multi_series(2, 30, seed=0)
    holed = frame.drop(index=[5, 6])
    path = _csv(tmp_path, holed, schema)
    table = read_long_table(path, gaps="rellenar", **SCHEMA_ARGS)
    assert len(table.frame) == 60 and list(table.lines[5:7]) == [0, 0]
    filled = table.frame.iloc[5:7]
    assert (filled["unidades"] == 0).all()
    assert (filled["precio"] == frame["precio"].iloc[4]).all()


@pytest.mark.neutral
def test_missing_future_covariates_name_the_series_the_day_and_the_columns(tmp_path):
    frame, schema = make_multi_series(2, 40, seed=0)
    future = read_future(frame[frame["fecha"] >= "2022-01-30"].drop(columns="unidades"), schema)
    last = np.array(["2022-01-29", "2022-01-29"], "datetime64[D]")
    values = future_values(["T01 / P001", "T01 / P002"], last, future, schema, 5)
    assert values.shape == (2, 5, 2)
    with pytest.raises(DataError, match=r"falta la fila de la serie «T01 / P001» del "
                                        r"2022-02-10 con las covariables futuras precio, festivo"):
        future_values(["T01 / P001"], last[:1], future, schema, 12)
    with pytest.raises(DataError, match=r"hace falta --futuro"):
        future_values(["T01 / P001"], last[:1], None, schema, 5)


@pytest.mark.neutral
def test_intermittent_scales_never_divide_by_zero_and_degenerate_ones_are_refused():
    frame, schema = make_multi_series(3, 40, seed=0)
    frame.loc[frame["serie"] == "T01 / P002", "unidades"] = 0.0
    encoding = SeriesEncoding.fit(frame, schema, held=10)
    assert np.all(encoding.scales > 0) and encoding.scales[1] == 1.0
    stored = encoding.to_json()
    assert SeriesEncoding.from_json(stored).keys == encoding.keys
    for bad in (0.0, -1.0, float("nan")):
        broken = {**stored, "escalas": [bad, *stored["escalas"][1:]]}
        with pytest.raises(DataError, match=r"escalador degenerado: «escalas» de la serie "
                                            r"«T01 / P001»"):
            SeriesEncoding.from_json(broken)


def test_cli_errors_are_one_line_and_a_global_config_trains_the_global_model(tmp_path, capsys):
    import argparse

    from cli.pronostico import _is_global
    from tareas.configuracion import load_config, save_config
    from tareas.ventas.global_configuracion import GlobalSalesConfig
    from tests.helpers import cli_error

    frame, schema = make_multi_series(3, 40, seed=0)
    path = str(_csv(tmp_path, frame, schema))
    base = ["pronostico", "entrenar", "--csv", path, "--epocas", "1"]
    assert "«T01» (columnas tienda) repite el día 2022-01-01 en las líneas 2 y 42" in cli_error(
        [*base, "--columna-serie", "tienda"], capsys)
    assert "--blog" in cli_error([*base, "--columna-serie", "tienda", "producto", "--blog"],
                                 capsys)
    assert "al menos el horizonte (28 días)" in cli_error(
        [*base, "--columna-serie", "tienda", "producto", "--dias-calibracion", "5"], capsys)
    assert "«levels (--intervalos)» repite un valor: [80, 80]" in cli_error(
        [*base, "--columna-serie", "tienda", "producto", "--intervalos", "80", "80"], capsys)
    config = GlobalSalesConfig(csv=path, series_columns=("tienda", "producto"), levels=(90,))
    save_config(config, tmp_path)
    assert load_config(GlobalSalesConfig, tmp_path) == config
    given = {name: None for name in ("columna_serie", "covariables_futuras",
                                     "covariables_pasadas", "huecos", "intervalos",
                                     "horizonte", "dias_calibracion")}
    assert _is_global(argparse.Namespace(**given, config=str(tmp_path)))
    assert not _is_global(argparse.Namespace(**given, config=None))


def test_unset_batch_epochs_and_calibration_follow_the_size_of_the_data():
    """Sin --lote, --epocas ni --dias-calibracion: muchas series, lotes de 64, 30 épocas y
    el horizonte para calibrar; una sola serie, lotes de 8, al menos 6.000 pasos y días de
    calibración de más (ver bench/RESULTS.md, el CSV del blog)."""
    from tareas.ventas.global_configuracion import GlobalSalesConfig, resolve_calibration
    from tareas.ventas.global_configuracion import resolve_schedule

    base = GlobalSalesConfig()
    many = resolve_schedule(base, 124_000)
    assert (many.batch_size, many.epochs) == (64, 30)
    one = resolve_schedule(base, 520)
    assert (one.batch_size, one.epochs) == (8, 93)   # 65 lotes × 93 ≥ 6.000 pasos
    assert resolve_schedule(base, 2_400).batch_size == 32
    given = base.replace(batch_size=32, epochs=3)
    assert resolve_schedule(given, 520) == given
    assert resolve_calibration(base, [600] * 200).calibration == HORIZON
    assert resolve_calibration(base, [600]).calibration == 2 * HORIZON
    assert resolve_calibration(base, [600] * 24).calibration == HORIZON + 5
    # Sin sitio (la serie más corta apenas llega) o si el usuario lo dio: no se toca.
    assert resolve_calibration(base, [600, 100]).calibration == HORIZON
    assert resolve_calibration(base.replace(calibration=0), [600]).calibration == 0
    assert resolve_calibration(base.replace(levels=()), [600]).calibration is None


# === Un entrenamiento de verdad, por la orden ===

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """CSV de 24 series (200 días de historia y 28 de covariables futuras), modelo
    entrenado por ``redes pronostico entrenar`` y su JSON."""
    root = tmp_path_factory.mktemp("muchas_series")
    frame, schema = make_multi_series(24, HISTORY_DAYS + HORIZON, seed=0)
    cut = frame["fecha"] < frame["fecha"].min() + pd.Timedelta(days=HISTORY_DAYS)
    history = _csv(root, frame[cut], schema)
    future = _csv(root, frame[~cut].drop(columns="unidades"), schema, "futuro.csv")
    run = root / "red"
    assert main(["pronostico", "entrenar", "--csv", str(history), "--columna-serie", "tienda",
                 "producto", "--covariables-futuras", "precio", "festivo", "--intervalos",
                 "80", "95", "--horizonte", str(HORIZON), "--epocas", "15", "--salida",
                 str(run), "--json", str(root / "entrenar.json")]) == 0
    return {"root": root, "history": history, "future": future, "run": run,
            "weights": run / "modelo.h5", "frame": frame,
            "result": json.loads((root / "entrenar.json").read_text())}


def test_global_model_beats_the_seasonal_naive_on_held_out_days(trained):
    metrics = trained["result"]["metricas"]
    # La carpeta guarda lo resuelto: 24 series, 5 días de calibración de más; el lote, de
    # los ejemplos.
    saved = json.loads((trained["run"] / "configuracion.json").read_text())
    assert (saved["dias_calibracion"], saved["epocas"]) == (HORIZON + 5, 15)
    assert saved["lote"] == 8 * (metrics["ejemplos_entrenamiento"] // 512)
    assert metrics["series"] == 24 and metrics["modelo"] == "global ste"
    assert metrics["val_mase"] < 0.9 * metrics["val_mase_ingenuo"], metrics
    assert metrics["val_mae_unidades"] < 0.9 * metrics["val_mae_unidades_ingenuo"], metrics
    assert len(trained["result"]["validacion"]) == 24 * HORIZON
    assert (trained["run"] / "validacion.png").is_file()


def test_interval_coverage_on_held_out_days_is_within_tolerance(trained):
    metrics = trained["result"]["metricas"]
    for level in (80, 95):
        assert abs(metrics[f"cobertura_{level}"] - level) <= COVERAGE_TOLERANCE, metrics
    assert 0 < metrics["anchura_80"] < metrics["anchura_95"]


def test_hierarchy_embeddings_and_everything_needed_travel_in_one_file(trained):
    import modelos

    stored = modelos.load_metadata(trained["weights"])
    parts = trained["frame"]["serie"].str.split(" / ", expand=True)
    stores, products = parts[0].nunique(), parts[1].nunique()   # 24 series: 5 × 5
    assert stored["builder"] == "ventas_global"
    assert stored["kwargs"]["hierarchy"] == [stores, products]
    meta = stored["metadata"]["global"]
    assert meta["esquema"] == SeriesSchema(("tienda", "producto"),
                                           ("precio", "festivo")).to_json()
    assert len(meta["series"]) == len(meta["escalas"]) == 24 and meta["horizonte"] == 28
    assert meta["niveles"] == [80, 95] and set(meta["conformal"]) == {"80", "95"}
    model = modelos.load(trained["weights"])
    assert model.get_layer("embedding_nivel_1").input_dim == stores
    assert model.get_layer("embedding_nivel_2").input_dim == products


def test_predict_gives_table_csv_json_and_grid_and_reloads_identically(trained, capsys):
    root, out = trained["root"], trained["root"] / "prediccion"
    argv = ["pronostico", "predecir", "--pesos", str(trained["weights"]), "--csv",
            str(trained["history"]), "--futuro", str(trained["future"]), "--salida", str(out)]
    assert main([*argv, "--json", str(root / "p1.json")]) == 0
    assert "Intervalo 80 %" in capsys.readouterr().out
    assert main([*argv, "--json", str(root / "p2.json")]) == 0
    first, second = (json.loads((root / name).read_text()) for name in ("p1.json", "p2.json"))
    assert first["pronostico"] == second["pronostico"]  # cargar dos veces: lo mismo
    rows = pd.DataFrame(first["pronostico"])
    assert len(rows) == 24 * HORIZON and rows["fecha"].min() == "2022-07-20"
    assert (rows["inferior_95"] <= rows["inferior_80"]).all()
    assert (rows["inferior_80"] <= rows["media"]).all()
    assert (rows["media"] <= rows["superior_80"]).all()
    assert (rows["superior_80"] <= rows["superior_95"]).all()
    header = (out / "pronostico.csv").read_text().splitlines()[0]
    assert header == "serie,fecha,media,inferior_80,superior_80,inferior_95,superior_95"
    assert (out / "pronostico.png").read_bytes()[:4] == b"\x89PNG"
    # Los días pronosticados, frente a lo que pasó: la mediana sigue la estructura.
    real = trained["frame"].assign(fecha=trained["frame"]["fecha"].astype(str).str[:10])
    joined = rows.merge(real, on=["serie", "fecha"])
    assert np.corrcoef(joined["media"], joined["unidades"])[0, 1] > 0.9


def test_predict_errors_name_the_series_the_line_or_the_missing_file(trained, tmp_path):
    from tareas.ventas.global_prediccion import forecast_global

    weights, history = trained["weights"], trained["history"]
    with pytest.raises(DataError, match="hace falta --futuro"):
        forecast_global(weights, history, out_dir=tmp_path)
    lines = history.read_text().splitlines()
    lines.append("T09,P008," + lines[-1].split(",", 2)[2])
    stranger = tmp_path / "desconocida.csv"
    stranger.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"línea {len(lines)}: la serie «T09 / P008» no "
                                        "estaba en el entrenamiento"):
        forecast_global(weights, stranger, future=trained["future"], out_dir=tmp_path)
    with pytest.raises(ArgumentError, match=r"«days» \(--dias\) es 40 y el modelo pronostica 28"):
        forecast_global(weights, history, future=trained["future"], days=40)


def test_load_refuses_degenerate_scalers_and_foreign_models(trained, tmp_path):
    import modelos

    from tareas.ventas.global_red import load_global

    stored = modelos.load_metadata(trained["weights"])["metadata"]
    model = modelos.load(trained["weights"])
    bad = {**stored, "global": {**stored["global"],
                                "escalas": [0.0, *stored["global"]["escalas"][1:]]}}
    modelos.save(model, tmp_path / "roto.h5", metadata=bad)
    with pytest.raises(ModelFileError, match="escalador degenerado"):
        load_global(tmp_path / "roto.h5")
    modelos.save(modelos.build_sales_mlp("ste"), tmp_path / "ste.h5")
    with pytest.raises(ModelFileError, match="no es un modelo global de ventas"):
        load_global(tmp_path / "ste.h5")


def test_exported_model_forecasts_like_keras(trained, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    from tareas.ventas.global_prediccion import forecast_global

    export = tmp_path / "onnx"
    assert main(["pronostico", "exportar", "--pesos", str(trained["weights"]), "--formato",
                 "onnx", "--salida", str(export)]) == 0
    options = {"future": trained["future"], "out_dir": tmp_path}
    keras_rows = forecast_global(trained["weights"], trained["history"], **options)
    onnx_rows = forecast_global(export, trained["history"], engine="onnx", **options)
    a, b = (pd.DataFrame(r.data["pronostico"]) for r in (keras_rows, onnx_rows))
    numbers = ["media", "inferior_80", "superior_80", "inferior_95", "superior_95"]
    np.testing.assert_allclose(b[numbers].to_numpy(), a[numbers].to_numpy(), rtol=1e-4,
                               atol=1e-3)


def test_forecaster_contract_for_backtests(tmp_path):
    import modelos

    from tareas.ventas.global_configuracion import GlobalSalesConfig
    from tareas.ventas.global_red import GlobalNetworkForecaster, global_metadata, load_global

    frame, schema = make_multi_series(4, 130, seed=2)
    train = frame[frame["fecha"] < "2022-04-25"]
    future = frame[frame["fecha"] >= "2022-04-25"].drop(columns="unidades")
    forecaster = GlobalNetworkForecaster(epochs=1, steps=14)
    forecaster.fit(train, schema, horizon=7, levels=(80,))
    out = forecaster.predict(train, future)
    assert list(out.columns) == ["serie", "fecha", "media", "inferior_80", "superior_80"]
    assert len(out) == 4 * 7 and str(out["fecha"].min())[:10] == "2022-04-25"
    assert forecaster.name and np.isfinite(out[["media", "inferior_80"]].to_numpy()).all()
    # Guardado y cargado de un solo .h5: el mismo pronóstico, intervalos calibrados incluidos.
    trained = forecaster.model
    config = GlobalSalesConfig(steps=14, horizon=7, levels=(80,))
    modelos.save(trained.engine.keras_model, tmp_path / "global.h5",
                 metadata=global_metadata(trained.encoding, config, "memoria", trained.factors))
    reloaded = load_global(tmp_path / "global.h5")
    assert reloaded.factors == trained.factors and trained.factors
    pd.testing.assert_frame_equal(reloaded.forecast(train, read_future(future, schema)), out)
