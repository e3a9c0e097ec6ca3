"""La orden ``redes`` de principio a fin sobre datos pequeños generados."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datos.sinteticos import make_image_folder
from cli.principal import main
from tests.helpers import PNG_MAGIC
from tests.helpers import write_corrupt_jpeg

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Carpeta de colores (tamaños mezclados, un JPEG truncado) y un modelo entrenado."""
    root = tmp_path_factory.mktemp("cli")
    images = make_image_folder(root / "imagenes", n_per_class=20, seed=1)
    write_corrupt_jpeg(images / "rojo" / "roto.jpg")
    run = root / "run"
    code = main(["clasificacion", "entrenar", "--dir", str(images), "--modelo", "cifar",
                 "--optimizador", "adam", "--epocas", "6", "--lote", "16",
                 "--salida", str(run), "--json", str(root / "metricas.json")])
    assert code == 0
    return {"images": images, "run": run, "json": json.loads((root / "metricas.json").read_text())}


def test_train_writes_everything_and_learns(trained, capsys):
    metrics = trained["json"]["metricas"]
    assert metrics["epocas"] == 6
    assert metrics["test_accuracy"] >= 0.9  # tres colores: fácil si el camino funciona
    for key in ("pesos", "registro", "curvas", "matriz_confusion"):
        assert Path(trained["json"]["archivos"][key]).is_file()
    assert Path(trained["json"]["archivos"]["curvas"]).read_bytes()[:8] == PNG_MAGIC
    assert trained["json"]["omitidas"] == [str(trained["images"] / "rojo" / "roto.jpg")]
    assert trained["json"]["division"] == {"entrenamiento": 38, "validacion": 10, "prueba": 12}
    assert set(trained["json"]["informe"]["report"]) >= {"rojo", "verde", "azul"}


def test_train_prints_the_final_table(tmp_path, capsys):
    images = make_image_folder(tmp_path / "img", n_per_class=6, seed=2)
    assert main(["clasificacion", "entrenar", "--dir", str(images), "--epocas", "1",
                 "--salida", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "Clasificador «deportes»: métricas finales" in out
    assert "Exactitud (prueba)" in out and "Pérdida (validación)" in out
    assert "Precisión" in out  # informe por clase


def test_evaluate_on_the_test_split_matches_training(trained, tmp_path, capsys):
    out_json = tmp_path / "eval.json"
    assert main(["clasificacion", "evaluar", "--pesos", str(trained["run"] / "modelo.h5"),
                 "--dir", str(trained["images"]), "--particion", "test",
                 "--salida", str(tmp_path), "--json", str(out_json)]) == 0
    result = json.loads(out_json.read_text())
    assert result["metricas"]["imagenes"] == 12
    expected = trained["json"]["metricas"]["test_accuracy"]
    assert result["metricas"]["accuracy"] == pytest.approx(expected)
    assert (tmp_path / "evaluacion_prueba.png").read_bytes()[:8] == PNG_MAGIC


def test_evaluate_whole_folder(trained, tmp_path):
    out_json = tmp_path / "eval.json"
    assert main(["clasificacion", "evaluar", "--pesos", str(trained["run"] / "modelo.h5"),
                 "--dir", str(trained["images"]), "--salida", str(tmp_path),
                 "--json", str(out_json)]) == 0
    assert json.loads(out_json.read_text())["metricas"]["imagenes"] == 60


def test_predict_prints_class_and_probability(trained, tmp_path, capsys):
    images = sorted((trained["images"] / "verde").iterdir())[:2]
    out_json = tmp_path / "pred.json"
    assert main(["clasificacion", "predecir", "--pesos", str(trained["run"] / "modelo.h5"),
                 *map(str, images), "--top", "2", "--json", str(out_json)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 3 and all(": verde (" in line for line in lines[:2])
    assert lines[2] == f"json: {out_json}"
    result = json.loads(out_json.read_text())
    assert [r["clase"] for r in result] == ["verde", "verde"]
    assert all(0.5 < r["probabilidad"] <= 1.0 and len(r["top"]) == 2 for r in result)


def test_predict_with_a_corrupt_image_names_it(trained, capsys):
    bad = trained["images"] / "rojo" / "roto.jpg"
    assert main(["clasificacion", "predecir", "--pesos", str(trained["run"] / "modelo.h5"),
                 str(bad)]) == 2
    assert "roto.jpg" in capsys.readouterr().err


def test_missing_weights_file_is_named(tmp_path, capsys):
    image = make_image_folder(tmp_path / "img", n_per_class=1) / "rojo"
    assert main(["clasificacion", "predecir", "--pesos", str(tmp_path / "falta.h5"),
                 str(next(image.iterdir()))]) == 2
    assert "falta.h5" in capsys.readouterr().err


def test_unexpected_errors_are_one_line_without_traceback(tmp_path, capsys, monkeypatch):
    import tareas.xor

    def disk_full(**kwargs):
        raise OSError(28, "No queda espacio en el dispositivo")

    monkeypatch.setattr(tareas.xor, "train_xor", disk_full)
    assert main(["xor", "entrenar", "--salida", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "error inesperado (OSError)" in err and "No queda espacio" in err
    assert "Traceback" not in err and "--verbose" in err
    with pytest.raises(OSError):  # con --verbose, la traza completa
        main(["--verbose", "xor", "entrenar", "--salida", str(tmp_path)])


def test_evaluate_rejects_a_model_that_is_not_a_classifier(tmp_path, capsys):
    assert main(["xor", "entrenar", "--epocas", "2", "--salida", str(tmp_path / "xor")]) == 0
    images = make_image_folder(tmp_path / "img", n_per_class=3, seed=0)
    assert main(["clasificacion", "evaluar", "--pesos", str(tmp_path / "xor" / "modelo.h5"),
                 "--dir", str(images)]) == 2
    assert "no es un clasificador" in capsys.readouterr().err


def test_xor_command_writes_json(tmp_path, capsys):
    out_json = tmp_path / "xor.json"
    assert main(["xor", "entrenar", "--epocas", "20", "--salida", str(tmp_path / "run"),
                 "--json", str(out_json)]) == 0
    result = json.loads(out_json.read_text())
    assert result["metricas"]["epocas"] == 20
    assert len(result["predicciones"]) == 4
    out = capsys.readouterr().out
    assert "XOR: predicciones" in out and "Exactitud binaria" in out


@pytest.mark.parametrize("extra", [
    ["--modelo", "mlp", "--tamanio", "8", "8", "--gris"],
    ["--aumento", "--sin-volteo", "--trabajadores", "2"],
    ["--precision", "mixed_bfloat16"],
    ["--paciencia", "1"],
])
def test_training_options_run_end_to_end(extra, tmp_path):
    images = make_image_folder(tmp_path / "img", n_per_class=6, seed=3)
    run = tmp_path / "run"
    assert main(["clasificacion", "entrenar", "--dir", str(images), "--epocas", "2",
                 "--salida", str(run), *extra]) == 0
    assert (run / "modelo.h5").is_file()
    image = next((images / "azul").iterdir())
    assert main(["clasificacion", "predecir", "--pesos", str(run / "modelo.h5"), str(image)]) == 0


@pytest.mark.parametrize("setup, args, message", [
    (lambda p: None, ["--dir", "{p}/no_existe"], "no_existe"),
    (lambda p: (make_image_folder(p / "img", n_per_class=3), (p / "img" / "vacia").mkdir()),
     ["--dir", "{p}/img"], "vacia"),
    (lambda p: (p / "nada" / "clase_a").mkdir(parents=True), ["--dir", "{p}/nada"],
     "no contiene ninguna imagen"),
    (lambda p: make_image_folder(p / "img", n_per_class=3), ["--dir", "{p}/img", "--modelo", "mlp",
                                                              "--aumento"], "--aumento"),
])
def test_bad_input_gives_a_clear_error(setup, args, message, tmp_path, capsys):
    setup(tmp_path)
    argv = ["clasificacion", "entrenar", *(a.format(p=tmp_path) for a in args),
            "--epocas", "1", "--salida", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


@pytest.mark.parametrize("flags, named", [
    (["--lote", "0"], "--lote"),
    (["--lote", "-5"], "--lote"),
    (["--epocas", "0"], "--epocas"),
    (["--tasa", "-1"], "--tasa"),
    (["--tasa", "0"], "--tasa"),
    (["--tasa", "nan"], "--tasa"),
    (["--tamanio", "30000", "30000"], "--tamanio"),
    (["--tamanio", "0", "8"], "--tamanio"),
    (["--trabajadores", "0"], "--trabajadores"),
    (["--paciencia", "-1"], "--paciencia"),
    (["--semilla", "-1"], "--semilla"),
    (["--dispositivos", "0"], "--dispositivos"),
    (["--dispositivos", "algunos"], "--dispositivos"),
])
def test_bad_numbers_are_refused_naming_the_flag(flags, named, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["clasificacion", "entrenar", "--dir", str(tmp_path), *flags])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argumento {named}" in err or named in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags, named", [
    (["--optimizador", "optimizador_inventado"], "optimizador_inventado"),
    (["--sin-volteo"], "--sin-volteo"),
])
def test_bad_choices_are_refused_before_reading_images(flags, named, tmp_path, capsys):
    # --dir no existe: el error es el de la opción, que se comprueba antes de leer nada.
    code = main(["clasificacion", "entrenar", "--dir", str(tmp_path / "no_existe"),
                 "--salida", str(tmp_path / "run"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and named in err
    assert "inesperado" not in err and "no_existe" not in err


def test_unknown_optimizer_names_the_flag_and_known_ones(tmp_path, capsys):
    main(["clasificacion", "entrenar", "--dir", str(tmp_path), "--optimizador", "adan"])
    err = capsys.readouterr().err
    assert "--optimizador" in err and "adam" in err and "desconocido" in err


@pytest.mark.parametrize("make_bad, flag", [
    (lambda p: (p / "archivo").write_text("x") and p / "archivo" / "m.json", "--json"),
    (lambda p: (p / "carpeta").mkdir() or p / "carpeta", "--json"),
])
def test_bad_json_path_fails_before_training(make_bad, flag, tmp_path, capsys):
    images = make_image_folder(tmp_path / "img", n_per_class=3, seed=0)
    bad = make_bad(tmp_path)
    code = main(["clasificacion", "entrenar", "--dir", str(images), "--epocas", "1",
                 "--salida", str(tmp_path / "run"), "--json", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {flag}")
    assert not (tmp_path / "run").exists()  # no se entrenó nada


def test_output_folder_that_is_a_file_fails_before_training(tmp_path, capsys):
    images = make_image_folder(tmp_path / "img", n_per_class=3, seed=0)
    (tmp_path / "run").write_text("soy un archivo")
    code = main(["clasificacion", "entrenar", "--dir", str(images), "--epocas", "1",
                 "--salida", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "--salida" in err and "es un archivo" in err


def test_evaluate_and_predict_check_their_outputs_first(trained, tmp_path, capsys):
    weights = str(trained["run"] / "modelo.h5")
    (tmp_path / "carpeta.json").mkdir()
    assert main(["clasificacion", "evaluar", "--pesos", weights, "--dir", str(trained["images"]),
                 "--json", str(tmp_path / "carpeta.json")]) == 2
    assert "--json" in capsys.readouterr().err
    image = next((trained["images"] / "azul").iterdir())
    assert main(["clasificacion", "predecir", "--pesos", weights, str(image),
                 "--json", str(tmp_path / "carpeta.json")]) == 2
    assert "--json" in capsys.readouterr().err


def test_old_split_names_are_not_accepted(trained, capsys):
    with pytest.raises(SystemExit):
        main(["clasificacion", "evaluar", "--pesos", str(trained["run"] / "modelo.h5"),
              "--dir", str(trained["images"]), "--particion", "todo"])
    assert "--particion" in capsys.readouterr().err


def test_a_directory_as_weights_is_reported_as_a_directory(tmp_path, capsys):
    image = next((make_image_folder(tmp_path / "img", n_per_class=1) / "rojo").iterdir())
    (tmp_path / "modelo.h5").mkdir()
    assert main(["clasificacion", "predecir", "--pesos", str(tmp_path / "modelo.h5"),
                 str(image)]) == 2
    err = capsys.readouterr().err
    assert "es una carpeta" in err and "No existe" not in err


def _with_metadata(trained, tmp_path, **changes):
    import shutil

    import h5py

    path = tmp_path / "modelo.h5"
    shutil.copy(trained["run"] / "modelo.h5", path)
    with h5py.File(path, "a") as f:
        f.attrs["metadata"] = json.dumps({**json.loads(f.attrs["metadata"]), **changes})
    return path


@pytest.mark.parametrize("changes, message", [
    ({"clases": ["rojo"]}, "1 clase.*3 salidas"),
    ({"clases": ["a", "b", "c", "d"]}, "4 clase.*3 salidas"),
    ({"clases": ["a", "a", "b"]}, "clases"),
    ({"clases": "rojo"}, "clases"),
    ({"tamanio": [30000, 30000]}, "tamanio"),
    ({"tamanio": [16, 16]}, "16×16.*entrada"),
    ({"tamanio": [8, 8, 8]}, "tamanio"),
    ({"canales": 1}, "1 canal"),
    ({"canales": 2}, "canales"),
    ({"aplanar": True}, "entrada"),
    ({"aplanar": "no"}, "aplanar"),
    ({"semilla": -3}, "semilla"),
])
def test_classifier_metadata_is_checked_against_the_model(trained, tmp_path, capsys, changes,
                                                          message):
    import re

    weights = _with_metadata(trained, tmp_path, **changes)
    image = next((trained["images"] / "azul").iterdir())
    assert main(["clasificacion", "predecir", "--pesos", str(weights), str(image)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and re.search(message, err), err
    assert "modelo.h5" in err
    assert main(["clasificacion", "evaluar", "--pesos", str(weights),
                 "--dir", str(trained["images"])]) == 2


def test_predict_top_must_be_positive(trained, capsys):
    image = next((trained["images"] / "azul").iterdir())
    with pytest.raises(SystemExit):
        main(["clasificacion", "predecir", "--pesos", str(trained["run"] / "modelo.h5"),
              str(image), "--top", "0"])
    assert "--top" in capsys.readouterr().err


def test_help_and_argument_errors_are_in_spanish(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "uso: redes" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["clasificacion", "entrenar"])
    assert exit_info.value.code == 2
    assert "faltan los argumentos obligatorios: --dir" in capsys.readouterr().err


def _run_cli(args, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "REDES_VERBOSO")}
    return subprocess.run([sys.executable, "-m", "cli.principal", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


NOISE = ("oneDNN", "absl::InitializeLog", "cuInit", "cpu_feature_guard")


def test_tensorflow_start_up_noise_is_silenced_unless_verbose(tmp_path):
    quiet = _run_cli(["xor", "entrenar", "--epocas", "2", "--salida", str(tmp_path / "a")],
                     tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    for noise in NOISE:
        assert noise not in quiet.stderr
    loud = _run_cli(["--verbose", "xor", "entrenar", "--epocas", "2",
                     "--salida", str(tmp_path / "b")], tmp_path)
    assert loud.returncode == 0, loud.stderr
    # --verbose lo devuelve (qué líneas escribe TensorFlow depende de la CPU y del entorno).
    assert any(noise in loud.stderr for noise in NOISE)
