"""Pruebas de informes.graficos: curvas de entrenamiento y matriz de confusión en PNG."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from nucleo.errores import ArgumentError, DataError
from informes.graficos import metric_label
from informes.graficos import plot_confusion_matrix
from informes.graficos import plot_history
from informes.graficos import read_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HISTORY = {
    "loss": [0.9, 0.6, 0.4],
    "val_loss": [1.0, 0.7, 0.6],
    "accuracy": [0.5, 0.7, 0.8],
    "val_accuracy": [0.4, 0.6, 0.75],
}


def png_size(path) -> tuple[int, int]:
    """(ancho, alto) leídos de la cabecera IHDR del PNG."""
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_plot_history_from_dict(tmp_path):
    path = plot_history(HISTORY, tmp_path / "sub" / "curvas.png")
    assert path == tmp_path / "sub" / "curvas.png"
    width, height = png_size(path)
    assert path.stat().st_size > 5000
    assert width > height  # dos gráficas lado a lado (pérdida y exactitud)
    assert [p.name for p in path.parent.iterdir()] == ["curvas.png"]  # sin temporales


def test_plot_history_layout_follows_metrics(tmp_path):
    one = png_size(plot_history({"loss": [1.0, 0.5]}, tmp_path / "una.png"))
    four = png_size(plot_history({**HISTORY, "mae": [3, 2, 1], "lr": [0.1] * 3},
                                 tmp_path / "cuatro.png"))
    assert four[0] > one[0] and four[1] > one[1]  # 3 columnas × 2 filas frente a 1 × 1


def test_plot_history_from_csv(tmp_path):
    log = tmp_path / "registro.csv"
    log.write_text("epoch,loss,val_loss\n0,0.9,NA\n1,0.5,NA\n")
    history = read_history(log)
    assert history == {"loss": [0.9, 0.5]}  # la columna val_loss vacía se descarta
    path = plot_history(log, tmp_path / "curvas.png")
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_read_history_orders_epochs_and_skips_cut_lines(tmp_path):
    log = tmp_path / "registro.csv"
    log.write_text("epoch,loss,val_loss\n1,0.5,0.6\n0,0.9,NA\n1,0.4,0.5\n2,0.3")
    history = read_history(log)
    assert history["loss"] == [0.9, 0.4]  # época 1 repetida: cuenta la última
    assert math.isnan(history["val_loss"][0]) and history["val_loss"][1] == 0.5


def test_read_history_errors(tmp_path):
    with pytest.raises(DataError, match="no_existe.csv"):
        read_history(tmp_path / "no_existe.csv")
    bad = tmp_path / "otro.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="epoch"):
        read_history(bad)
    with pytest.raises(DataError, match="ninguna métrica"):
        plot_history({}, tmp_path / "vacio.png")
    assert not (tmp_path / "vacio.png").exists()


def test_plot_does_not_touch_user_matplotlib_state(tmp_path):
    import matplotlib

    backend = matplotlib.rcParams["backend"]
    had_pyplot = "matplotlib.pyplot" in sys.modules
    figures = sys.modules["matplotlib.pyplot"].get_fignums() if had_pyplot else None
    plot_history(HISTORY, tmp_path / "curvas.png")
    plot_confusion_matrix([[1, 0], [0, 1]], ["a", "b"], tmp_path / "matriz.png")
    # Ni matplotlib.use() ni figuras de pyplot: la sesión del usuario sigue igual.
    assert matplotlib.rcParams["backend"] == backend
    if had_pyplot:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == figures
    else:
        assert "matplotlib.pyplot" not in sys.modules


@pytest.mark.parametrize("normalize", [False, True], ids=["conteos", "normalizada"])
def test_plot_confusion_matrix(tmp_path, normalize):
    matrix = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 4]])
    path = plot_confusion_matrix(matrix, ["gato", "perro", "pez"], tmp_path / "m" / "matriz.png",
                                 normalize=normalize)
    width, height = png_size(path)
    assert path.stat().st_size > 5000 and width > 200 and height > 200


def test_plot_confusion_matrix_handles_empty_row(tmp_path):
    path = plot_confusion_matrix([[0, 0], [1, 3]], ["a", "b"], tmp_path / "m.png", normalize=True)
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_plot_confusion_matrix_validates(tmp_path):
    with pytest.raises(ArgumentError, match="cuadrada"):
        plot_confusion_matrix([[1, 2, 3], [4, 5, 6]], ["a", "b"], tmp_path / "m.png")
    with pytest.raises(ArgumentError, match="«class_names» tiene 3"):
        plot_confusion_matrix([[1, 2], [3, 4]], ["a", "b", "c"], tmp_path / "m.png")
    assert not (tmp_path / "m.png").exists()


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    path = plot_history(HISTORY, tmp_path / "curvas.png")
    before = path.read_bytes()
    from matplotlib.figure import Figure

    def broken(self, *args, **kwargs):
        raise RuntimeError("disco lleno")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disco lleno"):
        plot_history({"loss": [1.0]}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["curvas.png"]


def test_metric_label():
    assert metric_label("loss") == "Pérdida"
    assert metric_label("accuracy") == "Exactitud"
    assert metric_label("mi_metrica") == "mi_metrica"
