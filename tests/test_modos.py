"""Los modos que la gramática ``redes TAREA MODO`` añadió: ``xor evaluar/predecir``,
``pronostico evaluar``, ``traduccion evaluar`` y ``TAREA exportar`` (el modelo debe ser
de la tarea), y los alias que leen el modelo (``redes exportar``).

Cada modo nuevo se comprueba contra lo que ya medía el entrenamiento: con el mismo CSV
y los mismos días, ``pronostico evaluar`` da el MAE de validación de ``entrenar``; con
la misma semilla y las mismas frases de prueba, ``traduccion evaluar`` da su acierto
exacto de prueba.
"""

from __future__ import annotations

import json

import pytest

from cli.principal import _rewrite
from cli.principal import main
from datos.ventas import make_sales_series
from datos.ventas import write_sales_csv
from tests.helpers import cli_error


# === xor ===

@pytest.fixture(scope="module")
def xor_weights(tmp_path_factory):
    run = tmp_path_factory.mktemp("xor")
    assert main(["xor", "entrenar", "--epocas", "5", "--salida", str(run)]) == 0
    return run / "modelo.h5"


def test_xor_evaluate_and_predict_agree(xor_weights, tmp_path, capsys):
    assert main(["xor", "evaluar", "--pesos", str(xor_weights), "--salida", str(tmp_path),
                 "--json", str(tmp_path / "e.json")]) == 0
    assert "XOR: evaluación" in capsys.readouterr().out
    evaluation = json.loads((tmp_path / "e.json").read_text())
    rows = evaluation["predicciones"]
    assert [row["entrada"] for row in rows] == [[0, 0], [0, 1], [1, 0], [1, 1]]
    hits = sum(row["redondeo"] == row["esperado"] for row in rows)
    assert evaluation["metricas"]["binary_accuracy"] == hits / 4
    assert (tmp_path / "evaluacion.csv").read_text().count("\n") == 5

    assert main(["xor", "predecir", "--pesos", str(xor_weights), "0", "0", "0", "1", "1", "0",
                 "1", "1", "--salida", str(tmp_path), "--json", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "0 XOR 1 → " in out and f"predicciones: {tmp_path / 'predicciones.csv'}" in out
    predicted = json.loads((tmp_path / "p.json").read_text())
    assert [p["salida"] for p in predicted] == pytest.approx([r["prediccion"] for r in rows])
    assert (tmp_path / "predicciones.csv").read_text().splitlines()[1].startswith("0 0,")


def test_xor_bad_input_is_one_line(xor_weights, tmp_path, capsys):
    assert "van por pares" in cli_error(["xor", "predecir", "--pesos", str(xor_weights), "0", "1",
                                      "1"], capsys)
    assert "se esperaba 0 o 1" in cli_error(["xor", "predecir", "--pesos", str(xor_weights), "0",
                                          "2"], capsys)
    import modelos

    modelos.save(modelos.build_mlp(input_dim=2, hidden=[2], num_classes=2), tmp_path / "m.h5")
    assert "no es una red XOR" in cli_error(["xor", "evaluar", "--pesos", str(tmp_path / "m.h5")],
                                         capsys)


def test_export_checks_the_task_of_the_model(xor_weights, tmp_path, capsys):
    err = cli_error(["clasificacion", "exportar", "--pesos", str(xor_weights), "--formato",
                  "saved_model", "--salida", str(tmp_path / "x")], capsys)
    assert "es un modelo de la tarea «xor», no de «clasificacion»" in err
    assert "redes xor exportar" in err and not (tmp_path / "x").exists()


def test_old_export_deduces_the_task_from_the_weights(xor_weights, capsys):
    argv = ["exportar", "--pesos", str(xor_weights), "--formato", "onnx", "--salida", "x"]
    assert _rewrite(argv) == ["xor", *argv]
    assert capsys.readouterr().err == "aviso: «redes exportar» es ahora «redes xor exportar»\n"
    assert main(["exportar", "--pesos", "no_existe.h5", "--formato", "onnx",
                 "--salida", "x"]) == 2
    assert "no_existe.h5" in capsys.readouterr().err


# === demo ===

class _DemoStop(Exception):
    """Para una parte de la demo en cuanto su entrenador recibe la configuración."""


def test_demo_precision_reaches_every_trainer(tmp_path, monkeypatch, capsys):
    import datos.sinteticos
    import tareas.clasificacion
    import tareas.deteccion
    import tareas.traduccion
    import tareas.ventas
    import tareas.xor
    from informes.resultado import TaskResult
    from nucleo.vocabulario import TRAINING_PRECISIONS

    from cli.comun import subcommands
    from cli.principal import build_parser

    demo = subcommands(build_parser())["demo"]
    option = next(a for a in demo._actions if "--precision" in a.option_strings)
    assert tuple(option.choices) == TRAINING_PRECISIONS and option.default is None

    seen = {}
    metrics = dict.fromkeys(("binary_accuracy", "test_accuracy", "val_mae_unidades",
                             "val_mae_unidades_ingenuo", "test_exact_match",
                             "prueba_map_50"), 1.0)

    def part(name, precision):
        seen[name] = precision
        return TaskResult(title=name, metrics=metrics)

    monkeypatch.setattr(datos.sinteticos, "write_digits_folder", lambda folder: folder)
    monkeypatch.setattr(tareas.xor, "train_xor",
                        lambda **kwargs: part("xor", kwargs.get("precision")))
    monkeypatch.setattr(tareas.clasificacion, "train_classifier",
                        lambda config, verbose: part("digitos", config.precision))
    monkeypatch.setattr(tareas.ventas, "run_sales_demo",
                        lambda out_dir, seed, precision: part("ventas", precision))
    monkeypatch.setattr(tareas.traduccion, "run_translation_demo",
                        lambda out_dir, seed, **kwargs: part("traduccion",
                                                             kwargs.get("precision")))
    monkeypatch.setattr(tareas.deteccion, "run_detection_demo",
                        lambda out_dir, seed, precision: part("deteccion", precision))
    assert main(["demo", "--precision", "mixed_bfloat16", "--salida", str(tmp_path)]) == 0
    assert seen == dict.fromkeys(("xor", "digitos", "ventas", "traduccion", "deteccion"),
                                 "mixed_bfloat16")
    # Sin --precision, cada parte la suya: las cifras de la demo no cambian.
    assert main(["demo", "--salida", str(tmp_path)]) == 0
    assert seen == {"xor": None, "digitos": "auto", "ventas": None, "traduccion": None,
                    "deteccion": None}
    capsys.readouterr()


def test_demo_parts_pass_the_precision_to_their_trainers(tmp_path, monkeypatch):
    import datos.sinteticos
    from tareas.deteccion import demo as detection
    from tareas.traduccion import entrenar as translation
    from tareas.ventas import demo as sales

    def stop(config, **kwargs):
        raise _DemoStop(config.precision)

    monkeypatch.setattr(sales, "train_sales", stop)
    monkeypatch.setattr(translation, "train_numbers", stop)
    monkeypatch.setattr(detection, "train_yolo", stop)
    monkeypatch.setattr(datos.sinteticos, "make_shapes_dataset",
                        lambda folder, **kwargs: folder)
    runs = {"ventas": lambda **kw: sales.run_sales_demo(tmp_path, **kw),
            "traduccion": lambda **kw: translation.run_translation_demo(tmp_path, **kw),
            "deteccion": lambda **kw: detection.run_detection_demo(tmp_path, **kw)}
    # La de la demo sin --precision: las ventas en float32, como siempre; las demás, auto.
    defaults = {"ventas": "float32", "traduccion": "auto", "deteccion": "auto"}
    for name, run in runs.items():
        with pytest.raises(_DemoStop) as given:
            run(precision="mixed_bfloat16")
        assert given.value.args == ("mixed_bfloat16",), name
        with pytest.raises(_DemoStop) as default:
            run()
        assert default.value.args == (defaults[name],), name


def test_config_repeats_a_run_and_the_command_line_wins(xor_weights, tmp_path):
    def epochs(run):
        return json.loads((run / "configuracion.json").read_text())["epocas"]

    assert epochs(xor_weights.parent) == 5
    again = tmp_path / "otra"
    assert main(["xor", "entrenar", "--config", str(xor_weights.parent),
                 "--salida", str(again)]) == 0
    assert epochs(again) == 5
    assert main(["xor", "entrenar", "--config", str(again / "configuracion.json"),
                 "--epocas", "3", "--salida", str(tmp_path / "tres")]) == 0
    assert epochs(tmp_path / "tres") == 3


# === pronostico evaluar ===

@pytest.fixture(scope="module")
def sales(tmp_path_factory):
    root = tmp_path_factory.mktemp("pronostico")
    csv_path = write_sales_csv(make_sales_series(days=160, seed=3), root / "ventas.csv",
                               header=True)
    run = root / "run"
    assert main(["pronostico", "entrenar", "--csv", str(csv_path), "--modelo", "stmv",
                 "--epocas", "2", "--dias-validacion", "20", "--salida", str(run),
                 "--json", str(root / "e.json")]) == 0
    return csv_path, run / "modelo.h5", json.loads((root / "e.json").read_text())


def test_sales_evaluate_repeats_the_validation_of_training(sales, tmp_path, capsys):
    csv_path, weights, trained = sales
    assert main(["pronostico", "evaluar", "--pesos", str(weights), "--csv", str(csv_path),
                 "--salida", str(tmp_path), "--json", str(tmp_path / "v.json")]) == 0
    assert "evaluación a un paso" in capsys.readouterr().out
    evaluation = json.loads((tmp_path / "v.json").read_text())
    assert evaluation["metricas"]["dias"] == 20
    for key in ("val_mae_unidades", "val_rmse_unidades"):
        assert evaluation["metricas"][key] == pytest.approx(trained["metricas"][key], rel=1e-4)
    assert evaluation["metricas"]["val_mae_unidades_ingenuo"] > 0
    assert [row["fecha"] for row in evaluation["evaluacion"]] == [
        row["fecha"] for row in trained["validacion"]]
    assert (tmp_path / "evaluacion.csv").read_text().count("\n") == 21
    assert (tmp_path / "evaluacion.png").is_file()


def test_sales_evaluate_other_days_and_errors(sales, tmp_path, capsys):
    csv_path, weights, _ = sales
    assert main(["pronostico", "evaluar", "--pesos", str(weights), "--csv", str(csv_path),
                 "--dias-validacion", "5", "--salida", str(tmp_path),
                 "--json", str(tmp_path / "v.json")]) == 0
    assert json.loads((tmp_path / "v.json").read_text())["metricas"]["dias"] == 5
    assert "necesita al menos" in cli_error(
        ["pronostico", "evaluar", "--pesos", str(weights), "--csv", str(csv_path),
         "--dias-validacion", "1000", "--salida", str(tmp_path)], capsys)
    assert "--dias-validacion" in cli_error(
        ["pronostico", "evaluar", "--pesos", str(weights), "--csv", str(csv_path),
         "--dias-validacion", "0"], capsys)


# === traduccion evaluar ===

QUICK_RUN = ["--maximo", "999", "--frases-entrenamiento", "100", "--frases-validacion", "50",
             "--frases-prueba", "100", "--capas", "1", "--dmodelo", "16", "--cabezas", "2",
             "--dff", "32", "--dropout", "0", "--epocas", "1", "--lotes-por-epoca", "2",
             "--lote", "32", "--semilla", "4"]


@pytest.fixture(scope="module")
def translator(tmp_path_factory):
    root = tmp_path_factory.mktemp("traduccion")
    assert main(["traduccion", "entrenar", *QUICK_RUN, "--salida", str(root / "run"),
                 "--json", str(root / "e.json")]) == 0
    return root / "run" / "modelo.h5", json.loads((root / "e.json").read_text())


def test_translation_evaluate_repeats_the_test_of_training(translator, tmp_path, capsys):
    weights, trained = translator
    assert main(["traduccion", "evaluar", "--pesos", str(weights), "--frases-prueba", "100",
                 "--salida", str(tmp_path), "--json", str(tmp_path / "v.json")]) == 0
    assert "acierto exacto" in capsys.readouterr().out
    evaluation = json.loads((tmp_path / "v.json").read_text())
    assert evaluation["semilla"] == 4 and evaluation["metricas"]["numeros_prueba"] == 100
    assert evaluation["metricas"]["test_exact_match"] == trained["metricas"]["test_exact_match"]
    assert (tmp_path / "evaluacion.csv").read_text().count("\n") == 101


def test_translation_evaluate_errors(translator, capsys):
    weights, _ = translator
    assert "como mucho 999" in cli_error(["traduccion", "evaluar", "--pesos", str(weights),
                                       "--frases-prueba", "5000"], capsys)
    assert "--frases-prueba" in cli_error(["traduccion", "evaluar", "--pesos", str(weights),
                                        "--frases-prueba", "0"], capsys)
