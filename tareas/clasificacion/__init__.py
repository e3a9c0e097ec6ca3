"""Clasificación de imágenes por carpetas: entrenar (``entrenar``), y cargar, evaluar y
predecir con un clasificador guardado (``prediccion``).

Son las funciones que llama ``redes clasificacion ...``; devuelven
:class:`~informes.resultado.TaskResult`, que :func:`informes.resultado.report` muestra
en la terminal o escribe en JSON.
"""

from tareas.clasificacion.configuracion import ClassifierConfig
from tareas.clasificacion.entrenar import train_classifier
from tareas.clasificacion.prediccion import ClassificationPredictor
from tareas.clasificacion.prediccion import evaluate_classifier
from tareas.clasificacion.prediccion import load
from tareas.clasificacion.prediccion import load_classifier
from tareas.clasificacion.prediccion import predict_images

__all__ = [
    "ClassificationPredictor", "ClassifierConfig", "evaluate", "evaluate_classifier", "load",
    "load_classifier", "predict", "predict_images", "train", "train_classifier",
]

# La interfaz común de las tareas (ver tareas.base): entrenar con su configuración,
# evaluar, cargar un predictor (load) y predecir sobre entradas en bruto.
train = train_classifier
evaluate = evaluate_classifier
predict = predict_images
