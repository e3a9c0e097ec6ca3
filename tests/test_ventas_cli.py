"""Las órdenes `redes pronostico` y `redes datos descargar`, de principio a fin."""

from __future__ import annotations

import hashlib
import json

import pytest

from datos import descargas
from datos.ventas import make_sales_series
from datos.ventas import write_sales_csv
from tests.helpers import cli_error
from cli.principal import main


@pytest.fixture(scope="module")
def sales_csv(tmp_path_factory):
    root = tmp_path_factory.mktemp("ventas_cli")
    return write_sales_csv(make_sales_series(days=200, seed=4), root / "ventas.csv", header=True)


def test_train_forecast_compare_end_to_end(sales_csv, tmp_path, capsys):
    run = tmp_path / "st1"
    assert main(["pronostico", "entrenar", "--csv", str(sales_csv), "--modelo", "stmv",
                 "--epocas", "2", "--columna-fecha", "fecha", "--columna-valor", "unidades",
                 "--salida", str(run), "--json", str(tmp_path / "e.json")]) == 0
    out = capsys.readouterr().out
    assert "Ventas «STMV»: métricas" in out and "MAE en unidades (validación)" in out
    assert "Pérdida (validación)" in out and "Últimos días de validación" in out
    trained = json.loads((tmp_path / "e.json").read_text())
    assert trained["metricas"]["epocas"] <= 2 and trained["ajustes"]["validacion"] == 30
    assert len(trained["validacion"]) == 30 and trained["archivos"]["pesos"].endswith("modelo.h5")
    assert (run / "modelo.h5").is_file() and (run / "validacion.png").is_file()

    assert main(["pronostico", "predecir", "--pesos", str(run / "modelo.h5"),
                 "--csv", str(sales_csv), "--dias", "5", "--json", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "Pronóstico recursivo de 5 días (STMV)" in out
    forecast = json.loads((tmp_path / "p.json").read_text())
    assert len(forecast["pronostico"]) == 5 and forecast["metricas"]["dias"] == 5
    assert (run / "pronostico.csv").read_text().count("\n") == 6

    assert main(["pronostico", "comparar", "--csv", str(sales_csv), "--semillas", "1",
                 "--epocas", "1", "--sin-referencias", "--salida", str(tmp_path / "cmp"),
                 "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "Protocolo: pronóstico a un paso" in out
    compared = json.loads((tmp_path / "c.json").read_text())
    assert [row["modelo"] for row in compared["filas"]] == [
        "ST1", "STMV", "STE", "STE (blog)", "STE + dropout 0,3 (elegida por backtest)",
        "LSTM", "GRU", "SimpleRNN"]
    assert compared["metricas"]["mejor"] == compared["mejor"]
    assert (tmp_path / "cmp" / "comparacion.png").is_file()


def test_bad_csv_is_one_line_with_the_line_number(tmp_path, capsys):
    bad = tmp_path / "malo.csv"
    bad.write_text("2017-01-02,236\n2017-01-03,doce\n")
    err = cli_error(["pronostico", "entrenar", "--csv", str(bad), "--epocas", "1"], capsys)
    assert err.startswith("error: ") and "línea 2" in err


def test_too_short_series_says_how_many_rows(tmp_path, capsys):
    short = write_sales_csv(make_sales_series(days=30, seed=0), tmp_path / "corta.csv")
    assert "hacen falta al menos 38" in cli_error(
        ["pronostico", "entrenar", "--csv", str(short), "--epocas", "1"], capsys)


def test_huge_sales_value_names_the_file_and_line(sales_csv, tmp_path, capsys):
    # Regresión: 1e308 entrenaba y el MAE salía inf.
    lines = sales_csv.read_text().splitlines()
    date = lines[5].split(",")[0]
    lines[5] = f"{date},1e308"
    bad = tmp_path / "enorme.csv"
    bad.write_text("\n".join(lines) + "\n")
    err = cli_error(["pronostico", "entrenar", "--csv", str(bad), "--epocas", "1",
                  "--salida", str(tmp_path / "run")], capsys)
    assert f"«{bad}», línea 6: el valor '1e308' está fuera del rango admitido" in err
    assert not (tmp_path / "run").exists()


def test_semicolon_csv_mentions_the_separator(tmp_path, capsys):
    bad = tmp_path / "excel.csv"
    bad.write_text("fecha;unidades\n2017-01-02;236\n2017-01-03;240\n")
    err = cli_error(["pronostico", "entrenar", "--csv", str(bad)], capsys)
    assert "separadas por «;»" in err and "comas («,»)" in err


@pytest.mark.parametrize("task, flag, value", [
    ("entrenar", "--retardos", "0"), ("entrenar", "--retardos", "100000"),
    ("entrenar", "--epocas", "0"), ("entrenar", "--dias-validacion", "-1"),
    ("entrenar", "--lote", "0"), ("entrenar", "--tasa", "-1"), ("entrenar", "--tasa", "nan"),
    ("entrenar", "--semilla", "-1"), ("entrenar", "--epocas", "x"),
    ("predecir", "--dias", "100000"), ("predecir", "--dias", "0"),
    ("comparar", "--semillas", "0"), ("comparar", "--pliegues", "0"),
    ("comparar", "--dias-validacion", "0"), ("comparar", "--lote", "0"),
])
def test_numeric_flags_are_checked_and_named(sales_csv, tmp_path, capsys, task, flag, value):
    # Regresión: --dias 100000 no tenía límite, y los errores nombraban «days»,
    # «validation»... en vez de la opción escrita.
    argv = ["pronostico", task, "--csv", str(sales_csv), flag, value]
    if task == "predecir":
        argv += ["--pesos", str(tmp_path / "modelo.h5")]
    err = cli_error(argv, capsys)
    assert flag in err and value in err
    for internal in ("days", "validation", "steps", "epochs", "batch_size", "learning_rate",
                     "seeds", "folds", "seed"):
        assert f"«{internal}»" not in err


def test_output_paths_are_checked_before_training(sales_csv, tmp_path, capsys):
    # Regresión: una ruta de --json imposible fallaba al final, tras todo el entrenamiento.
    folder = tmp_path / "carpeta"
    folder.mkdir()
    a_file = tmp_path / "archivo.txt"
    a_file.write_text("x")
    run = tmp_path / "run"
    base = ["pronostico", "entrenar", "--csv", str(sales_csv), "--epocas", "1"]
    err = cli_error(base + ["--salida", str(run), "--json", str(folder)], capsys)
    assert err.startswith("error: --json:") and "es una carpeta" in err
    assert not run.exists()  # no se entrenó nada
    err = cli_error(base + ["--salida", str(a_file)], capsys)
    assert err.startswith("error: --salida:") and "es un archivo" in err
    err = cli_error(["pronostico", "predecir", "--pesos", str(tmp_path / "m.h5"), "--csv",
                  str(sales_csv), "--salida", str(a_file / "sub")], capsys)
    assert err.startswith("error: --salida:")
    err = cli_error(["pronostico", "comparar", "--csv", str(sales_csv), "--salida", str(run),
                  "--json", str(a_file / "c.json")], capsys)
    assert err.startswith("error: --json:") and not run.exists()


def test_download_command_uses_the_registry_without_network(tmp_path, monkeypatch, capsys):
    content = b"2017-01-02,236\n"
    fake = descargas.RemoteDataset("ventas", "https://ejemplo.invalid/ts.csv",
                                   hashlib.sha256(content).hexdigest(), "ts.csv", "prueba")
    monkeypatch.setitem(descargas.DATASETS, "ventas", fake)
    monkeypatch.setattr(descargas, "fetch_url", lambda url, timeout=30.0: content)
    assert main(["datos", "descargar", "ventas", "--salida", str(tmp_path) + "/",
                 "--json", str(tmp_path / "d.json")]) == 0
    assert (tmp_path / "ts.csv").read_bytes() == content
    assert str(tmp_path / "ts.csv") in capsys.readouterr().out
    stored = json.loads((tmp_path / "d.json").read_text())
    assert stored["metricas"]["sha256"] == fake.sha256
    # Un destino imposible se dice antes de descargar nada.
    a_file = tmp_path / "archivo.txt"
    a_file.write_text("x")
    monkeypatch.setattr(descargas, "fetch_url", lambda url, timeout=30.0: pytest.fail("red"))
    err = cli_error(["datos", "descargar", "ventas", "--salida", str(a_file / "ts.csv")], capsys)
    assert err.startswith("error: --salida:")


# === Las opciones comunes de entrenar: --paciencia, --minutos y --precision actúan ===

def _epochs_logged(run) -> int:
    """Épocas escritas en ``registro.csv`` (sin la cabecera)."""
    return len((run / "registro.csv").read_text().strip().splitlines()) - 1


def test_patience_minutes_and_config_reach_the_sales_trainer(sales_csv, tmp_path):
    base = ["pronostico", "entrenar", "--csv", str(sales_csv), "--modelo", "st1"]
    # Con una tasa casi nula la pérdida de entrenamiento no mejora: --paciencia 1 para al
    # poco (sin ella serían las 300 épocas).
    patient = tmp_path / "paciencia"
    assert main([*base, "--epocas", "300", "--tasa", "1e-9", "--paciencia", "1",
                 "--salida", str(patient)]) == 0
    assert 2 <= _epochs_logged(patient) < 300
    saved = json.loads((patient / "configuracion.json").read_text())
    assert (saved["paciencia"], saved["minutos"], saved["tasa"]) == (1, None, 1e-9)
    # --minutos: un tope mínimo para tras el primer lote.
    quick = tmp_path / "minutos"
    assert main([*base, "--epocas", "500", "--minutos", "0.0001",
                 "--salida", str(quick)]) == 0
    assert _epochs_logged(quick) < 500
    assert json.loads((quick / "configuracion.json").read_text())["minutos"] == 0.0001
    # --config repite la ejecución con su tope de tiempo (si no, serían 500 épocas); --csv
    # es obligatoria en la línea.
    again = tmp_path / "otra"
    assert main(["pronostico", "entrenar", "--csv", str(sales_csv),
                 "--config", str(quick / "configuracion.json"), "--salida", str(again)]) == 0
    assert _epochs_logged(again) < 500
    repeated = json.loads((again / "configuracion.json").read_text())
    assert (repeated["minutos"], repeated["epocas"]) == (0.0001, 500)


@pytest.mark.parametrize("variant", ["ste", "lstm"])
def test_mixed_bfloat16_sales_model_trains_saves_and_forecasts(sales_csv, tmp_path, variant):
    import numpy as np

    import modelos
    from tareas.ventas import train_sales

    run = tmp_path / variant
    assert main(["pronostico", "entrenar", "--csv", str(sales_csv), "--modelo", variant,
                 "--epocas", "1", "--precision", "mixed_bfloat16", "--salida", str(run),
                 "--json", str(tmp_path / "e.json")]) == 0
    saved = json.loads((run / "configuracion.json").read_text())
    assert saved["precision"] == saved["precision_usada"] == "mixed_bfloat16"
    metrics = json.loads((tmp_path / "e.json").read_text())["metricas"]
    assert all(np.isfinite(metrics[key]) for key in ("loss", "val_mae_unidades"))
    stored = modelos.load_metadata(run / "modelo.h5")["metadata"]
    assert stored["entrenamiento"]["precision"] == "mixed_bfloat16"
    if variant == "ste":
        # El modelo en memoria calcula en bfloat16 con salida float32; el guardado se carga.
        result = train_sales(csv=sales_csv, variant=variant, epochs=1, validation=10,
                             precision="mixed_bfloat16", run_dir=tmp_path / "api")
        assert result.model.dtype_policy.name == "mixed_bfloat16"
        assert result.model.get_layer("oculta").compute_dtype == "bfloat16"
        assert result.model.get_layer("salida").compute_dtype == "float32"
        loaded = modelos.load(result.file("pesos"))
        assert loaded.count_params() == result.model.count_params()
    assert main(["pronostico", "predecir", "--pesos", str(run / "modelo.h5"),
                 "--csv", str(sales_csv), "--dias", "3",
                 "--json", str(tmp_path / "p.json")]) == 0
    forecast = json.loads((tmp_path / "p.json").read_text())["pronostico"]
    assert len(forecast) == 3
