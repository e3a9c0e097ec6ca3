"""``redes servir``: las rutas dan lo mismo que la API de Python, toda entrada mala da un
4xx claro en castellano, los límites se cumplen y las peticiones se agrupan en lotes."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from nucleo.errores import ArgumentError
from servicio.app import Settings, create_app
from tests.servicio_modelos import png_bytes


@pytest.fixture(scope="module")
def paths(service_models):
    return service_models[0]


@pytest.fixture(scope="module")
def models(service_models):
    return service_models[1]


@pytest.fixture(scope="module")
def client(models):
    with TestClient(create_app(list(models.values()))) as test_client:
        yield test_client


def _image(client, route="/detectar", data=None, name="foto.png", kind="image/png", **params):
    return client.post(route, params=params,
                       files={"imagen": (name, png_bytes() if data is None else data, kind)})


def _bomb_png(width: int, height: int) -> bytes:
    """Un PNG cuya cabecera dice ``width``×``height`` con apenas unos bytes de datos."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


# === Lo mismo que la API de Python ===

def test_health_and_models(client):
    assert client.get("/salud").json() == {"estado": "ok", "modelos": 4}
    listed = {m["tarea"]: m for m in client.get("/modelos").json()["modelos"]}
    assert set(listed) == {"deteccion", "clasificacion", "pronostico", "traduccion"}
    assert listed["deteccion"]["etiquetas"] == ["circulo", "cuadrado"]
    assert listed["deteccion"]["entrada"] == [64, 64, 3]
    assert listed["clasificacion"]["constructor"] == "cifar"
    assert all(m["motor"] == "keras" for m in listed.values())


def test_detect_gives_the_boxes_of_detect_batch_in_original_pixels(client, paths):
    import modelos
    from modelos.yolo.decodificacion import detect_batch

    image = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(
        io.BytesIO(png_bytes())).convert("RGB"))
    (expected,) = detect_batch(modelos.load(paths["deteccion"]), [image], obj_threshold=0.3)
    answer = _image(client).json()
    assert (answer["ancho"], answer["alto"]) == (80, 48)
    assert len(answer["cajas"]) == len(expected) >= 1
    got = np.array([[b["x1"], b["y1"], b["x2"], b["y2"]] for b in answer["cajas"]])
    np.testing.assert_allclose(got, expected[:, :4], atol=0.06)
    assert [b["puntuacion"] for b in answer["cajas"]] == pytest.approx(expected[:, 4], abs=1e-4)
    assert {b["etiqueta"] for b in answer["cajas"]} <= {"circulo", "cuadrado"}
    # El conteo por clase es el de las cajas de la respuesta, por la clase de detect_batch.
    labels = ["circulo", "cuadrado"]
    assert answer["conteo"] == {labels[c]: n for c, n in
                                zip(*np.unique(expected[:, 5].astype(int), return_counts=True))}
    assert sum(answer["conteo"].values()) == len(answer["cajas"])
    # Un umbral más alto que todas las puntuaciones: ninguna caja.
    assert _image(client, umbral=0.999).json()["cajas"] == []
    assert _image(client, umbral=0.999).json()["conteo"] == {}


def test_detect_png_draws_the_boxes(client):
    from PIL import Image

    response = _image(client, formato="png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    drawn = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    original = np.asarray(Image.open(io.BytesIO(png_bytes())).convert("RGB"))
    assert drawn.shape == original.shape
    green = (drawn[..., 1] == 255) & (drawn[..., 0] == 0) & (drawn[..., 2] == 0)
    assert green.sum() > 50 and not np.array_equal(drawn, original)


def test_classify_matches_the_model(client, models):
    answer = _image(client, "/clasificar", k=2).json()
    assert answer["modelo"] == "clasificador" and len(answer["clases"]) == 2
    probabilities = [c["probabilidad"] for c in answer["clases"]]
    assert probabilities == sorted(probabilities, reverse=True)
    model = models["clasificacion"]
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png_bytes())).convert("RGB"))
    row = model.run_batch([model.prepare(pixels, 3)])[0]["clases"]
    assert answer["clases"] == row[:2]


def test_forecast_from_csv_and_json_equals_redes_ventas_pronosticar(client, paths, tmp_path):
    from tareas.ventas.pronostico import forecast

    example = client.get("/ventas/ejemplo")
    assert example.headers["content-type"].startswith("text/csv")
    csv_path = tmp_path / "ejemplo.csv"
    csv_path.write_bytes(example.content)
    expected = forecast(paths["ventas"], csv_path, 6, out_dir=tmp_path).data["pronostico"]
    by_csv = client.post("/ventas/pronostico", data={"dias": "6"},
                         files={"archivo": ("ventas.csv", example.content, "text/csv")}).json()
    lines = example.text.strip().splitlines()[1:]
    by_json = client.post("/ventas/pronostico", json={
        "fechas": [line.split(",")[0] for line in lines],
        "unidades": [float(line.split(",")[1]) for line in lines], "dias": 6}).json()
    for answer in (by_csv, by_json):
        assert [d["fecha"] for d in answer["pronostico"]] == [d["fecha"] for d in expected]
        np.testing.assert_allclose([d["unidades"] for d in answer["pronostico"]],
                                   [d["unidades"] for d in expected], rtol=1e-5)
        assert len(answer["historia"]) == len(lines)


def test_translate_equals_translate_texts_and_attention_rows_sum_to_one(client, paths):
    from tareas.traduccion import translate_texts

    expected = translate_texts(paths["traduccion"], ["ciento veinte"])[0].data["traduccion"]
    plain = client.post("/traducir", json={"texto": "ciento veinte"}).json()
    assert plain["traduccion"] == expected and "atencion" not in plain
    answer = client.post("/traducir", params={"atencion": 1},
                         json={"texto": "ciento veinte"}).json()
    attention = answer["atencion"]
    assert answer["traduccion"] == expected
    assert attention["origen"] == ["ciento", "veinte"]
    assert attention["destino"] == expected.split()
    weights = np.array(attention["pesos"])
    assert weights.shape == (len(attention["destino"]), 2)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-3)


def test_the_page_and_the_docs_are_served_without_any_cdn(client):
    import re

    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<html" in page.text.lower() and 'lang="es"' in page.text
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    for html in (page.text, docs.text):
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", html), "recurso externo"
        for asset in re.findall(r"(?:src|href)=[\"']([^\"']+\.(?:js|css))", html):
            assert client.get(asset if asset.startswith("/") else "/" + asset).status_code == 200
    assert client.get("/openapi.json").json()["paths"].keys() >= {
        "/detectar", "/clasificar", "/ventas/pronostico", "/traducir", "/modelos", "/salud"}


# === Entradas malas: 4xx claro, nunca 500 ===

BAD_REQUESTS = [
    ("json en /detectar", lambda c: c.post("/detectar", json={"imagen": "x"}), 415,
     "multipart/form-data"),
    ("sin imagen", lambda c: c.post("/detectar", files={"otra": ("a.png", b"x", "image/png")}),
     422, "«imagen»"),
    ("texto como imagen", lambda c: _image(c, data=b"hola", name="a.txt", kind="text/plain"),
     415, "«imagen»"),
    ("imagen rota", lambda c: _image(c, data=png_bytes()[:60]), 422, "foto.png"),
    ("no es imagen", lambda c: _image(c, data=b"GIF89a basura"), 422, "no es una imagen"),
    ("umbral fuera", lambda c: _image(c, umbral=2), 422, "«umbral»"),
    ("formato raro", lambda c: _image(c, formato="gif"), 422, "«formato»"),
    ("k cero", lambda c: _image(c, "/clasificar", k=0), 422, "«k»"),
    ("json roto", lambda c: c.post("/traducir", content=b"{no",
                                   headers={"content-type": "application/json"}),
     422, "JSON"),
    ("sin texto", lambda c: c.post("/traducir", json={"frase": "uno"}), 422, "«"),
    ("texto vacío", lambda c: c.post("/traducir", json={"texto": "  "}), 422, "vacío"),
    ("palabra desconocida", lambda c: c.post("/traducir", json={"texto": "ciento patata"}),
     422, "patata"),
    ("formulario en /traducir", lambda c: c.post("/traducir", data={"texto": "uno"}), 415,
     "application/json"),
    ("fecha mala", lambda c: c.post("/ventas/pronostico", json={
        "fechas": ["2018-01-01", "ayer"], "unidades": [1, 2]}), 422, "fechas[1]"),
    ("longitudes", lambda c: c.post("/ventas/pronostico", json={
        "fechas": ["2018-01-01"], "unidades": [1, 2]}), 422, "«unidades» 2"),
    ("fecha repetida", lambda c: c.post("/ventas/pronostico", json={
        "fechas": ["2018-01-01", "2018-01-01"], "unidades": [1, 2]}), 422, "repiten"),
    ("pocos días", lambda c: c.post("/ventas/pronostico", json={
        "fechas": ["2018-01-01"], "unidades": [1]}), 422, "7 últimos"),
    ("días de más", lambda c: c.post("/ventas/pronostico", json={
        "fechas": ["2018-01-01"], "unidades": [1], "dias": 10_000}), 422, "«dias»"),
    ("días booleanos", lambda c: c.post("/ventas/pronostico", json={
        "fechas": ["2018-01-01"], "unidades": [1], "dias": True}), 422, "«dias»"),
    ("unidades texto", lambda c: c.post("/ventas/pronostico", json={
        "fechas": ["2018-01-01"], "unidades": ["mucho"]}), 422, "unidades"),
    ("csv con punto y coma", lambda c: c.post("/ventas/pronostico", files={
        "archivo": ("tienda.csv", b"2018-01-01;5\n2018-01-02;6\n", "text/csv")}), 422,
     "tienda.csv"),
    ("csv sin archivo", lambda c: c.post("/ventas/pronostico", files={
        "otro": ("t.csv", b"x", "text/csv")}), 422, "«archivo»"),
    ("csv vacío", lambda c: c.post("/ventas/pronostico", files={
        "archivo": ("t.csv", b"", "text/csv")}), 422, "vacío"),
    ("modelo que no existe", lambda c: c.post("/traducir", params={"modelo": "otro"},
                                              json={"texto": "uno"}), 404, "«otro»"),
    ("ruta que no existe", lambda c: c.get("/predict"), 404, "/docs"),
    ("método", lambda c: c.get("/detectar"), 405, "GET"),
]


@pytest.mark.parametrize(("name", "send", "status", "fragment"), BAD_REQUESTS,
                         ids=[case[0] for case in BAD_REQUESTS])
def test_bad_input_gets_a_clear_4xx(client, name, send, status, fragment):
    response = send(client)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and fragment in detail
    assert "Traceback" not in response.text


def test_a_task_that_is_not_loaded_is_404(models):
    with TestClient(create_app([models["ventas"]])) as client:
        response = client.post("/traducir", json={"texto": "uno"})
    assert response.status_code == 404 and "redes servir --pesos" in response.json()["detail"]


# === Límites ===

def test_body_limit_is_413_with_and_without_content_length(models):
    app = create_app([models["deteccion"]], Settings(max_body_bytes=50_000))
    with TestClient(app) as client:
        big = _image(client, data=b"\0" * 60_000)
        assert big.status_code == 413 and "límite" in big.json()["detail"]

        def chunks():
            for _ in range(10):
                yield b"x" * 10_000

        streamed = client.post("/traducir", content=chunks(),
                               headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        assert _image(client).status_code == 200   # por debajo del límite, bien


def test_pixel_limit_stops_a_decompression_bomb_before_decoding(models, monkeypatch):
    from PIL import ImageFile

    app = create_app([models["deteccion"]], Settings(max_pixels=1_000_000))
    with TestClient(app) as client:
        def never(self, *args, **kwargs):
            raise AssertionError("se intentó decodificar la imagen")

        with monkeypatch.context() as patch:
            patch.setattr(ImageFile.ImageFile, "load", never)
            response = _image(client, data=_bomb_png(8_000, 10_000))
            enormous = _image(client, data=_bomb_png(50_000, 50_000))  # más que el de Pillow
        assert response.status_code == 413
        assert "8000×10000 = 80.000.000 píxeles" in response.json()["detail"]
        assert enormous.status_code == 413 and "1.000.000" in enormous.json()["detail"]
        assert _image(client).status_code == 200


def test_uploads_never_touch_the_disk(client, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise AssertionError("una subida se escribió en disco")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    big = png_bytes(900, 900)   # ~2,4 MB: más que el búfer en memoria por defecto de Starlette
    assert len(big) > 2**21
    assert _image(client, data=big).status_code == 200


# === Clave y CORS ===

def test_api_key_is_required_when_set(models):
    app = create_app([models["ventas"]], Settings(api_key="una-clave-larga-123"))
    with TestClient(app) as client:
        assert client.get("/salud").status_code == 200
        for headers in ({}, {"X-Clave": "otra-clave-larga-12"}):
            response = client.get("/modelos", headers=headers)
            assert response.status_code == 401 and "X-Clave" in response.json()["detail"]
        assert client.get("/modelos", headers={"X-Clave": "una-clave-larga-123"}).status_code == 200


def test_no_cors_unless_asked(client, models):
    origin = {"Origin": "http://otro.ejemplo"}
    assert "access-control-allow-origin" not in client.get("/salud", headers=origin).headers
    app = create_app([models["ventas"]], Settings(cors_origins=("http://otro.ejemplo",)))
    with TestClient(app) as cors_client:
        allowed = cors_client.get("/salud", headers=origin).headers
    assert allowed["access-control-allow-origin"] == "http://otro.ejemplo"


def test_binding_outside_loopback_needs_a_key(monkeypatch):
    from cli.principal import build_parser
    from cli.servir import serve_settings

    monkeypatch.delenv("REDES_CLAVE", raising=False)
    parse = build_parser().parse_args
    with pytest.raises(ArgumentError, match="exige una clave"):
        serve_settings(parse(["servir", "--pesos", "a.h5", "--host", "0.0.0.0"]))
    with pytest.raises(ArgumentError, match="12 caracteres"):
        serve_settings(parse(["servir", "--pesos", "a.h5", "--clave", "corta"]))
    # Claves que ningún cliente HTTP puede enviar (issue de entradas hostiles, punto 3).
    for unsendable in ("    abcdefghijkl    ", " " * 12, "contraseñaññ123", "clave\tcon-tab1"):
        with pytest.raises(ArgumentError, match="ASCII imprimible.*sin espacios"):
            serve_settings(parse(["servir", "--pesos", "a.h5", "--clave", unsendable]))
    with pytest.raises(ArgumentError, match="--lote"):
        serve_settings(parse(["servir", "--pesos", "a.h5", "--lote", "0"]))
    settings = serve_settings(parse(["servir", "--pesos", "a.h5", "--host", "0.0.0.0",
                                     "--clave", "una-clave-larga-123"]))
    assert settings.api_key == "una-clave-larga-123"
    monkeypatch.setenv("REDES_CLAVE", "otra-clave-larga-456")
    assert serve_settings(parse(["servir", "--pesos", "a.h5", "--host", "10.0.0.1"])).api_key \
        == "otra-clave-larga-456"
    assert serve_settings(parse(["servir", "--pesos", "a.h5"])).api_key == "otra-clave-larga-456"


# === Lotes ===

def test_concurrent_requests_are_batched_and_routed_back(models):
    import httpx

    detector = models["deteccion"]
    app = create_app([detector], Settings(max_batch=8, wait_ms=400))
    images = [png_bytes(40 + 4 * i, 64, seed=i) for i in range(8)]

    async def send_all():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://prueba") as client:
            return await asyncio.gather(*[
                client.post("/detectar", files={"imagen": (f"{i}.png", data, "image/png")})
                for i, data in enumerate(images)])

    answers = [r.json() for r in asyncio.run(send_all())]
    batcher = app.fastapi_app.state.batchers[detector.name]
    assert batcher.items == 8 and batcher.batches < 8
    # Cada respuesta es la de su imagen: la misma que atendida sola.
    with TestClient(create_app([detector])) as client:
        alone = [_image(client, data=data).json() for data in images]
    assert [a["alto"] for a in answers] == [40 + 4 * i for i in range(8)]
    for got, expected in zip(answers, alone, strict=True):
        assert len(got["cajas"]) == len(expected["cajas"])
        for box, other in zip(got["cajas"], expected["cajas"], strict=True):
            assert box["etiqueta"] == other["etiqueta"]
            assert box["x1"] == pytest.approx(other["x1"], abs=0.2)


def test_foreign_host_header_is_refused_on_a_local_server(models):
    """DNS rebinding: una página que apunta su nombre a 127.0.0.1 manda su propio Host."""
    from cli.principal import build_parser
    from cli.servir import serve_settings

    parse = build_parser().parse_args
    settings = serve_settings(parse(["servir", "--pesos", "a.h5"]))
    assert set(settings.allowed_hosts) == {"127.0.0.1", "localhost", "::1"}
    wider = serve_settings(parse(["servir", "--pesos", "a.h5", "--hosts", "mi.proxy"]))
    assert "mi.proxy" in wider.allowed_hosts
    app = create_app([models["ventas"]], settings)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        assert client.get("/salud").status_code == 200
        assert client.get("/salud", headers={"Host": "localhost:8000"}).status_code == 200
        assert client.get("/salud", headers={"Host": "[::1]:8000"}).status_code == 200
        foreign = client.get("/salud", headers={"Host": "attacker.example"})
        assert foreign.status_code == 400
        assert "attacker.example" in foreign.json()["detail"] and "--hosts" in \
            foreign.json()["detail"]


def test_a_failing_request_does_not_fail_the_others_of_its_batch():
    """Una petición que hace fallar el lote se repite sola y recibe su error; las demás de
    ese lote reciben su resultado."""
    from servicio.lotes import Batcher

    calls = []

    def run_batch(items):
        calls.append(list(items))
        if "malo" in items:
            raise ValueError("entrada imposible")
        return [item.upper() for item in items]

    async def scenario():
        batcher = Batcher(run_batch, max_batch=8, wait_ms=200, name="prueba")
        try:
            return await asyncio.gather(*(batcher.submit(x) for x in ("a", "malo", "b")),
                                        return_exceptions=True)
        finally:
            await batcher.close()

    results = asyncio.run(scenario())
    assert results[0] == "A" and results[2] == "B"
    assert isinstance(results[1], ValueError)
    assert calls[0] == ["a", "malo", "b"] and ["a"] in calls and ["b"] in calls


def test_attention_with_an_exported_translator_is_a_4xx_and_others_still_work(paths, tmp_path):
    """Con un traductor exportado (ONNX), atencion=1 da 422 diciendo qué motor necesita,
    y las traducciones sin atención siguen respondiendo."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    from inferencia.exportar import export_model
    from servicio.modelos_servidos import load_served_model

    exported = export_model(paths["traduccion"], "onnx", tmp_path / "onnx").parent
    served = load_served_model(exported, engine="auto")
    with TestClient(create_app([served])) as client:
        refused = client.post("/traducir", params={"atencion": 1},
                              json={"texto": "ciento veinte"})
        assert refused.status_code == 422, refused.text
        assert "necesitan el motor keras" in refused.json()["detail"]
        plain = client.post("/traducir", json={"texto": "ciento veinte"})
        assert plain.status_code == 200 and plain.json()["traduccion"]
