"""El bucle de entrenamiento alrededor de ``fit``, y nada más.

Módulos: ``entrenar`` (:func:`entrenamiento.entrenar.train`: semilla, precisión,
registro CSV, mejor modelo, reanudación y curvas), ``opciones`` (sus ajustes,
:class:`~entrenamiento.opciones.FitOptions`), ``entradas`` (los datos: comprobarlos,
repetirlos y repartirlos entre procesos), ``callbacks`` (los de Keras que el bucle
añade), ``callbacks_tarea`` (los que añaden las tareas: tope de tiempo, tasa en coseno,
congelar, una métrica por época) y ``distribuido`` (varios procesos con JAX; el
:class:`~entrenamiento.distribuido.Cluster` llega al bucle como argumento).
"""
