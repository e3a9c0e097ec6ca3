"""Evaluar un detector: mAP@0.5 y @0.3 por clase, curvas de precisión y exhaustividad
y cajas desmesuradas."""

from __future__ import annotations


import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


from nucleo.errores import DataError
from nucleo.validacion import check_int
from informes.resultado import Table
from informes.resultado import TaskResult


# Umbral de puntuación para el mAP: bajo, para recorrer toda la curva (darknet usa .005).
MAP_SCORE_THRESHOLD = 0.01


IOU_THRESHOLDS = (0.5, 0.3)


# Puntuación mínima para dibujar una detección (obj_threshold del blog).
DRAW_THRESHOLD = 0.3


def ground_truths(records, labels: Sequence[str]) -> list[np.ndarray]:
    """Cajas verdaderas de cada registro como ``(M, 5)`` ``xmin, ymin, xmax, ymax, clase``."""
    index = {name: i for i, name in enumerate(labels)}
    return [np.array([(*box, index[name])
                      for box, name in zip(record.boxes, record.labels, strict=True)
                      if name in index], np.float32).reshape(-1, 5)
            for record in records]


def predict_records(model, records, *, batch_size: int = 8,
                    obj_threshold: float = MAP_SCORE_THRESHOLD, nms_threshold: float = 0.3,
                    progress: bool = True) -> list[np.ndarray]:
    """Detecciones de cada registro en píxeles de la imagen original.

    Cada imagen se lee y redimensiona como en el entrenamiento y en ``detect``
    (:func:`modelos.yolo.preprocesado.read_record`: orientación EXIF aplicada) y se
    procesa por lotes.

    Returns:
        Una ``(N, 6)`` ``xmin, ymin, xmax, ymax, puntuación, clase`` por registro.
    """
    from tqdm.auto import tqdm

    from modelos.yolo.constructor import yolo_config
    from modelos.yolo.decodificacion import decode_batch
    from modelos.yolo.decodificacion import to_pixels
    from modelos.yolo.preprocesado import read_record
    from modelos.yolo.preprocesado import to_input

    config = yolo_config(model)
    height, width = config["input_size"]
    batch_size = check_int(batch_size, "batch_size")
    results: list[np.ndarray] = []
    starts = range(0, len(records), batch_size)
    for start in tqdm(starts, desc="Detectando", unit="lote", disable=not progress,
                      leave=False):
        chunk = records[start:start + batch_size]
        images = np.stack([read_record(r, (height, width)) for r in chunk])
        netouts = model.predict_on_batch(to_input(images))
        decoded = decode_batch(netouts, config["anchors"], obj_threshold=obj_threshold,
                               nms_threshold=nms_threshold)
        results += [to_pixels(rows, record.width, record.height)
                    for record, rows in zip(chunk, decoded, strict=True)]
    return results


def evaluate_records(model, records, labels: Sequence[str], *,
                     iou_thresholds: Sequence[float] = IOU_THRESHOLDS,
                     obj_threshold: float = MAP_SCORE_THRESHOLD, nms_threshold: float = 0.3,
                     batch_size: int = 8, progress: bool = True) -> dict[str, Any]:
    """mAP y AP por clase de ``model`` sobre ``records`` a varios umbrales de IoU.

    Returns:
        ``{"map": {umbral: mAP}, "ap": {umbral: {clase: AP}}, "curvas": {umbral:
        {índice: PrecisionRecall}}, "predicciones": [(N, 6) por registro], "imagenes",
        "cajas", "detecciones", "tragonas"}``; las clases sin cajas verdaderas tienen AP
        ``nan`` y no cuentan en el mAP. ``tragonas`` es el
        :class:`~informes.metricas.OversizedBoxes` de las detecciones que se dibujan
        (puntuación ≥ ``DRAW_THRESHOLD``): cajas ≥ 1,5 veces el área de su caja verdadera.
    """
    from informes.metricas import oversized_boxes
    from informes.metricas import precision_recall_curves

    detections = predict_records(model, records, batch_size=batch_size,
                                 obj_threshold=obj_threshold, nms_threshold=nms_threshold,
                                 progress=progress)
    truths = ground_truths(records, labels)
    n_boxes = int(sum(len(t) for t in truths))
    if n_boxes == 0:
        raise DataError("No hay ninguna caja verdadera de las clases del modelo "
                        f"({', '.join(labels)}): el mAP no está definido.")
    result: dict[str, Any] = {"map": {}, "ap": {}, "curvas": {}, "predicciones": detections,
                              "imagenes": len(records),
                              "cajas": n_boxes,
                              "detecciones": int(sum(len(d) for d in detections)),
                              "tragonas": oversized_boxes(detections, truths,
                                                          score_threshold=DRAW_THRESHOLD)}
    for threshold in iou_thresholds:
        curves = precision_recall_curves(detections, truths, threshold,
                                         num_classes=len(labels))
        aps = {labels[c]: float(curve.ap) for c, curve in curves.items()}
        defined = [ap for ap in aps.values() if not math.isnan(ap)]
        key = f"{threshold:g}"
        result["map"][key] = float(np.mean(defined))
        result["ap"][key] = aps
        result["curvas"][key] = curves
    return result


def ap_by_class(evaluation: dict[str, Any], labels: Sequence[str]) -> dict[str, dict]:
    """``{clase: {"0.5": AP, "0.3": AP}}`` de :func:`evaluate_records`."""
    return {label: {key: aps[label] for key, aps in evaluation["ap"].items()}
            for label in labels}


def ap_table(per_class: dict[str, dict]) -> Table:
    """La tabla «AP por clase» (IoU 0.5 y 0.3)."""
    return Table("AP por clase", ("Clase", "AP (IoU 0.5)", "AP (IoU 0.3)"),
                 [(label, f"{ap['0.5']:.4f}", f"{ap['0.3']:.4f}")
                  for label, ap in per_class.items()])


def plot_precision_recall(curves, labels: Sequence[str], out_dir,
                          iou_threshold: float = 0.5) -> list[Path]:
    """Una PNG por clase con su curva de precisión-exhaustividad y su AP.

    Returns:
        Las rutas escritas (``precision_recall_<clase>.png``).
    """
    from informes.graficos import new_figure
    from informes.graficos import save_figure

    paths = []
    for c, curve in curves.items():
        fig = new_figure(5.5, 4.5)
        ax = fig.add_subplot(1, 1, 1)
        if len(curve.recall):
            # La envolvente interpolada (la que integra la AP de VOC) y la curva cruda.
            envelope = np.maximum.accumulate(curve.precision[::-1])[::-1]
            ax.plot(curve.recall, curve.precision, color="0.6", lw=1, label="cruda")
            ax.step(curve.recall, envelope, where="post", color="tab:green", lw=2,
                    label="interpolada (VOC)")
            ax.legend(loc="lower left")
        else:
            ax.text(0.5, 0.5, "sin detecciones", ha="center", va="center")
        ap = "sin cajas" if math.isnan(curve.ap) else f"AP {curve.ap:.3f}"
        ax.set_title(f"«{labels[c]}»: {ap} (IoU {iou_threshold:g}, "
                     f"{curve.n_ground_truth} cajas)")
        ax.set_xlabel("Exhaustividad (recall)")
        ax.set_ylabel("Precisión")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.grid(True, alpha=0.3)
        slug = re.sub(r"[^\w-]+", "_", labels[c]).strip("_") or f"clase_{c}"
        paths.append(save_figure(fig, Path(out_dir) / f"precision_recall_{slug}.png"))
    return paths


def evaluate_yolo(weights, ann_dir, img_dir, out_dir=None, *,
                  obj_threshold: float = MAP_SCORE_THRESHOLD, nms_threshold: float = 0.3,
                  batch_size: int = 8, engine: str = "keras") -> TaskResult:
    """mAP@0.5 y @0.3 de un modelo guardado sobre una carpeta VOC y sus curvas PR.

    Las anotaciones con clases que el modelo no conoce se leen igual; esos objetos
    se ignoran (lo dice el informe de ``read_voc``).

    Args:
        weights: ``.h5`` de ``redes deteccion entrenar`` o carpeta de ``redes TAREA exportar``.
        engine: motor de inferencia (:func:`inferencia.motores.load_engine`).

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` (``map_50``,
        ``map_30``), ``files["precision_recall"]`` y en ``data`` ``ap_por_clase``,
        ``imagenes``, ``cajas`` y ``detecciones``.
    """
    from datos.anotaciones import read_voc
    from inferencia.motores import load_engine
    from modelos.yolo.constructor import yolo_config

    model = load_engine(weights, engine)
    labels = yolo_config(model)["labels"]
    images, _ = read_voc(ann_dir, img_dir, labels)
    evaluation = evaluate_records(model, images, labels, obj_threshold=obj_threshold,
                                  nms_threshold=nms_threshold, batch_size=batch_size)
    out_dir = Path(weights).parent if out_dir is None else Path(out_dir)
    paths = plot_precision_recall(evaluation["curvas"]["0.5"], labels, out_dir)
    per_class = ap_by_class(evaluation, labels)
    return TaskResult(
        title=f"YOLOv2: {evaluation['imagenes']} imágenes, {evaluation['cajas']} cajas",
        metrics={"map_50": evaluation["map"]["0.5"], "map_30": evaluation["map"]["0.3"],
                 "cajas_tragonas": evaluation["tragonas"].rate},
        files={"precision_recall": paths},
        data={"motor": model.name, "ap_por_clase": per_class,
              "imagenes": evaluation["imagenes"],
              "cajas": evaluation["cajas"], "detecciones": evaluation["detecciones"]},
        tables=[ap_table(per_class)],
        model=model.keras_model or model,  # el de Keras si el motor es keras
    )
