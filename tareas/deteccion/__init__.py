"""Detección de objetos con YOLOv2: la configuración y sus recetas (``configuracion``),
entrenar (``entrenar``), evaluar con mAP (``evaluar``), detectar en fotos, vídeo y cámara
(``predecir``), calcular anclas por k-means (``anclas``) y la demo (``demo``).
"""

from tareas.deteccion.configuracion import DetectionConfig
from tareas.deteccion.demo import run_detection_demo
from tareas.deteccion.entrenar import train_yolo
from tareas.deteccion.evaluar import evaluate_yolo
from tareas.deteccion.predecir import DetectionPredictor
from tareas.deteccion.predecir import load

from tareas.deteccion.predecir import detect_images

__all__ = [
    "DetectionConfig", "DetectionPredictor", "evaluate", "evaluate_yolo", "load", "predict",
    "run_detection_demo", "train", "train_yolo",
]

# La interfaz común de las tareas (ver tareas.base): entrenar con su configuración,
# evaluar, cargar un predictor (load) y predecir sobre entradas en bruto.
train = train_yolo
evaluate = evaluate_yolo
predict = detect_images
