"""La configuración de :func:`tareas.clasificacion.train_classifier` y sus presets.

Un preset por modelo del blog (``deportes``, ``cifar``, ``mlp``): el tamaño de imagen,
los canales, las épocas y el lote de cada tutorial.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nucleo.errores import ArgumentError
from nucleo.vocabulario import CLASSIFIER_MODELS
from nucleo.vocabulario import DEFAULT_TRAINING_PRECISION
from nucleo.vocabulario import MAX_IMAGE_SIDE
from nucleo.vocabulario import MAX_LEARNING_RATE
from nucleo.vocabulario import TRAINING_PRECISIONS
from tareas.configuracion import USED_PRECISION_KEY
from tareas.configuracion import TrainingConfig
from tareas.configuracion import setting

#: Los modelos que reciben la imagen aplanada (un perceptrón, no una convolucional).
FLAT_MODELS = ("mlp",)


@dataclasses.dataclass(frozen=True)
class ClassifierConfig(TrainingConfig):
    """La configuración de :func:`~tareas.clasificacion.train_classifier`.

    Los valores por defecto son los del preset ``deportes`` (la CNN de «Clasificación de
    imágenes», sportsMNIST); ``ClassifierConfig.preset("cifar")`` y ``preset("mlp")``
    dan los de los otros tutoriales.

    Attributes:
        directory: carpeta con una subcarpeta por clase (``--dir``).
        model: ``"deportes"``, ``"cifar"`` o ``"mlp"`` (``--modelo``).
        run_dir: carpeta de la ejecución (``--salida``; ``None``: ``pesos/<modelo>``).
        image_size: ``(alto, ancho)`` (``--tamanio``).
        channels: 1 (grises) o 3 (RGB) (``--canales``).
        epochs: épocas (``--epocas``).
        batch_size: tamaño de lote (``--lote``).
        learning_rate: tasa del optimizador del blog (``--tasa``; ``None``: la suya).
        optimizer: un optimizador de Keras en lugar del del blog (``--optimizador``).
        seed: semilla de la división, la inicialización y el barajado (``--semilla``).
        patience: épocas sin mejora antes de parar (``--paciencia``; ``None``: sin parada).
        minutes: tope de tiempo de entrenamiento en minutos; se para al terminar el lote
            en curso y se queda el mejor modelo hasta entonces (``--minutos``; ``None``:
            sin tope).
        augment: aumentar las imágenes de entrenamiento con imgaug (``--aumento``).
        augment_settings: argumentos de :func:`datos.aumento.make_augmenter` que cambian
            (``{"flip": 0.0}`` para dígitos o letras) (``--ajustes-aumento``).
        workers: hilos que preparan los lotes aumentados (``--trabajadores``).
        precision: precisión del entrenamiento (``--precision``).
    """

    TASK = "clasificacion"
    PRESET_FIELD = "model"
    RESOLVED_KEYS = (USED_PRECISION_KEY,)

    directory: Path | None = setting("--dir", None)
    model: str = setting("--modelo", "deportes", choices=CLASSIFIER_MODELS)
    run_dir: Path | None = setting("--salida", None)
    image_size: tuple[int, int] = setting("--tamanio", (21, 28), minimum=1,
                                          maximum=MAX_IMAGE_SIDE)
    channels: int = setting("--canales", 3, choices=(1, 3))
    epochs: int = setting("--epocas", 6, minimum=1)
    batch_size: int = setting("--lote", 64, minimum=1)
    learning_rate: float | None = setting("--tasa", None, above=0.0,
                                          maximum=MAX_LEARNING_RATE)
    optimizer: str | None = setting("--optimizador", None)
    seed: int = setting("--semilla", 0, minimum=0)
    patience: int | None = setting("--paciencia", None, minimum=0, zero_is_none=True)
    minutes: float | None = setting("--minutos", None, above=0.0)
    augment: bool = setting("--aumento", False)
    augment_settings: Mapping[str, Any] = setting("--ajustes-aumento", {})
    workers: int = setting("--trabajadores", 1, minimum=1)
    precision: str = setting("--precision", DEFAULT_TRAINING_PRECISION,
                             choices=TRAINING_PRECISIONS)

    @property
    def flatten(self) -> bool:
        """``True`` si el modelo recibe la imagen aplanada (el perceptrón ``mlp``)."""
        return self.model in FLAT_MODELS

    def check(self) -> None:
        if self.augment and self.flatten:
            raise ArgumentError("ClassifierConfig: «augment (--aumento)» necesita un modelo "
                                "convolucional (deportes o cifar).")

    def resolved_run_dir(self) -> Path:
        """La carpeta de la ejecución: ``run_dir`` o ``pesos/<modelo>``."""
        return self.run_dir if self.run_dir is not None else Path("pesos") / self.model


# Los valores del blog / tutorial de cada modelo.
ClassifierConfig.PRESETS = types.MappingProxyType({
    # «Clasificación de imágenes» (sportsMNIST): 21×28 RGB, 6 épocas, lotes de 64.
    "deportes": ClassifierConfig(),
    # Tutorial de CIFAR-10: 32×32 RGB.
    "cifar": ClassifierConfig(model="cifar", image_size=(32, 32), epochs=10, batch_size=32),
    # Tutorial de MNIST: 28×28 en grises aplanado, 3 épocas, lotes de 128.
    "mlp": ClassifierConfig(model="mlp", image_size=(28, 28), channels=1, epochs=3,
                            batch_size=128),
})
