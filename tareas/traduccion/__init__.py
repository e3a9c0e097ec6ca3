"""Traducción de números escritos en palabras (español → inglés), con el Transformer
o con un seq2seq LSTM/GRU: una sola tarea, la arquitectura es una opción.

Módulos: ``entrenar`` (entrenar y medir el acierto exacto) y ``prediccion`` (cargar un
traductor guardado, traducir frases y dibujar la atención).
"""

from tareas.traduccion.entrenar import exact_match
from tareas.traduccion.entrenar import run_translation_demo
from tareas.traduccion.entrenar import train_numbers
from tareas.traduccion.prediccion import TASK
from tareas.traduccion.prediccion import attention_dir
from tareas.traduccion.prediccion import attention_figures
from tareas.traduccion.prediccion import load_translator
from tareas.traduccion.prediccion import translate_texts

__all__ = ["TASK", "attention_dir", "attention_figures", "exact_match", "load_translator",
           "run_translation_demo", "train_numbers", "translate_texts"]
