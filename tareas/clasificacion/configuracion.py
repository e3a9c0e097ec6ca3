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
        model: ``"deportes"``, ``"cifar"``, ``"mlp"`` o ``"mobilenetv2"`` (la de ImageNet,
            :func:`modelos.build_mobilenetv2`) (``--modelo``).
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
        width: con ``mobilenetv2``, su multiplicador de anchura, alpha (``--ancho``).
        backbone_weights: con ``mobilenetv2``, el extractor preentrenado: el ``.pth`` de
            torchvision o el ``.h5`` de ``redes pesos convertir`` (``--backbone-pesos``;
            ``None``: desde cero).
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
    width: float = setting("--ancho", 1.0, minimum=0.1, maximum=2.0)
    backbone_weights: Path | None = setting("--backbone-pesos", None)

    @property
    def flatten(self) -> bool:
        """``True`` si el modelo recibe la imagen aplanada (el perceptrón ``mlp``)."""
        return self.model in FLAT_MODELS

    def check(self) -> None:
        where = "ClassifierConfig"
        if self.augment and self.flatten:
            raise ArgumentError(f"{where}: «augment (--aumento)» necesita un modelo "
                                "convolucional (deportes, cifar o mobilenetv2).")
        if self.model != "mobilenetv2":
            if self.backbone_weights is not None or self.width != 1.0:
                raise ArgumentError(f"{where}: «backbone_weights (--backbone-pesos)» y "
                                    "«width (--ancho)» son de --modelo mobilenetv2.")
            return
        if self.channels != 3:
            raise ArgumentError(f"{where}: mobilenetv2 recibe imágenes en color (RGB); "
                                "quite --gris.")
        if any(side % 32 for side in self.image_size):
            raise ArgumentError(f"{where}: con mobilenetv2, «image_size (--tamanio)» debe "
                                f"ser múltiplo de 32; recibido {tuple(self.image_size)}.")

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
    # La MobileNetV2 de ImageNet, para las fotos propias: 224×224 RGB, lotes de 32.
    "mobilenetv2": ClassifierConfig(model="mobilenetv2", image_size=(224, 224), epochs=10,
                                    batch_size=32),
})
