"""Descarga, solo cuando el usuario la pide, de los datos públicos de los posts del blog.

Cada conjunto registrado tiene su dirección pública y su sha256. :func:`download_dataset`
descarga a un temporal junto al destino, comprueba el sha256 y solo entonces lo renombra
(escritura atómica): si la suma no coincide, el temporal se borra y se lanza un error.
Nada del proyecto descarga por su cuenta; las pruebas sustituyen :func:`fetch_url`.

Ejemplo::

    ruta = download_dataset("ventas", "datos_blog/")   # datos_blog/time_series.csv
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import urllib.error
import urllib.request
from pathlib import Path

from nucleo.archivos import atomic_path
from nucleo.archivos import sha256_of
from nucleo.errores import ArgumentError, DataError, DownloadError

logger = logging.getLogger("redes")


@dataclasses.dataclass(frozen=True)
class RemoteDataset:
    """Un archivo público descargable y su suma de comprobación."""

    name: str
    url: str
    sha256: str
    filename: str
    description: str


DATASETS = {
    "ventas": RemoteDataset(
        name="ventas",
        url="https://raw.githubusercontent.com/jbagnato/machine-learning/master/time_series.csv",
        sha256="cf6fc87395ca68533587d05e5f4a2a975bdb36c7dd1dd73cb248fca11ac8f7a0",
        filename="time_series.csv",
        description="ventas diarias del blog (2017-01-02 … 2018-11-30, 604 filas; "
                    "repositorio jbagnato/machine-learning, GPL-3.0)",
    ),
}
DEFAULT_DIR = Path("datos_descargados")


def verify_sha256(path, expected: str) -> str:
    """Comprueba que el sha256 de ``path`` es ``expected``.

    Returns:
        La suma calculada.

    Raises:
        DataError: si el archivo no existe o la suma no coincide (da las dos).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"No existe el archivo «{path}» cuya suma sha256 hay que comprobar.")
    actual = sha256_of(path)
    if actual != expected.lower():
        raise DataError(
            f"«{path}»: la suma sha256 es {actual} y se esperaba {expected.lower()}; el "
            "archivo está dañado o no es el publicado."
        )
    return actual


def fetch_url(url: str, timeout: float = 30.0) -> bytes:
    """Descarga ``url`` completa (las pruebas sustituyen esta función)."""
    # Solo las direcciones fijas de DATASETS llegan aquí.
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def destination_path(name: str, dest=None) -> Path:
    """El archivo que escribirá :func:`download_dataset` para ``name`` y ``dest``.

    ``dest`` puede ser una carpeta (existente o acabada en «/») o el archivo final.

    Raises:
        ArgumentError: conjunto desconocido.
    """
    return _destination(_dataset(name), dest)


def _dataset(name: str) -> RemoteDataset:
    if name not in DATASETS:
        raise ArgumentError(
            f"No hay ningún conjunto descargable «{name}»; "
            f"conocidos: {', '.join(sorted(DATASETS))}."
        )
    return DATASETS[name]


def _destination(dataset: RemoteDataset, dest) -> Path:
    if dest is None:
        return DEFAULT_DIR / dataset.name / dataset.filename
    dest_text = str(dest)
    dest = Path(dest)
    if dest.is_dir() or dest_text.endswith(("/", "\\")):
        return dest / dataset.filename
    return dest


def download_dataset(name: str, dest=None, *, timeout: float = 30.0) -> Path:
    """Descarga el conjunto ``name`` y comprueba su sha256 antes de dejarlo en ``dest``.

    Si ``dest`` ya existe con la suma correcta no se descarga nada.

    Args:
        name: conjunto registrado (``"ventas"``).
        dest: archivo o carpeta de destino (por defecto
            ``datos_descargados/<name>/<archivo>``).
        timeout: segundos de espera de la conexión.

    Returns:
        La ruta del archivo comprobado.

    Raises:
        ArgumentError: conjunto desconocido.
        DownloadError: sin conexión o error HTTP; explica cómo hacerlo a mano.
        DataError: la suma sha256 de lo descargado no coincide (no queda ningún archivo).
    """
    dataset = _dataset(name)
    path = _destination(dataset, dest)
    if path.is_file():
        try:
            verify_sha256(path, dataset.sha256)
        except DataError:
            logger.warning("«%s» existe pero su sha256 no es el esperado; se descarga de nuevo.",
                           path)
        else:
            logger.info("«%s» ya está descargado y su sha256 es correcto.", path)
            return path

    logger.info("Descargando %s desde %s ...", dataset.description, dataset.url)
    try:
        content = fetch_url(dataset.url, timeout=timeout)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"No se pudo descargar «{name}» desde {dataset.url} ({reason}). Sin conexión: "
            f"descarga ese archivo en otra máquina y cópialo como «{path}»; su sha256 debe "
            f"ser {dataset.sha256} (compruébalo con «sha256sum {path.name}»)."
        ) from None
    actual = hashlib.sha256(content).hexdigest()
    if actual != dataset.sha256:
        raise DataError(
            f"Lo descargado de {dataset.url} tiene sha256 {actual} y se esperaba "
            f"{dataset.sha256}: no se ha guardado nada en «{path}». Vuelve a intentarlo o "
            "descárgalo a mano y compruébalo."
        )
    with atomic_path(path) as tmp:
        tmp.write_bytes(content)
    logger.info("Guardado en «%s» (%d bytes, sha256 correcto).", path, len(content))
    return path
