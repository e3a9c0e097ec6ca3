"""Aumento de datos con imgaug, como en el artículo «Detección de objetos» del blog.

La cadena es la del artículo (a su vez la de keras-yolo2): entre cero y varias
transformaciones fotométricas en orden aleatorio (un desenfoque de tres posibles,
enfoque, ruido gaussiano, *dropout* de píxeles, brillo aditivo y multiplicativo,
contraste) y, además, una parte geométrica (escala y desplazamiento con
``iaa.Affine`` y volteo horizontal). En keras-yolo2 la escala y el volteo se hacían a
mano fuera de imgaug; aquí van dentro de la misma ``iaa.Sequential`` e imgaug
transforma las cajas (``BoundingBoxesOnImage``) en la misma llamada que la imagen:
nunca se voltean ni se escalan cajas a mano al lado. Tras la transformación, las
cajas que se salen en parte se recortan al borde y las que se quedan con muy poca
área a la vista se descartan junto con su etiqueta.

Referencia:
    «Detección de objetos con Python y YOLO», Aprende Machine Learning.
    https://github.com/experiencor/keras-yolo2 (``preprocessing.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from datos.cajas import box_area
from datos.cajas import clip_boxes
from nucleo.errores import ArgumentError
from nucleo.validacion import check_int, check_number
from datos.imgaug_compat import ia
from datos.imgaug_compat import iaa

logger = logging.getLogger("redes")

# imgaug admite semillas en [0, 2**31 - 1].
_MAX_SEED = 2**31 - 1


class Augmenter:
    """Aplica una cadena de imgaug a imágenes ``uint8`` o ``float`` en [0, 1].

    Se construye con :func:`make_augmenter`. La cadena de imgaug queda en el
    atributo ``sequential`` (una ``iaa.Sequential``) por si se quiere inspeccionar.
    Con cajas (detección), imagen y cajas se transforman juntas en una sola llamada
    a imgaug.

    Args:
        sequential: cadena de imgaug ya construida.
        seed: semilla con la que se sembró ``sequential``.
        min_visible: fracción mínima del área de una caja transformada que debe
            quedar dentro de la imagen para conservarla.
        min_box_size: ancho y alto mínimos, en píxeles, de una caja ya recortada.

    Example:
        >>> aug = make_augmenter(seed=0)
        >>> salida = aug(np.zeros((32, 32, 3), np.uint8))
        >>> salida.shape
        (32, 32, 3)
        >>> imagen, cajas, etiquetas = aug(np.zeros((32, 32, 3), np.uint8),
        ...                                [[4, 4, 20, 20]], ["lego"])
    """

    def __init__(self, sequential: iaa.Sequential, seed: int, *,
                 min_visible: float = 0.25, min_box_size: float = 2.0):
        self.sequential = sequential
        self.seed = seed
        self.min_visible = min_visible
        self.min_box_size = min_box_size

    def __repr__(self) -> str:
        return f"Augmenter(seed={self.seed}, sequential={self.sequential.name!r})"

    def __call__(self, image: np.ndarray, boxes=None, labels=None):
        """Aumenta una imagen y, si se dan, sus cajas.

        Args:
            image: imagen ``uint8`` de forma (alto, ancho, canales), con 1 o 3 canales.
            boxes: opcional, (N, 4) ``xmin, ymin, xmax, ymax`` en píxeles de ``image``.
            labels: opcional (solo con ``boxes``), N etiquetas de cualquier tipo
                (nombres o índices); se descartan junto con sus cajas.

        Returns:
            Sin ``boxes``, la imagen aumentada (``uint8``, misma forma). Con
            ``boxes``, ``(imagen, cajas)``, y con ``labels`` también,
            ``(imagen, cajas, etiquetas)``: cajas ``float32`` (K, 4) recortadas a la
            imagen, K ≤ N, y las K etiquetas de las cajas conservadas.

        Raises:
            ArgumentError: si la imagen no es ``uint8`` (H, W, C) con C = 1 o 3, o si
                las cajas o etiquetas no tienen la forma esperada.
        """
        image = np.asarray(image)
        if image.dtype != np.uint8:
            raise ArgumentError(
                f"Augmenter(image): se esperaba una imagen uint8, llegó {image.dtype}; "
                "para imágenes float en [0, 1] use augment_batch"
            )
        _check_shape(image[np.newaxis], "image")
        if boxes is None:
            if labels is not None:
                raise ArgumentError("Augmenter: «labels» necesita «boxes».")
            return self._run(image[np.newaxis])[0]
        images, out_boxes, out_labels = self.augment_with_boxes(
            image[np.newaxis], [boxes], None if labels is None else [labels])
        if labels is None:
            return images[0], out_boxes[0]
        return images[0], out_boxes[0], out_labels[0]

    def augment_with_boxes(self, images: np.ndarray, boxes, labels=None,
                           seed: int | None = None):
        """Aumenta un lote de imágenes con sus cajas, en una sola llamada a imgaug.

        Args:
            images: lote (N, alto, ancho, canales), ``uint8`` o ``float`` en [0, 1].
            boxes: N arreglos (n_i, 4) ``xyxy`` en píxeles.
            labels: opcional, N secuencias de n_i etiquetas.
            seed: como en :meth:`augment_batch`: si se da, el resultado depende solo
                de ``seed``.

        Returns:
            ``(imágenes, cajas, etiquetas)``: el lote con el mismo dtype y forma, y
            listas de N arreglos ``float32`` (k_i, 4) y de N listas de etiquetas
            (``None`` si no se dieron) de las cajas que siguen a la vista.

        Raises:
            ArgumentError: si las formas no son las esperadas.
        """
        batch, restore = _to_uint8(images)
        height, width = batch.shape[1:3]
        boxes = [_check_boxes(b, i) for i, b in enumerate(boxes)]
        if len(boxes) != len(batch):
            raise ArgumentError(f"augment_with_boxes: {len(batch)} imágenes pero "
                                f"{len(boxes)} conjuntos de cajas")
        if labels is not None:
            labels = [list(item) for item in labels]
            if len(labels) != len(boxes) or any(
                    len(names) != len(b) for names, b in zip(labels, boxes, strict=True)):
                raise ArgumentError("augment_with_boxes: «labels» debe tener una etiqueta "
                                    "por caja")
        on_images = [ia.BoundingBoxesOnImage.from_xyxy_array(b, shape=batch.shape[1:])
                     for b in boxes]
        augmented, on_images = self._sequential(seed)(images=batch,
                                                      bounding_boxes=on_images)
        out_boxes, out_labels = [], []
        for i, on_image in enumerate(on_images):
            # imgaug conserva el orden y el número de cajas: se filtra aquí.
            kept, keep = self._clean(on_image.to_xyxy_array(), width, height)
            out_boxes.append(kept)
            if labels is not None:
                out_labels.append([label for label, k in zip(labels[i], keep, strict=True) if k])
        return restore(augmented), out_boxes, out_labels if labels is not None else None

    def _clean(self, xyxy: np.ndarray, width: int, height: int):
        """Recorta al borde y descarta las cajas con poca área a la vista."""
        clipped = clip_boxes(xyxy, width, height)
        full, inside = box_area(xyxy), box_area(clipped)
        sides = clipped[:, 2:] - clipped[:, :2]
        keep = ((full > 0) & (inside >= self.min_visible * full)
                & (sides >= self.min_box_size).all(axis=1))
        return clipped[keep].astype(np.float32), keep

    def augment_batch(self, images: np.ndarray, seed: int | None = None) -> np.ndarray:
        """Aumenta un lote de imágenes.

        Args:
            images: lote (N, alto, ancho, canales) con 1 o 3 canales, ``uint8`` en
                [0, 255] o ``float`` en [0, 1].
            seed: si se da, el lote se aumenta con una copia de la cadena sembrada con
                ese valor, sin avanzar el estado propio: el resultado depende solo de
                ``seed`` y no del orden de llamadas (útil con varios hilos).

        Returns:
            El lote aumentado con el mismo dtype, forma y rango que ``images``.

        Raises:
            ArgumentError: si la forma o el dtype no son los esperados.
        """
        batch, restore = _to_uint8(images)
        return restore(self._run(batch, seed=seed))

    def _sequential(self, seed: int | None) -> iaa.Sequential:
        """La cadena propia o, con ``seed``, una copia sembrada (no avanza la propia)."""
        if seed is None:
            return self.sequential
        sequential = self.sequential.deepcopy()
        sequential.seed_(_check_seed(seed))
        return sequential

    def _run(self, images: np.ndarray, seed: int | None = None) -> np.ndarray:
        """Pasa un lote uint8 (N, H, W, C) por la cadena de imgaug."""
        return self._sequential(seed)(images=images)


def make_augmenter(
    seed: int | None = None,
    geometric: bool = True,
    *,
    max_photometric: int = 4,
    blur_sigma: tuple[float, float] = (0.0, 1.0),
    sharpen_alpha: tuple[float, float] = (0.0, 0.5),
    noise_scale: float = 0.03,
    dropout: tuple[float, float] = (0.0, 0.05),
    add: tuple[int, int] = (-20, 20),
    multiply: tuple[float, float] = (0.8, 1.2),
    contrast: tuple[float, float] = (0.75, 1.25),
    hue: tuple[int, int] | None = None,
    saturation: tuple[float, float] | None = None,
    scale: tuple[float, float] = (0.9, 1.1),
    translate: float = 0.1,
    flip: float = 0.5,
    geometric_probability: float = 0.5,
    min_visible: float = 0.25,
    min_box_size: float = 2.0,
) -> Augmenter:
    """Construye el aumentador del artículo «Detección de objetos».

    Las intensidades por defecto son moderadas (más suaves que las del artículo,
    pensadas para imágenes pequeñas como las de ``sportimages``).

    Args:
        seed: semilla; la misma semilla da exactamente la misma secuencia de
            aumentos. ``None`` toma una semilla del sistema (queda en ``.seed``).
        geometric: si se añade la parte geométrica (escala, desplazamiento y volteo).
        max_photometric: cuántas transformaciones fotométricas, como máximo, se
            aplican a cada imagen (``iaa.SomeOf((0, max_photometric), ...)``);
            0 desactiva la parte fotométrica.
        blur_sigma: rango de sigma del desenfoque gaussiano; también fija los
            tamaños de núcleo del desenfoque medio y de la mediana.
        sharpen_alpha: rango de mezcla de ``iaa.Sharpen``.
        noise_scale: desviación máxima del ruido gaussiano, como fracción de 255.
        dropout: rango de la fracción de píxeles que se ponen a cero.
        add: rango de brillo que se suma (en niveles de 0 a 255).
        multiply: rango del factor de brillo.
        contrast: rango del factor de ``iaa.LinearContrast``.
        hue: si se da, rango del giro de tono que se suma a cada imagen (``iaa.AddToHue``,
            en la escala de 0 a 255 de imgaug; ±255 es una vuelta entera). Va fuera del
            ``SomeOf``: se aplica siempre, como el jitter HSV de darknet.
        saturation: si se da, rango del factor de saturación de cada imagen
            (``iaa.MultiplySaturation``), también siempre.
        scale: rango del factor de escala de ``iaa.Affine``.
        translate: desplazamiento máximo, como fracción del alto/ancho.
        flip: probabilidad de volteo horizontal (0 para dígitos o texto).
        geometric_probability: probabilidad de aplicar escala y desplazamiento.
        min_visible: con cajas, fracción mínima de la caja transformada que debe
            quedar dentro de la imagen; si no, se descarta con su etiqueta.
        min_box_size: con cajas, ancho y alto mínimos (píxeles) tras recortar.

    Returns:
        Un :class:`Augmenter`.

    Raises:
        ArgumentError: si algún argumento está fuera de rango (el mensaje lo nombra).

    Example:
        >>> aug = make_augmenter(seed=13, flip=0.0)
        >>> lote = aug.augment_batch(np.zeros((4, 28, 28, 1), np.float32))

    Referencia:
        «Detección de objetos con Python y YOLO», Aprende Machine Learning.
    """
    if seed is None:
        seed = int(np.random.default_rng().integers(0, _MAX_SEED))
    seed = _check_seed(seed)
    _check_options(max_photometric, blur_sigma, sharpen_alpha, noise_scale, dropout, add,
                   multiply, contrast, hue, saturation, scale, translate, flip,
                   geometric_probability, min_visible, min_box_size)
    steps = _geometric_steps(scale, translate, flip, geometric_probability) if geometric else []
    steps += _color_steps(hue, saturation)
    steps += _photometric_steps(max_photometric, blur_sigma, sharpen_alpha, noise_scale,
                                dropout, add, multiply, contrast)
    sequential = _seeded_sequential(steps, seed)
    logger.debug("Aumentador creado con semilla %d (geometric=%s)", seed, geometric)
    return Augmenter(sequential, seed, min_visible=min_visible, min_box_size=min_box_size)


# === Partes de la cadena ===

def _check_options(max_photometric, blur_sigma, sharpen_alpha, noise_scale, dropout, add,
                   multiply, contrast, hue, saturation, scale, translate, flip,
                   geometric_probability, min_visible, min_box_size) -> None:
    """Valida los argumentos de :func:`make_augmenter` (salvo la semilla), en su orden.

    Raises:
        ArgumentError: el primero fuera de rango, con su nombre en el mensaje.
    """
    check_int(max_photometric, "max_photometric", minimum=0)
    _check_range(blur_sigma, "blur_sigma", minimum=0.0)
    _check_range(sharpen_alpha, "sharpen_alpha", minimum=0.0, maximum=1.0)
    check_number(noise_scale, "noise_scale", minimum=0, maximum=1)
    _check_range(dropout, "dropout", minimum=0.0, maximum=1.0)
    _check_range(add, "add", minimum=-255, maximum=255)
    _check_range(multiply, "multiply", minimum=0.0)
    _check_range(contrast, "contrast", minimum=0.0)
    if hue is not None:
        _check_range(hue, "hue", minimum=-255, maximum=255)
    if saturation is not None:
        _check_range(saturation, "saturation", minimum=0.0)
    _check_range(scale, "scale", minimum=1e-3)
    check_number(translate, "translate", minimum=0, maximum=1)
    check_number(flip, "flip", minimum=0, maximum=1)
    check_number(geometric_probability, "geometric_probability", minimum=0, maximum=1)
    check_number(min_visible, "min_visible", minimum=0, maximum=1)
    check_number(min_box_size, "min_box_size", minimum=0, maximum=1e6)


def _geometric_steps(scale, translate: float, flip: float,
                     geometric_probability: float) -> list:
    """Escala y desplazamiento (``iaa.Affine``, a veces) y volteo horizontal."""
    # La misma llamada transformará las cajas más adelante.
    return [
        iaa.Sometimes(
            geometric_probability,
            iaa.Affine(
                scale=tuple(scale),
                translate_percent={"x": (-translate, translate),
                                   "y": (-translate, translate)},
                mode="edge",  # sin bordes negros artificiales
            ),
        ),
        iaa.Fliplr(flip),
    ]


def _color_steps(hue, saturation) -> list:
    """Giro de tono y factor de saturación (HSV), los que se pidan; van en cada imagen."""
    steps = []
    if hue is not None:
        # Antes de la parte fotométrica, en cada imagen.
        steps.append(iaa.AddToHue(tuple(int(v) for v in hue)))
    if saturation is not None:
        steps.append(iaa.MultiplySaturation(tuple(saturation)))
    return steps


def _photometric_steps(max_photometric: int, blur_sigma, sharpen_alpha, noise_scale: float,
                       dropout, add, multiply, contrast) -> list:
    """La lista fotométrica del artículo en un ``iaa.SomeOf`` en orden aleatorio (o nada)."""
    if max_photometric <= 0:
        return []
    # Núcleo máximo de los desenfoques ~ 3 sigma, como en el gaussiano.
    kernel = max(2, int(round(3 * blur_sigma[1])))
    median_kernel = kernel + 1 - kernel % 2  # la mediana exige núcleo impar
    photometric = [
        iaa.OneOf([
            iaa.GaussianBlur(sigma=tuple(blur_sigma)),
            iaa.AverageBlur(k=(1, kernel)),
            iaa.MedianBlur(k=(1, median_kernel)),
        ]),
        iaa.Sharpen(alpha=tuple(sharpen_alpha), lightness=(0.9, 1.1)),
        iaa.AdditiveGaussianNoise(loc=0, scale=(0.0, noise_scale * 255),
                                  per_channel=0.5),
        iaa.Dropout(p=tuple(dropout), per_channel=0.5),
        iaa.Add(tuple(int(v) for v in add), per_channel=0.5),
        iaa.Multiply(tuple(multiply), per_channel=0.5),
        iaa.LinearContrast(tuple(contrast), per_channel=0.5),
    ]
    return [iaa.SomeOf((0, min(max_photometric, len(photometric))), photometric,
                       random_order=True)]


def _seeded_sequential(steps: list, seed: int) -> iaa.Sequential:
    """La ``iaa.Sequential`` de los pasos, sembrada con ``seed``."""
    sequential = iaa.Sequential(steps, random_order=False, name="aumento")
    # Sembrar después de construir: los hijos creados sin semilla usarían el
    # generador global de imgaug y el resultado dependería de otros aumentadores.
    sequential.seed_(seed)
    return sequential


# === Validación ===

def _check_shape(images: np.ndarray, name: str) -> None:
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or 0 in images.shape[1:3]:
        expected = "(alto, ancho, canales)" if name == "image" else "(N, alto, ancho, canales)"
        shape = images.shape[1:] if name == "image" else images.shape
        raise ArgumentError(
            f"{name}: se esperaba forma {expected} con 1 o 3 canales, "
            f"llegó {tuple(shape)}"
        )


def _to_uint8(images):
    """Lote uint8 para imgaug y la función que devuelve el dtype original."""
    images = np.asarray(images)
    _check_shape(images, "images")
    if images.dtype == np.uint8:
        return images, lambda augmented: augmented
    if not np.issubdtype(images.dtype, np.floating):
        raise ArgumentError(
            f"augment_batch(images): se esperaba uint8 o float en [0, 1], "
            f"llegó {images.dtype}"
        )
    dtype = images.dtype
    batch = (np.clip(images, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return batch, lambda augmented: (augmented.astype(np.float32) / 255.0).astype(
        dtype, copy=False)


def _check_boxes(boxes, index: int) -> np.ndarray:
    array = np.asarray(boxes, dtype=np.float32)
    if array.size == 0:
        return array.reshape(0, 4)
    if array.ndim != 2 or array.shape[1] != 4 or not np.isfinite(array).all():
        raise ArgumentError(
            f"boxes[{index}]: se esperaba un arreglo (N, 4) finito xmin, ymin, xmax, "
            f"ymax; llegó forma {array.shape}"
        )
    return array


def _check_seed(seed) -> int:
    return check_int(seed, "seed", minimum=0, maximum=_MAX_SEED)


def _check_range(value, name: str, minimum: float, maximum: float | None = None) -> None:
    ok = (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        and minimum <= value[0] <= value[1]
        and (maximum is None or value[1] <= maximum)
    )
    if not ok:
        upper = "" if maximum is None else f" y <= {maximum}"
        raise ArgumentError(
            f"{name} debe ser un par (mínimo, máximo) con {minimum} <= mínimo <= "
            f"máximo{upper}, llegó {value!r}"
        )
