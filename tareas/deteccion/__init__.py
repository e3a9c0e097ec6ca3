"""Detección de objetos con YOLOv2: entrenar y evaluar (``entrenar``), detectar en
fotos y vídeo (``predecir``) y calcular anclas por k-means (``anclas``).
"""
