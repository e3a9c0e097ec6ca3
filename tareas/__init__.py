"""Las tareas de redes-keras: entrenar, evaluar y predecir para cada problema del blog.

Cada tarea se apoya en ``datos`` (archivos → lotes), ``modelos`` (la familia) y
``entrenamiento`` (el bucle) y devuelve un :class:`informes.resultado.TaskResult`.
Módulos: ``xor``, ``clasificacion``, ``traduccion``, ``ventas`` (paquete),
``deteccion`` (paquete) y ``demo``.
"""
