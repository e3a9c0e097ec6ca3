"""La orden ``redes``: lectura de argumentos en castellano, una orden por tarea y el
lanzador de procesos.

La entrada es :func:`cli.principal.main`. Cada módulo registra sus órdenes y solo
importa Keras cuando la orden se ejecuta, para que ``redes --help`` sea inmediato.
"""
