"""Escritura atómica de archivos: temporal en la misma carpeta + ``os.replace``.

Todo lo que el proyecto escribe para el usuario (pesos HDF5, JSON, PNG, registros) pasa
por aquí: si algo falla a mitad, el archivo anterior queda intacto y no queda ningún
temporal. El temporal se crea con permisos según la umask, como un archivo normal
(``tempfile.mkstemp`` los dejaría en 0600).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import IO, Callable, Iterator


@contextlib.contextmanager
def atomic_path(path, *, keep_suffix: bool = False) -> Iterator[Path]:
    """Da una ruta temporal junto a ``path``; al salir sin error la sincroniza y la renombra.

    Para bibliotecas que abren el archivo por su nombre (h5py). Si el bloque lanza una
    excepción, el temporal se borra y ``path`` no se toca. Con ``keep_suffix`` el
    temporal termina en la extensión de ``path`` (OpenCV elige el formato de vídeo
    por la extensión).

    Example:
        >>> with atomic_path("pesos/modelo.h5") as tmp:  # doctest: +SKIP
        ...     with h5py.File(tmp, "w") as f:
        ...         f["x"] = 1
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
                         + (path.suffix if keep_suffix else ""))
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path, write: Callable[[IO], None], *, text: bool = False) -> Path:
    """Escribe ``path`` llamando a ``write(handle)`` sobre un temporal, de forma atómica.

    Args:
        path: destino; se crean las carpetas que falten.
        write: función que recibe el archivo abierto y escribe en él.
        text: abrir en modo texto UTF-8 en lugar de binario.

    Returns:
        La ruta escrita.
    """
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        mode, encoding = ("w", "utf-8") if text else ("wb", None)
        with os.fdopen(fd, mode, encoding=encoding, newline="" if text else None) as handle:
            write(handle)
    return Path(path)
