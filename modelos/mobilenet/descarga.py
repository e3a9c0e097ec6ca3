"""``redes pesos descargar mobilenetv2``: el archivo de ImageNet de
``keras.applications.MobileNetV2``, solo cuando el usuario lo pide.

Se descarga por partes a un temporal junto al destino, con un tope de tamaño, y antes de
renombrarlo (escritura atómica) se comprueba: su tamaño, su sha256 si se conoce (Keras no
lo publica: ``--sha256`` lo fija, y el resumen da el calculado para fijarlo la próxima
vez) y su contenido, que se lee como :func:`modelos.yolo.transferencia.load_backbone_weights`
lo leerá (HDF5 de Keras 2 con todas las capas de la MobileNetV2). Si algo falla, no queda
ningún archivo.
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
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.errores import DownloadError
from nucleo.errores import ModelFileError
from nucleo.vocabulario import PRETRAINED_DIR

logger = logging.getLogger("redes")

#: Carpeta por defecto de los pesos descargados.
DEFAULT_DIR = Path(PRETRAINED_DIR)
#: Bytes por lectura.
CHUNK = 1 << 16


@dataclasses.dataclass(frozen=True)
class RemoteWeights:
    """Un archivo de pesos público: dirección, nombre, tamaño y sha256 (si se conoce)."""

    name: str
    url: str
    filename: str
    size: int
    sha256: str | None
    description: str


WEIGHTS = {
    "mobilenetv2": RemoteWeights(
        name="mobilenetv2",
        url="https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
        filename="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
        # El tamaño que registran las descargas de keras.applications; Keras no publica
        # su sha256 (get_file se llama sin file_hash).
        size=9_406_464,
        sha256=None,
        description="la MobileNetV2 de ImageNet sin cabeza de keras.applications (alpha 1.0)",
    ),
}


def _weights(name: str) -> RemoteWeights:
    if name not in WEIGHTS:
        raise ArgumentError(f"No hay pesos descargables «{name}»; conocidos: "
                            f"{', '.join(sorted(WEIGHTS))}.")
    return WEIGHTS[name]


def destination_path(name: str, dest=None) -> Path:
    """El archivo que escribirá :func:`download_weights` (``dest`` es una carpeta)."""
    return Path(dest if dest is not None else DEFAULT_DIR) / _weights(name).filename


def _check_content(path: Path, shown: Path) -> None:
    """Lee el archivo como lo hará ``--backbone-pesos`` (sin asignar nada)."""
    from modelos.keras2_h5 import read_keras2_weights
    from modelos.mobilenet.keras_aplicaciones import KERAS_LAYER
    from modelos.mobilenet.keras_aplicaciones import is_keras_applications
    from modelos.mobilenet.keras_aplicaciones import keras_layer_weights

    try:
        if not is_keras_applications(path):
            raise ModelFileError("no es un HDF5 de Keras 2 con sus capas")
        layers = keras_layer_weights(read_keras2_weights(path, KERAS_LAYER), shown)
    except ModelFileError as exc:
        raise DataError(f"Lo descargado no es la MobileNetV2 de keras.applications "
                        f"({str(exc).replace(str(path), str(shown))}); no se ha guardado "
                        f"nada en «{shown}».") from None
    if len(layers) != 104:
        raise DataError(f"Lo descargado trae {len(layers)} capas de la MobileNetV2 y se "
                        f"esperaban 104; no se ha guardado nada en «{shown}».")


def download_weights(name: str = "mobilenetv2", dest=None, *, url: str | None = None,
                     sha256: str | None = None, timeout: float = 30.0,
                     progress: bool = True) -> dict:
    """Descarga los pesos ``name`` a la carpeta ``dest`` y los comprueba antes de dejarlos.

    Args:
        name: pesos registrados (``"mobilenetv2"``).
        dest: carpeta de destino (por defecto ``pesos/imagenet``).
        url: otra dirección (un espejo); por defecto la de Keras.
        sha256: la suma esperada; con ella no se comprueba el tamaño registrado.
        timeout: segundos de espera de la conexión.
        progress: barra de progreso.

    Returns:
        ``{"archivo", "bytes", "sha256", "sha256_comprobado", "ya_estaba"}``.

    Raises:
        ArgumentError: pesos desconocidos o ``sha256`` que no es hexadecimal de 64.
        DownloadError: sin conexión o error HTTP (dice cómo hacerlo a mano).
        DataError: tamaño, suma o contenido que no son los esperados (no queda archivo).
    """
    remote = _weights(name)
    expected = (sha256 or remote.sha256 or "").lower() or None
    if expected is not None and (len(expected) != 64 or any(
            c not in "0123456789abcdef" for c in expected)):
        raise ArgumentError(f"«--sha256» debe tener 64 cifras hexadecimales; recibido "
                            f"{sha256!r}.")
    path = destination_path(name, dest)
    present = sha256_of(path) if path.is_file() else None
    if present is not None and expected in (None, present):
        try:
            _check_content(path, path)
        except DataError:
            logger.warning("«%s» existe pero no es válido; se descarga de nuevo.", path)
        else:
            logger.info("«%s» ya estaba y es válido: no se descarga.", path)
            return {"archivo": str(path), "bytes": path.stat().st_size,
                    "sha256": present, "sha256_comprobado": expected is not None,
                    "ya_estaba": True}
    source = url or remote.url
    limit = remote.size if expected is None else 64 * 2**20
    logger.info("Descargando %s desde %s ...", remote.description, source)
    digest = hashlib.sha256()
    with atomic_path(path) as tmp:
        size = _fetch(source, tmp, digest, limit, timeout, progress, name, path)
        if expected is None and size != remote.size:
            raise DataError(f"Lo descargado de {source} tiene {size} bytes y el archivo de "
                            f"Keras tiene {remote.size}: no se ha guardado nada en «{path}».")
        actual = digest.hexdigest()
        if expected is not None and actual != expected:
            raise DataError(f"Lo descargado de {source} tiene sha256 {actual} y se esperaba "
                            f"{expected}: no se ha guardado nada en «{path}».")
        _check_content(tmp, path)
    logger.info("Guardado en «%s» (%d bytes, sha256 %s).", path, size, actual)
    return {"archivo": str(path), "bytes": size, "sha256": actual,
            "sha256_comprobado": expected is not None, "ya_estaba": False}


def _fetch(url: str, tmp: Path, digest, limit: int, timeout: float, progress: bool,
           name: str, path: Path) -> int:
    """Escribe ``url`` en ``tmp`` por partes (como mucho ``limit`` bytes); da los bytes."""
    from tqdm.auto import tqdm

    if not url.startswith(("https://", "http://")):
        raise ArgumentError(f"«--url» debe empezar por https:// o http://; recibido {url!r}.")
    size = 0
    try:
        # Solo la dirección registrada o la que da el usuario con --url.
        with urllib.request.urlopen(url, timeout=timeout) as response:
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > limit:
                raise DataError(f"{url} anuncia {declared} bytes, más de los {limit} "
                                f"esperados: no se descarga nada en «{path}».")
            with tmp.open("wb") as handle, tqdm(total=declared or None, unit="B",
                                                unit_scale=True, desc="Descargando",
                                                disable=not progress) as bar:
                for block in iter(lambda: response.read(CHUNK), b""):
                    size += len(block)
                    if size > limit:
                        raise DataError(f"{url} manda más de los {limit} bytes esperados: "
                                        f"no se ha guardado nada en «{path}».")
                    digest.update(block)
                    handle.write(block)
                    bar.update(len(block))
            if declared and size != declared:
                raise DownloadError(f"La descarga de {url} se cortó: {size} de {declared} "
                                    f"bytes. No se ha guardado nada en «{path}»; vuelva a "
                                    "intentarlo.")
    except (urllib.error.URLError, OSError) as exc:
        if isinstance(exc, DownloadError):
            raise
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"No se pudo descargar «{name}» desde {url} ({reason}). Sin conexión: descargue "
            f"ese archivo en otra máquina, cópielo como «{path}» y páselo a --backbone-pesos "
            "(se comprueba al leerlo).") from None
    return size
