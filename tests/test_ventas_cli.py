"""``redes ventas entrenar → pronosticar → comparar`` y ``redes datos descargar`` de principio a fin."""

from __future__ import annotations

import hashlib
import json
import urllib.request

import pytest

from datos import descargas
from datos.ventas import make_sales_series
from datos.ventas import write_sales_csv
from entrenamiento.cli import main


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("las pruebas no deben usar la red")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture(scope="module")
def sales_csv(tmp_path_factory):
    root = tmp_path_factory.mktemp("ventas_cli")
    return write_sales_csv(make_sales_series(days=200, seed=4), root / "ventas.csv", header=True)


def test_train_forecast_compare_end_to_end(sales_csv, tmp_path, capsys):
    run = tmp_path / "st1"
    assert main(["ventas", "entrenar", "--csv", str(sales_csv), "--modelo", "stmv",
                 "--epocas", "2", "--columna-fecha", "fecha", "--columna-valor", "unidades",
                 "--salida", str(run), "--json", str(tmp_path / "e.json")]) == 0
    out = capsys.readouterr().out
    assert "Ventas «STMV»: métricas" in out and "MAE en unidades (validación)" in out
    assert "Pérdida (validación)" in out and "Últimos días de validación" in out
    trained = json.loads((tmp_path / "e.json").read_text())
    assert trained["metricas"]["epocas"] <= 2 and trained["ajustes"]["validacion"] == 30
    assert (run / "modelo.h5").is_file() and (run / "validacion.png").is_file()

    assert main(["ventas", "pronosticar", "--pesos", str(run / "modelo.h5"),
                 "--csv", str(sales_csv), "--dias", "5", "--json", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "Pronóstico recursivo de 5 días (STMV)" in out
    forecast = json.loads((tmp_path / "p.json").read_text())
    assert len(forecast["pronostico"]) == 5
    assert (run / "pronostico.csv").read_text().count("\n") == 6

    assert main(["ventas", "comparar", "--csv", str(sales_csv), "--semillas", "1",
                 "--epocas", "1", "--sin-referencias", "--salida", str(tmp_path / "cmp"),
                 "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "Protocolo: pronóstico a un paso" in out
    compared = json.loads((tmp_path / "c.json").read_text())
    assert [row["modelo"] for row in compared["filas"]] == [
        "ST1", "STMV", "STE", "STE (blog)", "STE + dropout 0,3 (elegida por backtest)"]
    assert (tmp_path / "cmp" / "comparacion.png").is_file()


def test_bad_csv_is_one_line_with_the_line_number(tmp_path, capsys):
    bad = tmp_path / "malo.csv"
    bad.write_text("2017-01-02,236\n2017-01-03,doce\n")
    assert main(["ventas", "entrenar", "--csv", str(bad), "--epocas", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "línea 2" in err and len(err.splitlines()) == 1


def test_too_short_series_says_how_many_rows(tmp_path, capsys):
    short = write_sales_csv(make_sales_series(days=30, seed=0), tmp_path / "corta.csv")
    assert main(["ventas", "entrenar", "--csv", str(short), "--epocas", "1"]) == 2
    assert "hacen falta al menos 38" in capsys.readouterr().err


def test_download_command_uses_the_registry_without_network(tmp_path, monkeypatch, capsys):
    content = b"2017-01-02,236\n"
    fake = descargas.RemoteDataset("ventas", "https://ejemplo.invalid/ts.csv",
                                   hashlib.sha256(content).hexdigest(), "ts.csv", "prueba")
    monkeypatch.setitem(descargas.DATASETS, "ventas", fake)
    monkeypatch.setattr(descargas, "fetch_url", lambda url, timeout=30.0: content)
    assert main(["datos", "descargar", "ventas", "--destino", str(tmp_path) + "/"]) == 0
    assert (tmp_path / "ts.csv").read_bytes() == content
    assert str(tmp_path / "ts.csv") in capsys.readouterr().out
