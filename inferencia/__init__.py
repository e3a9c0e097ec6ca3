"""Inferencia fuera del bucle de entrenamiento: motores (Keras, ONNX Runtime, OpenVINO,
LiteRT), exportación de modelos guardados y cuantización int8.
"""
