"""Clasificación de imágenes por carpetas: entrenar (``entrenar``), y cargar, evaluar y
predecir con un clasificador guardado (``prediccion``).

Son las funciones que llama ``redes clasificacion ...``; devuelven
:class:`~informes.resultado.TaskResult`, que :func:`informes.resultado.report` muestra
en la terminal o escribe en JSON.
"""

from tareas.clasificacion.entrenar import PRESETS
from tareas.clasificacion.entrenar import ClassifierPreset
from tareas.clasificacion.entrenar import train_classifier
from tareas.clasificacion.prediccion import evaluate_classifier
from tareas.clasificacion.prediccion import load_classifier
from tareas.clasificacion.prediccion import predict_images

__all__ = ["PRESETS", "ClassifierPreset", "evaluate_classifier", "load_classifier",
           "predict_images", "train_classifier"]
