"""Lector CSV de ventas, tabla supervisada, escalado sin fugas, datos sintéticos y descargas."""

from __future__ import annotations

import hashlib
import logging
import urllib.error

import numpy as np
import pandas as pd
import pytest

from datos import descargas
from nucleo.errores import ArgumentError, DataError, DownloadError, EmptyDataError
from datos.ventas import MAX_SALES_VALUE
from datos.ventas import MinMaxScaler
from datos.ventas import SalesSeries
from datos.ventas import check_sales_values
from datos.ventas import calendar_features
from datos.ventas import check_series_length
from datos.ventas import make_sales_series
from datos.ventas import prepare_sales
from datos.ventas import read_sales_csv
from datos.ventas import sales_inputs
from datos.ventas import series_to_supervised
from datos.ventas import write_sales_csv


def write(tmp_path, text, name="ventas.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# === Lector ===

def test_reads_the_blog_format_without_header(tmp_path):
    series = read_sales_csv(write(tmp_path, "2017-01-02,236\n2017-01-03,237\n\n2017-01-05,221\n"))
    assert series.dates.astype(str).tolist() == ["2017-01-02", "2017-01-03", "2017-01-05"]
    assert series.values.tolist() == [236.0, 237.0, 221.0]
    assert series.weekdays.tolist() == [0, 1, 3] and series.months.tolist() == [1, 1, 1]


def test_reads_a_header_and_named_columns(tmp_path):
    path = write(tmp_path, "tienda,dia,ventas\nA,2018-11-29,251\nA,2018-11-30,189.5\n")
    series = read_sales_csv(path, date_column="dia", value_column="ventas")
    assert series.values.tolist() == [251.0, 189.5]
    assert str(series.dates[-1]) == "2018-11-30"
    with pytest.raises(DataError, match=r"línea 1: no hay ninguna columna «unidades»"):
        read_sales_csv(path, date_column="dia", value_column="unidades")


@pytest.mark.parametrize("text, message", [
    ("2017-01-02,236\n2017-13-40,10\n", r"línea 2: la fecha '2017-13-40' no se entiende"),
    ("2017-01-02,236\n2017-01-03,muchas\n", r"línea 2: el valor 'muchas' no es un número"),
    ("2017-01-02,236\n2017-01-03,nan\n", r"línea 2: el valor 'nan' no es un número finito"),
    ("2017-01-02,236\n2017-01-03\n", r"línea 2: se esperaban al menos 2 columnas"),
    ("2017-01-02,236\n2017-01-03,5\n\n2017-01-02,7\n",
     r"2017-01-02 está repetida en las líneas 1 y 4"),
])
def test_bad_rows_name_the_line(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_sales_csv(write(tmp_path, text))


@pytest.mark.parametrize("value", ["1e308", "-1e308", "1e16", "inf", "-inf"])
def test_absurd_values_name_the_file_and_line(tmp_path, value):
    # Regresión: 1e308 se aceptaba, el entrenamiento desbordaba y el MAE salía inf.
    path = write(tmp_path, f"2017-01-02,236\n2017-01-03,240\n2017-01-04,{value}\n")
    with pytest.raises(DataError, match=rf"«{path}», línea 3: el valor '{value}' (no es un "
                       r"número finito|está fuera del rango admitido)"):
        read_sales_csv(path)
    limit = write(tmp_path, f"2017-01-02,{MAX_SALES_VALUE:.0f}\n", "limite.csv")
    assert read_sales_csv(limit).values.tolist() == [MAX_SALES_VALUE]


def test_series_built_in_python_are_checked_too():
    dates = np.array(["2017-01-02", "2017-01-03"], dtype="datetime64[D]")
    bad = SalesSeries(dates, np.array([1.0, np.inf]), "mi serie")
    with pytest.raises(DataError, match="«mi serie»: el valor inf del 2017-01-03 no es un número"):
        check_sales_values(bad)
    with pytest.raises(DataError, match="tantas fechas como valores"):
        check_sales_values(SalesSeries(dates, np.array([1.0]), "x"))
    series = make_sales_series(days=60, seed=0)
    huge = SalesSeries(series.dates, np.where(np.arange(len(series)) == 5, 1e308,
                                              series.values), "enorme")
    with pytest.raises(DataError, match=r"«enorme»: el valor 1e\+308 del .* fuera del rango"):
        prepare_sales(huge, 7, 10)


@pytest.mark.parametrize("text, line", [
    ("2017-01-02;236\n2017-01-03;240\n", 1),            # sin cabecera
    ("fecha;unidades\n2017-01-02;236\n", 1),            # con cabecera
    ("2017-01-02,236\n2017-01-03;240\n", 2),            # una línea con otro separador
    ("2017-01-02;236,5\n", 1),                          # «;» y coma decimal
    ("2017-01-02\t236\n2017-01-03\t240\n", 1),         # tabuladores
])
def test_other_separators_are_named(tmp_path, text, line):
    # Regresión: un CSV con «;» daba un error de columnas que no hablaba del separador.
    with pytest.raises(DataError, match=rf"línea {line}: .*parecen separadas por «(;|tabulador)»"
                       r": el CSV debe separarlas con comas \(«,»\)"):
        read_sales_csv(write(tmp_path, text))


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="No existe el archivo CSV"):
        read_sales_csv(tmp_path / "no.csv")
    with pytest.raises(DataError, match="es una carpeta; se esperaba el archivo CSV"):
        read_sales_csv(tmp_path)  # antes: «No existe»
    with pytest.raises(EmptyDataError, match="está vacío"):
        read_sales_csv(write(tmp_path, "\n\n"))
    with pytest.raises(EmptyDataError, match="solo tiene la cabecera"):
        read_sales_csv(write(tmp_path, "fecha,unidades\n"))


def test_unsorted_dates_are_sorted_with_a_warning(tmp_path, caplog):
    path = write(tmp_path, "2017-01-04,3\n2017-01-02,1\n2017-01-03,2\n")
    with caplog.at_level(logging.WARNING, logger="redes"):
        series = read_sales_csv(path)
    assert series.values.tolist() == [1.0, 2.0, 3.0]
    assert "no estaban en orden; se han ordenado" in caplog.text


def test_too_few_rows_says_how_many_are_needed():
    with pytest.raises(DataError, match=r"tiene 37 filas y hacen falta al menos 38: 7 retardos "
                       r"\+ 30 días de validación \+ 1"):
        check_series_length(37, 7, 30, source="v.csv")
    check_series_length(38, 7, 30)
    series = make_sales_series(days=40, closed_weekday=None, missing=0.0)
    with pytest.raises(DataError, match="hacen falta al menos 38"):
        prepare_sales(series.__class__(series.dates[:37], series.values[:37], "corta"))


# === Tabla supervisada y calendario ===

def test_series_to_supervised_matches_the_blog_columns():
    table = series_to_supervised([10, 11, 12, 13, 14], n_in=3, n_out=2)
    expected = pd.DataFrame(
        {"var1(t-3)": [10.0], "var1(t-2)": [11.0], "var1(t-1)": [12.0],
         "var1(t)": [13.0], "var1(t+1)": [14.0]}, index=[3])
    pd.testing.assert_frame_equal(table, expected)
    seven = series_to_supervised(np.arange(10), n_in=7)
    assert list(seven.columns) == [f"var1(t-{k})" for k in range(7, 0, -1)] + ["var1(t)"]
    assert seven.index.tolist() == [7, 8, 9]
    assert seven.loc[9].tolist() == [2, 3, 4, 5, 6, 7, 8, 9]


def test_series_to_supervised_with_two_variables_and_errors():
    table = series_to_supervised(np.array([[1, 10], [2, 20], [3, 30]]), n_in=1)
    assert list(table.columns) == ["var1(t-1)", "var2(t-1)", "var1(t)", "var2(t)"]
    assert table.values.tolist() == [[1, 10, 2, 20], [2, 20, 3, 30]]
    with pytest.raises(ArgumentError, match="«n_in» debe ser un entero ≥ 0"):
        series_to_supervised([1, 2], n_in=-1)


def test_calendar_features_are_those_of_the_given_day():
    weekday, month = calendar_features(
        np.array(["2018-12-01", "2018-12-02", "2018-12-03", "2017-01-31"], "datetime64[D]"))
    assert weekday.tolist() == [5, 6, 0, 1]  # sábado, domingo, lunes, martes
    assert month.tolist() == [12, 12, 12, 1]


def test_calendar_of_each_row_is_the_target_day():
    series = make_sales_series(days=80, seed=3)
    data = prepare_sales(series, steps=7, validation=10)
    target_dates = series.dates[data.train.index]
    assert data.train.dates.tolist() == target_dates.tolist()
    assert data.train.weekday.tolist() == calendar_features(target_dates)[0].tolist()
    assert data.train.month.tolist() == calendar_features(target_dates)[1].tolist()


# === Sin fugas ===

def test_no_validation_value_reaches_training_or_the_scaler():
    series = make_sales_series(days=120, seed=1)
    n, validation, steps = len(series), 30, 7
    data = prepare_sales(series, steps, validation)
    cut = n - validation
    assert data.cut == cut
    assert data.validation.index.tolist() == list(range(cut, n))
    assert data.train.index.tolist() == list(range(steps, cut))
    assert data.train.index.max() < cut  # el objetivo y sus retardos son anteriores al corte
    # El escalador solo vio los días anteriores al corte.
    assert data.scaler.data_min == series.values[:cut].min()
    assert data.scaler.data_max == series.values[:cut].max()
    # Cambiar la validación no cambia ni el escalador ni una sola fila de entrenamiento.
    poisoned = series.values.copy()
    poisoned[cut:] = 1e6
    other = prepare_sales(series.__class__(series.dates, poisoned, "envenenada"), steps, validation)
    assert other.scaler.to_json() == data.scaler.to_json()
    np.testing.assert_array_equal(other.train.lags, data.train.lags)
    np.testing.assert_array_equal(other.train.target, data.train.target)
    # La validación usa como retardos los días reales anteriores (a un paso).
    first = data.validation
    np.testing.assert_allclose(data.scaler.inverse_transform(first.lags[0]),
                               series.values[cut - steps:cut])
    np.testing.assert_allclose(data.scaler.inverse_transform(first.target),
                               series.values[cut:])


# === Escalado ===

def test_scaler_range_and_json_round_trip():
    scaler = MinMaxScaler().fit([50.0, 100.0, 150.0])
    np.testing.assert_allclose(scaler.transform([50, 100, 150]), [-1, 0, 1])
    restored = MinMaxScaler.from_json(scaler.to_json())
    np.testing.assert_allclose(restored.inverse_transform([-1, 0.5]), [50, 125])
    import json

    assert MinMaxScaler.from_json(json.dumps(scaler.to_json())).to_json() == scaler.to_json()
    with pytest.raises(DataError, match="todos los valores de entrenamiento valen 3"):
        MinMaxScaler().fit([3.0, 3.0])


def test_scaler_errors_are_spanish():
    with pytest.raises(ArgumentError, match="llama antes a fit"):
        MinMaxScaler().transform([1.0])
    with pytest.raises(ArgumentError, match="mín < máx"):
        MinMaxScaler((1, -1))
    with pytest.raises(DataError, match="se esperaba"):
        MinMaxScaler.from_json({"rango": [-1, 1]})
    with pytest.raises(DataError, match="valores finitos"):
        MinMaxScaler().fit([])


def test_scaler_from_json_refuses_non_finite_or_reversed_bounds():
    good = MinMaxScaler().fit([0.0, 10.0]).to_json()
    for minimo, maximo in ((float("nan"), 1.0), (0.0, float("inf")), (5.0, 1.0), (0.0, 1e300)):
        with pytest.raises(DataError, match="deben ser números finitos con minimo ≤ maximo"):
            MinMaxScaler.from_json({**good, "minimo": minimo, "maximo": maximo})


def test_a_degenerate_scaler_is_refused_at_load(tmp_path):
    """min = max = 5: todo pronóstico volvería a ~5 unidades (issue de entradas hostiles)."""
    import modelos
    from nucleo.errores import ModelFileError
    from tareas.ventas.pronostico import load_sales_model

    with pytest.raises(DataError, match="degenerado"):
        MinMaxScaler.from_json({"tipo": "minmax", "rango": [-1, 1], "minimo": 5, "maximo": 5})
    path = modelos.save(modelos.build_sales_mlp("ste"), tmp_path / "v.h5", metadata={
        "tarea": "pronostico", "escalador": {"tipo": "minmax", "rango": [-1, 1],
                                             "minimo": 5.0, "maximo": 5.0}})
    with pytest.raises(ModelFileError, match=r"v\.h5.*degenerado"):
        load_sales_model(path)


def test_sales_inputs_layout_of_each_variant():
    lags = np.arange(6, dtype=np.float64).reshape(2, 3)
    st1 = sales_inputs("st1", lags, [0, 1], [1, 2])
    assert st1.shape == (2, 1, 3) and st1.dtype == np.float32
    ste = sales_inputs("ste", lags, [0, 6], [1, 12])
    assert ste.tolist() == [[0, 1, 2, 0, 1], [3, 4, 5, 6, 12]] and ste.dtype == np.float32


# === Sintéticos ===

def test_synthetic_sales_are_seeded_with_pattern_and_gaps(tmp_path):
    a, b = make_sales_series(seed=5), make_sales_series(seed=5)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, make_sales_series(seed=6).values)
    assert len(a) < 700  # faltan días
    counts = np.bincount(a.weekdays, minlength=7)
    assert counts[6] < counts[0] / 2  # casi ningún domingo
    by_day = [a.values[a.weekdays == d].mean() for d in range(6)]
    assert by_day[4] > by_day[5] * 1.5  # patrón semanal: viernes ≫ sábado
    july = a.values[a.months == 7].mean()
    assert july > a.values[a.months == 2].mean() * 1.1  # pico de verano
    path = write_sales_csv(a, tmp_path / "s.csv")
    again = read_sales_csv(path)
    np.testing.assert_array_equal(again.values, a.values)
    np.testing.assert_array_equal(again.dates, a.dates)
    assert read_sales_csv(write_sales_csv(a, tmp_path / "h.csv", header=True)).values.sum() \
        == a.values.sum()


# === Descargas (sin red) ===

def test_verify_sha256_on_a_local_file(tmp_path):
    path = write(tmp_path, "2017-01-02,236\n", "x.csv")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert descargas.verify_sha256(path, digest.upper()) == digest
    with pytest.raises(DataError, match="la suma sha256 es .* y se esperaba 00"):
        descargas.verify_sha256(path, "00" * 32)
    with pytest.raises(DataError, match="No existe"):
        descargas.verify_sha256(tmp_path / "no.csv", digest)


def test_registry_has_the_blog_file():
    entry = descargas.DATASETS["ventas"]
    assert entry.url.startswith("https://raw.githubusercontent.com/jbagnato/machine-learning/")
    assert entry.sha256 == "cf6fc87395ca68533587d05e5f4a2a975bdb36c7dd1dd73cb248fca11ac8f7a0"


def _fake_dataset(monkeypatch, content: bytes):
    fake = descargas.RemoteDataset("ventas", "https://ejemplo.invalid/ts.csv",
                                   hashlib.sha256(content).hexdigest(), "ts.csv", "prueba")
    monkeypatch.setitem(descargas.DATASETS, "ventas", fake)
    calls = []

    def fetch(url, timeout=30.0):
        calls.append(url)
        return content

    monkeypatch.setattr(descargas, "fetch_url", fetch)
    return calls


def test_destination_path_is_what_download_writes(tmp_path):
    assert descargas.destination_path("ventas") == \
        descargas.DEFAULT_DIR / "ventas" / "time_series.csv"
    assert descargas.destination_path("ventas", tmp_path) == tmp_path / "time_series.csv"
    assert descargas.destination_path("ventas", f"{tmp_path}/nueva/") == \
        tmp_path / "nueva" / "time_series.csv"
    assert descargas.destination_path("ventas", tmp_path / "v.csv") == tmp_path / "v.csv"
    with pytest.raises(ArgumentError, match="conocidos: ventas"):
        descargas.destination_path("clima")


def test_download_verifies_and_writes_then_skips(tmp_path, monkeypatch):
    content = b"2017-01-02,236\n2017-01-03,237\n"
    calls = _fake_dataset(monkeypatch, content)
    path = descargas.download_dataset("ventas", f"{tmp_path}/bajadas/")
    assert path == tmp_path / "bajadas" / "ts.csv" and path.read_bytes() == content
    assert descargas.download_dataset("ventas", path) == path
    assert len(calls) == 1  # ya estaba y con la suma correcta: no se descarga otra vez


def test_download_with_a_wrong_checksum_leaves_nothing(tmp_path, monkeypatch):
    _fake_dataset(monkeypatch, b"lo esperado")
    monkeypatch.setattr(descargas, "fetch_url", lambda url, timeout=30.0: b"otra cosa")
    with pytest.raises(DataError, match="no se ha guardado nada"):
        descargas.download_dataset("ventas", tmp_path / "ts.csv")
    assert list(tmp_path.iterdir()) == []


def test_download_offline_explains_what_to_do(tmp_path, monkeypatch):
    def offline(url, timeout=30.0):
        raise urllib.error.URLError("sin conexión")

    monkeypatch.setattr(descargas, "fetch_url", offline)
    with pytest.raises(DownloadError, match=r"Sin conexión: descarga ese archivo .* cópialo como "
                       r"«.*time_series.csv»; su sha256 debe ser cf6fc873"):
        descargas.download_dataset("ventas", tmp_path)
    with pytest.raises(ArgumentError, match="conocidos: ventas"):
        descargas.download_dataset("mnist", tmp_path)
