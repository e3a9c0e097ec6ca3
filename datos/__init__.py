"""Archivos → registros → aumento → lotes, y su reparto entre procesos.

Módulos: ``imagenes`` (carpetas ``clase/imagen``), ``anotaciones`` y
``anotaciones_escritura`` (Pascal-VOC; y los escritores de YOLO-txt y COCO),
``anotaciones_yolo``, ``anotaciones_coco`` y ``anotaciones_comun`` (los otros dos formatos
y lo que comparten), ``conjuntos`` y ``conjuntos_conversion`` (un conjunto en cualquier
formato, y convertirlo), ``cajas`` (IoU y conversiones de cajas),
``aumento`` (imgaug, importado solo a través de ``imgaug_compat``), ``generadores``
(``keras.utils.PyDataset``), ``reparto`` (lotes repartidos entre procesos),
``ventas`` y ``ventas_serie`` (CSV de ventas), ``numeros`` y ``lotes_numeros`` (la
tarea de traducción de números), ``sinteticos`` (datos generados para pruebas y demos)
y ``descargas`` (los datos del blog, solo cuando se piden).
"""
