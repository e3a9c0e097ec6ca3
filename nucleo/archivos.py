"""Escritura atómica de archivos: temporal en la misma carpeta + ``os.replace``.

Todo lo que el proyecto escribe para el usuario (pesos HDF5, JSON, PNG, registros) pasa
por aquí: si algo falla a mitad, el archivo anterior queda intacto y no queda ningún
temporal. El temporal se crea con permisos según la umask, como un archivo normal
(``tempfile.mkstemp`` los dejaría en 0600).

Y la lectura de un JSON que puede venir de fuera (:func:`read_json`), con su tamaño y su
profundidad acotados.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import secrets
from pathlib import Path
from typing import IO
from typing import Any
from collections.abc import Callable, Iterator


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
    remove_stale_temporaries(path)
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


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # existe, pero es de otro usuario
        return True
    return True


def remove_stale_temporaries(path) -> list[Path]:
    """Borra los temporales de ``path`` que dejó un proceso ya muerto (p. ej. ``kill -9``).

    Solo toca archivos ``.<nombre>.<pid>.<hex>.tmp[.ext]`` junto a ``path`` cuyo proceso
    ya no existe; los de un proceso vivo (otra escritura en curso) se respetan.

    Returns:
        Las rutas borradas.
    """
    path = Path(path)
    removed = []
    prefix = f".{path.name}."
    if not path.parent.is_dir():
        return removed
    for candidate in path.parent.glob(f".{glob.escape(path.name)}.*.tmp*"):
        parts = candidate.name[len(prefix):].split(".")
        if len(parts) < 3 or not parts[0].isdigit() or parts[2] != "tmp":
            continue
        if int(parts[0]) != os.getpid() and not _process_alive(int(parts[0])):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


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


def write_csv(path, header, rows) -> Path:
    """Escribe un CSV (cabecera ``header`` y las filas ``rows``) de forma atómica.

    Returns:
        La ruta escrita.
    """
    import csv

    def write(handle) -> None:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)

    return atomic_write(path, write, text=True)


def check_output_path(path, name: str, *, folder: bool = False) -> Path:
    """Comprueba, sin escribir nada que quede, que se podrá escribir ``path``.

    Se llama antes de un trabajo largo (entrenar), para no perder el resultado al final
    por una ruta imposible.

    Args:
        path: archivo (o carpeta, con ``folder=True``) que se escribirá después.
        name: la opción o argumento que dio la ruta (``--json``), para el mensaje.
        folder: ``path`` es una carpeta que se creará si falta.

    Returns:
        ``path`` como ``Path``.

    Raises:
        ArgumentError: si ``path`` es una carpeta (o un archivo, con ``folder``), si una
            carpeta de la ruta es un archivo, o si no se puede escribir allí.
    """
    import tempfile

    from nucleo.errores import ArgumentError

    path = Path(path)
    if str(path).strip() == "":
        raise ArgumentError(f"{name}: la ruta está vacía.")
    if folder and path.exists() and not path.is_dir():
        raise ArgumentError(f"{name}: «{path}» es un archivo; se esperaba una carpeta.")
    if not folder and path.is_dir():
        raise ArgumentError(f"{name}: «{path}» es una carpeta; se esperaba la ruta de un "
                            "archivo.")
    existing = path if folder else path.parent
    existing = existing.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ArgumentError(f"{name}: no se puede escribir «{path}»: «{existing}» es un "
                            "archivo, no una carpeta.")
    try:
        # Un temporal que se borra al cerrarse: prueba real de escritura (/proc, solo lectura).
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise ArgumentError(f"{name}: no se puede escribir en «{existing}» "
                            f"({exc.strerror or exc}).") from None
    return path


def sha256_of(path) -> str:
    """sha256 en hexadecimal del contenido de ``path``, leído por partes."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def strict_json(value: Any) -> Any:
    """``value`` listo para JSON estricto (RFC 8259): los reales no finitos (NaN, ±inf),
    que ``json.dumps`` escribiría como ``NaN`` y un navegador rechaza, pasan a ``None``
    (``null``). Recorre diccionarios, listas y tuplas; lo demás queda igual."""
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(item) for item in value]
    return value


def dumps_strict(value: Any, **options) -> str:
    """``json.dumps`` de :func:`strict_json` con ``allow_nan=False``: nunca escribe NaN."""
    return json.dumps(strict_json(value), allow_nan=False, **options)


def json_depth(value: Any, limit: int) -> int:
    """Niveles de listas y diccionarios anidados en ``value`` (deja de contar tras ``limit``)."""
    depth, level = 0, [value]
    while level:
        depth += 1
        if depth > limit:
            return depth
        following = []
        for item in level:
            if isinstance(item, dict):
                following.extend(item.values())
            elif isinstance(item, list):
                following.extend(item)
        level = following
    return depth


def read_json(path, *, max_bytes: int | None = None, max_depth: int | None = None) -> Any:
    """Lee un JSON UTF-8; con límites, para archivos que pueden venir de cualquier parte.

    Args:
        path: el archivo.
        max_bytes: tamaño máximo (``None``: sin límite).
        max_depth: niveles de listas y diccionarios anidados como mucho.

    Raises:
        DataError: si no existe, no es un archivo, supera un límite o no es JSON válido
            (nombra el archivo).
    """
    from nucleo.errores import DataError

    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(-1 if max_bytes is None else max_bytes + 1)
    except FileNotFoundError:
        raise DataError(f"No existe el archivo JSON «{path}».") from None
    except OSError as exc:
        raise DataError(f"No se puede leer «{path}» ({exc.strerror or exc}).") from None
    if max_bytes is not None and len(raw) > max_bytes:
        raise DataError(f"«{path}» ocupa más de {max_bytes} bytes: no parece un JSON de "
                        "redes-keras.")
    try:
        value = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise DataError(f"«{path}» anida demasiados niveles de JSON.") from None
    except ValueError as exc:  # también UnicodeDecodeError
        raise DataError(f"«{path}» no es JSON válido: {exc}.") from None
    if max_depth is not None and json_depth(value, max_depth) > max_depth:
        raise DataError(f"«{path}» anida más de {max_depth} niveles de JSON.")
    return value
