"""Muchas series en ``redes servir`` y en ``redes pronostico evaluar``, con el modelo global
diminuto de :func:`tests.servicio_modelos.save_global_model` (sin entrenar: se prueba la
fontanería, no la calidad).

- ``POST /ventas/pronostico`` con muchas series, en JSON o en un CSV largo, da lo mismo
  que :func:`~tareas.ventas.global_prediccion.forecast_global` con la misma historia;
- cada entrada mala da su 4xx y nombra el campo;
- las peticiones de un lote reciben cada una sus series;
- ``evaluar`` de un modelo de muchas series: sus cifras, por la orden y por la API.
"""

from __future__ import annotations

import asyncio
import json
import math

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from cli.principal import main
from datos.ventas_multiples import write_long_sales
from servicio.app import Settings, create_app
from tests.servicio_modelos import GLOBAL_HORIZON, GLOBAL_STEPS, save_global_model

#: El último día de historia de las peticiones (las 6 series tienen 120 días).
CUT = "2022-04-20"
ROUTE = "/ventas/pronostico"
NUMBERS = ["unidades", "inferior_80", "superior_80", "inferior_95", "superior_95"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """El modelo global, sus datos y los CSV de historia, futuro y la serie entera."""
    root = tmp_path_factory.mktemp("servicio_global")
    weights, frame, schema = save_global_model(root)
    cut = frame["fecha"] < CUT
    history, future = frame[cut], frame[~cut].drop(columns="unidades")
    return {"root": root, "weights": weights, "frame": frame, "schema": schema,
            "history": history, "future": future,
            "history_csv": write_long_sales(history, schema, root / "historia.csv"),
            "future_csv": write_long_sales(future, schema, root / "futuro.csv"),
            "full_csv": write_long_sales(frame, schema, root / "entera.csv")}


@pytest.fixture(scope="module")
def served(data, service_models):
    """El modelo global («global») y el del blog («ventas»), servidos juntos."""
    from servicio.modelos_servidos import load_served_model

    return [load_served_model(data["weights"], name="global"), service_models[1]["ventas"]]


@pytest.fixture(scope="module")
def client(served):
    with TestClient(create_app(served)) as test_client:
        yield test_client


def _records(data, days=GLOBAL_HORIZON, keys=None):
    """Las series de la historia como ``series`` de una petición JSON."""
    history, future = data["history"], data["future"]
    out = []
    for key in keys or list(pd.unique(history["serie"])):
        rows, ahead = history[history["serie"] == key], future[future["serie"] == key]
        out.append({"serie": key, "fechas": [str(d)[:10] for d in rows["fecha"]],
                    "unidades": rows["unidades"].tolist(),
                    "covariables": {name: rows[name].tolist() for name in ("precio",
                                                                            "festivo")},
                    "futuras": {name: ahead[name].head(days).tolist()
                                for name in ("precio", "festivo")}})
    return out


def _csv_files(data, history=None, future=None):
    files = {"archivo": ("historia.csv", history if history is not None
                         else data["history_csv"].read_bytes(), "text/csv")}
    future = data["future_csv"].read_bytes() if future is None else future
    if future is not False:
        files["futuro"] = ("futuro.csv", future, "text/csv")
    return files


def _table(answer) -> pd.DataFrame:
    return pd.DataFrame([{"serie": item["serie"], **day} for item in answer["series"]
                         for day in item["pronostico"]])


# === Lo mismo que la API de Python ===

def test_many_series_by_json_and_csv_equal_forecast_global(client, data, tmp_path):
    from tareas.ventas.global_prediccion import forecast_global

    days = 5
    expected = pd.DataFrame(forecast_global(
        data["weights"], data["history_csv"], future=data["future_csv"], days=days,
        out_dir=tmp_path).data["pronostico"]).rename(columns={"media": "unidades"})
    by_csv = client.post(ROUTE, params={"modelo": "global"}, data={"dias": str(days)},
                         files=_csv_files(data))
    keys = list(reversed(pd.unique(data["history"]["serie"])))  # otro orden
    by_json = client.post(ROUTE, params={"modelo": "global"},
                          json={"series": _records(data, days, keys), "dias": days})
    for response in (by_csv, by_json):
        assert response.status_code == 200, response.text
        answer = response.json()
        assert (answer["modelo"], answer["horizonte"], answer["niveles"]) == (
            "global", GLOBAL_HORIZON, [80, 95])
        got = _table(answer).sort_values(["serie", "fecha"]).reset_index(drop=True)
        want = expected.sort_values(["serie", "fecha"]).reset_index(drop=True)
        assert list(got[["serie", "fecha"]].itertuples(index=False)) == list(
            want[["serie", "fecha"]].itertuples(index=False))
        np.testing.assert_allclose(got[NUMBERS].to_numpy(), want[NUMBERS].to_numpy(),
                                   rtol=1e-5, atol=1e-3)
        assert all(len(item["historia"]) == 109 for item in answer["series"])
    assert [item["serie"] for item in by_json.json()["series"]] == keys  # el de la petición
    assert by_csv.json()["series"][0]["pronostico"][0]["fecha"] == CUT


def test_the_days_default_to_the_horizon_and_the_blog_model_is_unchanged(client, data):
    answer = client.post(ROUTE, params={"modelo": "global"},
                         json={"series": _records(data)[:2]}).json()
    assert [len(item["pronostico"]) for item in answer["series"]] == [GLOBAL_HORIZON] * 2
    blog = client.post(ROUTE, params={"modelo": "ventas"}, json={
        "fechas": [f"2018-01-{d:02d}" for d in range(1, 11)], "unidades": list(range(10)),
        "dias": 3}).json()
    assert set(blog) == {"modelo", "historia", "pronostico"}
    assert set(blog["pronostico"][0]) == {"fecha", "unidades"}
    schema = client.get("/openapi.json").json()["paths"][ROUTE]["post"]["requestBody"]
    branches = schema["content"]["application/json"]["schema"]["anyOf"]
    assert [sorted(b["properties"]) for b in branches] == [
        ["dias", "fechas", "unidades"], ["dias", "series"]]


# === Entradas malas: 4xx que nombra el campo ===

def _edit(data, change, index=0):
    records = _records(data, 3)
    change(records[index])
    return {"json": {"series": records, "dias": 3}}


def _short(record):
    for name in ("fechas", "unidades"):
        record[name] = record[name][-5:]
    record["covariables"] = {k: v[-5:] for k, v in record["covariables"].items()}


def _csv_edit(data, change):
    lines = data["history_csv"].read_text().splitlines()
    return "\n".join(change(lines)).encode() + b"\n"


BAD = [
    ("serie desconocida", lambda d: _edit(d, lambda r: r.update(serie="T09 / P009")),
     "series[0].serie", "no estaba en el entrenamiento"),
    ("serie repetida", lambda d: {"json": {"series": _records(d, 3)[:1] * 2, "dias": 3}},
     "series[1].serie", "ya está en series[0]"),
    ("futura que falta", lambda d: _edit(d, lambda r: r["futuras"].pop("festivo")),
     "series[0].futuras.festivo", "falta la covariable «festivo»"),
    ("futuras cortas", lambda d: _edit(d, lambda r: r["futuras"].update(precio=[1.0])),
     "series[0].futuras.precio", "tiene 1 valores y hacen falta 3"),
    ("covariable que sobra", lambda d: _edit(d, lambda r: r["covariables"].update(lluvia=[])),
     "series[0].covariables.lluvia", "no usa"),
    ("horizonte de más", lambda d: {"json": {"series": _records(d), "dias": 8}},
     "dias", "de 1 a 7"),
    ("historia corta", lambda d: _edit(d, _short), "series[0].fechas",
     f"necesita los {GLOBAL_STEPS} últimos"),
    ("fecha que falta", lambda d: _edit(d, lambda r: [r[k].pop(5) for k in (
        "fechas", "unidades")] + [v.pop(5) for v in r["covariables"].values()]),
     "series[0].fechas", "falta el día 2022-01-06"),
    ("no finito", lambda d: {"content": json.dumps({"series": _records(d, 3)[:1]}).replace(
        "56.0", "NaN", 1).encode(), "headers": {"content-type": "application/json"}},
     "series.0.unidades.0", "finito"),
    ("una serie al modelo global", lambda d: {"json": {"fechas": ["2022-01-01"],
                                                       "unidades": [1]}},
     "series", "es un modelo de muchas series"),
    ("csv: serie desconocida", lambda d: {"files": _csv_files(d, _csv_edit(
        d, lambda t: t + ["T09,P009," + t[-1].split(",", 2)[2]]))},
     "archivo", "«T09 / P009» no estaba en el entrenamiento"),
    ("csv: sin futuro", lambda d: {"files": _csv_files(d, future=False)}, "futuro",
     "precio, festivo"),
    ("csv: futuro incompleto", lambda d: {"files": _csv_files(
        d, future=b"tienda,producto,fecha,precio,festivo\nT01,P001,2022-04-20,2.0,0\n"),
        "data": {"dias": "2"}}, "futuro", "falta la fila de la serie «T01 / P001» del "
     "2022-04-21"),
    ("csv: horizonte de más", lambda d: {"files": _csv_files(d), "data": {"dias": "30"}},
     "dias", "de 1 a 7"),
    ("csv: historia corta", lambda d: {"files": _csv_files(d, _csv_edit(
        d, lambda t: t[:1] + [line for line in t[1:] if line.split(",")[2] >= "2022-04-10"]))},
     "archivo", f"tiene 10 días y el modelo necesita los {GLOBAL_STEPS}"),
    ("csv: no finito", lambda d: {"files": _csv_files(d, _csv_edit(
        d, lambda t: t[:3] + [",".join(t[3].split(",")[:3] + ["inf"] + t[3].split(",")[4:])]
        + t[4:]))}, "archivo", "línea 4, columna «unidades»"),
]


@pytest.mark.parametrize(("name", "request_of", "field", "fragment"), BAD,
                         ids=[case[0] for case in BAD])
def test_each_bad_many_series_input_is_a_4xx_that_names_the_field(client, data, name,
                                                                 request_of, field, fragment):
    response = client.post(ROUTE, params={"modelo": "global"}, **request_of(data))
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["campo"] == field and fragment in answer["detail"], answer
    assert "redes-servir-" not in answer["detail"]  # nunca la ruta temporal


def test_many_series_to_the_blog_model_is_a_4xx(client, data):
    answer = client.post(ROUTE, params={"modelo": "ventas"},
                         json={"series": _records(data, 3)[:1], "dias": 3})
    assert answer.status_code == 422 and answer.json()["campo"] == "series"
    assert "una sola serie" in answer.json()["detail"]
    upload = client.post(ROUTE, params={"modelo": "ventas"}, files=_csv_files(data))
    assert upload.status_code == 422 and upload.json()["campo"] == "futuro"


# === Lotes ===

def test_concurrent_requests_share_a_batch_and_get_their_own_series(served, data):
    import httpx

    model = served[0]
    app = create_app([model], Settings(max_batch=8, wait_ms=300))
    keys = list(pd.unique(data["history"]["serie"]))
    bodies = [{"series": _records(data, 4, keys[i:i + 2 + i % 2]), "dias": 4}
              for i in range(4)]

    async def send_all():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://prueba") as c:
            return await asyncio.gather(*[c.post(ROUTE, json=body) for body in bodies])

    answers = [r.json() for r in asyncio.run(send_all())]
    batcher = app.fastapi_app.state.batchers[model.name]
    assert batcher.items == 4 and batcher.batches < 4
    alone = [model.predictor.predict(body["series"], 4) for body in bodies]
    for got, expected, body in zip(answers, alone, bodies, strict=True):
        assert [item["serie"] for item in got["series"]] == [r["serie"] for r in body["series"]]
        for mine, alone_item in zip(got["series"], expected["series"], strict=True):
            assert mine["historia"] == alone_item["historia"]
            np.testing.assert_allclose(_table({"series": [mine]})[NUMBERS].to_numpy(),
                                       _table({"series": [alone_item]})[NUMBERS].to_numpy(),
                                       rtol=1e-4, atol=1e-3)


# === redes pronostico evaluar con muchas series ===

def test_evaluate_many_series_from_the_cli(data, tmp_path, capsys):
    out = tmp_path / "evaluacion"
    assert main(["pronostico", "evaluar", "--pesos", str(data["weights"]), "--csv",
                 str(data["full_csv"]), "--salida", str(out), "--json",
                 str(tmp_path / "e.json")]) == 0
    assert "Intervalos en los días evaluados" in capsys.readouterr().out
    result = json.loads((tmp_path / "e.json").read_text())
    metrics = result["metricas"]
    # Por defecto, la validación guardada con el modelo (el horizonte, 7 días).
    assert (metrics["dias"], metrics["series"], metrics["origenes_por_serie"]) == (7, 6, 1)
    assert (metrics["desde"], metrics["hasta"]) == ("2022-04-24", "2022-04-30")
    for level in (80, 95):
        assert 0.0 <= metrics[f"cobertura_{level}"] <= 100.0   # en %, como «entrenar»
        assert metrics[f"anchura_{level}"] > 0
    assert metrics["anchura_80"] <= metrics["anchura_95"]
    for name in ("val_mase", "val_mase_ingenuo", "val_mae_unidades", "val_smape"):
        assert math.isfinite(metrics[name]), name
    assert 0.0 <= metrics["val_smape"] <= 200.0
    assert len(result["series"]) == 6
    assert all(0.0 <= row["cobertura_95"] <= 100.0 for row in result["series"])
    csv_lines = (out / "evaluacion.csv").read_text().splitlines()
    assert len(csv_lines) == 7 and csv_lines[0].startswith("serie,val_mae_unidades")
    assert (out / "evaluacion.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_is_the_forecast_of_the_held_out_days(data, tmp_path, monkeypatch):
    """Con los días apartados igual al horizonte, un solo origen: las cifras son las del
    pronóstico del modelo con la historia hasta ese origen."""
    from datos.ventas_multiples import read_future
    from tareas.ventas import global_evaluacion
    from tareas.ventas.global_evaluacion import evaluate_global, smape
    from tareas.ventas.global_red import load_global

    # El gráfico ya lo prueba la orden; aquí solo cuentan las cifras (y así va rápido).
    monkeypatch.setattr(global_evaluacion, "plot_grid", lambda path, *a, **k: path)
    frame, schema = data["frame"], data["schema"]
    cut = frame["fecha"] < "2022-04-24"
    forecast = load_global(data["weights"]).forecast(
        frame[cut], read_future(frame[~cut].drop(columns="unidades"), schema))
    real = frame[~cut][["serie", "fecha", "unidades"]]
    joined = forecast.merge(real, on=["serie", "fecha"])
    result = evaluate_global(data["weights"], frame, out_dir=tmp_path)
    metrics = result.metrics
    assert len(joined) == 6 * GLOBAL_HORIZON
    assert metrics["val_mae_unidades"] == pytest.approx(
        np.abs(joined["media"] - joined["unidades"]).mean(), abs=1e-3)
    assert metrics["val_smape"] == pytest.approx(
        smape(joined["unidades"].to_numpy(), joined["media"].to_numpy()).mean(), abs=1e-3)
    inside = (joined["unidades"] >= joined["inferior_80"]) & (
        joined["unidades"] <= joined["superior_80"])
    assert metrics["cobertura_80"] == pytest.approx(100 * inside.mean(), abs=0.01)
    # Más días que el horizonte: cada origen cuyo horizonte cabe; menos: uno, recortado.
    longer = evaluate_global(data["weights"], frame, 10, out_dir=tmp_path).metrics
    shorter = evaluate_global(data["weights"], frame, 3, out_dir=tmp_path).metrics
    assert (longer["origenes_por_serie"], longer["desde"]) == (4, "2022-04-21")
    assert (shorter["origenes_por_serie"], shorter["desde"]) == (1, "2022-04-28")


def test_evaluate_errors_are_one_line(data, capsys, service_models):
    from tests.helpers import cli_error

    base = ["pronostico", "evaluar", "--pesos", str(data["weights"]), "--csv",
            str(data["full_csv"])]
    assert "hacen falta al menos 129" in cli_error([*base, "--dias-validacion", "115"],
                                                   capsys)
    blog = ["pronostico", "evaluar", "--pesos", str(service_models[0]["ventas"]), "--csv",
            str(data["full_csv"]), "--huecos", "rellenar"]
    assert "--huecos es de los modelos de muchas series" in cli_error(blog, capsys)


def test_the_many_series_route_never_answers_5xx_and_matches_its_schema(served):
    """schemathesis sobre ``POST /ventas/pronostico`` con el modelo global (la prueba del
    esquema de todas las rutas sirve el modelo del blog)."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation.modes import GenerationMode
    from schemathesis.specs.openapi.checks import negative_data_rejection
    from schemathesis.specs.openapi.checks import response_schema_conformance
    from schemathesis.specs.openapi.checks import status_code_conformance

    app = create_app(served[:1], Settings(max_body_bytes=2**20))
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)[ROUTE]["POST"]
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance,
              negative_data_rejection]
    for mode in ("positive", "negative"):
        @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(checks=checks)

        run()
