"""Pérdida de YOLOv2 (capa ``[region]`` de darknet) como pérdida registrada de Keras.

``y_pred`` es la salida cruda de la red ``(B, S_h, S_w, A, 5 + C)`` (ver
:mod:`modelos.yolo.decodificacion` para su significado) e ``y_true`` el objetivo
apilado de :class:`modelos.yolo.lotes.YoloDataset` (rejilla + búfer de cajas
verdaderas, ver :func:`modelos.yolo.objetivos.pack_target`). La pérdida no lee nada del
modelo.

Términos, por imagen (σ = sigmoide; «responsable» = el ancla a la que
:func:`modelos.yolo.objetivos.encode_targets` asignó un objeto, ``obj = 1``)::

    coordenadas  Σ_resp  ½·coord_scale·(2 − w·h)·[(σ(tx) − x̂)² + (σ(ty) − ŷ)²
                                                 + (tw − ŵ)² + (th − ĥ)²]
    objeto       Σ_resp  object_scale·E(IoU(predicha, verdadera), to)
    sin objeto   Σ_resto no_object_scale·E(0, to)   salvo si la caja predicha ya
                         solapa alguna caja del búfer con IoU > ignore_thresh
    clase        Σ_resp  class_scale·entropía_cruzada(softmax(logits), one-hot)
    calentamiento Σ_resto ½·warmup_scale·[(σ(tx) − ½)² + (σ(ty) − ½)² + tw² + th²]
                         solo durante los primeros ``warmup_batches`` lotes

con ``x̂ = cx − columna``, ``ŷ = cy − fila`` (desplazamiento dentro de la celda),
``ŵ = log(w / ancla_w)``, ``ĥ = log(h / ancla_h)`` y ``w·h`` el área de la caja
verdadera relativa a la imagen (las cajas pequeñas pesan casi el doble). Es la
formulación de darknet (``region_layer.c``, ``rescore=1``): el gradiente de las
coordenadas, de la clase (``p − t`` respecto a los logits) y del calentamiento es
exactamente el ``delta`` que darknet propaga (por eso el ½ en los cuadráticos). La
IoU objetivo y la máscara de «ignorar» no propagan gradiente.

Error de objeto ``E(t, to)``, elegible con ``objectness_loss``:

- ``"logistic"`` (por defecto): ``KL(t ‖ σ(to))``, la entropía cruzada binaria con
  objetivo suave ``t`` menos la entropía de ``t`` (vale 0 cuando ``σ(to) = t``). Su
  gradiente respecto al logit es ``σ(to) − t``: el ``delta`` de darknet sin la
  derivada de la sigmoide (así lo propaga la capa ``[yolo]`` de YOLOv3).
- ``"squared"``: ``½·(t − σ(to))²``, el de darknet en GPU y keras-yolo2. Su
  gradiente lleva el factor ``σ(1 − σ)`` y se apaga cuando ``σ(to) ≈ 0``: un ancla
  responsable que el término «sin objeto» hundió al principio tarda mucho en
  aprender su objeto. Por eso ``"logistic"`` es el valor por defecto (la comparación
  medida de las dos está en ``bench/RESULTS.md``).

Término de coordenadas, elegible con ``box_loss``:

- ``"darknet"`` (por defecto): el cuadrático de arriba sobre ``tx, ty, tw, th``.
- ``"giou"``: ``coord_scale·(2 − w·h)·(1 − GIoU)`` entre la caja predicha y la
  verdadera (Rezatofighi et al., 2019); la IoU generalizada resta a la IoU la parte
  vacía de la caja que encierra a las dos, así que también empuja cuando no se tocan.
- ``"ciou"``: como ``"giou"`` con la IoU completa (Zheng et al., 2020): IoU menos la
  distancia entre centros (relativa a la diagonal de la caja que las encierra) y
  menos la diferencia de proporciones ``ancho/alto``. Castiga directamente una caja
  más grande que su objeto, lo que el cuadrático en ``log(w)`` deja barato.

Las dos últimas propagan el gradiente por la caja decodificada
(``σ(tx) + columna``, ``ancla·exp(tw)``), no por los valores crudos.

Normalización: cada término se **suma** sobre las celdas y anclas de la imagen y
:meth:`YoloLoss.call` devuelve un valor por imagen ``(B,)``; la reducción de Keras
(``sum_over_batch_size``) hace la media sobre el lote, lo mismo que darknet al
dividir la tasa de aprendizaje por el tamaño del lote. keras-yolo2 dividía cada
término por su número de cajas, lo que deja el término «sin objeto» como una media
sobre ~845 anclas y debilita la supresión de falsos positivos; con la suma de
darknet y Adam (invariante a la escala global) el entrenamiento desde cero es
estable (ver la prueba de aprendizaje en ``tests/test_yolo_perdida.py``).

Referencia:
    Redmon y Farhadi, «YOLO9000: Better, Faster, Stronger» (2016);
    pjreddie/darknet, ``src/region_layer.c`` y ``cfg/yolov2-voc.cfg``;
    experiencor/keras-yolo2, ``frontend.YOLO.custom_loss``;
    «Detección de objetos con Python y YOLO», Aprende Machine Learning.
"""

from __future__ import annotations

import logging

import numpy as np


from nucleo.keras_listo import keras
from nucleo.keras_listo import ops

from nucleo.errores import ArgumentError
from nucleo.validacion import check_int
from nucleo.validacion import check_number
# Formas del término de objeto y del de coordenadas (ver la docstring del módulo).
from nucleo.vocabulario import BOX_LOSSES
from nucleo.vocabulario import OBJECTNESS_LOSSES
from modelos.yolo.objetivos import LOG_WH_LIMIT
from modelos.yolo.objetivos import as_anchors
from modelos.yolo.objetivos import unpack_target

# Evita 0/0 en la IoU de dos cajas vacías (relleno del búfer).
_EPSILON = 1e-9


@keras.saving.register_keras_serializable(package="redes")
class YoloLoss(keras.losses.Loss):
    """Pérdida de YOLOv2 con los hiperparámetros de darknet ``[region]``.

    Args:
        anchors: (A, 2) ``w, h`` de las anclas en unidades de celda, o la lista
            plana ``[w0, h0, w1, h1, ...]`` de keras-yolo2.
        object_scale: peso del término de objeto (5 en darknet y keras-yolo2).
        no_object_scale: peso del término sin objeto (1).
        coord_scale: peso de las coordenadas (1).
        class_scale: peso de la clase (1).
        ignore_thresh: las anclas sin objeto cuya caja predicha solapa alguna caja
            verdadera con IoU mayor que esto no se castigan (0.6, ``thresh`` de darknet).
        warmup_batches: durante estos primeros lotes las anclas sin objeto se
            llevan hacia su ancla (centro de la celda, ancho y alto del ancla), como
            darknet mientras ``seen < 12800`` imágenes. 0 lo desactiva.
        warmup_scale: peso del calentamiento (0.01, el de darknet).
        objectness_loss: ``"logistic"`` (por defecto) o ``"squared"`` (darknet en GPU
            y keras-yolo2); ver la docstring del módulo.
        box_loss: ``"darknet"`` (por defecto), ``"giou"`` o ``"ciou"``; ver la
            docstring del módulo.
        name: nombre de la pérdida.
        **kwargs: ``reduction`` y ``dtype`` de ``keras.losses.Loss``.

    Contador de lotes: con ``warmup_batches > 0`` la pérdida lleva un contador
    ``seen`` (la variable de una métrica :class:`BatchCounter`, no un peso del modelo)
    que suma 1 en **cada llamada**, también en los lotes de validación y en
    ``evaluate`` (la pérdida no sabe si entrena). Dentro de ``fit`` cuenta con
    TensorFlow (``jit_compile`` verdadero o falso, y con
    ``tf.distribute.MirroredStrategy``, donde cuenta solo la primera réplica) y con
    PyTorch. Con JAX el paso compilado no tiene estado propio: el contador cuenta si la
    pérdida está ligada al modelo con :meth:`bind` (``build_yolo`` lo hace), porque
    entonces es una métrica del modelo y Keras lo lleva dentro del paso.

    Example:
        >>> loss = YoloLoss(VOC_ANCHORS, warmup_batches=100)
        >>> model.compile(optimizer="adam", loss=loss)
        >>> loss.bind(model)  # el contador cuenta también con JAX
        >>> model.fit(YoloDataset(registros, ["lego"]), epochs=7)
    """

    def __init__(self, anchors, object_scale: float = 5.0, no_object_scale: float = 1.0,
                 coord_scale: float = 1.0, class_scale: float = 1.0,
                 ignore_thresh: float = 0.6, warmup_batches: int = 0,
                 warmup_scale: float = 0.01, objectness_loss: str = "logistic",
                 box_loss: str = "darknet", name: str = "yolo_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        where = "YoloLoss"
        self.anchors = as_anchors(anchors)  # (A, 2) float64
        self.object_scale = check_number(object_scale, "object_scale", minimum=0.0,
                                         maximum=1e6, where=where)
        self.no_object_scale = check_number(no_object_scale, "no_object_scale",
                                            minimum=0.0, maximum=1e6, where=where)
        self.coord_scale = check_number(coord_scale, "coord_scale", minimum=0.0,
                                        maximum=1e6, where=where)
        self.class_scale = check_number(class_scale, "class_scale", minimum=0.0,
                                        maximum=1e6, where=where)
        self.ignore_thresh = check_number(ignore_thresh, "ignore_thresh", minimum=0.0,
                                          maximum=1.0, where=where)
        self.warmup_batches = check_int(warmup_batches, "warmup_batches", minimum=0,
                                        where=where)
        self.warmup_scale = check_number(warmup_scale, "warmup_scale", minimum=0.0,
                                         maximum=1e6, where=where)
        if objectness_loss not in OBJECTNESS_LOSSES:
            raise ArgumentError(f"YoloLoss: «objectness_loss» debe ser uno de "
                                f"{list(OBJECTNESS_LOSSES)}; recibido {objectness_loss!r}.")
        self.objectness_loss = objectness_loss
        if box_loss not in BOX_LOSSES:
            raise ArgumentError(f"YoloLoss: «box_loss» debe ser uno de {list(BOX_LOSSES)}; "
                                f"recibido {box_loss!r}.")
        self.box_loss = box_loss
        self.counter = BatchCounter() if self.warmup_batches else None
        self._bound = False

    @property
    def seen(self):
        """La variable con los lotes vistos (``None`` sin calentamiento)."""
        return None if self.counter is None else self.counter.seen

    def bind(self, model) -> None:
        """Hace del contador una métrica de ``model`` (el calentamiento cuenta con JAX).

        No cambia los pesos ni lo que escribe ``fit``: la métrica no da ningún valor.
        """
        if self.counter is not None:
            model.yolo_batch_counter = self.counter
            self._bound = True

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")  # la red puede ir en mixed_bfloat16
        y_true = ops.cast(y_true, "float32")
        grid_h, grid_w, n_anchors = self._check_shapes(y_true, y_pred)
        if grid_h is None or grid_w is None:
            # Entrenamiento multiescala con TensorFlow: la rejilla cambia de un lote a otro
            # y el grafo la lee del tensor.
            grid_h, grid_w = ops.shape(y_pred)[1], ops.shape(y_pred)[2]
            cells = _dynamic_cell_offsets(grid_h, grid_w)
            n_cells = ops.cast(grid_h * grid_w, "float32")
        else:
            cells = ops.convert_to_tensor(_cell_offsets(grid_h, grid_w))
            n_cells = float(grid_h * grid_w)
        target, true_boxes = unpack_target(y_true, (grid_h, grid_w), n_anchors)
        # target (B, S_h, S_w, A, 5 + C); true_boxes (B, M, 4) cx, cy, w, h en celdas;
        # cells (1, S_h, S_w, 1, 2)
        anchors = ops.convert_to_tensor(self.anchors, "float32")  # (A, 2)

        pred_offset = ops.sigmoid(y_pred[..., 0:2])       # (B, S_h, S_w, A, 2)
        pred_log_wh = y_pred[..., 2:4]                    # (B, S_h, S_w, A, 2)
        # La caja decodificada: con gradiente solo para box_loss «giou»/«ciou».
        box_xy = cells + pred_offset
        box_wh = anchors * ops.exp(ops.clip(pred_log_wh, -LOG_WH_LIMIT, LOG_WH_LIMIT))
        pred_xy, pred_wh = ops.stop_gradient(box_xy), ops.stop_gradient(box_wh)

        true_xy, true_wh = target[..., 0:2], target[..., 2:4]
        responsible = target[..., 4]                      # (B, S_h, S_w, A) 0/1
        empty = 1.0 - responsible

        # === Coordenadas (anclas responsables) ===
        has_box = ops.expand_dims(responsible, -1) > 0
        # En las anclas sin objeto la caja verdadera es el ancla (el término se enmascara
        # igual): log(w / ancla) = log(1) = 0, sin divisiones por 0.
        safe_wh = ops.where(has_box, ops.maximum(true_wh, _EPSILON), anchors)
        relative_area = true_wh[..., 0] * true_wh[..., 1] / n_cells
        if self.box_loss == "darknet":
            coord_error = 0.5 * ops.sum(ops.square(pred_offset - (true_xy - cells))
                                        + ops.square(pred_log_wh - ops.log(safe_wh / anchors)),
                                        axis=-1)
        else:
            safe_xy = ops.where(has_box, true_xy, cells + 0.5)
            coord_error = 1.0 - _iou_variant(box_xy, box_wh, safe_xy, safe_wh,
                                             self.box_loss)
        coord = self.coord_scale * responsible * (2.0 - relative_area) * coord_error

        # === Objeto: objetivo = IoU de la caja predicha con la suya (rescore) ===
        iou = ops.stop_gradient(_iou(pred_xy, pred_wh, true_xy, true_wh))
        obj = self.object_scale * responsible * self._objectness_error(iou, y_pred[..., 4])

        # === Sin objeto, salvo donde ya se solapa alguna caja verdadera ===
        # (B, S_h, S_w, A, 1, 2) frente a (B, 1, 1, 1, M, 2) -> (B, S_h, S_w, A, M)
        buffer = true_boxes[:, None, None, None, :, :]
        best_iou = ops.max(_iou(pred_xy[..., None, :], pred_wh[..., None, :],
                                buffer[..., 0:2], buffer[..., 2:4]), axis=-1)
        penalised = ops.stop_gradient(
            empty * ops.cast(best_iou <= self.ignore_thresh, "float32"))
        no_obj = self.no_object_scale * penalised * self._objectness_error(0.0, y_pred[..., 4])

        # === Clase: entropía cruzada del softmax (delta p − t de darknet) ===
        log_probs = ops.log_softmax(y_pred[..., 5:], axis=-1)
        cls = -self.class_scale * responsible * ops.sum(target[..., 5:] * log_probs, axis=-1)

        total = coord + obj + no_obj + cls                 # (B, S_h, S_w, A)
        if self.seen is not None:
            total = total + self._warmup_term(pred_offset, pred_log_wh, empty)
        return ops.sum(total, axis=(1, 2, 3))              # (B,)

    def _objectness_error(self, target, logit):
        """Error de objeto frente a un objetivo en [0, 1] (IoU o 0), por ancla."""
        if self.objectness_loss == "squared":
            return 0.5 * ops.square(target - ops.sigmoid(logit))
        # KL(t ‖ σ) = entropía cruzada binaria − entropía de t: 0 cuando σ = t;
        # softplus(z) − t·z es la entropía cruzada estable para |z| grande.
        entropy = -(target * ops.log(ops.maximum(target, _EPSILON))
                    + (1.0 - target) * ops.log(ops.maximum(1.0 - target, _EPSILON)))
        return ops.softplus(logit) - target * logit - entropy

    def _warmup_term(self, pred_offset, pred_log_wh, empty):
        """Tira de las anclas sin objeto hacia su ancla y suma 1 al contador."""
        if not self._bound and keras.backend.backend() == "jax":
            _warn_unbound_once()
        active = ops.cast(ops.less(self.seen, self.warmup_batches), "float32")
        self.seen.assign_add(1)
        prior_error = ops.sum(ops.square(pred_offset - 0.5) + ops.square(pred_log_wh),
                              axis=-1)
        return 0.5 * self.warmup_scale * active * empty * prior_error

    def _check_shapes(self, y_true, y_pred) -> tuple[int | None, int | None, int]:
        """``(S_h, S_w, A)`` de la predicción; la rejilla es ``None`` si no es estática."""
        shape = tuple(y_pred.shape)
        if len(shape) != 5 or any(d is None for d in shape[3:]):
            raise ArgumentError(
                f"YoloLoss: la predicción debe tener forma (B, S_h, S_w, A, 5 + C), con A y "
                f"5 + C conocidos; recibida {shape}.")
        _, grid_h, grid_w, n_anchors, depth = shape
        if n_anchors != len(self.anchors) or depth < 6:
            raise ArgumentError(
                f"YoloLoss: la predicción {shape} no encaja con {len(self.anchors)} anclas "
                f"y al menos una clase (se esperaba (B, S_h, S_w, {len(self.anchors)}, "
                f"5 + C)).")
        rows = None if grid_h is None or grid_w is None else grid_h * grid_w * n_anchors
        true_shape = tuple(y_true.shape)
        if len(true_shape) != 3 or true_shape[-1] not in (None, depth) or (
                rows is not None and true_shape[1] is not None and true_shape[1] <= rows):
            raise ArgumentError(
                f"YoloLoss: el objetivo debe tener forma (B, {rows or 'S_h·S_w·A'} + "
                f"max_cajas, {depth}) "
                f"(modelos.yolo.objetivos.pack_target); recibida {true_shape}.")
        return grid_h, grid_w, n_anchors

    def get_config(self):
        return {**super().get_config(), "anchors": self.anchors.tolist(),
                "object_scale": self.object_scale, "no_object_scale": self.no_object_scale,
                "coord_scale": self.coord_scale, "class_scale": self.class_scale,
                "ignore_thresh": self.ignore_thresh, "warmup_batches": self.warmup_batches,
                "warmup_scale": self.warmup_scale, "objectness_loss": self.objectness_loss,
                "box_loss": self.box_loss}


class BatchCounter(keras.metrics.Metric):
    """Contador de lotes de :class:`YoloLoss`, llevado como métrica del modelo.

    Keras no lo reinicia al empezar cada época y no añade nada a los registros de
    ``fit`` (``result`` es un diccionario vacío). Con JAX, ser una métrica del modelo
    es lo que hace que el paso compilado actualice la variable.
    """

    def __init__(self, name: str = "yolo_lotes_vistos"):
        super().__init__(name=name)
        # only_first_replica: con MirroredStrategy cada réplica llama a la pérdida, pero
        # el lote (global) cuenta una vez. Con un inicializador (no un valor) se crea
        # también en el keras.StatelessScope donde modelos.load construye en seco.
        self.seen = self.add_variable(shape=(), initializer="zeros", dtype="int32",
                                      aggregation="only_first_replica", name="seen")

    def update_state(self, *args, **kwargs):
        """La pérdida suma al contador; las métricas de ``compile`` no lo tocan."""

    def reset_state(self):
        """No se reinicia con cada época: cuenta desde el principio."""

    def result(self):
        return {}


_warned = False


def _warn_unbound_once() -> None:
    global _warned
    if _warned:
        return
    _warned = True
    logging.getLogger(__name__).warning(
        "YoloLoss con warmup_batches y el backend JAX: sin loss.bind(model) el contador "
        "de lotes no cuenta dentro de fit y el calentamiento no termina.")


def _cell_offsets(grid_h: int, grid_w: int) -> np.ndarray:
    """``float32`` (1, S_h, S_w, 1, 2) con ``(columna, fila)`` de cada celda."""
    cols, rows = np.meshgrid(np.arange(grid_w), np.arange(grid_h))  # (S_h, S_w) cada una
    return np.stack([cols, rows], axis=-1).astype(np.float32)[None, :, :, None, :]


def _dynamic_cell_offsets(grid_h, grid_w):
    """Como :func:`_cell_offsets` con una rejilla que solo se conoce al ejecutar."""
    cols, rows = ops.meshgrid(ops.arange(grid_w, dtype="float32"),
                              ops.arange(grid_h, dtype="float32"))  # (S_h, S_w) cada una
    return ops.expand_dims(ops.expand_dims(ops.stack([cols, rows], axis=-1), 0), 3)


def _overlap(xy_a, wh_a, xy_b, wh_b):
    """Intersección y unión de cajas ``(cx, cy)``/``(w, h)`` que se difunden entre sí."""
    top_left = ops.maximum(xy_a - wh_a / 2.0, xy_b - wh_b / 2.0)
    bottom_right = ops.minimum(xy_a + wh_a / 2.0, xy_b + wh_b / 2.0)
    sides = ops.maximum(bottom_right - top_left, 0.0)
    intersection = sides[..., 0] * sides[..., 1]
    union = wh_a[..., 0] * wh_a[..., 1] + wh_b[..., 0] * wh_b[..., 1] - intersection
    return intersection, union


def _iou(xy_a, wh_a, xy_b, wh_b):
    """IoU de cajas ``(cx, cy)``/``(w, h)`` que se difunden entre sí (``keras.ops``)."""
    intersection, union = _overlap(xy_a, wh_a, xy_b, wh_b)
    return intersection / ops.maximum(union, _EPSILON)


def _iou_variant(xy_a, wh_a, xy_b, wh_b, kind: str):
    """GIoU o CIoU (``kind``) de cajas ``(cx, cy)``/``(w, h)`` de la misma forma."""
    intersection, union = _overlap(xy_a, wh_a, xy_b, wh_b)
    iou = intersection / ops.maximum(union, _EPSILON)
    outer = (ops.maximum(xy_a + wh_a / 2.0, xy_b + wh_b / 2.0)
             - ops.minimum(xy_a - wh_a / 2.0, xy_b - wh_b / 2.0))  # la que encierra a las dos
    if kind == "giou":
        hull = ops.maximum(outer[..., 0] * outer[..., 1], _EPSILON)
        return iou - (hull - union) / hull
    diagonal = ops.maximum(ops.sum(ops.square(outer), axis=-1), _EPSILON)
    distance = ops.sum(ops.square(xy_a - xy_b), axis=-1)
    shape_gap = (4.0 / np.pi ** 2) * ops.square(
        ops.arctan(wh_b[..., 0] / ops.maximum(wh_b[..., 1], _EPSILON))
        - ops.arctan(wh_a[..., 0] / ops.maximum(wh_a[..., 1], _EPSILON)))
    alpha = ops.stop_gradient(shape_gap / ops.maximum(1.0 - iou + shape_gap, _EPSILON))
    return iou - distance / diagonal - alpha * shape_gap
