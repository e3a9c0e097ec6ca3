"""El bucle de entrenamiento alrededor de ``fit``, informes, gráficos y la orden ``redes``.

Módulos: ``entrenar`` (:func:`entrenar.train`), ``informes``, ``graficos``,
``clasificacion`` y ``xor`` (tareas de la CLI), ``demo`` y ``cli``. Este paquete no
importa TensorFlow al cargarse, para que ``redes --help`` sea inmediato.
"""
