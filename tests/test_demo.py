"""``redes demo`` de principio a fin, y la calidad del detector que entrena.

La demo se ejecuta una vez (fixture de módulo) y da:

- las cifras que promete el README (XOR, dígitos, ventas frente al ingenuo, traducción y
  detección), y su traductor, que ``redes traduccion predecir`` y ``atencion`` usan;
- su detector YOLOv2 tiny (un cuarto de los filtros, desde cero, figuras de 2 clases a
  160×160), que ``redes deteccion evaluar`` mide en 100 imágenes generadas aparte (mAP@0.5 ≥
  0.3; sin entrenar, o con una pérdida o una decodificación rotas, da casi 0) y que
  ``redes deteccion predecir`` dibuja.

Con ``pytest -n`` (xdist, ``--dist loadscope``) todo el módulo va a un mismo proceso: la
demo corre una sola vez.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

import modelos
from datos.imagenes import read_rgb
from cli.principal import main
from tareas.xor import XOR_INPUTS
from tareas.deteccion.demo import DEMO
from tests.helpers import PNG_MAGIC

pytestmark = pytest.mark.slow

CLASSES = list(DEMO.classes)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """``redes demo --json``: ``(carpeta, resumen JSON, salida impresa)``."""
    root = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["demo", "--salida", str(root / "demo"), "--json", str(root / "demo.json")])
    assert code == 0, printed.getvalue()[-2000:]
    return root / "demo", json.loads((root / "demo.json").read_text()), printed.getvalue()


@pytest.fixture(scope="module")
def detector(demo_run):
    """Los pesos del detector entrenado por la demo."""
    weights = demo_run[0] / "deteccion" / "modelo.h5"
    assert weights.is_file()
    return weights


def test_demo_reaches_the_promised_figures(demo_run):
    _, result, printed = demo_run
    # XOR como en el blog: 1000 épocas hasta exactitud 1.0, y el modelo guardado lo repite.
    assert result["xor"]["metricas"]["binary_accuracy"] == 1.0
    assert result["xor"]["metricas"]["epocas"] == 1000
    assert [p["redondeo"] for p in result["xor"]["predicciones"]] == [0, 1, 1, 0]
    assert set(result["xor"]["archivos"]) == {"pesos", "registro", "curvas", "configuracion"}
    restored = modelos.load(result["xor"]["archivos"]["pesos"])
    np.testing.assert_array_equal(restored.predict(XOR_INPUTS, verbose=0).round().ravel(),
                                  [0, 1, 1, 0])
    assert result["digitos"]["metricas"]["test_accuracy"] >= 0.975
    assert result["digitos"]["division"]["prueba"] == 360
    for path in (*result["xor"]["archivos"].values(), *result["digitos"]["archivos"].values()):
        assert Path(path).is_file()
    detected = Path(result["deteccion"]["archivos"]["detectada"])
    assert detected.name.endswith("_detected.png") and detected.is_file()
    assert result["deteccion"]["metricas"]["prueba_map_50"] >= 0.3
    # La STE gana al ingenuo estacional, y el traductor acierta números que no vio
    # (0,99 medido; sin entrenar o con la máscara causal rota, casi 0).
    sales = result["ventas"]["metricas"]
    assert sales["val_mae_unidades"] < sales["val_mae_unidades_ingenuo"]
    assert result["traduccion"]["metricas"]["test_exact_match"] >= 0.8
    assert result["traduccion"]["division"] == {"entrenamiento": 850, "validacion": 50,
                                                "prueba": 100}
    assert "Resumen de la demo" in printed


def test_demo_translator_translates_and_draws_attention_from_the_cli(demo_run, tmp_path,
                                                                      capsys):
    weights = demo_run[0] / "transformer" / "modelo.h5"
    out = tmp_path / "traducciones.json"
    assert main(["traduccion", "predecir", "--pesos", str(weights), "ciento veinte",
                 "trescientos cuarenta y dos", "--haz", "3", "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert [r["origen"] for r in results] == ["ciento veinte", "trescientos cuarenta y dos"]
    right = sum(r["traduccion"] == t for r, t in zip(
        results, ["one hundred and twenty", "three hundred and forty-two"], strict=True))
    assert right >= 1
    assert "ciento veinte → " in capsys.readouterr().out
    assert main(["traduccion", "atencion", "--pesos", str(weights),
                 "novecientos uno", "--salida", str(tmp_path / "mapas")]) == 0
    names = sorted(p.name for p in (tmp_path / "mapas").iterdir())
    assert names == ["atencion_codificador.png", "atencion_cruzada.png",
                     "atencion_decodificador.png"]
    assert all((tmp_path / "mapas" / n).read_bytes()[:8] == PNG_MAGIC for n in names)


def test_evaluate_on_held_out_set_reaches_map(detector, held_out_shapes, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["deteccion", "evaluar", "--pesos", str(detector),
                 "--anotaciones", str(held_out_shapes / "annotations"),
                 "--imagenes", str(held_out_shapes / "images"),
                 "--salida", str(tmp_path), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert "AP por clase" in printed and "mAP@0.5 (VOC)" in printed
    assert result["imagenes"] == 100
    assert result["metricas"]["map_50"] >= 0.3, result
    assert result["metricas"]["map_30"] >= result["metricas"]["map_50"]
    assert (tmp_path / "precision_recall_cuadrado.png").stat().st_size > 5000


def test_detect_images_draws_green_boxes(detector, held_out_shapes, tmp_path, capsys):
    images = sorted((held_out_shapes / "images").glob("*.jpg"))[:3]
    out = tmp_path / "det.json"
    assert main(["deteccion", "predecir", "--pesos", str(detector), *map(str, images),
                 "--salida", str(tmp_path), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    printed = capsys.readouterr().out
    for item, path in zip(result, images, strict=True):
        drawn = tmp_path / f"{path.stem}_detected.png"
        assert item["archivos"]["detectada"] == str(drawn) and drawn.is_file()
        assert item["imagen"] == str(path) and f"{path}: " in printed
        pixels = read_rgb(drawn)
        green = (pixels[..., 1] == 255) & (pixels[..., 0] == 0) & (pixels[..., 2] == 0)
        if item["detecciones"]:
            assert green.sum() > 20
            det = item["detecciones"][0]
            assert det["etiqueta"] in CLASSES and 0.3 <= det["puntuacion"] <= 1
            assert f"  {det['etiqueta']} {det['puntuacion']:.2f}" in printed
    assert sum(len(item["detecciones"]) for item in result) > 0
