"""El núcleo que todas las salas necesitan, sin Keras.

Errores del proyecto (``errores``), validación de argumentos (``validacion``), la
preparación del backend (``entorno``; ``keras_listo`` da Keras ya preparado), la
escritura atómica de archivos (``archivos``) y el vocabulario de opciones y límites
(``vocabulario``). Importarlo no carga TensorFlow: la orden ``redes`` lo usa para
responder ``--help`` al instante.
"""
