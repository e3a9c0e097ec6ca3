"""Lo que se lee de un resultado: el tipo de resultado de las tareas
(``resultado``), tablas y JSON (``tablas``), gráficos PNG (``graficos``) y métricas
de detección (``metricas``).
"""
