"""``redes servir``: los modelos guardados como API HTTP (FastAPI + uvicorn) y página web.

Lo que hizo el blog en «Tu propio Servicio de Machine Learning» («publica tu modelo con
Flask»), hecho con cuidado: cada modelo se carga una vez, la entrada va en unidades (el
escalado vive en el archivo de pesos), las peticiones a un mismo modelo se agrupan en
lotes y toda entrada mala recibe un 4xx claro en castellano.

- :mod:`~servicio.modelos_servidos`: los modelos y su tarea;
- :mod:`~servicio.lotes`: la cola y los lotes de cada modelo;
- :mod:`~servicio.entradas`: límites, tipos de contenido y validación;
- :mod:`~servicio.esquemas`: los esquemas de la API;
- :mod:`~servicio.app`: la app FastAPI;
- :mod:`~servicio.servidor`: uvicorn y la parada ordenada.

Necesita el extra ``servicio``: ``pip install "redes-keras[servicio]"``.
"""
