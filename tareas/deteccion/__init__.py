"""Detección de objetos con YOLOv2: entrenar (``entrenar``), evaluar con mAP
(``evaluar``), detectar en fotos, vídeo y cámara (``predecir``) y calcular anclas por
k-means (``anclas``).
"""

from tareas.deteccion.entrenar import run_detection_demo
from tareas.deteccion.entrenar import train_yolo
from tareas.deteccion.evaluar import evaluate_yolo

__all__ = ["evaluate_yolo", "run_detection_demo", "train_yolo"]
