"""Entrenar y evaluar YOLOv2 sobre carpetas Pascal-VOC (``redes yolo entrenar / evaluar``).

:func:`train_yolo` hace lo que el cuaderno del artículo (``leer_annotations`` →
``yolo.train(...)``) con los mismos parámetros por nombre: tamaño de entrada,
cantidad de cajas, etiquetas, épocas, ``train_times`` (repeticiones) y el archivo
de pesos (``saved_weights_name``). Además: anclas por k-means (``anchors="auto"``),
división 80/20 con semilla, épocas de calentamiento, parada temprana y mejor modelo
según ``val_loss``, reanudación tras un corte, registro CSV y curva de pérdida, y
al final el mAP de validación por clase a IoU 0.5 (VOC) y 0.3 (la cifra del blog).

:func:`evaluate_yolo` calcula el mAP de cualquier carpeta anotada y dibuja la curva
de precisión-exhaustividad de cada clase.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


from datos.cajas import as_size
from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from nucleo.vocabulario import BOX_LOSSES
from nucleo.vocabulario import YOLO_RECIPES
from nucleo.vocabulario import check_choice
from nucleo.validacion import check_int
from nucleo.validacion import check_number
from informes.resultado import Table
from informes.resultado import TaskResult
from informes.resultado import training_files
from modelos.yolo.objetivos import VOC_ANCHORS
from modelos.yolo.objetivos import as_anchors
from modelos.yolo.objetivos import grid_size
from tareas.deteccion.evaluar import DRAW_THRESHOLD
from tareas.deteccion.evaluar import ap_table
from tareas.deteccion.evaluar import evaluate_records
from tareas.deteccion.evaluar import ap_by_class
from tareas.deteccion.evaluar import plot_precision_recall

logger = logging.getLogger("redes")

DEFAULT_RUN = "pesos/yolo"
# Con --congelar K: tras las K épocas de solo la cabeza, todo se entrena con la tasa × 0.1
# (10 veces más baja), para afinar el extractor preentrenado sin destrozarlo.
UNFREEZE_RATE_FACTOR = 0.1
# Recetas de train_yolo: «blog» (la del artículo: aumento suave, mejor modelo por val_loss)
# y «fotos» (pocas fotos reales): color HSV y escala/desplazamiento más fuertes, media
# móvil de los pesos (EMA) para evaluar y guardar, mejor modelo por el mAP@0.5 de
# validación y, con tope de tiempo, sin parada temprana (usa todo el presupuesto).
PHOTO_AUGMENTATION = {"scale": (0.6, 1.4), "translate": 0.2, "geometric_probability": 0.9,
                      "hue": (-12, 12), "saturation": (0.6, 1.4), "max_photometric": 2}
PHOTO_EMA_MOMENTUM = 0.99
# Término de coordenadas de la pérdida de cada receta (ver modelos.yolo.perdida).
RECIPE_BOX_LOSS = {"blog": "darknet", "fotos": "darknet"}
# Entrenamiento multiescala de cada receta (ver modelos.yolo.lotes.multiscale_sizes).
RECIPE_MULTISCALE = {"blog": False, "fotos": True}
VAL_MAP = "val_map_50"


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


def train_yolo(
    ann_dir,
    img_dir,
    labels: Sequence[str] | None = None,
    *,
    run_dir=DEFAULT_RUN,
    weights_path=None,
    input_size=416,
    max_boxes: int = 5,
    epochs: int = 7,
    train_times: int = 5,
    batch_size: int = 8,
    anchors="voc",
    backbone: str = "darknet19",
    width_multiplier: float = 1.0,
    warmup_epochs: int = 3,
    learning_rate: float = 1e-4,
    cosine: bool = False,
    patience: int | None = 3,
    augment: bool = True,
    precision: str = "float32",
    validation: float = 0.2,
    workers: int = 1,
    max_seconds: float | None = None,
    seed: int = 0,
    verbose="auto",
    backbone_weights=None,
    freeze_epochs: int = 0,
    recipe: str = "blog",
    box_loss: str | None = None,
    multiscale: bool | None = None,
) -> TaskResult:
    """Entrena YOLOv2 sobre una carpeta VOC como el artículo y lo evalúa con mAP.

    Args:
        ann_dir: carpeta de anotaciones Pascal-VOC.
        img_dir: carpeta de imágenes.
        labels: clases (``["lego"]`` en el blog); por defecto todas las que aparezcan.
        run_dir: carpeta de registro.csv, curvas.png, precision_recall_*.png y respaldo/
            (``None``: entrenamiento en memoria, sin escribir nada).
        weights_path: el mejor modelo (``pesos/red_lego.h5`` en el blog); por
            defecto ``run_dir/modelo.h5``.
        input_size: tamaño de entrada, múltiplo de 32 (416).
        max_boxes: cajas por imagen en el objetivo (5).
        epochs: épocas (7).
        train_times: veces que se ve cada imagen por época (5).
        batch_size: imágenes por lote.
        anchors: ``"voc"``, ``"auto"`` (k-means de las cajas de entrenamiento) o una
            lista (plana o de pares) en unidades de celda.
        backbone: ``"darknet19"`` o ``"tiny"``.
        width_multiplier: multiplica los filtros del extractor (1.0 = darknet).
        warmup_epochs: épocas de calentamiento de la pérdida (ver YoloLoss).
        learning_rate: tasa de Adam.
        cosine: tasa en coseno hasta el 1 % al final de las épocas o de ``max_seconds``
            (lo que llegue antes); si no, constante como en el blog.
        patience: parada temprana tras ``patience`` épocas sin mejorar ``val_loss``
            (``None``: sin parada).
        augment: aumento de datos de imgaug (el del artículo, con cajas).
        precision: ``"float32"``, ``"mixed_bfloat16"`` o ``"auto"`` (la más rápida aquí).
        validation: fracción de validación (0.2).
        workers: hilos que preparan lotes.
        max_seconds: tope de tiempo de entrenamiento (se para al acabar el lote).
        seed: semilla de la división, el barajado, el aumento y los pesos iniciales.
        verbose: como en ``keras.Model.fit``.
        backbone_weights: punto de partida del extractor (todas las capas salvo la
            convolución final): ``darknet19_448.conv.23`` u otro ``.weights`` de darknet,
            ``full_yolo_backend.h5`` / ``tiny_yolo_backend.h5`` de keras-yolo2, o un ``.h5``
            de otro entrenamiento YOLO (otras clases). Ver
            :func:`modelos.yolo.transferencia.load_backbone_weights`. Con un backend de
            keras-yolo2 y Darknet-19, el reorg es el suyo (``space_to_depth``).
        freeze_epochs: épocas iniciales en que solo se entrena la cabeza (extractor
            congelado); después todo, con la tasa × ``UNFREEZE_RATE_FACTOR`` (0.1).
        recipe: ``"blog"`` (la del artículo) o ``"fotos"``, para pocas fotos reales: el
            aumento de ``PHOTO_AUGMENTATION`` (color HSV, escala 0,6-1,4 y desplazamiento
            del 20 %), la media móvil de los pesos (EMA, ``PHOTO_EMA_MOMENTUM``) para
            evaluar y guardar, el mejor modelo según el mAP@0.5 de validación de cada
            época (``val_map_50`` en el registro; más estable que ``val_loss`` con pocas
            imágenes) y, si hay ``max_seconds``, sin parada temprana.
        box_loss: término de coordenadas de la pérdida (``"darknet"``, ``"giou"`` o
            ``"ciou"``, ver :class:`modelos.yolo.perdida.YoloLoss`); ``None``: el de la
            receta (``RECIPE_BOX_LOSS``).
        multiscale: entrenamiento multiescala de YOLOv2: cada lote de entrenamiento va a
            uno de los tamaños de :func:`modelos.yolo.lotes.multiscale_sizes` (3 pasos de
            32 píxeles a cada lado de ``input_size``). La validación, el mAP y el modelo
            guardado siguen en ``input_size``. ``None``: el de la receta
            (``RECIPE_MULTISCALE``: sí en ``"fotos"``, no en ``"blog"``).

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` (``map_50``,
        ``map_30``, ``val_loss``...), ``files`` (``pesos``, ``registro``, ``curvas``,
        ``precision_recall``) y en ``data`` ``ap_por_clase``, ``anclas``,
        ``iou_media_anclas``, ``division``, ``etiquetas``, ``segundos`` y, si los hay,
        ``punto_de_partida`` (archivo, tipo y capas llenas) y ``congelar`` (épocas y
        factor de la tasa).

    Raises:
        ArgumentError, DataError: argumentos o datos no válidos (los nombran).
    """
    from datos.anotaciones import read_voc
    from entrenamiento.callbacks import CosineLearningRate
    from entrenamiento.callbacks import TimeLimit
    from entrenamiento.entrenar import train
    from modelos.yolo.lotes import YoloDataset

    start = time.perf_counter()
    height, width = as_size(input_size, "input_size")
    grid = grid_size((height, width))
    check_int(epochs, "epochs")
    check_int(warmup_epochs, "warmup_epochs", minimum=0)
    if max_seconds is not None:
        check_number(max_seconds, "max_seconds", minimum=1e-3, maximum=1e9)
    check_int(freeze_epochs, "freeze_epochs", minimum=0)
    check_choice(recipe, "recipe", YOLO_RECIPES)
    photos = recipe == "fotos"
    if box_loss is None:
        box_loss = RECIPE_BOX_LOSS[recipe]
    if multiscale is None:
        multiscale = RECIPE_MULTISCALE[recipe]
    check_choice(box_loss, "box_loss", BOX_LOSSES)  # antes de leer las imágenes
    if photos and max_seconds is not None:
        patience = None
    if freeze_epochs and _keras_backend() == "jax":
        raise ArgumentError("«freeze_epochs» (--congelar) necesita el backend tensorflow o "
                            "torch: con jax, fit fija las variables entrenables al empezar.")
    if freeze_epochs and freeze_epochs >= epochs:
        raise ArgumentError(f"«freeze_epochs» (--congelar, {freeze_epochs}) debe ser menor que "
                            f"«epochs» (--epocas, {epochs}): tras congelar hace falta alguna "
                            "época para afinar el extractor.")
    start_kind, start_kwargs = _starting_point(backbone_weights, backbone)
    images, counts = read_voc(ann_dir, img_dir, labels)
    labels = list(labels) if labels else sorted(counts)
    if not any(len(record.boxes) for record in images):
        raise DataError(f"Las anotaciones de {ann_dir} no tienen ningún objeto de las "
                        f"clases {labels or '(ninguna)'}.")
    train_records, val_records = split_records(images, validation, seed)
    anchor_list, anchor_iou = resolve_anchors(anchors, train_records, (height, width),
                                              seed=seed)
    common = dict(image_size=(height, width), anchors=anchor_list, max_boxes=max_boxes,
                  batch_size=batch_size, seed=seed)
    augmenter: Any = bool(augment)
    if photos and augment:
        from datos.aumento import make_augmenter

        augmenter = make_augmenter(seed=seed, **PHOTO_AUGMENTATION)
    sizes = None
    if multiscale and math.ceil(len(train_records) * train_times / batch_size) < 2:
        raise ArgumentError(
            f"El entrenamiento multiescala necesita al menos 2 lotes por época y hay 1 "
            f"({len(train_records)} imágenes de entrenamiento × {train_times} repeticiones, "
            f"lotes de {batch_size}): suba --repeticiones, baje --lote o use "
            f"--sin-multiescala.")
    if multiscale:
        from modelos.yolo.lotes import multiscale_sizes

        sizes = multiscale_sizes((height, width))
        logger.info("Multiescala: cada lote a uno de %s.",
                    ", ".join(f"{h}×{w}" for h, w in sizes))
    train_data = YoloDataset(train_records, labels, augmenter=augmenter,
                             train_times=train_times, workers=workers, sizes=sizes,
                             **common)
    val_data = YoloDataset(val_records, labels, shuffle=False, **common)
    warmup_batches = warmup_epochs * (len(train_data) + len(val_data))
    builder_kwargs = {
        "labels": labels, "anchors": anchor_list, "input_size": [height, width],
        "backbone": backbone, "width_multiplier": width_multiplier,
        "max_boxes": max_boxes, "learning_rate": learning_rate,
        "warmup_batches": warmup_batches, "box_loss": box_loss, **start_kwargs,
        **({"ema_momentum": PHOTO_EMA_MOMENTUM} if photos else {}),
    }
    logger.info("YOLOv2 %s %d×%d (rejilla %d×%d), clases %s: %d imágenes de entrenamiento "
                "(×%d por época) y %d de validación.", backbone, height, width, *grid,
                labels, len(train_records), train_times, len(val_records))
    limit = TimeLimit(max_seconds) if max_seconds else None
    callbacks = [limit] if limit else []
    if cosine:
        callbacks.append(CosineLearningRate(learning_rate, total_steps=epochs * len(train_data),
                                            seconds=max_seconds))
    if freeze_epochs:
        from entrenamiento.callbacks import FreezeLayers
        from modelos.yolo.transferencia import backbone_layers

        callbacks.append(FreezeLayers(backbone_layers, freeze_epochs, learning_rate,
                                      UNFREEZE_RATE_FACTOR,
                                      schedule=callbacks[-1] if cosine else None))
    starting_point: dict[str, Any] = {}

    def initialize(model):
        from modelos.yolo.constructor import allow_multiscale
        from modelos.yolo.transferencia import load_backbone_weights

        if backbone_weights is not None:
            starting_point.update(load_backbone_weights(model, backbone_weights))
        if multiscale:
            allow_multiscale(model)

    evaluators = []
    if photos:
        from nucleo.keras_listo import keras

        from entrenamiento.callbacks import EpochMetric

        # Primero los pesos EMA en el modelo; después el mAP, el registro y el mejor
        # modelo los ven a ellos (se devuelven al empezar la época siguiente).
        evaluators = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True),
                      EpochMetric(VAL_MAP, lambda model: evaluate_records(
                          model, val_records, labels, progress=False)["map"]["0.5"])]
    start_metadata = {} if backbone_weights is None else {
        "punto_de_partida": {"archivo": str(backbone_weights), "tipo": start_kind}}
    if freeze_epochs:
        start_metadata["congelar"] = {"epocas": freeze_epochs,
                                      "factor_tasa": UNFREEZE_RATE_FACTOR}
    result = train(
        "yolo", builder_kwargs, train_data, val_data, run_dir=run_dir,
        weights_path=weights_path, epochs=epochs, batch_size=batch_size, seed=seed,
        monitor=VAL_MAP if photos else "val_loss",
        patience=patience, precision=precision, verbose=verbose,
        callbacks=callbacks,
        metadata={"etiquetas": labels, "anclas": anchor_list,
                  "anotaciones": str(ann_dir), "imagenes": str(img_dir), "receta": recipe,
                  "perdida_cajas": box_loss,
                  "multiescala": [list(size) for size in sizes] if sizes else None,
                  **start_metadata},
        initialize=initialize,
        evaluators=evaluators,
    )
    train_seconds = time.perf_counter() - start
    evaluation = evaluate_records(result.model, val_records, labels)
    pr_paths = ([] if result.run_dir is None else
                plot_precision_recall(evaluation["curvas"]["0.5"], labels, result.run_dir))
    history = result.history
    if photos and history.get(VAL_MAP):
        best = int(np.nanargmax(history[VAL_MAP]))
    else:
        best = int(np.nanargmin(history["val_loss"])) if history.get("val_loss") else None
    per_class = ap_by_class(evaluation, labels)
    files = {name: path for name, path in training_files(result).items() if path is not None}
    if pr_paths:
        files["precision_recall"] = pr_paths
    return TaskResult(
        title="YOLOv2: resultado en validación",
        metrics={
            "map_50": evaluation["map"]["0.5"],
            "map_30": evaluation["map"]["0.3"],
            "cajas_tragonas": evaluation["tragonas"].rate,
            "loss": history["loss"][best] if best is not None else None,
            "val_loss": history["val_loss"][best] if best is not None else None,
            "mejor_epoca": None if best is None else best + 1,
            "epocas": len(history.get("loss", [])),
            "parada_por_tiempo": bool(limit and limit.stopped),
        },
        files=files,
        data={
            "ap_por_clase": per_class,
            "anclas": anchor_list,
            "iou_media_anclas": anchor_iou,
            "division": {"entrenamiento": len(train_records), "validacion": len(val_records),
                         "cajas_validacion": evaluation["cajas"]},
            "etiquetas": counts,
            "segundos": {"entrenamiento": round(train_seconds, 1),
                         "total": round(time.perf_counter() - start, 1)},
            **({"punto_de_partida": starting_point} if starting_point else {}),
            **({"congelar": start_metadata["congelar"]} if freeze_epochs else {}),
        },
        tables=[ap_table(per_class)],
        text=["anclas: " + ", ".join(f"{v:g}" for pair in anchor_list for v in pair)]
        + ([f"punto de partida: «{starting_point['archivo']}» ({starting_point['tipo']}), "
            f"{starting_point['convoluciones']} de {starting_point['convoluciones_extractor']} "
            "convoluciones del extractor"] if starting_point else []),
        model=result.model,
        history=history,
    )


def _keras_backend() -> str:
    from nucleo.keras_listo import keras

    return keras.backend.backend()


def _starting_point(path, backbone: str) -> tuple[str | None, dict[str, Any]]:
    """Tipo del archivo de ``backbone_weights`` y los argumentos del constructor que
    impone: el reorg de keras-yolo2 (``space_to_depth``) o el del modelo guardado."""
    if path is None:
        return None, {}
    from modelos.guardado import load_metadata
    from modelos.yolo.transferencia import weights_kind

    kind = weights_kind(path)
    if backbone != "darknet19":
        return kind, {}
    if kind == "keras-yolo2":
        return kind, {"reorg_order": "space_to_depth"}
    if kind == "redes":
        order = load_metadata(path)["kwargs"].get("reorg_order")
        if order in ("darknet", "space_to_depth"):
            return kind, {"reorg_order": order}
    return kind, {}


# La demo: figuras de 2 clases a 160×160 y YOLOv2 tiny (un cuarto de los filtros) entrenado
# desde cero 25 épocas (la batería evalúa este mismo detector). Se dibuja la primera de
# las 10 primeras imágenes de prueba con alguna detección.
DEMO_SETTINGS = {
    "classes": ("circulo", "cuadrado"), "n_images": 800, "image_size": 160,
    "max_objects": 2, "train": {"backbone": "tiny", "width_multiplier": 0.25,
                                "anchors": "auto", "epochs": 25, "train_times": 1,
                                "batch_size": 16, "learning_rate": 2e-3, "cosine": True,
                                "warmup_epochs": 1, "patience": None,
                                "precision": "auto"},
}


def run_detection_demo(out_dir="pesos/demo", *, seed: int = 0, verbose: Any = 2) -> TaskResult:
    """Detector pequeño de figuras generadas, entrenado desde cero (sin red).

    Genera un conjunto VOC de figuras y otro aparte de prueba, entrena YOLOv2 tiny
    desde cero con :func:`train_yolo`, mide el mAP en la prueba y dibuja las cajas de
    una imagen de prueba (la primera de las 10 primeras con alguna detección) en
    ``..._detected.png``.

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` (``map_50``,
        ``map_30``, ``epocas``, ``prueba_map_50``), ``files`` (los del entrenamiento y
        ``detectada``) y ``data["detecciones"]`` de la imagen dibujada.
    """
    import modelos
    from datos.anotaciones import read_voc
    from datos.sinteticos import make_shapes_dataset
    from tareas.deteccion.predecir import detect_images

    out_dir = Path(out_dir) / "deteccion"
    settings = DEMO_SETTINGS
    size = settings["image_size"]
    shapes = {"classes": settings["classes"], "image_size": (size, size),
              "max_objects": settings["max_objects"]}
    train_dir = make_shapes_dataset(out_dir / "figuras", n_images=settings["n_images"],
                                    seed=seed, **shapes)
    test_dir = make_shapes_dataset(out_dir / "figuras_prueba", n_images=50, seed=seed + 1000,
                                   **shapes)
    trained = train_yolo(train_dir / "annotations", train_dir / "images",
                         list(settings["classes"]), run_dir=out_dir, input_size=size,
                         seed=seed, verbose=verbose, **settings["train"])
    model = modelos.load(trained.file("pesos"))
    images, _ = read_voc(test_dir / "annotations", test_dir / "images",
                         list(settings["classes"]))
    test = evaluate_records(model, images, list(settings["classes"]), progress=False)
    first = zip(images[:10], test["predicciones"], strict=False)
    shown = next((record.path for record, rows in first if (rows[:, 4] >= DRAW_THRESHOLD).any()),
                 images[0].path)
    (detected,) = detect_images(model, [shown], out_dir=out_dir,
                                obj_threshold=DRAW_THRESHOLD)
    found = detected.data["detecciones"]
    return TaskResult(
        title="Detección (YOLOv2 tiny, figuras): métricas",
        metrics={**{k: trained.metrics[k] for k in ("map_50", "map_30", "epocas")},
                 "prueba_map_50": test["map"]["0.5"]},
        files={**trained.files, "detectada": detected.file("detectada")},
        data={"detecciones": found},
        tables=[Table(f"YOLOv2 tiny (figuras): {detected.file('detectada')}",
                      ("Clase", "Puntuación  caja"),
                      [(d["etiqueta"], f"{d['puntuacion']:.2f}  "
                        + ", ".join(f"{v:.0f}" for v in d["caja"])) for d in found])],
        model=model,
    )
