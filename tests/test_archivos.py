"""Escritura atómica compartida: pesos, JSON, PNG y registros pasan por aquí."""

import os

import pytest

from nucleo.archivos import atomic_path
from nucleo.archivos import atomic_write


def test_atomic_write_replaces_and_follows_the_umask(tmp_path):
    path = tmp_path / "sub" / "datos.txt"
    atomic_write(path, lambda h: h.write("uno"), text=True)
    atomic_write(path, lambda h: h.write(b"dos"))
    assert path.read_bytes() == b"dos"
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in path.parent.iterdir()] == ["datos.txt"]


def test_failure_midway_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "datos.txt"
    path.write_text("original")

    def fail(handle):
        handle.write("a medias")
        raise OSError("disco lleno (simulado)")

    with pytest.raises(OSError, match="disco lleno"):
        atomic_write(path, fail, text=True)
    assert path.read_text() == "original"
    assert [p.name for p in tmp_path.iterdir()] == ["datos.txt"]


def test_atomic_path_for_libraries_that_open_by_name(tmp_path):
    path = tmp_path / "x.bin"
    with atomic_path(path) as tmp:
        assert tmp.parent == tmp_path and tmp != path
        tmp.write_bytes(b"123")
        assert not path.exists()  # aún no se ha renombrado
    assert path.read_bytes() == b"123"
