"""Archivos de modelos hostiles: tamaños declarados imposibles, JSON anidado sin fin y
enlaces que salen de la carpeta se rechazan con un error claro, antes de reservar nada."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest

import modelos
from cli.principal import main
from nucleo.errores import ModelFileError


def _tiny_yolo(path):
    return modelos.save(modelos.build_yolo(["a"], input_size=64, backbone="tiny",
                                           width_multiplier=0.125), path)


@pytest.mark.neutral
@pytest.mark.parametrize("side", [20_000, 3_200_000])
def test_a_yolo_file_declaring_a_huge_input_is_refused_at_load(tmp_path, side):
    path = _tiny_yolo(tmp_path / "m.h5")
    with h5py.File(path, "r+") as handle:
        kwargs = json.loads(handle.attrs["kwargs"])
        kwargs["input_size"] = [side, side]
        handle.attrs["kwargs"] = json.dumps(kwargs)
    with pytest.raises(ModelFileError, match=f"{side}×{side}.*lado máximo de una imagen, 4096"):
        modelos.load(path)


def _export_folder(tmp_path):
    from inferencia.exportar import export_model

    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    return export_model(_tiny_yolo(tmp_path / "m.h5"), "onnx", tmp_path / "exp").parent


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return _export_folder(tmp_path_factory.mktemp("exportacion"))


def _copy(folder, tmp_path):
    import shutil

    return shutil.copytree(folder, tmp_path / "copia")


def test_a_deeply_nested_description_is_one_clear_line(exported, tmp_path, capsys):
    folder = _copy(exported, tmp_path)
    (folder / "modelo.json").write_text("[" * 100_000 + "]" * 100_000)
    assert main(["deteccion", "predecir", "--pesos", str(folder), str(folder / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "modelo.json" in err and "niveles de JSON" in err and "Traceback" not in err


def test_an_artifact_linking_outside_its_folder_is_not_opened(exported, tmp_path):
    from inferencia.exportar import read_description

    folder = _copy(exported, tmp_path)
    (folder / "modelo.onnx").unlink()
    (folder / "modelo.onnx").symlink_to("/etc/passwd")
    with pytest.raises(ModelFileError, match="enlace que sale de la carpeta"):
        read_description(folder)


def test_a_description_declaring_a_huge_image_is_refused(exported, tmp_path):
    from inferencia.exportar import read_description

    folder = _copy(exported, tmp_path)
    description = json.loads((folder / "modelo.json").read_text())
    description["inputs"][0]["shape"] = [None, 20_000, 20_000, 3]
    (folder / "modelo.json").write_text(json.dumps(description))
    with pytest.raises(ModelFileError, match=r"inputs\[0\].shape.*20000.*lado máximo"):
        read_description(folder)
    description["inputs"][0]["shape"] = [None, 64, 64, 3]
    description["yolo"]["input_size"] = [3_200_000, 3_200_000]
    (folder / "modelo.json").write_text(json.dumps(description))
    with pytest.raises(ModelFileError, match="yolo.input_size"):
        read_description(folder)


# === Artefactos comprobados (sha256) y la caché ===
def test_a_swapped_or_cut_artifact_is_refused_in_a_folder(exported, tmp_path, capsys):
    from inferencia.exportar import export_model
    from inferencia.exportar import read_description

    other = export_model(modelos.save(modelos.build_yolo(
        ["a"], input_size=64, backbone="tiny", width_multiplier=0.25), tmp_path / "o.h5"),
        "onnx", tmp_path / "otra").parent
    folder = _copy(exported, tmp_path)
    assert set(read_description(folder)["sha256"]) == {"modelo.onnx"}
    (folder / "modelo.onnx").write_bytes((other / "modelo.onnx").read_bytes())
    with pytest.raises(ModelFileError, match="no es el archivo que se exportó"):
        read_description(folder)
    data = (exported / "modelo.onnx").read_bytes()
    (folder / "modelo.onnx").write_bytes(data[:len(data) // 2])
    assert main(["deteccion", "predecir", "--pesos", str(folder), str(folder / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "se cambió o se cortó" in err and "Traceback" not in err


def test_an_old_description_with_a_cut_onnx_is_a_clear_error(exported, tmp_path):
    """Sin sha256 (exportaciones anteriores), ONNX Runtime lo descubre: InvalidProtobuf
    pasa a un error que nombra el archivo."""
    from inferencia.exportar import read_description
    from inferencia.motores import open_export

    folder = _copy(exported, tmp_path)
    description = json.loads((folder / "modelo.json").read_text())
    del description["sha256"]
    (folder / "modelo.json").write_text(json.dumps(description))
    data = (folder / "modelo.onnx").read_bytes()
    (folder / "modelo.onnx").write_bytes(data[:len(data) // 2])
    with pytest.raises(ModelFileError, match="ONNX Runtime no pudo abrir .*modelo.onnx"):
        open_export(read_description(folder))


def test_a_broken_cache_entry_is_rebuilt_with_a_notice(tmp_path, monkeypatch, caplog):
    pytest.importorskip("onnxruntime")
    from inferencia import eleccion

    monkeypatch.setenv("REDES_CACHE", str(tmp_path / "cache"))
    weights = _tiny_yolo(tmp_path / "m.h5")
    first = eleccion.cached_export(weights, "onnx")
    artifact = Path(first["directory"]) / "modelo.onnx"
    good = artifact.read_bytes()
    artifact.write_bytes(good[:100])
    with caplog.at_level("WARNING", logger="redes"):
        again = eleccion.cached_export(weights, "onnx")
    assert "en la caché no vale" in caplog.text and "se rehace" in caplog.text
    rebuilt = Path(again["directory"]) / "modelo.onnx"
    assert rebuilt.stat().st_size > len(good) // 2   # entera otra vez (y su sha256 vale)


@pytest.mark.neutral
@pytest.mark.parametrize("where", ["archivo", "/proc/redes-keras", "/sys/redes-keras"])
def test_an_unusable_cache_folder_falls_back_with_a_notice(tmp_path, monkeypatch, caplog,
                                                           where):
    from inferencia import eleccion

    target = tmp_path / "un_archivo" if where == "archivo" else Path(where)
    if where == "archivo":
        target.write_text("no es una carpeta")
    monkeypatch.setenv("REDES_CACHE", str(target))
    eleccion._usable.cache_clear()
    with caplog.at_level("WARNING", logger="redes"):
        root = eleccion.cache_root()
    assert root != target and root.is_dir()
    assert "no se puede usar" in caplog.text and str(target) in caplog.text
