"""Entrenar YOLOv2 sobre carpetas Pascal-VOC (``redes deteccion entrenar``).

:func:`train_yolo` hace lo que el cuaderno del artículo (``leer_annotations`` →
``yolo.train(...)``) con una :class:`~tareas.deteccion.configuracion.DetectionConfig`:
tamaño de entrada, cantidad de cajas, etiquetas, épocas, ``train_times``
(repeticiones) y el archivo de pesos (``saved_weights_name``). Además: anclas por
k-means (``anchors="auto"``), división 80/20 con semilla, épocas de calentamiento,
parada temprana y mejor modelo según ``val_loss`` (o el mAP de validación, receta
``fotos``), reanudación tras un corte, registro CSV y curva de pérdida, y al final el
mAP de validación por clase a IoU 0.5 (VOC) y 0.3 (la cifra del blog).

Por partes: comprobar (:func:`_check`), leer y dividir las anotaciones (:func:`_read`),
los lotes (:func:`_datasets`), el constructor (:func:`_builder_kwargs`), los callbacks
(:func:`_callbacks`, :func:`_evaluators`), entrenar e informar (:func:`_report`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from typing import Any

import numpy as np

from informes.resultado import TaskResult
from informes.resultado import training_files
from modelos.yolo.objetivos import VOC_ANCHORS
from modelos.yolo.objetivos import as_anchors
from modelos.yolo.objetivos import grid_size
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.validacion import check_number
from tareas.configuracion import check_augment_settings
from tareas.configuracion import save_run_config
from tareas.deteccion.configuracion import DEFAULT_RUN  # noqa: F401 (API pública)
from tareas.deteccion.configuracion import MAX_BUFFER_BOXES
from tareas.deteccion.configuracion import SHARED_CELL_WARNING
from tareas.deteccion.configuracion import VAL_MAP
from tareas.deteccion.configuracion import DetectionConfig
from tareas.deteccion.configuracion import keras_backend
from tareas.deteccion.evaluar import ap_by_class
from tareas.deteccion.evaluar import ap_table
from tareas.deteccion.evaluar import evaluate_records
from tareas.deteccion.evaluar import evaluation_report
from tareas.deteccion.evaluar import plot_precision_recall
from tareas.deteccion.revisar import warn_max_boxes

logger = logging.getLogger("redes")

# Con --congelar K: tras las K épocas de solo la cabeza, todo se entrena con la tasa × 0.1
# (10 veces más baja), para afinar el extractor preentrenado sin destrozarlo.
UNFREEZE_RATE_FACTOR = 0.1


def split_records(records, validation: float = 0.2, seed: int = 0):
    """Divide los registros en entrenamiento y validación (80/20 por defecto) con semilla.

    Raises:
        DataError: si no hay al menos 2 imágenes (una para cada parte).
    """
    check_number(validation, "validation", minimum=0.0, maximum=1.0, include_maximum=False)
    records = list(records)
    if len(records) < 2:
        raise DataError(f"Hacen falta al menos 2 imágenes anotadas para separar "
                        f"entrenamiento y validación; hay {len(records)}.")
    order = np.random.default_rng(seed).permutation(len(records))
    n_val = min(max(1, round(len(records) * validation)), len(records) - 1)
    return [records[i] for i in order[n_val:]], [records[i] for i in order[:n_val]]


def resolve_anchors(anchors, records, input_size, *, k: int = 5, seed: int = 0):
    """Anclas a usar: ``"voc"``, ``"auto"`` (k-means de ``records``) o una lista.

    Returns:
        ``(anclas (A, 2) como lista, IoU media o None)``.
    """
    if isinstance(anchors, str):
        if anchors == "voc":
            return as_anchors(VOC_ANCHORS).tolist(), None
        if anchors != "auto":
            raise ArgumentError(f"«anclas» debe ser «voc», «auto» o una lista de números; "
                                f"recibido {anchors!r}.")
        from tareas.deteccion.anclas import boxes_wh
        from tareas.deteccion.anclas import kmeans_anchors

        wh = boxes_wh(records, input_size)
        if len(wh) < k:
            raise DataError(f"Para calcular {k} anclas por k-means hacen falta al menos {k} "
                            f"cajas; las imágenes de entrenamiento tienen {len(wh)}.")
        found, iou = kmeans_anchors(wh, k=k, seed=seed)
        logger.info("Anclas por k-means (k=%d) de %d cajas: IoU media %.3f", k, len(wh), iou)
        return [[round(float(w), 5), round(float(h), 5)] for w, h in found], float(iou)
    return as_anchors(anchors).tolist(), None


@dataclasses.dataclass
class _Data:
    """Las anotaciones leídas y divididas, las anclas y los lotes."""

    labels: list[str]
    counts: dict[str, int]
    train_records: list
    val_records: list
    anchors: list
    anchor_iou: float | None
    max_boxes: int = 5
    shared: dict | None = None
    sizes: list | None = None
    train: Any = None
    validation: Any = None


def _check(config: DetectionConfig) -> None:
    """Lo que la configuración no comprueba sola, antes de leer ninguna imagen."""
    from datos.conjuntos import resolve_dataset

    where = "train_yolo"
    if config.data_dir is None:
        for name, option in (("ann_dir", "--anotaciones"), ("img_dir", "--imagenes")):
            if getattr(config, name) is None:
                raise ArgumentError(f"{where}: falta «{name} ({option})» (o «data_dir "
                                    "(--datos)», un conjunto en cualquier formato).")
    resolve_dataset(**dataset_of(config))  # datos nombrados una vez y que existen
    if config.freeze_used and keras_backend() == "jax":
        raise ArgumentError("«freeze_epochs» (--congelar) necesita el backend tensorflow o "
                            "torch: con jax, fit fija las variables entrenables al empezar.")
    if config.run_dir is None and config.weights_path is not None:
        raise ArgumentError(f"{where}: «weights_path» necesita «run_dir» (sin run_dir el "
                            "entrenamiento es en memoria y no escribe nada).")
    check_augment_settings(config.augment_settings, "augment_settings (--ajustes-aumento)",
                           where=where)


def dataset_of(config: DetectionConfig) -> dict[str, Any]:
    """Los argumentos de :func:`datos.conjuntos.read_dataset` que nombran los datos de
    ``config``: ``--datos`` (cualquier formato) o el par ``--anotaciones``/``--imagenes``."""
    return {"data": config.data_dir, "fmt": config.data_format, "ann_dir": config.ann_dir,
            "img_dir": config.img_dir, "split": config.split}


def _read(config: DetectionConfig) -> _Data:
    """Lee las anotaciones (VOC, YOLO-txt o COCO), divide 80/20 con la semilla y resuelve
    las anclas."""
    from datos.conjuntos import read_dataset

    images, counts = read_dataset(labels=config.labels, **dataset_of(config))
    labels = list(config.labels) if config.labels else sorted(counts)
    if not any(len(record.boxes) for record in images):
        raise DataError(f"Las anotaciones de {config.data_dir or config.ann_dir} no tienen "
                        f"ningún objeto de las clases {labels or '(ninguna)'}.")
    train_records, val_records = split_records(images, config.validation, config.seed)
    anchors, anchor_iou = resolve_anchors(config.anchors, train_records, config.input_size,
                                          seed=config.seed)
    data = _Data(labels, counts, train_records, val_records, anchors, anchor_iou)
    data.max_boxes = _buffer_size(config, train_records)
    data.shared = shared_cell_report(train_records, config.input_size, anchors)
    return data


def _buffer_size(config: DetectionConfig, records) -> int:
    """``--max-cajas`` o, sin él, las cajas de la imagen de entrenamiento con más (con
    tope): así ninguna caja de una foto llena se queda fuera del búfer de la pérdida."""
    if config.max_boxes is not None:
        warn_max_boxes(records, config.max_boxes)   # un aviso si alguna no cabe
        return config.max_boxes
    most = max((len(r.boxes) for r in records), default=1)
    size = min(max(1, most), MAX_BUFFER_BOXES)
    logger.info("Búfer de la pérdida: %d cajas por imagen (la imagen de entrenamiento con "
                "más tiene %d%s).", size, most,
                f"; tope {MAX_BUFFER_BOXES}" if most > MAX_BUFFER_BOXES else "")
    return size


def shared_cell_report(records, input_size, anchors) -> dict[str, Any]:
    """Cuántos objetos de ``records`` comparten celda y ancla con otro a ``input_size`` y
    con ``anchors`` (el objetivo de YOLOv2 solo guarda uno: los demás no se entrenan como
    objeto). Lo dice al empezar y sugiere otro tamaño u otras anclas si son muchos.

    Returns:
        ``{"objetos", "comparten_celda", "fraccion"}``.
    """
    from modelos.yolo.objetivos import shared_cells

    grid = grid_size(input_size)
    total = sum(len(r.boxes) for r in records)
    shared = sum(shared_cells(r.boxes, (r.height, r.width), grid, anchors)
                 for r in records if len(r.boxes) > 1)
    fraction = shared / total if total else 0.0
    logger.info("%d de %d objetos de entrenamiento (%.1f %%) comparten celda y ancla con otro "
                "a %d×%d (rejilla %d×%d, %d anclas): el objetivo guarda uno de cada grupo.",
                shared, total, 100 * fraction, *input_size, *grid, len(anchors))
    if fraction >= SHARED_CELL_WARNING:
        logger.warning("Son muchos (≥ %.0f %%): un --tamanio mayor (rejilla más fina) o más "
                       "anclas (--anclas con más pares ancho alto) los separarían.",
                       100 * SHARED_CELL_WARNING)
    return {"objetos": total, "comparten_celda": shared, "fraccion": round(fraction, 4)}


def _datasets(config: DetectionConfig, data: _Data) -> None:
    """Los lotes de entrenamiento (aumentados, quizá multiescala) y de validación."""
    from modelos.yolo.lotes import YoloDataset

    common = dict(image_size=config.input_size, anchors=data.anchors,
                  max_boxes=data.max_boxes, batch_size=config.batch_size, seed=config.seed)
    augmenter: Any = bool(config.augment)
    if config.augment and config.augment_settings:
        from datos.aumento import make_augmenter

        augmenter = make_augmenter(seed=config.seed, **config.augment_settings)
    batches = math.ceil(len(data.train_records) * config.train_times / config.batch_size)
    if config.multiscale and batches < 2:
        raise ArgumentError(
            f"El entrenamiento multiescala necesita al menos 2 lotes por época y hay 1 "
            f"({len(data.train_records)} imágenes de entrenamiento × {config.train_times} "
            f"repeticiones, lotes de {config.batch_size}): suba --repeticiones, baje --lote "
            f"o use --sin-multiescala.")
    if config.multiscale:
        from modelos.yolo.lotes import multiscale_sizes

        data.sizes = multiscale_sizes(config.input_size)
        logger.info("Multiescala: cada lote a uno de %s.",
                    ", ".join(f"{h}×{w}" for h, w in data.sizes))
    data.train = YoloDataset(data.train_records, data.labels, augmenter=augmenter,
                             train_times=config.train_times, workers=config.workers,
                             sizes=data.sizes, **common)
    data.validation = YoloDataset(data.val_records, data.labels, shuffle=False, **common)


def _builder_kwargs(config: DetectionConfig, data: _Data,
                    start_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Los argumentos de :func:`modelos.build_yolo`."""
    warmup_batches = config.warmup_epochs * (len(data.train) + len(data.validation))
    return {
        "labels": data.labels, "anchors": data.anchors, "input_size": list(config.input_size),
        "backbone": config.backbone, "width_multiplier": config.width_multiplier,
        "max_boxes": data.max_boxes, "learning_rate": config.learning_rate,
        "warmup_batches": warmup_batches, "box_loss": config.box_loss, **start_kwargs,
        **({"ema_momentum": config.ema_momentum} if config.ema_momentum is not None else {}),
    }


def _callbacks(config: DetectionConfig, steps_per_epoch: int, cluster) -> list:
    """Tope de tiempo, tasa en coseno y congelar el extractor, en ese orden."""
    from entrenamiento.callbacks import CosineLearningRate
    from entrenamiento.callbacks import TimeLimit

    seconds = None if config.minutes is None else config.minutes * 60
    callbacks = [TimeLimit(seconds, cluster)] if seconds else []
    if config.cosine:
        # Entrenando hasta que se acabe el tiempo, el coseno abarca el tiempo, no épocas.
        total_steps = None if config.trains_until_time else config.epochs_used * steps_per_epoch
        callbacks.append(CosineLearningRate(config.learning_rate, total_steps=total_steps,
                                            seconds=seconds, cluster=cluster))
    if config.freeze_used:
        from entrenamiento.callbacks import FreezeLayers
        from modelos.yolo.transferencia import backbone_layers

        callbacks.append(FreezeLayers(backbone_layers, config.freeze_used,
                                      config.learning_rate, UNFREEZE_RATE_FACTOR,
                                      schedule=callbacks[-1] if config.cosine else None))
    return callbacks


def logs_val_map(config: DetectionConfig) -> bool:
    """``True`` si cada época añade ``val_map_50`` al registro: con ``--monitor val_map_50``
    (la receta ``fotos``) o con ``--tensorboard`` (una pasada más por la validación)."""
    return config.monitor == VAL_MAP or config.tensorboard is not None


def _evaluators(config: DetectionConfig, data: _Data) -> list:
    """Con EMA, primero los pesos EMA en el modelo; con ``val_map_50`` (o ``--tensorboard``:
    una pasada más por la validación), después el mAP: el registro, TensorBoard y el mejor
    modelo los ven a ellos (se devuelven al empezar la época siguiente)."""
    from nucleo.keras_listo import keras

    from entrenamiento.callbacks import EpochMetric

    evaluators = []
    if config.ema_momentum is not None:
        evaluators.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if logs_val_map(config):
        evaluators.append(EpochMetric(VAL_MAP, lambda model: evaluate_records(
            model, data.val_records, data.labels, coco=False, progress=False)["map"]["0.5"]))
    return evaluators


def _initializer(config: DetectionConfig, starting_point: dict[str, Any]):
    """La función que prepara el modelo recién construido: extractor y multiescala."""

    def initialize(model):
        from modelos.yolo.constructor import allow_multiscale
        from modelos.yolo.transferencia import load_backbone_weights

        if config.backbone_weights is not None:
            starting_point.update(load_backbone_weights(model, config.backbone_weights))
        if config.multiscale:
            allow_multiscale(model)

    return initialize


def _metadata(config: DetectionConfig, data: _Data, start_kind: str | None) -> dict[str, Any]:
    """Los metadatos de ``modelo.h5`` (y lo que añaden el punto de partida y congelar)."""
    start_metadata: dict[str, Any] = {} if config.backbone_weights is None else {
        "punto_de_partida": {"archivo": str(config.backbone_weights), "tipo": start_kind}}
    if config.freeze_used:
        start_metadata["congelar"] = {"epocas": config.freeze_used,
                                      "factor_tasa": UNFREEZE_RATE_FACTOR}
    return {"etiquetas": data.labels, "anclas": data.anchors,
            "anotaciones": str(config.ann_dir), "imagenes": str(config.img_dir),
            **({"datos": str(config.data_dir), "formato": config.data_format,
                "particion": config.split} if config.data_dir is not None else {}),
            "receta": config.recipe, "perdida_cajas": config.box_loss,
            "multiescala": [list(size) for size in data.sizes] if data.sizes else None,
            **start_metadata}


def train_yolo(config: DetectionConfig | None = None, *, verbose: Any = "auto",
               cluster=None, devices=None, **overrides) -> TaskResult:
    """Entrena YOLOv2 sobre una carpeta VOC como el artículo y lo evalúa con mAP.

    Args:
        config: la :class:`~tareas.deteccion.configuracion.DetectionConfig` (``None``: la
            receta que nombre ``recipe``, o ``blog``).
        verbose: como en ``keras.Model.fit``.
        cluster: con varios procesos, el :class:`~entrenamiento.distribuido.Cluster`.
        devices: ``--dispositivos``: datos en paralelo en varios dispositivos de este
            proceso (:func:`entrenamiento.distribuido.local_devices`); ``None``, uno.
        **overrides: campos de la configuración que cambian (``ann_dir=...,
            img_dir=..., labels=["lego"], recipe="fotos", epochs=4``).

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` (``map_50``,
        ``map_30``, ``val_loss``...), ``files`` (``pesos``, ``registro``, ``curvas``,
        ``precision_recall``, ``configuracion``) y en ``data`` ``ap_por_clase``,
        ``anclas``, ``iou_media_anclas``, ``division``, ``etiquetas``, ``segundos`` y, si
        los hay, ``punto_de_partida`` (archivo, tipo y capas llenas) y ``congelar``
        (épocas y factor de la tasa).

    Raises:
        ArgumentError, DataError: argumentos o datos no válidos (los nombran).
    """
    from entrenamiento.entrenar import train

    start = time.perf_counter()
    config = DetectionConfig.build(config, **overrides)
    _check(config)
    start_kind, start_kwargs = _starting_point(config.backbone_weights, config.backbone)
    data = _read(config)
    _datasets(config, data)
    logger.info("YOLOv2 %s %d×%d (rejilla %d×%d), clases %s: %d imágenes de entrenamiento "
                "(×%d por época) y %d de validación.", config.backbone, *config.input_size,
                *grid_size(config.input_size), data.labels, len(data.train_records),
                config.train_times, len(data.val_records))
    callbacks = _callbacks(config, len(data.train), cluster)
    starting_point: dict[str, Any] = {}
    config_file = save_run_config(config, config.run_dir, cluster)
    result = train(
        "yolo", _builder_kwargs(config, data, start_kwargs), data.train, data.validation,
        run_dir=config.run_dir, cluster=cluster, devices=devices, weights_path=config.weights_path,
        epochs=config.epochs_used, batch_size=config.batch_size, seed=config.seed,
        monitor=config.monitor, patience=config.patience_used, precision=config.precision,
        verbose=verbose, callbacks=callbacks, metadata=_metadata(config, data, start_kind),
        initialize=_initializer(config, starting_point),
        evaluators=_evaluators(config, data), tensorboard=config.tensorboard)
    # Con --minutos, el primer callback es el TimeLimit.
    stopped = bool(config.minutes and callbacks[0].stopped)
    seconds = {"entrenamiento": time.perf_counter() - start, "inicio": start}
    report = _report(config, data, result, starting_point, stopped, seconds)
    if config_file is not None:
        report.files["configuracion"] = config_file
    return report


def _report(config: DetectionConfig, data: _Data, result, starting_point: dict[str, Any],
            stopped: bool, seconds: dict[str, float]) -> TaskResult:
    """mAP de validación por clase, la mejor época y los archivos."""
    evaluation = evaluate_records(result.model, data.val_records, data.labels)
    pr_paths = ([] if result.run_dir is None else
                plot_precision_recall(evaluation["curvas"]["0.5"], data.labels, result.run_dir))
    history = result.history
    if config.monitor == VAL_MAP and history.get(VAL_MAP):
        best = int(np.nanargmax(history[VAL_MAP]))
    else:
        best = int(np.nanargmin(history["val_loss"])) if history.get("val_loss") else None
    per_class = ap_by_class(evaluation, data.labels)
    extra = evaluation_report(evaluation)  # COCO, conteos por clase y matriz de confusión
    files = {name: path for name, path in training_files(result).items() if path is not None}
    if pr_paths:
        files["precision_recall"] = pr_paths
        files["matriz_confusion"] = evaluation["confusion"].plot(
            result.run_dir / "matriz_confusion.png")
    freeze = ({"congelar": {"epocas": config.freeze_used, "factor_tasa": UNFREEZE_RATE_FACTOR}}
              if config.freeze_used else {})
    return TaskResult(
        title="YOLOv2: resultado en validación",
        metrics={
            "map_50": evaluation["map"]["0.5"],
            "map_30": evaluation["map"]["0.3"],
            **extra["metrics"],
            "cajas_tragonas": evaluation["tragonas"].rate,
            "loss": history["loss"][best] if best is not None else None,
            "val_loss": history["val_loss"][best] if best is not None else None,
            "mejor_epoca": None if best is None else best + 1,
            "epocas": len(history.get("loss", [])),
            "parada_por_tiempo": stopped,
            **result.summary(),
        },
        files=files,
        data={
            "resumen": extra["summary"],
            "ap_por_clase": per_class,
            **extra["data"],
            "anclas": data.anchors,
            "iou_media_anclas": data.anchor_iou,
            "max_cajas": data.max_boxes,
            "celdas_compartidas": data.shared,
            "division": {"entrenamiento": len(data.train_records),
                         "validacion": len(data.val_records),
                         "cajas_validacion": evaluation["cajas"]},
            "etiquetas": data.counts,
            "segundos": {"entrenamiento": round(seconds["entrenamiento"], 1),
                         "total": round(time.perf_counter() - seconds["inicio"], 1)},
            **({"punto_de_partida": starting_point} if starting_point else {}),
            **freeze,
        },
        tables=[ap_table(per_class), *extra["tables"]],
        text=[extra["summary"],
              "anclas: " + ", ".join(f"{v:g}" for pair in data.anchors for v in pair)]
        + ([f"punto de partida: «{starting_point['archivo']}» ({starting_point['tipo']}), "
            f"{starting_point['convoluciones']} de {starting_point['convoluciones_extractor']} "
            "convoluciones del extractor"] if starting_point else []),
        model=result.model,
        history=history,
    )


def _starting_point(path, backbone: str) -> tuple[str | None, dict[str, Any]]:
    """Tipo del archivo de ``backbone_weights`` y los argumentos del constructor que
    impone: el reorg de keras-yolo2 (``space_to_depth``) o el del modelo guardado."""
    if path is None:
        return None, {}
    from modelos.guardado import load_metadata
    from modelos.yolo.transferencia import weights_kind

    kind = weights_kind(path)
    if kind == "keras-aplicaciones":
        return kind, {"mobilenet_padding": "keras"}
    if backbone != "darknet19":
        return kind, {}
    if kind == "keras-yolo2":
        return kind, {"reorg_order": "space_to_depth"}
    if kind == "redes":
        order = load_metadata(path)["kwargs"].get("reorg_order")
        if order in ("darknet", "space_to_depth"):
            return kind, {"reorg_order": order}
    return kind, {}
