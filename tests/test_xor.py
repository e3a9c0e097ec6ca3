"""La tarea XOR del blog: aprende hasta exactitud 1.0 y predice 0, 1, 1, 0."""

import os
import subprocess
import sys

import numpy as np

import modelos
from cli.principal import main
from informes.resultado import TaskResult
from tareas.xor import XOR_INPUTS
from tareas.xor import train_xor


def test_xor_is_deterministic_when_seeded(tmp_path):
    first = train_xor(epochs=50, seed=3, run_dir=tmp_path / "a")
    second = train_xor(epochs=50, seed=3, run_dir=tmp_path / "b")
    assert isinstance(first, TaskResult) and first.metrics["epocas"] == 50
    assert first.metrics["loss"] == second.metrics["loss"]
    assert [p["prediccion"] for p in first.data["predicciones"]] == [
        p["prediccion"] for p in second.data["predicciones"]]


def _stored_best(path):
    return modelos.load_metadata(path)["metadata"]["mejor"]


def test_rerunning_xor_never_replaces_a_better_model_with_a_worse_one(tmp_path):
    """Defecto 6: XOR no se reanuda; la segunda ejecución no pisa un modelo mejor."""
    long_run = train_xor(epochs=100, seed=0, run_dir=tmp_path)
    best = _stored_best(long_run.file("pesos"))
    expected = modelos.load(long_run.file("pesos")).predict(XOR_INPUTS, verbose=0)

    log, plot = (tmp_path / "registro.csv").read_bytes(), (tmp_path / "curvas.png").read_bytes()
    short_run = train_xor(epochs=5, seed=0, run_dir=tmp_path)  # mucho peor
    assert _stored_best(short_run.file("pesos")) == best
    # El registro y las curvas siguen describiendo el modelo guardado; los de la ejecución
    # descartada quedan al lado, con su nombre.
    assert (tmp_path / "registro.csv").read_bytes() == log
    assert (tmp_path / "curvas.png").read_bytes() == plot
    discarded = (tmp_path / "registro_descartado.csv").read_text().splitlines()
    assert len(discarded) == 1 + 5 and (tmp_path / "curvas_descartado.png").is_file()
    assert short_run.files["registro_descartado"] == tmp_path / "registro_descartado.csv"
    assert not (tmp_path / "registro_nuevo.csv").exists()
    np.testing.assert_array_equal(
        modelos.load(short_run.file("pesos")).predict(XOR_INPUTS, verbose=0), expected)
    # El modelo devuelto es el conservado, no el de la ejecución corta.
    np.testing.assert_array_equal(short_run.model.predict(XOR_INPUTS, verbose=0), expected)
    # Una ejecución que sí mejora (las mismas 100 épocas y 200 más) sustituye modelo,
    # registro y curvas.
    better = train_xor(epochs=300, seed=0, run_dir=tmp_path)
    assert _stored_best(better.file("pesos"))["valor"] < best["valor"]
    assert len((tmp_path / "registro.csv").read_text().splitlines()) == 1 + 300
    assert "registro_descartado" not in better.files


def test_rerun_with_other_settings_starts_a_new_model(tmp_path):
    """Otra tarea en la misma carpeta (otros metadatos) no hereda el listón anterior."""
    from entrenamiento.entrenar import train
    from tareas.xor import XOR_TARGETS

    train_xor(epochs=100, seed=0, run_dir=tmp_path)
    other = train("xor", {}, (XOR_INPUTS, XOR_TARGETS), None, run_dir=tmp_path, epochs=3,
                  batch_size=4, monitor="loss", metadata={"tarea": "otra"}, verbose=0,
                  backup=False)
    assert other.best_epoch is not None
    assert _stored_best(other.weights_path)["epoca"] == other.best_epoch


def test_orphan_temporaries_of_a_killed_writer_are_removed(tmp_path):
    """Un ``kill -9`` a mitad de escritura deja un temporal: la siguiente escritura lo borra."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    orphan = tmp_path / f".modelo.h5.{dead.stdout.strip()}.deadbeef.tmp"
    orphan.write_bytes(b"medio archivo")
    alive = tmp_path / f".modelo.h5.{os.getppid()}.cafe0000.tmp"  # proceso vivo: se respeta
    alive.write_bytes(b"otra escritura en curso")
    result = train_xor(epochs=3, seed=0, run_dir=tmp_path)
    assert result.file("pesos").is_file()
    assert not orphan.exists()
    assert alive.exists()


def test_ctrl_c_message_does_not_promise_a_resume_for_xor(tmp_path, monkeypatch, capsys):
    import tareas.xor

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tareas.xor, "train_xor", interrupted)
    assert main(["xor", "entrenar", "--salida", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert "no se reanuda" in err and "para reanudar" not in err


def test_xor_takes_the_common_training_options(tmp_path):
    """--lote, --tasa, --paciencia y --minutos llegan al entrenamiento y a la configuración."""
    import json

    from cli.principal import main

    run = tmp_path / "xor"
    assert main(["xor", "entrenar", "--epocas", "400", "--lote", "2", "--tasa", "1e-9",
                 "--paciencia", "1", "--salida", str(run)]) == 0
    saved = json.loads((run / "configuracion.json").read_text())
    assert (saved["lote"], saved["tasa"], saved["paciencia"]) == (2, 1e-9, 1)
    # Con una tasa casi nula la pérdida deja de mejorar y la paciencia 1 para mucho antes.
    log = (run / "registro.csv").read_text().splitlines()
    assert 1 < len(log) - 1 < 400
    from tareas.xor import train_xor

    quick = train_xor(epochs=100000, minutes=0.02, learning_rate=0.5, run_dir=tmp_path / "t")
    assert quick.metrics["epocas"] < 100000          # el tope de tiempo la paró
    assert float(quick.model.optimizer.learning_rate) == 0.5


def test_ctrl_c_after_some_epochs_ends_with_the_best_model_and_says_so(tmp_path, monkeypatch,
                                                                     capsys):
    """Un Ctrl+C con épocas ya hechas: el resumen sale (con el mejor modelo guardado) y
    dice por qué paró; la orden devuelve 130, el código de Ctrl+C."""
    import json

    import keras

    from entrenamiento import entrenar

    class CtrlC(keras.callbacks.Callback):   # a mitad de la cuarta época
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 3:
                raise KeyboardInterrupt

    original = entrenar._fit
    monkeypatch.setattr(entrenar, "_fit", lambda model, x, v, run, callbacks: original(
        model, x, v, run, [*callbacks, CtrlC()]))
    summary = tmp_path / "resumen.json"
    assert main(["xor", "entrenar", "--epocas", "50", "--salida", str(tmp_path / "x"),
                 "--json", str(summary)]) == 130
    metrics = json.loads(summary.read_text())["metricas"]
    assert metrics["motivo_parada"] == "interrumpido (Ctrl+C)"
    assert metrics["epocas_corridas"] == 3
    assert len((tmp_path / "x" / "registro.csv").read_text().splitlines()) == 4
    assert "Por qué paró" in capsys.readouterr().out
