"""Aumento de datos con imgaug, como en el artículo «Detección de objetos» del blog.

La cadena es la del artículo (a su vez la de keras-yolo2): entre cero y varias
transformaciones fotométricas en orden aleatorio (un desenfoque de tres posibles,
enfoque, ruido gaussiano, *dropout* de píxeles, brillo aditivo y multiplicativo,
contraste) y, además, una parte geométrica (escala y desplazamiento con
``iaa.Affine`` y volteo horizontal). En keras-yolo2 la escala y el volteo se hacían a
mano fuera de imgaug; aquí van dentro de la misma ``iaa.Sequential`` para que, cuando
se añadan cajas, imgaug las transforme en la misma llamada que la imagen.

Referencia:
    «Detección de objetos con Python y YOLO», Aprende Machine Learning.
    https://github.com/experiencor/keras-yolo2 (``preprocessing.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from datos.errores import ArgumentError
from datos.validacion import check_int, check_number
from datos.imgaug_compat import iaa

logger = logging.getLogger("redes")

# imgaug admite semillas en [0, 2**31 - 1].
_MAX_SEED = 2**31 - 1


class Augmenter:
    """Aplica una cadena de imgaug a imágenes ``uint8`` o ``float`` en [0, 1].

    Se construye con :func:`make_augmenter`. La cadena de imgaug queda en el
    atributo ``sequential`` (una ``iaa.Sequential``) por si se quiere inspeccionar.

    Args:
        sequential: cadena de imgaug ya construida.
        seed: semilla con la que se sembró ``sequential``.

    Example:
        >>> aug = make_augmenter(seed=0)
        >>> salida = aug(np.zeros((32, 32, 3), np.uint8))
        >>> salida.shape
        (32, 32, 3)
    """

    def __init__(self, sequential: iaa.Sequential, seed: int):
        self.sequential = sequential
        self.seed = seed

    def __repr__(self) -> str:
        return f"Augmenter(seed={self.seed}, sequential={self.sequential.name!r})"

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Aumenta una imagen.

        Args:
            image: imagen ``uint8`` de forma (alto, ancho, canales), con 1 o 3 canales.

        Returns:
            La imagen aumentada, ``uint8`` y con la misma forma.

        Raises:
            ArgumentError: si la imagen no es ``uint8`` (H, W, C) con C = 1 o 3.
        """
        image = np.asarray(image)
        if image.dtype != np.uint8:
            raise ArgumentError(
                f"Augmenter(image): se esperaba una imagen uint8, llegó {image.dtype}; "
                "para imágenes float en [0, 1] use augment_batch"
            )
        _check_shape(image[np.newaxis], "image")
        return self._run(image[np.newaxis])[0]

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
        images = np.asarray(images)
        _check_shape(images, "images")
        if images.dtype == np.uint8:
            batch = images
        elif np.issubdtype(images.dtype, np.floating):
            batch = (np.clip(images, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        else:
            raise ArgumentError(
                f"augment_batch(images): se esperaba uint8 o float en [0, 1], "
                f"llegó {images.dtype}"
            )
        augmented = self._run(batch, seed=seed)
        if images.dtype == np.uint8:
            return augmented
        return (augmented.astype(np.float32) / 255.0).astype(images.dtype, copy=False)

    def _run(self, images: np.ndarray, seed: int | None = None) -> np.ndarray:
        """Pasa un lote uint8 (N, H, W, C) por la cadena de imgaug."""
        sequential = self.sequential
        if seed is not None:
            sequential = sequential.deepcopy()
            sequential.seed_(_check_seed(seed))
        return sequential(images=images)


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
    scale: tuple[float, float] = (0.9, 1.1),
    translate: float = 0.1,
    flip: float = 0.5,
    geometric_probability: float = 0.5,
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
        scale: rango del factor de escala de ``iaa.Affine``.
        translate: desplazamiento máximo, como fracción del alto/ancho.
        flip: probabilidad de volteo horizontal (0 para dígitos o texto).
        geometric_probability: probabilidad de aplicar escala y desplazamiento.

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
    check_int(max_photometric, "max_photometric", minimum=0)
    _check_range(blur_sigma, "blur_sigma", minimum=0.0)
    _check_range(sharpen_alpha, "sharpen_alpha", minimum=0.0, maximum=1.0)
    check_number(noise_scale, "noise_scale", minimum=0, maximum=1)
    _check_range(dropout, "dropout", minimum=0.0, maximum=1.0)
    _check_range(add, "add", minimum=-255, maximum=255)
    _check_range(multiply, "multiply", minimum=0.0)
    _check_range(contrast, "contrast", minimum=0.0)
    _check_range(scale, "scale", minimum=1e-3)
    check_number(translate, "translate", minimum=0, maximum=1)
    check_number(flip, "flip", minimum=0, maximum=1)
    check_number(geometric_probability, "geometric_probability", minimum=0, maximum=1)

    steps = []
    if geometric:
        # === Geométrica === (la misma llamada transformará las cajas más adelante)
        steps.append(
            iaa.Sometimes(
                geometric_probability,
                iaa.Affine(
                    scale=tuple(scale),
                    translate_percent={"x": (-translate, translate),
                                       "y": (-translate, translate)},
                    mode="edge",  # sin bordes negros artificiales
                ),
            )
        )
        steps.append(iaa.Fliplr(flip))
    if max_photometric > 0:
        # === Fotométrica === (la lista del artículo, en orden aleatorio)
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
        steps.append(
            iaa.SomeOf((0, min(max_photometric, len(photometric))), photometric,
                       random_order=True)
        )
    sequential = iaa.Sequential(steps, random_order=False, name="aumento")
    # Sembrar después de construir: los hijos creados sin semilla usarían el
    # generador global de imgaug y el resultado dependería de otros aumentadores.
    sequential.seed_(seed)
    logger.debug("Aumentador creado con semilla %d (geometric=%s)", seed, geometric)
    return Augmenter(sequential, seed)


# === Validación ===

def _check_shape(images: np.ndarray, name: str) -> None:
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or 0 in images.shape[1:3]:
        expected = "(alto, ancho, canales)" if name == "image" else "(N, alto, ancho, canales)"
        shape = images.shape[1:] if name == "image" else images.shape
        raise ArgumentError(
            f"{name}: se esperaba forma {expected} con 1 o 3 canales, "
            f"llegó {tuple(shape)}"
        )


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
