"""Un router de FastAPI por tarea (``deteccion``, ``clasificacion``, ``pronostico``,
``traduccion``) y el del propio servicio (``general``: salud y modelos cargados).

Cada router es un adaptador fino: lee la petición, pide al predictor de la tarea
(:class:`tareas.base.Predictor`) que prepare la entrada y encola la respuesta en el lote
de su modelo (:mod:`servicio.dependencias`).
"""
