"""Traducción de números escritos en palabras (español → inglés), con el Transformer
o con un seq2seq LSTM/GRU: una sola tarea, la arquitectura es una opción.

Módulos: ``entrenar`` (entrenar y medir el acierto exacto) y ``prediccion`` (cargar un
traductor guardado, traducir frases y dibujar la atención).
"""

from tareas.traduccion.configuracion import TranslationConfig
from tareas.traduccion.entrenar import exact_match
from tareas.traduccion.entrenar import run_translation_demo
from tareas.traduccion.entrenar import train_numbers
from tareas.traduccion.prediccion import TASK
from tareas.traduccion.prediccion import TranslationPredictor
from tareas.traduccion.prediccion import load
from tareas.traduccion.prediccion import attention_dir
from tareas.traduccion.prediccion import attention_figures
from tareas.traduccion.prediccion import load_translator
from tareas.traduccion.prediccion import translate_texts

from tareas.traduccion.evaluacion import evaluate_translator

__all__ = [
    "attention_dir", "attention_figures", "evaluate", "exact_match", "load", "load_translator",
    "predict", "run_translation_demo", "TASK", "train", "train_numbers", "translate_texts",
    "TranslationConfig", "TranslationPredictor",
]

# La interfaz común de las tareas (ver tareas.base): entrenar con su configuración,
# evaluar, cargar un predictor (load) y predecir sobre entradas en bruto.
train = train_numbers
evaluate = evaluate_translator
predict = translate_texts
