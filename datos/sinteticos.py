"""Datos sintéticos para las pruebas y la demo: carpetas de imágenes sin red.

Todo es determinista: cada función usa su propio ``np.random.default_rng(seed)`` y
nunca el generador global.
"""

from __future__ import annotations

import colorsys
import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from datos.errores import ArgumentError
from datos.validacion import check_int

logger = logging.getLogger("redes")


def write_digits_folder(out_dir: str | Path, n_per_class: int | None = None) -> Path:
    """Escribe los dígitos manuscritos de scikit-learn como carpeta de imágenes.

    Usa ``sklearn.datasets.load_digits`` (1797 dígitos reales de 8×8, valores 0..16,
    incluidos en scikit-learn: no hace falta red) y guarda cada uno como PNG en
    escala de grises (0..255) en ``out_dir/<dígito>/<índice>.png``.

    Args:
        out_dir: carpeta de salida (se crea si no existe).
        n_per_class: si se da, solo los primeros ``n_per_class`` de cada dígito.

    Returns:
        La ruta de ``out_dir``.

    Raises:
        ArgumentError: si ``n_per_class`` no es un entero positivo.

    Example:
        >>> carpeta = write_digits_folder("digitos")
        >>> datos = read_image_folder(carpeta, image_size=(8, 8), channels=1)
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    if n_per_class is not None:
        check_int(n_per_class, "n_per_class")
    out = Path(out_dir)
    digits = load_digits()
    # 0..16 -> 0..255, (1797, 8, 8)
    pixels = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    written = dict.fromkeys(range(10), 0)
    for index, (image, target) in enumerate(zip(pixels, digits.target)):
        target = int(target)
        if n_per_class is not None and written[target] >= n_per_class:
            continue
        class_dir = out / str(target)
        class_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(class_dir / f"{index:04d}.png")
        written[target] += 1
    logger.info("Escritos %d dígitos en %s", sum(written.values()), out)
    return out


def make_image_folder(
    out_dir: str | Path,
    classes: Sequence[str] = ("rojo", "verde", "azul"),
    n_per_class: int = 20,
    sizes: Sequence[tuple[int, int]] = ((24, 32), (40, 30), (21, 28)),
    seed: int = 0,
) -> Path:
    """Escribe una carpeta de imágenes en color fácil de aprender.

    Cada clase tiene un color dominante propio (tonos repartidos por el círculo
    cromático: con tres clases, rojo, verde y azul) con brillo variable, ruido
    gaussiano y un rectángulo gris de distracción en una posición al azar. Los
    tamaños (``(alto, ancho)``) y los formatos (png y jpg) se alternan, así que la
    carpeta sirve para probar el redimensionado.

    Args:
        out_dir: carpeta de salida (se crea si no existe).
        classes: nombres de las clases (una subcarpeta cada una).
        n_per_class: imágenes por clase.
        sizes: tamaños ``(alto, ancho)`` que se van alternando.
        seed: semilla del generador.

    Returns:
        La ruta de ``out_dir``.

    Raises:
        ArgumentError: si algún argumento no es válido (el mensaje lo nombra).

    Example:
        >>> carpeta = make_image_folder(tmp_path / "colores", n_per_class=10)
    """
    from PIL import Image

    classes = list(classes)
    if not classes or len(set(classes)) != len(classes) or not all(
            isinstance(c, str) and c and "/" not in c and "\\" not in c
            and not c.startswith(".") for c in classes):
        raise ArgumentError(
            f"classes debe ser una lista de nombres de carpeta distintos, llegó {classes!r}"
        )
    check_int(n_per_class, "n_per_class")
    sizes = [tuple(s) for s in sizes]
    if not sizes or not all(len(s) == 2 and all(isinstance(v, int) and v > 0 for v in s)
                            for s in sizes):
        raise ArgumentError(
            f"sizes debe ser una lista de pares (alto, ancho) positivos, llegó {sizes!r}"
        )

    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    for k, name in enumerate(classes):
        rgb = np.array(colorsys.hsv_to_rgb(k / len(classes), 0.85, 0.85)) * 255.0
        class_dir = out / name
        class_dir.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            height, width = sizes[i % len(sizes)]
            brightness = rng.uniform(0.7, 1.0)
            # (H, W, 3): color de la clase + ruido
            image = rgb * brightness + rng.normal(0.0, 18.0, size=(height, width, 3))
            # Rectángulo de distracción: ocupa entre 1/4 y 1/2 de cada lado.
            rh = int(rng.integers(max(1, height // 4), max(2, height // 2 + 1)))
            rw = int(rng.integers(max(1, width // 4), max(2, width // 2 + 1)))
            top = int(rng.integers(0, height - rh + 1))
            left = int(rng.integers(0, width - rw + 1))
            image[top:top + rh, left:left + rw] = rng.uniform(40.0, 220.0)
            pixels = np.clip(image + 0.5, 0, 255).astype(np.uint8)
            ext = "png" if i % 2 == 0 else "jpg"
            path = class_dir / f"{i:03d}.{ext}"
            if ext == "jpg":
                Image.fromarray(pixels).save(path, quality=90)
            else:
                Image.fromarray(pixels).save(path)
    logger.info("Escritas %d imágenes sintéticas de %d clases en %s",
                n_per_class * len(classes), len(classes), out)
    return out


def write_corrupt_jpeg(path: str | Path) -> Path:
    """Escribe un JPEG truncado: uno válido de 64×64 cortado por la mitad.

    La cabecera está intacta, así que el archivo se abre, pero falla al decodificar
    los datos (Pillow con ``.load()``). Sirve para ver cómo el lector lo omite.

    Args:
        path: archivo a escribir (se crean las carpetas que falten).

    Returns:
        La ruta escrita.
    """
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    data = buffer.getvalue()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: len(data) // 2])
    return path
