"""``build_yolo``: YOLOv2 (Darknet-19 o tiny) compilado con su pérdida, listo para ``fit``.

La red es el extractor de darknet (:func:`modelos.yolo.darknet.build_darknet19`) con su
convolución final 1×1 de ``A·(5 + C)`` filtros, y la salida se ordena como
``(S_h, S_w, A, 5 + C)``: por ancla ``tx, ty, tw, th``, el logit de objeto y los
logits de las clases, sin activar (el orden de canales de la capa ``[region]`` de
darknet, así que los pesos ``.weights`` de darknet sirven tal cual). La pérdida
(:class:`modelos.yolo.perdida.YoloLoss`) y la decodificación
(:func:`modelos.yolo.decodificacion.decode`) leen ese formato.

``build_yolo()`` sin argumentos es la configuración del artículo: etiquetas
``["lego"]``, entrada 416×416 (rejilla 13×13), 5 anclas, a lo sumo 5 cajas por
imagen, Adam con tasa 1e-4. Así, como en el blog::

    modelo = build_yolo()
    modelo.fit(YoloDataset(imagenes, ["lego"], augmenter=True, train_times=5), epochs=7)

Con 20 clases y las anclas de VOC el número de parámetros es el de darknet:
50.676.061 (Darknet-19) y 15.867.885 (tiny); con la MobileNetV2 de ImageNet
(``backbone="mobilenetv2"``), 2.418.109.

Referencias:
    Redmon y Farhadi, «YOLO9000: Better, Faster, Stronger» (2016), y los archivos
    ``yolov2-voc.cfg`` / ``yolov2-tiny-voc.cfg`` de darknet; experiencor/keras-yolo2;
    «Detección de objetos con Python y YOLO», Aprende Machine Learning.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any


from nucleo.keras_listo import keras
from nucleo.keras_listo import layers

from datos.cajas import as_size
from nucleo.errores import ArgumentError
from nucleo.validacion import check_int
from nucleo.validacion import check_number
from modelos.clasificacion.constructor import finish_model
from nucleo.vocabulario import BACKBONES
from nucleo.vocabulario import MAX_IMAGE_SIDE
from modelos.yolo.darknet import build_darknet19
from modelos.optimizadores import adam
from modelos.registro import builder_spec
from modelos.registro import register_builder
from modelos.yolo.objetivos import STRIDE
from modelos.yolo.objetivos import VOC_ANCHORS
from modelos.yolo.objetivos import as_anchors
from modelos.yolo.perdida import YoloLoss

# Los valores del artículo (keras-yolo2 con la configuración del blog).
BLOG_LABELS = ("lego",)
BLOG_INPUT_SIZE = 416
BLOG_MAX_BOXES = 5
BLOG_LEARNING_RATE = 1e-4


@keras.saving.register_keras_serializable(package="redes")
class GridReshape(layers.Layer):
    """``(B, S_h, S_w, A·(5 + C))`` → ``(B, S_h, S_w, A, 5 + C)``: la rejilla de YOLOv2.

    Como ``keras.layers.Reshape``, pero la rejilla se lee de la entrada: con la forma
    estática (la del modelo construido, y la del grafo que se exporta) es el mismo
    *reshape*; con un alto y un ancho desconocidos (el entrenamiento multiescala de
    :func:`allow_multiscale`, donde cada lote trae su tamaño) los lee del tensor.

    Args:
        anchors: número de anclas A.
        depth: ``5 + C``.
    """

    def __init__(self, anchors: int, depth: int, **kwargs):
        super().__init__(**kwargs)
        self.anchors = check_int(anchors, "anchors", where="GridReshape")
        self.depth = check_int(depth, "depth", minimum=6, where="GridReshape")

    def call(self, inputs):
        _, height, width, _ = inputs.shape
        if height is None or width is None:
            height, width = keras.ops.shape(inputs)[1], keras.ops.shape(inputs)[2]
        return keras.ops.reshape(inputs, (-1, height, width, self.anchors, self.depth))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        if channels is not None and channels != self.anchors * self.depth:
            raise ArgumentError(f"GridReshape: la entrada tiene {channels} canales; se "
                                f"esperaban {self.anchors}·{self.depth} = "
                                f"{self.anchors * self.depth}.")
        return (batch, height, width, self.anchors, self.depth)

    def get_config(self):
        return {**super().get_config(), "anchors": self.anchors, "depth": self.depth}


@register_builder("yolo")
def build_yolo(
    labels: Sequence[str] = BLOG_LABELS,
    anchors=VOC_ANCHORS,
    input_size=BLOG_INPUT_SIZE,
    backbone: str = "darknet19",
    max_boxes: int = BLOG_MAX_BOXES,
    *,
    learning_rate: float = BLOG_LEARNING_RATE,
    object_scale: float = 5.0,
    no_object_scale: float = 1.0,
    coord_scale: float = 1.0,
    class_scale: float = 1.0,
    ignore_thresh: float = 0.6,
    warmup_batches: int = 0,
    box_loss: str = "darknet",
    reorg_order: str = "darknet",
    bn_epsilon: float = 1e-3,
    width_multiplier: float = 1.0,
    mobilenet_padding: str = "torchvision",
    ema_momentum: float | None = None,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """YOLOv2 compilado: imagen ``[0, 1]`` → ``(S_h, S_w, A, 5 + C)`` sin activar.

    Args:
        labels: nombres de las clases (``["lego"]`` en el blog).
        anchors: (A, 2) ancho y alto en celdas, o la lista plana de keras-yolo2
            (por defecto las 5 anclas de VOC de darknet).
        input_size: lado de la entrada, o ``(alto, ancho)``; múltiplo de 32
            (416 → rejilla 13×13).
        backbone: ``"darknet19"`` (``yolov2-voc.cfg``), ``"tiny"``
            (``yolov2-tiny-voc.cfg``) o ``"mobilenetv2"`` (la MobileNetV2 de ImageNet de
            :mod:`modelos.mobilenet`, para partir de sus pesos con pocas fotos: la
            convolución de detección va directamente sobre sus rasgos de paso 32).
        max_boxes: cajas verdaderas por imagen que guardan los lotes (5 en el blog).
            La pérdida lee el tamaño real del objetivo, así que sirve de valor por
            defecto para :class:`modelos.yolo.lotes.YoloDataset` y la CLI.
        learning_rate: tasa de Adam (1e-4 en keras-yolo2; para entrenar desde
            cero conviene 1e-3).
        object_scale: peso del término de objeto (``[region]`` de darknet, como los
            cinco siguientes; ver :class:`YoloLoss`).
        no_object_scale: peso del término de «sin objeto».
        coord_scale: peso del término de coordenadas.
        class_scale: peso del término de clases.
        ignore_thresh: IoU por encima de la cual una predicción sin objeto no se castiga.
        warmup_batches: lotes del calentamiento de las coordenadas hacia el centro.
        box_loss: término de coordenadas de :class:`YoloLoss`: ``"darknet"`` (el
            cuadrático del artículo), ``"giou"`` o ``"ciou"`` (basados en la IoU).
        reorg_order: ``"darknet"`` (el orden exacto de darknet) o
            ``"space_to_depth"`` (el de keras-yolo2) en el paso de reorganización.
        bn_epsilon: épsilon de BatchNormalization (``modelos.yolo.darknet.DARKNET_BN_EPSILON``
            para cargar pesos de darknet).
        width_multiplier: multiplica los filtros del extractor (1.0 = darknet; 0.25 da
            una red ~16 veces más barata para pruebas y demos). Con ``"mobilenetv2"`` es
            su ``alpha`` (de 0.1 a 2; los pesos de ImageNet son de 1.0).
        mobilenet_padding: con ``"mobilenetv2"``, el relleno de sus convoluciones de paso
            2: ``"torchvision"`` (para el ``.pth`` de torchvision) o ``"keras"`` (para el
            archivo de ImageNet de ``keras.applications``).
        ema_momentum: si se da (p. ej. 0.99), Adam guarda la media móvil exponencial de
            los pesos; ``train_yolo(recipe="fotos")`` la usa para evaluar y guardar.
        compile: compilar con YoloLoss y Adam.
        optimizer: sustituye a Adam(``learning_rate``) (:class:`FusedAdam`: la de Keras
            con la actualización fusionada de TensorFlow).
        loss: sustituye a YoloLoss.
        metrics: métricas (por defecto ninguna: se evalúa con mAP al final).

    Returns:
        ``keras.Model`` de entrada ``(None, alto, ancho, 3)`` y salida ``float32``
        ``(None, alto/32, ancho/32, A, 5 + C)``.

    Raises:
        ArgumentError: etiquetas vacías o repetidas, anclas no válidas, tamaño que no
            es múltiplo de 32, ``backbone`` desconocido...

    Example:
        >>> modelo = build_yolo(["perro", "gato"], input_size=320, backbone="tiny")
        >>> modelo.output_shape
        (None, 10, 10, 5, 7)
    """
    where = "build_yolo"
    names = _check_labels(labels)
    anchor_array = as_anchors(anchors)
    height, width = as_size(input_size, "input_size")
    if height % STRIDE or width % STRIDE:
        raise ArgumentError(f"{where}: «input_size» ({height}×{width}) debe ser múltiplo de "
                            f"{STRIDE}; p. ej. 224, 320, 416 o 608.")
    if max(height, width) > MAX_IMAGE_SIDE:
        # Se comprueba aquí, antes de reservar nada: también al cargar un .h5 (se
        # reconstruye con sus argumentos) que declare un tamaño imposible.
        raise ArgumentError(f"{where}: «input_size» ({height}×{width}) supera el lado máximo "
                            f"de una imagen, {MAX_IMAGE_SIDE}.")
    if backbone not in BACKBONES:
        raise ArgumentError(f"{where}: «backbone» debe ser uno de {list(BACKBONES)}; "
                            f"recibido {backbone!r}.")
    check_int(max_boxes, "max_boxes", where=where)
    check_number(learning_rate, "learning_rate", minimum=1e-12, maximum=10.0, where=where)
    if ema_momentum is not None:
        check_number(ema_momentum, "ema_momentum", minimum=0.0, maximum=0.99999, where=where)
    loss_kwargs = dict(object_scale=object_scale, no_object_scale=no_object_scale,
                       coord_scale=coord_scale, class_scale=class_scale,
                       ignore_thresh=ignore_thresh, warmup_batches=warmup_batches,
                       box_loss=box_loss)

    n_anchors, depth = len(anchor_array), 5 + len(names)
    if backbone == "mobilenetv2":
        inputs, raw = _mobilenet_detector((height, width), n_anchors * depth,
                                          width_multiplier, mobilenet_padding, where)
    else:
        darknet = build_darknet19((height, width, 3), backbone=backbone,
                                  num_outputs=n_anchors * depth, reorg_order=reorg_order,
                                  bn_epsilon=bn_epsilon, width_multiplier=width_multiplier,
                                  name=f"darknet_{backbone}")
        # Las capas del extractor se usan directamente (no como submodelo): los nombres
        # conv_N / norm_N quedan en el nivel superior, como en darknet y keras-yolo2.
        inputs, raw = darknet.inputs[0], darknet.outputs[0]
    x = GridReshape(n_anchors, depth, name="rejilla")(raw)
    outputs = layers.Activation("linear", dtype="float32", name="salida")(x)
    model = finish_model(
        inputs, outputs, name=f"yolov2_{backbone}", compile=compile,
        optimizer=optimizer, loss=loss, metrics=metrics,
        # Adam de Keras con la actualización fusionada (mismas cuentas, una sola pasada
        # por los 50,7 M de parámetros de YOLOv2 en lugar de una docena).
        default_optimizer=lambda: adam(learning_rate, ema_momentum),
        default_loss=YoloLoss(anchor_array.tolist(), **loss_kwargs),
        default_metrics=[],
    )
    if compile and isinstance(model.loss, YoloLoss):
        model.loss.bind(model)  # el contador del calentamiento cuenta también con JAX
    return model


def _mobilenet_detector(size: tuple[int, int], outputs: int, alpha: float, padding: str,
                        where: str):
    """La MobileNetV2 de ImageNet (capas ``features_*``, :mod:`modelos.mobilenet`) con la
    convolución de detección 1×1 encima, a paso 32: la ``MobileNetFeature`` de
    keras-yolo2, pero con la MobileNetV2 de torchvision (sus pesos de ImageNet se pueden
    tener sin descargar nada; por qué no ``keras.applications``: ver
    :mod:`modelos.mobilenet.constructor`). La normalización de ImageNet va dentro: la
    entrada sigue siendo la imagen en ``[0, 1]``, como la de darknet."""
    from modelos.mobilenet.constructor import MAX_ALPHA
    from modelos.mobilenet.constructor import MIN_ALPHA
    from modelos.mobilenet.constructor import mobilenetv2_features

    check_number(alpha, "width_multiplier", minimum=MIN_ALPHA, maximum=MAX_ALPHA,
                 where=f"{where} (backbone='mobilenetv2': el alpha de MobileNetV2)")
    inputs = keras.Input(shape=(*size, 3), name="entrada")
    features = mobilenetv2_features(inputs, alpha, padding)
    # conv_1, como la última conv_N de darknet: la cabeza que cambia con las clases.
    raw = layers.Conv2D(outputs, 1, padding="same", name="conv_1")(features)
    return inputs, raw


def allow_multiscale(model) -> keras.Model:
    """Deja que ``model`` (de :func:`build_yolo`) entrene con lotes de otros tamaños.

    El modelo sigue siendo el mismo: su entrada declarada (la que se guarda, se exporta y
    usa ``detect``) no cambia, y todas sus capas aceptan cualquier alto y ancho múltiplos
    de 32. Solo se relaja la comprobación de forma de la entrada, para que ``fit`` le pase
    los lotes de :class:`modelos.yolo.lotes.YoloDataset` con ``sizes`` (cada lote con su
    tamaño, y su rejilla en el objetivo). Un modelo cargado con ``modelos.load`` vuelve
    a exigir su tamaño.

    Returns:
        El mismo ``model``.

    Raises:
        ArgumentError: si el modelo no viene de :func:`build_yolo`.
    """
    yolo_config(model)  # solo modelos de build_yolo
    channels = model.input_shape[-1]
    model.input_spec = keras.InputSpec(shape=(None, None, None, channels))
    return model


def yolo_config(model) -> dict[str, Any]:
    """Configuración de un modelo de :func:`build_yolo` (también tras ``modelos.load``).

    Se lee de los argumentos completos con que se construyó (``modelos.registro`` guarda
    también los valores por defecto); si falta alguno, vale el de la firma de
    :func:`build_yolo`.

    Returns:
        ``{"labels", "anchors", "input_size": (alto, ancho), "grid": (S_h, S_w),
        "backbone", "max_boxes"}``.

    Raises:
        ArgumentError: si el modelo no viene de :func:`build_yolo`.
    """
    spec = builder_spec(model)
    if spec is None or spec.name != "yolo":
        raise ArgumentError("Se esperaba un modelo de build_yolo (o un modelo.h5 de "
                            "«redes deteccion entrenar»); este es "
                            f"«{spec.name if spec else type(model).__name__}».")
    kwargs = {**_signature_defaults(), **spec.kwargs}
    height, width = model.input_shape[1:3]
    return {
        "labels": _check_labels(kwargs["labels"]),
        "anchors": as_anchors(kwargs["anchors"]).tolist(),
        "input_size": (height, width),
        "grid": tuple(model.output_shape[1:3]),
        "backbone": kwargs["backbone"],
        "max_boxes": kwargs["max_boxes"],
    }


def _signature_defaults() -> dict[str, Any]:
    """Los valores por defecto de :func:`build_yolo`, leídos de su firma."""
    return {name: parameter.default
            for name, parameter in inspect.signature(build_yolo).parameters.items()
            if parameter.default is not inspect.Parameter.empty}


def _check_labels(labels) -> list[str]:
    names = [labels] if isinstance(labels, str) else list(labels or ())
    if not names or not all(isinstance(n, str) and n.strip() for n in names) \
            or len(set(names)) != len(names):
        raise ArgumentError(f"build_yolo: «labels» debe ser una lista de nombres de clase "
                            f"distintos y no vacíos; recibido {labels!r}.")
    return names
