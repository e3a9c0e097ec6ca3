"""La instalación: la rueda trae la página web y solo los paquetes del proyecto, y
construirla no llena la pantalla de avisos de setuptools (lo primero que ve quien llega)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _tracked_copy(target: Path) -> Path:
    """Los archivos versionados del repositorio, copiados a ``target`` (construir la
    rueda deja build/ y *.egg-info junto a las fuentes: así no tocan el repositorio)."""
    import shutil

    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    for name in files:
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_the_wheel_builds_quietly_with_the_web_page(tmp_path):
    source = _tracked_copy(tmp_path / "fuentes")
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v",
         "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    log = out.stdout + out.stderr
    assert "is absent from the `packages` configuration" not in log
    assert "BuildBackendWarning" not in log
    (wheel,) = tmp_path.glob("redes_keras-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "servicio/estatico/index.html" in names and "servicio/estatico/app.js" in names
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(
        ".dist-info")}
    assert tops == {"nucleo", "datos", "modelos", "entrenamiento", "informes", "inferencia",
                    "tareas", "servicio", "cli"}
