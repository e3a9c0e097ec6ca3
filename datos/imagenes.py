"""Lectura de carpetas de imágenes con una subcarpeta por clase (como ``sportimages/``).

Estructura esperada (la del artículo «Clasificación de imágenes» del blog)::

    sportimages/
        americano/  0001.jpg 0002.jpg ...
        basket/     ...
        ...

Cada imagen se decodifica con Pillow llamando a ``.load()``: así un JPEG truncado
(que ``cv2.imread`` acepta sin avisar, rellenando de gris) se detecta y se omite.
Las imágenes ilegibles se omiten y se informan; nunca detienen la lectura.

Referencia:
    «Clasificación de imágenes en Python», Aprende Machine Learning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import numpy as np

from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.errores import EmptyDataError
from nucleo.errores import TooLargeError
from nucleo.validacion import shown
# Lado máximo (alto o ancho) al que se redimensiona una imagen para un clasificador.
from nucleo.vocabulario import MAX_IMAGE_SIDE

logger = logging.getLogger("redes")

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})
#: Memoria máxima de las imágenes leídas de una carpeta (float32), para fallar al
#: principio con un mensaje claro en lugar de quedarse sin memoria a mitad de lectura.
MAX_FOLDER_BYTES = 16 * 2**30
# Cuántas rutas omitidas se listan en el aviso (todas quedan en ImageFolder.skipped).
_MAX_LISTED = 50


@dataclass
class ImageFolder:
    """Imágenes leídas de una carpeta con una subcarpeta por clase.

    Attributes:
        images: ``float32`` (N, alto, ancho, canales) en [0, 1].
        labels: ``int64`` (N,), índice de la clase en ``class_names``.
        class_names: nombres de las clases, en el orden de los índices.
        paths: ruta de cada imagen, en el mismo orden que ``images``.
        skipped: ``(ruta, motivo)`` de cada archivo que no se pudo leer.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    paths: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        """Número de clases."""
        return len(self.class_names)

    def one_hot(self) -> np.ndarray:
        """Etiquetas en codificación *one-hot*.

        Returns:
            ``float32`` (N, num_classes).
        """
        return np.eye(self.num_classes, dtype=np.float32)[self.labels]


def read_image_folder(
    directory: str | Path,
    image_size: tuple[int, int] = (21, 28),
    channels: int = 3,
    class_names: list[str] | None = None,
    show_progress: bool | None = None,
) -> ImageFolder:
    """Lee una carpeta de imágenes con una subcarpeta por clase.

    Se leen, en cada subcarpeta, los archivos con extensión jpg, jpeg, png, bmp,
    tif o tiff (sin distinguir mayúsculas); los demás archivos (``.txt``,
    ``.DS_Store``...) y las carpetas ocultas (``.ipynb_checkpoints``) se ignoran.
    No se buscan imágenes en subcarpetas más profundas.

    Args:
        directory: carpeta raíz.
        image_size: ``(alto, ancho)`` al que se redimensiona cada imagen. El valor
            por defecto es el de ``sportimages`` en el artículo (21×28).
        channels: 3 (RGB) o 1 (escala de grises).
        class_names: clases esperadas, en el orden de sus índices (p. ej. las de un
            modelo guardado). Las subcarpetas deben coincidir exactamente. Si es
            ``None`` se usan las subcarpetas en orden alfabético.
        show_progress: ``True``/``False`` fuerza la barra de progreso; ``None`` la
            muestra solo en una terminal.

    Returns:
        Un :class:`ImageFolder`.

    Raises:
        ArgumentError: si ``image_size``, ``channels`` o ``class_names`` no son válidos.
        DataError: si la carpeta no existe o sus subcarpetas no coinciden con
            ``class_names``.
        EmptyDataError: si no hay subcarpetas, si no hay imágenes o si una clase se
            queda sin imágenes legibles (el mensaje nombra la carpeta).

    Example:
        >>> datos = read_image_folder("sportimages", image_size=(21, 28))
        >>> x, y = datos.images, datos.one_hot()
    """
    height, width = _check_image_size(image_size)
    _check_channels(channels)
    root = Path(directory)
    class_dirs = _find_class_dirs(root)
    names = _resolve_class_names(root, sorted(class_dirs), class_names)
    files_per_class = _list_class_files(root, class_dirs, names)
    total = sum(len(files) for files in files_per_class.values())
    _check_folder_memory(root, total, height, width, channels)
    folder = _decode_folder(root, class_dirs, files_per_class, total, (height, width, channels),
                            show_progress)
    _warn_skipped(root, folder.skipped)
    logger.info("Leídas %d imágenes de %d clases de %s", len(folder.paths), len(names), root)
    return folder


def _find_class_dirs(root: Path) -> dict[str, Path]:
    """Las subcarpetas de clase de ``root`` (sin las ocultas), por nombre y en orden.

    Raises:
        DataError: si ``root`` no existe o no es una carpeta.
        EmptyDataError: si no tiene subcarpetas (avisa de las imágenes sueltas).
    """
    if not root.exists():
        raise DataError(f"La carpeta de imágenes {root} no existe")
    if not root.is_dir():
        raise DataError(f"{root} no es una carpeta: se esperaba una carpeta con una "
                        "subcarpeta por clase")
    class_dirs = {p.name: p for p in sorted(root.iterdir())
                  if p.is_dir() and not p.name.startswith(".")}
    if not class_dirs:
        loose = [p for p in root.iterdir() if is_image_file(p)]
        hint = (f" (hay {len(loose)} imágenes sueltas: muévalas a una subcarpeta "
                "con el nombre de su clase)") if loose else ""
        raise EmptyDataError(
            f"La carpeta {root} no tiene subcarpetas de clase: se esperaba una "
            f"subcarpeta por clase, como sportimages/<clase>/*.jpg{hint}"
        )
    return class_dirs


def _list_class_files(root: Path, class_dirs: dict[str, Path],
                      names: list[str]) -> dict[str, list[Path]]:
    """Los archivos de imagen de cada clase, en orden.

    Raises:
        EmptyDataError: si no hay ninguna imagen o alguna clase no tiene.
    """
    files_per_class = {name: sorted(p for p in class_dirs[name].iterdir()
                                    if is_image_file(p))
                       for name in names}
    total = sum(len(files) for files in files_per_class.values())
    if total == 0:
        raise EmptyDataError(
            f"La carpeta {root} no contiene ninguna imagen "
            f"({', '.join(sorted(IMAGE_EXTENSIONS))}) en sus {len(names)} subcarpetas"
        )
    for name, files in files_per_class.items():
        if not files:
            raise EmptyDataError(
                f"La clase {name!r} no tiene imágenes: la carpeta {class_dirs[name]} "
                "está vacía o no contiene archivos de imagen"
            )
    return files_per_class


def _check_folder_memory(root: Path, total: int, height: int, width: int,
                         channels: int) -> None:
    """Falla antes de leer si las imágenes en float32 pasarían de :data:`MAX_FOLDER_BYTES`."""
    needed = total * height * width * channels * 4
    if needed > MAX_FOLDER_BYTES:
        raise DataError(
            f"Las {total} imágenes de {root} a {height}×{width}×{channels} ocuparían "
            f"{needed / 2**30:.1f} GiB en memoria (máximo {MAX_FOLDER_BYTES / 2**30:.0f} GiB): "
            "usa un tamaño de imagen menor"
        )


def _decode_folder(root: Path, class_dirs: dict[str, Path],
                   files_per_class: dict[str, list[Path]], total: int,
                   shape: tuple[int, int, int], show_progress: bool | None) -> ImageFolder:
    """Decodifica las imágenes clase a clase, con barra de progreso; omite las ilegibles.

    Raises:
        EmptyDataError: si una clase se queda sin imágenes legibles.
    """
    from tqdm import tqdm

    height, width, channels = shape
    names = list(files_per_class)
    images = np.empty((total, height, width, channels), dtype=np.float32)
    labels = np.empty(total, dtype=np.int64)
    paths: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    n = 0
    disable = None if show_progress is None else not show_progress
    with tqdm(total=total, desc=f"Leyendo {root.name or root}", unit="img",
              disable=disable) as bar:
        for label, name in enumerate(names):
            read_in_class = 0
            for path in files_per_class[name]:
                try:
                    images[n] = _decode(path, height, width, channels)
                except _DecodeFailure as exc:
                    skipped.append((path, str(exc)))
                else:
                    labels[n] = label
                    paths.append(path)
                    n += 1
                    read_in_class += 1
                bar.update(1)
            if read_in_class == 0:
                raise EmptyDataError(
                    f"La clase {name!r} no tiene imágenes legibles: los "
                    f"{len(files_per_class[name])} archivos de {class_dirs[name]} "
                    "están dañados o no son imágenes"
                )
    return ImageFolder(images=images[:n], labels=labels[:n], class_names=list(names),
                       paths=paths, skipped=skipped)


def _warn_skipped(root: Path, skipped: list[tuple[Path, str]]) -> None:
    """Avisa de las imágenes omitidas (lista las primeras :data:`_MAX_LISTED`)."""
    if skipped:
        listed = "\n".join(f"  {p}: {reason}" for p, reason in skipped[:_MAX_LISTED])
        more = (f"\n  ... y {len(skipped) - _MAX_LISTED} más (ver ImageFolder.skipped)"
                if len(skipped) > _MAX_LISTED else "")
        logger.warning("Se omitieron %d imágenes ilegibles de %s:\n%s%s",
                       len(skipped), root, listed, more)


def load_image(
    path: str | Path,
    image_size: tuple[int, int],
    channels: int = 3,
) -> np.ndarray:
    """Lee una imagen igual que :func:`read_image_folder`.

    Args:
        path: archivo de imagen.
        image_size: ``(alto, ancho)`` de salida.
        channels: 3 (RGB) o 1 (escala de grises).

    Returns:
        ``float32`` (alto, ancho, canales) en [0, 1].

    Raises:
        ArgumentError: si ``image_size`` o ``channels`` no son válidos.
        DataError: si el archivo no existe o no se puede decodificar (lo nombra).
    """
    height, width = _check_image_size(image_size)
    _check_channels(channels)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"La imagen {path} no existe o no es un archivo")
    try:
        return _decode(path, height, width, channels)
    except _DecodeFailure as exc:
        raise DataError(f"No se puede leer la imagen {path}: {exc}") from exc


def resize_image(pixels: np.ndarray, image_size) -> np.ndarray:
    """Redimensiona (H, W, 3) a ``(alto, ancho)``: área al reducir, bilineal al ampliar."""
    import cv2

    height, width = image_size
    if pixels.shape[:2] == (height, width):
        return pixels
    shrink = pixels.shape[0] > height
    return cv2.resize(pixels, (width, height),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def read_rgb(path: str | Path) -> np.ndarray:
    """Lee una imagen entera a su tamaño, como ``uint8`` (alto, ancho, 3) RGB.

    Mismo decodificador que :func:`load_image` (girada por EXIF, 16 bits escalados a 8,
    archivo truncado detectado), sin redimensionar ni pasar a [0, 1]: para dibujar
    sobre ella o detectar objetos en píxeles de la original.

    Raises:
        DataError: si el archivo no existe o no se puede decodificar (lo nombra).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"La imagen {path} no existe o no es un archivo")
    try:
        return np.asarray(_open_8bit(path, 3))
    except _DecodeFailure as exc:
        raise DataError(f"No se puede leer la imagen {path}: {exc}") from exc


def decode_image_bytes(data: bytes, *, where: str, channels: int = 3,
                       max_pixels: int | None = None) -> np.ndarray:
    """Decodifica una imagen que llega en memoria (una subida HTTP), sin tocar el disco.

    El mismo decodificador que :func:`read_rgb` (girada por EXIF, 16 bits escalados a 8,
    archivo truncado detectado).

    Args:
        data: los bytes del archivo.
        where: qué es, para los mensajes (``campo «imagen» (foto.jpg)``).
        channels: 3 (RGB) o 1 (gris).
        max_pixels: límite de ancho × alto, comprobado en la cabecera antes de
            decodificar; ``None``, sin límite.

    Returns:
        ``uint8`` (alto, ancho, 3) RGB, o (alto, ancho) en gris.

    Raises:
        DataError: vacía, de un formato desconocido, dañada o truncada (lo dice).
        TooLargeError: más píxeles que ``max_pixels``.
    """
    import io

    _check_channels(channels)
    if not data:
        raise DataError(f"{where}: el archivo está vacío; se esperaba una imagen.")
    try:
        with io.BytesIO(data) as handle:
            return np.asarray(_open_8bit(handle, channels, max_pixels))
    except TooLargeError as exc:
        raise TooLargeError(f"{where}: {exc}.") from None
    except _DecodeFailure as exc:
        raise DataError(f"{where}: {exc}; se esperaba una imagen JPEG, PNG, BMP, GIF, "
                        "TIFF o WebP.") from None


def resize_to(image: np.ndarray, image_size: tuple[int, int], channels: int = 3) -> np.ndarray:
    """``uint8`` RGB (H, W, 3) → ``float32`` (alto, ancho, channels) en [0, 1], como
    :func:`load_image` (``channels=1``: a gris con la misma conversión de Pillow)."""
    from PIL import Image

    height, width = _check_image_size(image_size)
    _check_channels(channels)
    img = Image.fromarray(np.asarray(image, dtype=np.uint8)).convert(
        "RGB" if channels == 3 else "L")
    if img.size != (width, height):
        img = img.resize((width, height), Image.Resampling.LANCZOS)
    array = np.asarray(img, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    return array / 255.0


# === Decodificación ===

class _DecodeFailure(Exception):
    """Un archivo no se pudo decodificar; el mensaje es el motivo en castellano."""


def is_image_file(path: Path) -> bool:
    """Si ``path`` es un archivo de imagen visible (por su extensión, ``IMAGE_EXTENSIONS``)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file() \
        and not path.name.startswith(".")


def _open_8bit(path, channels: int, max_pixels: int | None = None):
    """Decodifica entera (con ``.load()``), gira por EXIF y pasa a 8 bits RGB o L.

    ``path`` es una ruta o un archivo binario abierto. Con ``max_pixels``, el tamaño
    se comprueba en la cabecera, antes de decodificar nada (bombas de descompresión).

    Raises:
        _DecodeFailure: con el motivo en castellano.
        TooLargeError: más de ``max_pixels`` píxeles.
    """
    from PIL import Image
    from PIL import ImageOps
    from PIL import UnidentifiedImageError

    try:
        with Image.open(path) as img:
            width, height = img.size
            if max_pixels is not None and width * height > max_pixels:
                raise TooLargeError(f"la imagen mide {width}×{height} = {width * height:,} "
                                    f"píxeles y el límite es {max_pixels:,}".replace(",", "."))
            # .load() decodifica todo el archivo: aquí falla un JPEG truncado.
            img.load()
            img = ImageOps.exif_transpose(img)  # fotos de móvil giradas por EXIF
            return _to_8bit(img).convert("RGB" if channels == 3 else "L")
    except TooLargeError:
        raise
    except UnidentifiedImageError:
        raise _DecodeFailure("no es una imagen reconocible (¿archivo vacío o de "
                             "otro formato con extensión de imagen?)") from None
    except Image.DecompressionBombError as exc:
        if max_pixels is not None:  # Pillow la para antes que nosotros: es lo mismo
            raise TooLargeError(f"la imagen tiene más píxeles que el límite de "
                                f"{max_pixels:,}".replace(",", ".")) from None
        raise _DecodeFailure(f"imagen demasiado grande ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _DecodeFailure(f"imagen dañada o truncada ({exc})") from None


def _decode(path: Path, height: int, width: int, channels: int) -> np.ndarray:
    """Decodifica, convierte a RGB/L y redimensiona; devuelve float32 en [0, 1]."""
    from PIL import Image

    img = _open_8bit(path, channels)
    if img.size != (width, height):
        img = img.resize((width, height), Image.Resampling.LANCZOS)
    array = np.asarray(img, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]  # (H, W) -> (H, W, 1)
    return array / 255.0


def _to_8bit(img):
    """Pasa imágenes de 16 bits o float a 8 bits escalando (Pillow recortaría a 255)."""
    from PIL import Image

    if not (img.mode.startswith("I") or img.mode == "F"):
        return img
    array = np.asarray(img, dtype=np.float64)
    if img.mode.startswith("I;16") or (img.mode == "I" and array.max() > 255):
        array = array / 65535.0 * 255.0
    elif img.mode == "F" and array.max() <= 1.0:
        array = array * 255.0
    return Image.fromarray(np.clip(array + 0.5, 0, 255).astype(np.uint8))


# === Validación ===

def _check_image_size(image_size) -> tuple[int, int]:
    try:
        height, width = image_size
        ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                 and 0 < v <= MAX_IMAGE_SIDE for v in (height, width))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ArgumentError(
            f"image_size debe ser (alto, ancho) con dos enteros entre 1 y {MAX_IMAGE_SIDE}, "
            f"llegó {shown(image_size)}"
        )
    return int(height), int(width)


def _check_channels(channels) -> None:
    if isinstance(channels, bool) or channels not in (1, 3):
        raise ArgumentError(f"channels debe ser 1 (grises) o 3 (RGB), llegó {channels!r}")


def _resolve_class_names(root: Path, found: list[str], class_names) -> list[str]:
    """Comprueba ``class_names`` contra las subcarpetas y devuelve el orden a usar."""
    if class_names is None:
        return found
    if isinstance(class_names, str) or not all(isinstance(c, str) for c in class_names):
        raise ArgumentError(
            f"class_names debe ser una lista de nombres de clase, llegó {class_names!r}"
        )
    class_names = list(class_names)
    if not class_names or len(set(class_names)) != len(class_names):
        raise ArgumentError(
            f"class_names debe tener nombres distintos y al menos uno, "
            f"llegó {class_names!r}"
        )
    missing = [c for c in class_names if c not in found]
    extra = [c for c in found if c not in class_names]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"faltan las carpetas {missing}")
        if extra:
            parts.append(f"sobran las carpetas {extra}")
        raise DataError(
            f"Las subcarpetas de {root} no coinciden con las clases esperadas "
            f"{class_names}: {'; '.join(parts)}"
        )
    return class_names
