"""El bucle de entrenamiento alrededor de ``fit``, y nada más.

Módulos: ``entrenar`` (:func:`entrenamiento.entrenar.train`: semilla, precisión,
registro CSV, mejor modelo, reanudación y curvas), ``callbacks`` (los de Keras que el
bucle añade) y ``distribuido`` (varios procesos con JAX).
"""
