"""Datos sintéticos para las pruebas y la demo: carpetas de imágenes sin red.

Todo es determinista: cada función usa su propio ``np.random.default_rng(seed)`` y
nunca el generador global.
"""

from __future__ import annotations

import colorsys
import logging
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nucleo.errores import ArgumentError
from nucleo.validacion import check_int

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


# === Detección: figuras sobre fondos con textura ===

# Figuras que sabe dibujar make_shapes_dataset (el nombre de la clase es la figura).
SHAPE_KINDS = ("circulo", "cuadrado", "triangulo", "rectangulo", "elipse", "rombo")


def make_shapes_dataset(
    out_dir: str | Path,
    n_images: int = 300,
    image_size: tuple[int, int] = (416, 416),
    classes: Sequence[str] = ("circulo", "cuadrado", "triangulo"),
    max_objects: int = 5,
    seed: int = 0,
    *,
    min_objects: int = 1,
    sizes: Mapping[str, tuple[float, float]] | None = None,
) -> Path:
    """Escribe un conjunto de detección Pascal-VOC de figuras rellenas (como el de Lego).

    Cada imagen tiene entre ``min_objects`` y ``max_objects`` figuras de tamaño, color y
    posición al azar sobre un fondo con textura (manchas de color suaves, líneas de
    distracción y ruido gaussiano); algunas se solapan (cada figura conserva al
    menos la mitad de su área visible) y alrededor de una de cada cinco se sale
    por un borde. Cada caja es la caja mínima de los píxeles **visibles** de su
    figura (``xmax`` exclusivo, ver :mod:`datos.cajas`), como la trazaría una
    persona con labelImg. Es el conjunto por defecto de la demo y las pruebas.

    Escribe ``out_dir/images/00000.jpg ...`` y ``out_dir/annotations/00000.xml ...``
    (:func:`datos.anotaciones.write_voc`; :func:`datos.anotaciones.read_voc` los lee).

    Args:
        out_dir: carpeta de salida (se crea si no existe).
        n_images: número de imágenes (300, como las fotos de Lego del artículo).
        image_size: ``(alto, ancho)`` de las imágenes.
        classes: figuras a dibujar, cada una de :data:`SHAPE_KINDS`.
        max_objects: máximo de figuras por imagen.
        seed: semilla; la misma semilla escribe los mismos archivos.
        min_objects: mínimo de figuras que se intentan por imagen.
        sizes: ``{clase: (mínimo, máximo)}``, su lado como fracción del lado menor de la
            imagen (por defecto :data:`DEFAULT_SIZE_RANGE`).

    Returns:
        La ruta de ``out_dir``.

    Raises:
        ArgumentError: si algún argumento no es válido (el mensaje lo nombra).

    Example:
        >>> carpeta = make_shapes_dataset("figuras", n_images=300)
        >>> images, counts = read_voc(carpeta / "annotations", carpeta / "images")
    """
    import cv2

    from datos.anotaciones import write_voc
    from datos.cajas import as_size

    check_int(n_images, "n_images", where="make_shapes_dataset")
    check_int(max_objects, "max_objects", where="make_shapes_dataset")
    check_int(min_objects, "min_objects", maximum=max_objects, where="make_shapes_dataset")
    check_int(seed, "seed", minimum=0, where="make_shapes_dataset")
    height, width = (check_int(v, "image_size", minimum=16, where="make_shapes_dataset")
                     for v in as_size(image_size))
    classes = list(classes) if not isinstance(classes, str) else [classes]
    if not classes or len(set(classes)) != len(classes) or any(
            c not in SHAPE_KINDS for c in classes):
        raise ArgumentError(
            f"make_shapes_dataset: «classes» debe ser una lista de figuras distintas de "
            f"{list(SHAPE_KINDS)}; recibido {classes!r}."
        )
    ranges = _size_ranges(classes, sizes)

    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(n_images):
        image, boxes, labels = _shapes_image(rng, height, width, classes, max_objects,
                                             min_objects, ranges)
        name = f"{index:05d}.jpg"
        if not cv2.imwrite(str(out / "images" / name), image[:, :, ::-1],
                           [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise OSError(f"No se pudo escribir {out / 'images' / name}")
        write_voc(out / "annotations" / f"{index:05d}.xml", name, width, height,
                  boxes, labels)
    logger.info("Escritas %d imágenes de figuras (%s) en %s", n_images,
                ", ".join(classes), out)
    return out


#: Lado de cada figura como fracción del lado menor de la imagen.
DEFAULT_SIZE_RANGE = (0.12, 0.35)


def _size_ranges(classes: list[str], sizes) -> dict[str, tuple[float, float]]:
    """``(mínimo, máximo)`` del lado de cada clase (:data:`DEFAULT_SIZE_RANGE` si no se da)."""
    ranges = {name: DEFAULT_SIZE_RANGE for name in classes}
    for name, (low, high) in dict(sizes or {}).items():
        if name not in ranges or not 0 < low <= high <= 1:
            raise ArgumentError(f"make_shapes_dataset: «sizes» debe dar, para clases de "
                                f"{classes}, (mínimo, máximo) con 0 < mínimo ≤ máximo ≤ 1; "
                                f"recibido {name!r}: {(low, high)!r}.")
        ranges[name] = (float(low), float(high))
    return ranges


def _textured_background(rng, height: int, width: int) -> np.ndarray:
    """Fondo (H, W, 3) float: manchas de color suaves más líneas de distracción."""
    import cv2

    cells = int(rng.integers(3, 8))
    coarse = rng.uniform(30, 225, size=(cells, cells, 3)).astype(np.float32)
    background = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(2, 7))):
        start = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        color = tuple(float(c) for c in rng.uniform(30, 225, size=3))
        cv2.line(background, start, end, color, int(rng.integers(1, 3)))
    return background


def _draw_shape(mask: np.ndarray, kind: str, center, size: float, angle: float) -> None:
    """Dibuja la figura rellena con valor 1 en ``mask`` (H, W) uint8."""
    import cv2

    cx, cy = center
    if kind == "circulo":
        cv2.circle(mask, (int(cx), int(cy)), max(2, int(size / 2)), 1, -1)
        return
    if kind == "elipse":
        cv2.ellipse(mask, (int(cx), int(cy)), (max(2, int(size / 2)), max(2, int(size / 4))),
                    np.degrees(angle), 0, 360, 1, -1)
        return
    if kind in ("cuadrado", "rectangulo"):
        half_w, half_h = size / 2, (size / 2 if kind == "cuadrado" else size / 4)
        corners = np.array([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h],
                            [-half_w, half_h]])
    elif kind == "rombo":
        corners = np.array([[0, -size / 2], [size / 3, 0], [0, size / 2], [-size / 3, 0]])
    else:  # triángulo equilátero girado
        radius = size / 2
        angles = angle + np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3]) - np.pi / 2
        corners = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    if kind in ("rectangulo", "rombo"):
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        corners = corners @ rotation.T
    points = np.round(corners + np.array([cx, cy])).astype(np.int32)
    cv2.fillPoly(mask, [points], 1)


def _shapes_image(rng, height: int, width: int, classes: list[str], max_objects: int,
                  min_objects: int = 1, ranges=None):
    """Una imagen uint8 RGB con sus cajas ``xyxy`` (visibles) y etiquetas."""
    image = _textured_background(rng, height, width)
    side = min(height, width)
    masks: list[np.ndarray] = []   # máscara completa de cada figura
    visible: list[np.ndarray] = []  # lo que queda a la vista tras las siguientes
    labels: list[str] = []
    for _ in range(int(rng.integers(min_objects, max_objects + 1))):
        label = classes[int(rng.integers(len(classes)))]
        low, high = (ranges or {}).get(label, DEFAULT_SIZE_RANGE)
        for _attempt in range(10):
            size = max(8.0, rng.uniform(low, high) * side)
            if rng.random() < 0.2:  # pegada a un borde: parte queda fuera
                cx = rng.choice([rng.uniform(0, size / 3), rng.uniform(width - size / 3, width)])
                cy = rng.uniform(0, height)
                if rng.random() < 0.5:
                    cx, cy = rng.uniform(0, width), rng.choice(
                        [rng.uniform(0, size / 3), rng.uniform(height - size / 3, height)])
            else:
                cx, cy = rng.uniform(size / 2, width - size / 2), \
                    rng.uniform(size / 2, height - size / 2)
            mask = np.zeros((height, width), np.uint8)
            _draw_shape(mask, label, (cx, cy), size, rng.uniform(0, np.pi))
            mask = mask.astype(bool)
            area = mask.sum()
            # Cada figura anterior debe conservar al menos la mitad de su área.
            if area >= 16 and all((v & ~mask).sum() >= 0.5 * m.sum()
                                  for v, m in zip(visible, masks)):
                break
        else:
            continue
        background_color = image[mask].mean(axis=0)
        color = rng.uniform(0, 255, size=3)
        for _try in range(10):  # que contraste con el fondo que tapa
            if np.abs(color - background_color).sum() >= 150:
                break
            color = rng.uniform(0, 255, size=3)
        image[mask] = color
        visible = [v & ~mask for v in visible] + [mask]
        masks.append(mask)
        labels.append(label)

    boxes = []
    for v in visible:
        rows, cols = np.flatnonzero(v.any(axis=1)), np.flatnonzero(v.any(axis=0))
        boxes.append((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
    image += rng.normal(0.0, 6.0, size=image.shape)
    pixels = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    return pixels, np.asarray(boxes, dtype=np.float64).reshape(-1, 4), labels
