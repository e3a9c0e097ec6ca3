"""La página web de ``redes servir`` en un navegador de verdad (Chromium headless + Selenium).

Usa el Chromium y el chromedriver de Debian (``apt-get install chromium chromium-driver``);
Selenium no descarga nada. Se salta si falta el navegador o Selenium.

La URL base del servidor la da la fixture ``servidor_web`` de ``tests/conftest.py``: la app
real en 127.0.0.1 con modelos pequeños. Para desarrollar la página contra otro servidor,
``REDES_URL_PRUEBA=http://127.0.0.1:8765/`` la sustituye.
``REDES_CAPTURAS=<carpeta>`` guarda allí una captura PNG de cada pestaña con resultados.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL import ImageDraw

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip("falta Chromium de Debian (apt-get install chromium chromium-driver)",
                allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver",
                                reason="falta selenium (pip install -e '.[test]')")

from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

#: Banderas que Chromium necesita en estas máquinas (root, sin GPU, sin red).
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=es-ES",
    # Ningún nombre de host se resuelve: solo se llega a 127.0.0.1.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)
WAIT_S = 20
MONTHS = "ene|feb|mar|abr|may|jun|jul|ago|sep|oct|nov|dic"


# --- fixtures ---
@pytest.fixture(scope="module")
def browser():
    """Un Chromium headless para todo el módulo, con un perfil temporal nuevo."""
    profile_dir = tempfile.mkdtemp(prefix="redes-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)


@pytest.fixture
def base_url(request):
    """URL de la app servida (con «/» final)."""
    url = os.environ.get("REDES_URL_PRUEBA")
    if not url:
        try:
            url = request.getfixturevalue("servidor_web")
        except pytest.FixtureLookupError:
            pytest.skip("falta la fixture «servidor_web» (la app en 127.0.0.1)")
    return str(url).rstrip("/") + "/"


@pytest.fixture
def page(browser, base_url):
    """El navegador con la página recién cargada y la lista de modelos ya pedida."""
    browser.get(base_url)
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body")
             .get_attribute("data-modelos") is not None, "la lista de modelos")
    return browser


# --- utilidades ---
def wait_for(driver, condition, what):
    try:
        return WebDriverWait(driver, WAIT_S).until(condition)
    except TimeoutException:
        errors = " | ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".error")
                            if e.text)
        pytest.fail(f"la página no mostró {what} en {WAIT_S} s (errores: {errors or '-'})")


def open_tab(driver, task):
    driver.find_element(By.ID, f"pestana-{task}").click()
    assert driver.find_element(By.ID, f"panel-{task}").is_displayed()


def api(driver, script, *args):
    """Llama a la API desde la propia página (mismo origen) y devuelve el JSON."""
    wrapper = ("const done = arguments[arguments.length - 1];"
               "(async () => {" + script + "})().then(done,"
               " (e) => done({error: String(e)}));")
    result = driver.execute_async_script(wrapper, *args)
    assert not (isinstance(result, dict) and "error" in result), result
    return result


def screenshot(driver, name):
    folder = os.environ.get("REDES_CAPTURAS")
    if not folder:
        return
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(800, height + 40))
    driver.save_screenshot(str(Path(folder) / f"pagina_{name}.png"))
    driver.set_window_size(1280, 1000)


def wait_for_error(driver, task):
    element = driver.find_element(By.ID, f"error-{task}")
    wait_for(driver, lambda d: element.is_displayed() and element.text.strip(),
             f"el error de {task}")
    return element.text.strip()


def assert_readable_message(text):
    assert len(text) > 20, text
    assert not text.startswith(("{", "[")), text
    assert "detail" not in text and "Traceback" not in text, text


def make_test_photo(folder: Path) -> Path:
    """Una foto generada: un círculo y un cuadrado sobre un fondo con ruido (semilla fija)."""
    rng = np.random.default_rng(14)
    background = rng.integers(150, 230, size=(240, 320, 3), dtype=np.uint8)
    image = Image.fromarray(background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 50, 130, 140), fill=(200, 40, 40))
    draw.rectangle((180, 100, 270, 190), fill=(40, 60, 200))
    path = folder / "formas.png"
    image.save(path)
    return path


# --- pruebas ---
def test_tabs_keyboard_navigation(page):
    tab = page.find_element(By.ID, "pestana-deteccion")
    assert tab.get_attribute("aria-selected") == "true"
    tab.send_keys(Keys.ARROW_RIGHT)
    sales_tab = page.find_element(By.ID, "pestana-ventas")
    assert sales_tab.get_attribute("aria-selected") == "true"
    assert tab.get_attribute("aria-selected") == "false"
    assert page.switch_to.active_element == sales_tab
    assert page.find_element(By.ID, "panel-ventas").is_displayed()
    assert not page.find_element(By.ID, "panel-deteccion").is_displayed()
    sales_tab.send_keys(Keys.END)
    assert page.find_element(By.ID, "pestana-traduccion").get_attribute(
        "aria-selected") == "true"
    page.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)  # da la vuelta
    assert tab.get_attribute("aria-selected") == "true"


def test_detection_draws_the_api_boxes(page, tmp_path):
    photo = make_test_photo(tmp_path)
    # Umbral mínimo, para que hasta un detector pequeño deje alguna caja.
    page.execute_script(
        "const u = document.getElementById('umbral-deteccion'); u.value = u.min;"
        "u.dispatchEvent(new Event('input')); u.dispatchEvent(new Event('change'));")
    threshold = page.find_element(By.ID, "umbral-deteccion").get_attribute("value")
    file_input = page.find_element(By.ID, "imagen-deteccion")
    file_input.send_keys(str(photo))
    canvas = page.find_element(By.ID, "lienzo-deteccion")
    wait_for(page, lambda d: canvas.get_attribute("data-cajas") is not None, "las cajas")
    assert not page.find_element(By.ID, "error-deteccion").is_displayed()

    # Lo que dibuja la página es lo que responde la API para la misma foto y umbral.
    expected = api(page, """
        const f = new FormData();
        f.append('imagen', document.getElementById('imagen-deteccion').files[0]);
        const r = await fetch('detectar?umbral=' + arguments[0], {method: 'POST', body: f});
        return await r.json();""", threshold)
    assert (expected["ancho"], expected["alto"]) == (320, 240)
    boxes = expected["cajas"]
    assert len(boxes) >= 1, "el detector de la fixture no da ninguna caja con el umbral mínimo"
    assert int(canvas.get_attribute("data-cajas")) == len(boxes)
    rows = page.find_elements(By.CSS_SELECTOR, "#lista-deteccion li")
    assert [f.get_attribute("data-etiqueta") for f in rows] == [c["etiqueta"] for c in boxes]
    assert canvas.size["width"] > 0

    # Las cajas de cada clase: el «conteo» de la API, y lo que muestra la página.
    counts = Counter(c["etiqueta"] for c in boxes)
    assert expected["conteo"] == dict(counts)
    shown = page.find_elements(By.CSS_SELECTOR, "#conteo-deteccion li")
    assert {li.get_attribute("data-etiqueta"): int(li.get_attribute("data-n"))
            for li in shown} == counts
    assert [li.text.split() for li in shown] == [[f"{label}:", str(n)]
                                                 for label, n in expected["conteo"].items()]

    # En el lienzo, el borde izquierdo de la última caja (la de encima) tiene su color.
    last, color = boxes[-1], rows[-1].get_attribute("data-color")
    pixels = page.execute_script("""
        const c = document.getElementById('lienzo-deteccion');
        const e = Number(c.dataset.escala);
        const x = Math.round(arguments[0] * e), y = Math.round(arguments[1] * e);
        const ctx = c.getContext('2d');
        const out = [];
        for (let dx = -1; dx <= 1; dx++) {
          out.push(Array.from(ctx.getImageData(Math.max(0, x + dx), y, 1, 1).data));
        }
        return out;""", last["x1"], (last["y1"] + last["y2"]) / 2)
    rgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])
    distance = min(np.abs(np.array(p[:3]) - rgb).max() for p in pixels)
    assert distance <= 40, (color, pixels)
    screenshot(page, "deteccion")


def test_detection_bad_file_gives_readable_message(page, tmp_path):
    bad_file = tmp_path / "no_es_una_foto.png"
    bad_file.write_text("esto no es una imagen\n")
    page.find_element(By.ID, "imagen-deteccion").send_keys(str(bad_file))
    text = wait_for_error(page, "deteccion")
    assert_readable_message(text)
    assert "no_es_una_foto.png" in text
    assert page.find_element(By.ID, "lienzo-deteccion").get_attribute("data-cajas") == "0"
    assert page.find_elements(By.CSS_SELECTOR, "#lista-deteccion li") == []
    assert page.find_elements(By.CSS_SELECTOR, "#conteo-deteccion li") == []
    screenshot(page, "error_deteccion")


def test_sales_sample_draws_history_and_forecast(page):
    open_tab(page, "ventas")
    page.find_element(By.ID, "ejemplo-ventas").click()
    chart = page.find_element(By.ID, "grafico-ventas")
    wait_for(page, lambda d: chart.get_attribute("data-puntos") not in (None, "0"),
             "el gráfico de ventas")
    assert not page.find_element(By.ID, "error-ventas").is_displayed()
    history = int(chart.get_attribute("data-historia"))
    forecast = int(chart.get_attribute("data-pronostico"))
    assert forecast == 7  # los días por defecto
    assert history >= 8
    assert int(chart.get_attribute("data-puntos")) == history + forecast

    line = chart.find_element(By.CSS_SELECTOR, "polyline.serie-historia")
    history_xs = [float(p.split(",")[0]) for p in line.get_attribute("points").split()]
    assert len(history_xs) == history
    circles = chart.find_elements(By.CSS_SELECTOR, "circle.punto-pronostico")
    forecast_xs = [float(c.get_attribute("cx")) for c in circles]
    assert len(forecast_xs) == 7
    # Cronológico de izquierda a derecha: el pronóstico va después de la historia.
    assert history_xs == sorted(history_xs)
    assert forecast_xs == sorted(forecast_xs)
    assert forecast_xs[0] > history_xs[-1]
    dates = [t.text for t in chart.find_elements(By.CSS_SELECTOR, "text.fecha")]
    assert len(dates) >= 3 and all(re.fullmatch(rf"\d{{1,2}} ({MONTHS})( \d{{4}})?", f)
                                   for f in dates), dates
    table_rows = page.find_elements(By.CSS_SELECTOR, "#tabla-pronostico tbody tr")
    assert len(table_rows) == 7
    screenshot(page, "ventas")

    # Los días pedidos viajan con el CSV.
    days_input = page.find_element(By.ID, "dias-ventas")
    days_input.clear()
    days_input.send_keys("3", Keys.TAB)
    wait_for(page, lambda d: chart.get_attribute("data-pronostico") == "3",
             "el pronóstico de 3 días")


def test_sales_bad_csv_gives_readable_message(page, tmp_path):
    open_tab(page, "ventas")
    bad_csv = tmp_path / "ventas_malas.csv"
    bad_csv.write_text("fecha,unidades\n2017-01-01,12\n2017-01-02,muchas\n")
    page.find_element(By.ID, "archivo-ventas").send_keys(str(bad_csv))
    text = wait_for_error(page, "ventas")
    assert_readable_message(text)
    assert "ventas_malas.csv" in text
    assert page.find_element(By.ID, "grafico-ventas").get_attribute("data-puntos") == "0"
    screenshot(page, "error_ventas")


def test_translation_with_attention_map(page):
    open_tab(page, "traduccion")
    text_box = page.find_element(By.ID, "texto-traduccion")
    text_box.clear()
    text_box.send_keys("ciento veinte", Keys.ENTER)
    output = page.find_element(By.ID, "resultado-traduccion")
    heatmap = page.find_element(By.ID, "mapa-atencion")
    wait_for(page, lambda d: output.get_attribute("data-texto") == "ciento veinte",
             "la traducción")
    expected = api(page, """
        const r = await fetch('traducir?atencion=1', {method: 'POST',
          headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({texto: 'ciento veinte'})});
        return await r.json();""")
    assert output.text == expected["traduccion"]
    attention = expected["atencion"]
    rows, columns = len(attention["destino"]), len(attention["origen"])
    assert rows >= 1 and columns >= 1
    assert (heatmap.get_attribute("data-filas"), heatmap.get_attribute("data-columnas")) == (
        str(rows), str(columns))
    cells = heatmap.find_elements(By.CSS_SELECTOR, "rect.celda")
    assert len(cells) == rows * columns
    # Las palabras en los ejes, y la celda más oscura donde está el mayor peso.
    source = [t.text for t in heatmap.find_elements(By.CSS_SELECTOR, "text.origen")]
    target = [t.text for t in heatmap.find_elements(By.CSS_SELECTOR, "text.destino")]
    assert source == attention["origen"] and target == attention["destino"]
    weights = np.array(attention["pesos"])
    brightness = np.array([sum(int(v) for v in re.findall(r"\d+", c.get_attribute("fill")))
                           for c in cells]).reshape(weights.shape)
    assert np.argmin(brightness) == np.argmax(weights)
    screenshot(page, "traduccion")


def test_tab_without_model_says_so(browser, base_url):
    # La página cree que el servidor no tiene traductor: /modelos llega sin él.
    hide_translator = """
        const original = window.fetch;
        window.fetch = async (url, init) => {
          const r = await original(url, init);
          if (String(url) !== 'modelos') return r;
          const data = await r.json();
          data.modelos = data.modelos.filter((m) => m.tarea !== 'traduccion');
          return new Response(JSON.stringify(data), {status: 200,
            headers: {'Content-Type': 'application/json'}});
        };"""
    script_id = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                        {"source": hide_translator})
    try:
        browser.get("about:blank")  # que sea una carga nueva, no un cambio de «#»
        browser.get(base_url + "#traduccion")
        notice = browser.find_element(By.ID, "aviso-traduccion")
        wait_for(browser, lambda d: notice.is_displayed(), "el aviso de pestaña sin modelo")
        assert "No hay ningún modelo de traducción" in notice.text
        assert "(sin modelo)" in browser.find_element(By.ID, "pestana-traduccion").text
        assert not browser.find_element(By.ID, "boton-traducir").is_enabled()
        assert not browser.find_element(By.ID, "aviso-deteccion").is_displayed()
        screenshot(browser, "sin_modelo")
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                                {"identifier": script_id["identifier"]})


def test_translation_unknown_word_gives_readable_message(page):
    open_tab(page, "traduccion")
    text_box = page.find_element(By.ID, "texto-traduccion")
    text_box.clear()
    text_box.send_keys("ciento patata", Keys.ENTER)
    text = wait_for_error(page, "traduccion")
    assert_readable_message(text)
    assert "patata" in text
    assert page.find_element(By.ID, "resultado-traduccion").text == ""
    assert not page.find_element(By.ID, "mapa-atencion").is_displayed()


# --- muchas series: un modelo global, con intervalos ---
@pytest.fixture(scope="module")
def servidor_global(tmp_path_factory):
    """``redes servir`` de verdad con solo el modelo global diminuto, y el CSV largo de su
    historia y el de sus covariables futuras."""
    pytest.importorskip("uvicorn")
    from datos.ventas_multiples import write_long_sales
    from servicio.modelos_servidos import load_served_model
    from tests.servicio_modelos import running_server, save_global_model

    root = tmp_path_factory.mktemp("pagina_global")
    weights, frame, schema = save_global_model(root)
    cut = frame["fecha"] < "2022-04-20"
    history = write_long_sales(frame[cut], schema, root / "historia.csv")
    future = write_long_sales(frame[~cut].drop(columns="unidades"), schema, root / "futuro.csv")
    with running_server([load_served_model(weights)]) as url:
        yield url + "/", history, future


def _band_extent(path):
    """``{x: (y más alto, y más bajo)}`` del polígono de una banda (SVG: y crece hacia abajo)."""
    pairs = re.findall(r"(-?[\d.]+),(-?[\d.]+)", path.get_attribute("d"))
    extent = {}
    for x, y in pairs:
        low, high = extent.get(x, (float("inf"), float("-inf")))
        extent[x] = (min(low, float(y)), max(high, float(y)))
    return extent


def test_sales_many_series_draws_the_interval_bands(browser, servidor_global):
    url, history, future = servidor_global
    browser.get(url + "#ventas")
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body")
             .get_attribute("data-modelos") == "1", "la lista de modelos")
    # El modelo usa covariables futuras: la página pide su CSV.
    assert browser.find_element(By.ID, "control-futuro-ventas").is_displayed()
    browser.find_element(By.ID, "futuro-ventas").send_keys(str(future))
    browser.find_element(By.ID, "archivo-ventas").send_keys(str(history))
    chart = browser.find_element(By.ID, "grafico-ventas")
    wait_for(browser, lambda d: chart.get_attribute("data-bandas") == "95,80",
             "las bandas de los intervalos")
    assert not browser.find_element(By.ID, "error-ventas").is_displayed()
    assert chart.get_attribute("data-series") == "6"
    assert chart.get_attribute("data-pronostico") == "7"  # el horizonte del modelo
    bands = chart.find_elements(By.CSS_SELECTOR, "path.banda")
    assert [band.get_attribute("data-nivel") for band in bands] == ["95", "80"]
    wide, narrow = (_band_extent(band) for band in bands)
    assert len(wide) == len(narrow) == 7   # un par de extremos por día pronosticado
    for x, (top, bottom) in narrow.items():  # la del 80 % cabe en la del 95 %
        assert wide[x][0] <= top + 0.11 and bottom <= wide[x][1] + 0.11
    legend = chart.find_elements(By.CSS_SELECTOR, ".leyenda-banda text")
    assert [text.text for text in legend] == ["Intervalo 95 %", "Intervalo 80 %"]
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR,
                                                       "#tabla-pronostico thead th")]
    assert headers == ["Fecha", "Unidades", "Intervalo 80 %", "Intervalo 95 %"]
    screenshot(browser, "ventas_muchas_series")

    # Otra serie del selector: se dibuja la suya, también con sus bandas.
    picker = browser.find_element(By.ID, "serie-ventas")
    assert picker.is_displayed()
    names = [option.text for option in picker.find_elements(By.TAG_NAME, "option")]
    assert len(names) == 6 and chart.get_attribute("data-serie") == names[0]
    browser.execute_script("const s = arguments[0]; s.value = '3';"
                           "s.dispatchEvent(new Event('change'));", picker)
    wait_for(browser, lambda d: chart.get_attribute("data-serie") == names[3], "otra serie")
    assert len(chart.find_elements(By.CSS_SELECTOR, "path.banda")) == 2
