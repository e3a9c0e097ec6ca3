"""Evaluar un detector: mAP@0.5 y @0.3 por clase (VOC), las métricas de COCO, curvas de
precisión y exhaustividad, matriz de confusión con conteos por clase y cajas desmesuradas."""

from __future__ import annotations


import logging
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

logger = logging.getLogger("redes")


# Puntuación mínima para dibujar una detección (obj_threshold del blog); también la de la
# matriz de confusión y los conteos por clase.
DRAW_THRESHOLD = 0.3

# IoU mínima de un acierto en la matriz de confusión.
MATRIX_IOU = 0.5


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
                     matrix_threshold: float = DRAW_THRESHOLD, matrix_iou: float = MATRIX_IOU,
                     coco: bool = True, batch_size: int = 8,
                     progress: bool = True) -> dict[str, Any]:
    """mAP y AP por clase de ``model`` sobre ``records`` a varios umbrales de IoU.

    El mAP recorre todas las detecciones con puntuación ≥ ``obj_threshold`` (bajo: toda
    la curva); la matriz de confusión y los conteos, solo las que se dibujan
    (≥ ``matrix_threshold``, o ``obj_threshold`` si es mayor).

    Returns:
        ``{"map": {umbral: mAP}, "ap": {umbral: {clase: AP}}, "curvas": {umbral:
        {índice: PrecisionRecall}}, "predicciones": [(N, 6) por registro], "imagenes",
        "cajas", "detecciones", "tragonas", "confusion", "coco"}``; las clases sin cajas
        verdaderas tienen AP ``nan`` y no cuentan en el mAP. ``tragonas`` es el
        :class:`~informes.metricas.OversizedBoxes` de las detecciones que se dibujan
        (puntuación ≥ ``DRAW_THRESHOLD``): cajas ≥ 1,5 veces el área de su caja verdadera.
        ``confusion`` es la :class:`~informes.matriz_deteccion.DetectionConfusion`;
        con ``coco``, ``coco`` es el :class:`~informes.metricas_coco.CocoResult` y
        ``ap["0.5:0.95"]`` la AP de COCO de cada clase (si no, ``coco`` es ``None``).
    """
    from informes.matriz_deteccion import detection_confusion
    from informes.metricas import oversized_boxes
    from informes.metricas import precision_recall_curves
    from informes.metricas_coco import coco_evaluation

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
    result["confusion"] = detection_confusion(
        detections, truths, labels, score_threshold=max(matrix_threshold, obj_threshold),
        iou_threshold=matrix_iou)
    result["coco"] = coco_evaluation(detections, truths, len(labels), labels) if coco else None
    if coco:
        result["ap"]["0.5:0.95"] = {labels[c]: ap for c, ap in result["coco"].ap.items()}
    return result


def ap_by_class(evaluation: dict[str, Any], labels: Sequence[str]) -> dict[str, dict]:
    """``{clase: {"0.5": AP, "0.3": AP, "0.5:0.95": AP de COCO}}`` de
    :func:`evaluate_records`."""
    return {label: {key: aps[label] for key, aps in evaluation["ap"].items()}
            for label in labels}


def ap_table(per_class: dict[str, dict]) -> Table:
    """La tabla «AP por clase» (IoU 0.5 y 0.3 de VOC y, si está, 0.5:0.95 de COCO)."""
    coco = all("0.5:0.95" in ap for ap in per_class.values())
    return Table("AP por clase", ("Clase", "AP (IoU 0.5)", "AP (IoU 0.3)",
                                  *(("AP (IoU 0.5:0.95, COCO)",) if coco else ())),
                 [(label, f"{ap['0.5']:.4f}", f"{ap['0.3']:.4f}",
                   *((f"{ap['0.5:0.95']:.4f}",) if coco else ()))
                  for label, ap in per_class.items()])


def evaluation_report(evaluation: dict[str, Any]) -> dict[str, Any]:
    """Lo que :func:`evaluate_records` añade a un informe, además del mAP de VOC.

    Returns:
        ``{"metrics": cifras de COCO, "data": conteos y matriz, "tables": [conteos],
        "summary": la línea «mAP@0.5 (VOC) … · mAP@0.5:0.95 (COCO) …»}``.
    """
    from informes.metricas_coco import map_summary

    confusion, coco = evaluation["confusion"], evaluation["coco"]
    return {"metrics": coco.metrics if coco is not None else {},
            "data": {"conteo_por_clase": confusion.counts(),
                     "matriz_confusion": confusion.to_json()},
            "tables": [confusion.table()],
            "summary": map_summary(evaluation["map"]["0.5"], coco)}


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


def evaluate_yolo(weights, ann_dir=None, img_dir=None, out_dir=None, *, data=None,
                  fmt: str | None = None, split: str | None = None,
                  obj_threshold: float = MAP_SCORE_THRESHOLD, nms_threshold: float = 0.3,
                  matrix_threshold: float = DRAW_THRESHOLD, matrix_iou: float = MATRIX_IOU,
                  batch_size: int = 8, engine: str = "keras") -> TaskResult:
    """mAP@0.5 y @0.3 (VOC) y las métricas de COCO de un modelo guardado sobre una carpeta
    VOC, sus curvas PR y su matriz de confusión.

    Las anotaciones con clases que el modelo no conoce se leen igual; esos objetos
    se ignoran (lo dice el informe de ``read_voc``). Los datos son el par VOC
    ``ann_dir``/``img_dir`` o ``data``, un conjunto en cualquier formato (``fmt``,
    ``split``: ver :func:`datos.conjuntos.read_dataset`).

    Args:
        weights: ``.h5`` de ``redes deteccion entrenar`` o carpeta de ``redes TAREA exportar``.
        engine: motor de inferencia (:func:`inferencia.motores.load_engine`).
        obj_threshold: puntuación mínima de las detecciones del mAP (baja: toda la curva).
        matrix_threshold: puntuación mínima de las detecciones de la matriz de confusión
            y los conteos por clase (las que se dibujan).
        matrix_iou: IoU mínima de un acierto en la matriz.

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` (``map_50``,
        ``map_30``, las de :data:`~informes.metricas_coco.COCO_METRICS`),
        ``files["precision_recall"]``, ``files["matriz_confusion"]`` y en ``data``
        ``ap_por_clase``, ``conteo_por_clase``, ``matriz_confusion``, ``resumen``,
        ``imagenes``, ``cajas`` y ``detecciones``.
    """
    from datos.conjuntos import read_dataset
    from informes.metricas_coco import coco_summary
    from inferencia.motores import load_engine
    from modelos.yolo.constructor import yolo_config

    model = load_engine(weights, engine)
    labels = yolo_config(model)["labels"]
    images, _ = read_dataset(data, labels, fmt=fmt, ann_dir=ann_dir, img_dir=img_dir,
                             split=split)
    evaluation = evaluate_records(model, images, labels, obj_threshold=obj_threshold,
                                  nms_threshold=nms_threshold, matrix_threshold=matrix_threshold,
                                  matrix_iou=matrix_iou, batch_size=batch_size)
    out_dir = Path(weights).parent if out_dir is None else Path(out_dir)
    paths = plot_precision_recall(evaluation["curvas"]["0.5"], labels, out_dir)
    matrix_path = evaluation["confusion"].plot(out_dir / "matriz_confusion.png")
    per_class = ap_by_class(evaluation, labels)
    extra = evaluation_report(evaluation)
    logger.info("Métricas de COCO (pycocotools):\n%s", coco_summary(evaluation["coco"]))
    return TaskResult(
        title=f"YOLOv2: {evaluation['imagenes']} imágenes, {evaluation['cajas']} cajas",
        metrics={"map_50": evaluation["map"]["0.5"], "map_30": evaluation["map"]["0.3"],
                 **extra["metrics"], "cajas_tragonas": evaluation["tragonas"].rate},
        files={"precision_recall": paths, "matriz_confusion": matrix_path},
        data={"motor": model.name, "resumen": extra["summary"], "ap_por_clase": per_class,
              **extra["data"], "imagenes": evaluation["imagenes"],
              "cajas": evaluation["cajas"], "detecciones": evaluation["detecciones"]},
        tables=[ap_table(per_class), *extra["tables"]],
        text=[extra["summary"]],
        model=model.keras_model or model,  # el de Keras si el motor es keras
    )
