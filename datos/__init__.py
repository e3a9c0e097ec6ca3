"""Todo lo que convierte archivos en lotes: lectores, aumento, generadores y datos sintéticos.

Módulos: ``imagenes`` (carpetas ``clase/imagen``), ``aumento`` (imgaug, importado solo
a través de ``imgaug_compat``), ``generadores`` (``keras.utils.PyDataset``),
``sinteticos`` (datos para pruebas y demos), ``anotaciones`` (Pascal-VOC), ``cajas``
(IoU y conversiones de cajas), ``yolo`` (objetivos de YOLOv2 y ``YoloDataset``),
``archivos`` (escritura atómica),
``errores`` (las excepciones del proyecto) y ``entorno`` (importación silenciosa de
TensorFlow).
"""
