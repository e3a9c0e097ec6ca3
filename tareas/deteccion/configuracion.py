"""La configuración de :func:`tareas.deteccion.train_yolo` y sus recetas ``blog`` y ``fotos``.

Una receta es un preset: una :class:`DetectionConfig` con nombre (``DetectionConfig.preset
("fotos")``), no un diccionario dentro del entrenador.

- ``blog``: la del artículo: el aumento suave de imgaug, mejor modelo por ``val_loss``,
  sin multiescala.
- ``fotos`` (pocas fotos reales): color HSV y escala/desplazamiento más fuertes,
  entrenamiento multiescala, media móvil de los pesos (EMA) para evaluar y guardar,
  mejor modelo por el mAP@0.5 de validación (``val_map_50``; más estable que
  ``val_loss`` con pocas imágenes) y, con tope de tiempo (``--minutos``), sin parada
  temprana y sin tope de épocas salvo que se dé ``--epocas``: entrena hasta que se acaba
  el tiempo, y la tasa en coseno abarca ese tiempo. Con el extractor ``mobilenetv2`` de
  ImageNet (``--backbone-pesos``), la primera época entrena solo la cabeza con el
  extractor y sus medias de BatchNorm fijos (``--congelar 1``; con JAX, que no puede
  congelar a mitad de ``fit``, no se congela) y después todo con la tasa × 0.1.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nucleo.errores import ArgumentError
from nucleo.validacion import shown
from nucleo.vocabulario import BACKBONES
from nucleo.vocabulario import BOX_LOSSES
from nucleo.vocabulario import DATASET_FORMATS
from nucleo.vocabulario import DATASET_SPLITS
from nucleo.vocabulario import DEFAULT_TRAINING_PRECISION
from nucleo.vocabulario import MAX_IMAGE_SIDE
from nucleo.vocabulario import MAX_LEARNING_RATE
from nucleo.vocabulario import TRAINING_PRECISIONS
from nucleo.vocabulario import YOLO_RECIPES
from nucleo.vocabulario import YOLO_STRIDE
from tareas.configuracion import USED_PRECISION_KEY
from tareas.configuracion import TrainingConfig
from tareas.configuracion import setting

#: La carpeta de la ejecución por defecto.
DEFAULT_RUN = "pesos/yolo"
#: La métrica que añade la receta «fotos» al registro: el mAP@0.5 de validación.
VAL_MAP = "val_map_50"
#: Métricas que pueden decidir el mejor modelo.
MONITORS = ("val_loss", VAL_MAP)
#: Anclas con nombre: las de VOC de keras-yolo2 o k-means de las cajas de entrenamiento.
NAMED_ANCHORS = ("voc", "auto")
#: Tope del búfer de cajas verdaderas cuando se toma de los datos (sin --max-cajas).
MAX_BUFFER_BOXES = 100
#: Fracción de objetos que comparten celda y ancla a partir de la cual se sugiere otra
#: --tamanio u otras anclas.
SHARED_CELL_WARNING = 0.05
#: Épocas por defecto (las del blog) cuando la receta no entrena por tiempo.
BLOG_EPOCHS = 7
#: «Sin tope de épocas»: con --minutos y la receta fotos para el reloj, no las épocas.
UNTIL_TIME = 1_000_000
#: Épocas con la cabeza sola de la receta fotos sobre un extractor preentrenado.
PRETRAINED_FREEZE_EPOCHS = 1
#: Anchos de la MobileNetV2 (su alpha), como en modelos.mobilenet.
MOBILENET_ALPHAS = (0.1, 2.0)


def _input_size(value, name: str, where: str) -> tuple[int, int]:
    """Un lado o ``(alto, ancho)``, múltiplos de 32 (la rejilla de YOLOv2)."""
    size = (value, value) if isinstance(value, int) else value
    if any(side % YOLO_STRIDE or not 0 < side <= MAX_IMAGE_SIDE for side in size):
        raise ArgumentError(f"{where}: «{name}» debe ser múltiplo de {YOLO_STRIDE} (entre "
                            f"{YOLO_STRIDE} y {MAX_IMAGE_SIDE}); recibido {shown(value)}.")
    return size


def _anchors(value, name: str, where: str):
    """``"voc"``, ``"auto"`` o anchos y altos en celdas (lista plana o de pares) → plana."""
    if isinstance(value, str):
        if value not in NAMED_ANCHORS:
            raise ArgumentError(f"{where}: «{name}» debe ser «voc», «auto» o una lista de "
                                f"números; recibido {shown(value)}.")
        return value
    flat = tuple(v for pair in value for v in pair) if value and isinstance(
        value[0], tuple) else value
    if not flat or len(flat) % 2 or any(v <= 0 for v in flat):
        raise ArgumentError(f"{where}: «{name}» debe tener pares ancho alto (> 0) en celdas; "
                            f"recibido {shown(value)}.")
    return flat


@dataclasses.dataclass(frozen=True)
class DetectionConfig(TrainingConfig):
    """La configuración de :func:`~tareas.deteccion.train_yolo` (receta ``blog``).

    Attributes:
        ann_dir: carpeta de anotaciones Pascal-VOC (``--anotaciones``).
        img_dir: carpeta de imágenes (``--imagenes``).
        data_dir: en lugar del par anterior, la carpeta de un conjunto en cualquier formato
            (``--datos``; ver :func:`datos.conjuntos.read_dataset`).
        data_format: ``"voc"``, ``"yolo"`` o ``"coco"`` (``--formato-datos``; ``None``: se
            reconoce por el contenido).
        split: la partición del conjunto que se lee, ``"train"``, ``"val"`` o ``"test"``
            (``--particion``; ``None``: todo). De ella salen entrenamiento y validación.
        labels: clases (``--etiquetas``; ``["lego"]`` en el blog; ``None``: todas).
        run_dir: carpeta de registro.csv, curvas.png, precision_recall_*.png y respaldo/
            (``--salida``; ``None``: entrenamiento en memoria, sin escribir nada).
        weights_path: el mejor modelo (``--archivo-pesos``; ``pesos/red_lego.h5`` en el
            blog; ``None``: ``run_dir/modelo.h5``).
        recipe: la receta de la que parte (``--receta``): ``"blog"`` o ``"fotos"``.
        input_size: ``(alto, ancho)``, múltiplos de 32 (``--tamanio``; 416).
        max_boxes: cajas del búfer de la pérdida por imagen (``--max-cajas``; ``None``: las
            de la imagen de entrenamiento con más cajas, como mucho
            :data:`MAX_BUFFER_BOXES`).
        epochs: épocas (``--epocas``; ``None``: 7, las del blog, o con la receta
            ``fotos`` y ``minutes``, las que quepan en el tiempo: ver :attr:`epochs_used`).
        train_times: veces que se ve cada imagen por época (``--repeticiones``; 5).
        batch_size: imágenes por lote (``--lote``).
        anchors: ``"voc"``, ``"auto"`` (k-means de las cajas de entrenamiento) o anchos y
            altos en celdas (``--anclas``).
        backbone: ``"darknet19"``, ``"tiny"`` o ``"mobilenetv2"`` (``--backbone``).
        width_multiplier: multiplica los filtros del extractor (``--ancho``; 1.0); con
            ``mobilenetv2``, su alpha (de 0.1 a 2).
        backbone_weights: punto de partida del extractor (``--backbone-pesos``; ver
            :func:`modelos.yolo.transferencia.load_backbone_weights`).
        freeze_epochs: épocas iniciales con el extractor congelado (``--congelar``;
            ``None``: 0, o 1 con la receta ``fotos`` y un ``mobilenetv2`` preentrenado:
            ver :attr:`freeze_used`).
        warmup_epochs: épocas de calentamiento de la pérdida (``--epocas-calentamiento``).
        learning_rate: tasa de Adam (``--tasa``).
        cosine: tasa en coseno hasta el 1 % al final de las épocas o de ``minutes``
            (``--coseno``); si no, constante como en el blog.
        patience: parada temprana tras ``patience`` épocas sin mejorar (``--paciencia``;
            ``None``: sin parada).
        minutes: tope de tiempo de entrenamiento (``--minutos``).
        validation: fracción de validación (``--validacion``; 0.2).
        augment: aumento de datos de imgaug, con cajas (``--aumento``).
        augment_settings: argumentos de :func:`datos.aumento.make_augmenter` (vacío: el
            aumento del artículo) (``--ajustes-aumento``).
        multiscale: entrenamiento multiescala de YOLOv2 (``--multiescala``): cada lote a
            uno de los tamaños de :func:`modelos.yolo.lotes.multiscale_sizes`; la
            validación, el mAP y el modelo guardado siguen en ``input_size``.
        box_loss: término de coordenadas de la pérdida (``--perdida-cajas``).
        ema_momentum: media móvil de los pesos para evaluar y guardar (``--ema``;
            ``None``: sin media).
        monitor: la métrica que elige el mejor modelo (``--monitor``): ``val_loss`` o
            ``val_map_50`` (el mAP@0.5 de validación de cada época).
        early_stop_with_time_limit: con ``minutes``, parar también por ``patience``
            (``--parada-con-tope``); la receta ``fotos`` usa todo el tiempo.
        workers: hilos que preparan lotes (``--trabajadores``).
        precision: precisión del entrenamiento (``--precision``).
        seed: semilla de la división, el barajado, el aumento y los pesos iniciales
            (``--semilla``).
    """

    TASK = "deteccion"
    PRESET_FIELD = "recipe"
    RESOLVED_KEYS = (USED_PRECISION_KEY,)

    ann_dir: Path | None = setting("--anotaciones", None)
    img_dir: Path | None = setting("--imagenes", None)
    data_dir: Path | None = setting("--datos", None)
    data_format: str | None = setting("--formato-datos", None, choices=DATASET_FORMATS)
    split: str | None = setting("--particion", None, choices=DATASET_SPLITS)
    labels: tuple[str, ...] | None = setting("--etiquetas", None)
    run_dir: Path | None = setting("--salida", Path(DEFAULT_RUN))
    weights_path: Path | None = setting("--archivo-pesos", None)
    recipe: str = setting("--receta", "blog", choices=YOLO_RECIPES)
    input_size: int | tuple[int, int] = setting("--tamanio", (416, 416), check=_input_size)
    max_boxes: int | None = setting("--max-cajas", None, minimum=1)
    epochs: int | None = setting("--epocas", None, minimum=1)
    train_times: int = setting("--repeticiones", 5, minimum=1)
    batch_size: int = setting("--lote", 8, minimum=1)
    anchors: str | tuple[float, ...] | tuple[tuple[float, float], ...] = setting(
        "--anclas", "voc", check=_anchors)
    backbone: str = setting("--backbone", "darknet19", choices=BACKBONES)
    width_multiplier: float = setting("--ancho", 1.0, minimum=0.01, maximum=4.0)
    backbone_weights: Path | None = setting("--backbone-pesos", None)
    freeze_epochs: int | None = setting("--congelar", None, minimum=0)
    warmup_epochs: int = setting("--epocas-calentamiento", 3, minimum=0)
    learning_rate: float = setting("--tasa", 1e-4, above=0.0, maximum=MAX_LEARNING_RATE)
    cosine: bool = setting("--coseno", False)
    patience: int | None = setting("--paciencia", 3, minimum=0, zero_is_none=True)
    minutes: float | None = setting("--minutos", None, above=0.0, maximum=1e7)
    validation: float = setting("--validacion", 0.2, minimum=0.0, below=1.0)
    augment: bool = setting("--aumento", True)
    augment_settings: Mapping[str, Any] = setting("--ajustes-aumento", {})
    multiscale: bool = setting("--multiescala", False)
    box_loss: str = setting("--perdida-cajas", "darknet", choices=BOX_LOSSES)
    ema_momentum: float | None = setting("--ema", None, above=0.0, below=1.0)
    monitor: str = setting("--monitor", "val_loss", choices=MONITORS)
    early_stop_with_time_limit: bool = setting("--parada-con-tope", True)
    workers: int = setting("--trabajadores", 1, minimum=1)
    precision: str = setting("--precision", DEFAULT_TRAINING_PRECISION,
                             choices=TRAINING_PRECISIONS)
    seed: int = setting("--semilla", 0, minimum=0)

    def check(self) -> None:
        if self.freeze_epochs and self.freeze_epochs >= self.epochs_used:
            raise ArgumentError(
                f"«freeze_epochs» (--congelar, {self.freeze_epochs}) debe ser menor que "
                f"«epochs» (--epocas, {self.epochs_used}): tras congelar hace falta alguna "
                "época para afinar el extractor.")
        low, high = MOBILENET_ALPHAS
        if self.backbone == "mobilenetv2" and not low <= self.width_multiplier <= high:
            raise ArgumentError(
                f"«width_multiplier» (--ancho, {self.width_multiplier}) es el alpha de la "
                f"MobileNetV2 con --backbone mobilenetv2: debe estar entre {low} y {high} "
                "(los pesos de ImageNet son de 1.0).")

    @property
    def trains_until_time(self) -> bool:
        """``True`` si para el reloj y no las épocas: receta ``fotos``, ``minutes`` y sin
        ``epochs`` explícitas."""
        return self.epochs is None and self.recipe == "fotos" and self.minutes is not None

    @property
    def epochs_used(self) -> int:
        """Las épocas que se piden a ``fit``: ``epochs`` si se dio; si no, sin tope
        (:data:`UNTIL_TIME`) cuando la receta entrena por tiempo, o las 7 del blog."""
        if self.epochs is not None:
            return self.epochs
        return UNTIL_TIME if self.trains_until_time else BLOG_EPOCHS

    @property
    def freeze_used(self) -> int:
        """Las épocas con el extractor congelado: ``freeze_epochs`` si se dio; si no, 1
        con la receta ``fotos`` y un ``mobilenetv2`` preentrenado (salvo con JAX), o 0."""
        if self.freeze_epochs is not None:
            return self.freeze_epochs
        pretrained = self.backbone == "mobilenetv2" and self.backbone_weights is not None
        if self.recipe == "fotos" and pretrained and keras_backend() != "jax":
            return PRETRAINED_FREEZE_EPOCHS
        return 0

    @property
    def patience_used(self) -> int | None:
        """La paciencia que se aplica: ninguna con tope de tiempo si la receta lo pide."""
        if self.minutes is not None and not self.early_stop_with_time_limit:
            return None
        return self.patience


def keras_backend() -> str:
    """El backend de Keras de este proceso (se importa Keras al llamarla, no al cargar)."""
    from nucleo.keras_listo import keras

    return keras.backend.backend()


DetectionConfig.PRESETS = types.MappingProxyType({
    "blog": DetectionConfig(),
    "fotos": DetectionConfig(
        recipe="fotos", multiscale=True, ema_momentum=0.99, monitor=VAL_MAP,
        early_stop_with_time_limit=False,
        augment_settings={"scale": (0.6, 1.4), "translate": 0.2,
                          "geometric_probability": 0.9, "hue": (-12, 12),
                          "saturation": (0.6, 1.4), "max_photometric": 2}),
})
