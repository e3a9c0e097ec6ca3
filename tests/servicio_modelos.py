"""Modelos pequeños de las cuatro tareas, guardados como los guarda ``redes ... entrenar``
(los mismos metadatos), para probar ``redes servir`` sin entrenar nada largo.

Los pesos son aleatorios con semilla fija: lo que se prueba es el servicio (rutas,
lotes, errores), no la calidad del modelo.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import keras
import numpy as np

import modelos

LABELS = ["circulo", "cuadrado"]
CLASSES = ["gato", "perro", "pez"]


def save_service_models(root) -> dict[str, Path]:
    """Guarda en ``root`` un detector, un clasificador, un modelo de ventas y un traductor.

    Returns:
        ``{"deteccion": ruta, "clasificacion": ..., "ventas": ..., "traduccion": ...}``.
    """
    from datos.numeros import make_tokenizers
    from datos.ventas import MinMaxScaler, make_sales_series
    from tareas.traduccion import TASK as TRANSLATION_TASK
    from tareas.ventas.comun import TASK as SALES_TASK

    root = Path(root)
    keras.utils.set_random_seed(0)
    paths = {"deteccion": modelos.save(confident_detector(), root / "detector" / "modelo.h5")}
    paths["clasificacion"] = modelos.save(
        modelos.build_cifar_cnn(input_shape=(16, 16, 3), num_classes=len(CLASSES)),
        root / "clasificador" / "modelo.h5",
        metadata={"tarea": "clasificacion", "clases": CLASSES, "tamanio": [16, 16],
                  "canales": 3, "aplanar": False})
    series = make_sales_series(days=200, seed=0)
    scaler = MinMaxScaler().fit(series.values)
    paths["ventas"] = modelos.save(modelos.build_sales_mlp("ste"),
                                   root / "ventas" / "modelo.h5",
                                   metadata={"tarea": SALES_TASK, "escalador": scaler.to_json()})
    source_tok, target_tok = make_tokenizers(999)
    paths["traduccion"] = modelos.save(
        modelos.build_transformer(len(source_tok), len(target_tok), num_layers=1, d_model=16,
                                  num_heads=2, d_ff=32, dropout=0.0, max_len=12),
        root / "traductor" / "modelo.h5",
        metadata={"tarea": TRANSLATION_TASK, "maximo": 999, "semilla": 0,
                  "longitudes": {"origen": 6, "destino": 6},
                  "tokenizador_origen": source_tok.to_json(),
                  "tokenizador_destino": target_tok.to_json()})
    return paths


def confident_detector():
    """Un YOLO diminuto que ve objetos (de la clase 0) con puntuación ≈ 0.9 en todas partes.

    Con pesos aleatorios la puntuación ronda 0.25 y no pasa el umbral por defecto (0.3): se
    suben los sesgos de la última convolución (objetividad y clase 0) para que la página y
    las pruebas tengan cajas que dibujar.
    """
    model = modelos.build_yolo(LABELS, input_size=64, width_multiplier=0.125)
    last = model.get_layer("conv_23")
    kernel, bias = (np.asarray(w) for w in last.get_weights())
    per_anchor = 5 + len(LABELS)
    bias = bias.copy()
    bias[4::per_anchor] = 6.0   # objetividad: sigmoide ≈ 1
    bias[5::per_anchor] = 3.0   # clase 0 frente a clase 1: softmax ≈ 0.95
    last.set_weights([kernel * 0.1, bias])
    return model


def png_bytes(height: int = 48, width: int = 80, seed: int = 0) -> bytes:
    """Una imagen PNG de ruido (para subir)."""
    import io

    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    with io.BytesIO() as handle:
        Image.fromarray(pixels).save(handle, format="PNG")
        return handle.getvalue()


def free_port() -> int:
    """Un puerto libre de 127.0.0.1 (el sistema lo elige)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(models, settings=None):
    """Sirve ``models`` con uvicorn en 127.0.0.1, en un hilo, y da la URL base.

    Al salir pide la parada (como SIGTERM) y espera a que termine.
    """
    import threading

    import uvicorn

    from servicio.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(models, settings), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-pruebas", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("el servidor de pruebas no arrancó")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


#: El modelo global diminuto de las pruebas: columnas, covariables, retardos y horizonte.
GLOBAL_SERIES_COLUMNS = ("tienda", "producto")
GLOBAL_FUTURE = ("precio", "festivo")
GLOBAL_STEPS, GLOBAL_HORIZON, GLOBAL_LEVELS = 14, 7, (80, 95)


def save_global_model(root):
    """Un modelo global de ventas diminuto, SIN entrenar (semilla fija), de las 6 series ×
    120 días de :func:`~datos.ventas_sinteticas.make_multi_series`, guardado con los
    metadatos que escribe ``train_sales_global`` (escalas ajustadas con sus días de
    entrenamiento y factores conformales fijos). Sirve para probar la fontanería de
    ``redes servir`` y de ``redes pronostico evaluar``, no la calidad.

    Returns:
        ``(ruta del modelo.h5, DataFrame largo, SeriesSchema)``.
    """
    from datos.ventas_sinteticas import make_multi_series
    from datos.ventas_ventanas import SeriesEncoding
    from tareas.ventas.global_configuracion import GlobalSalesConfig
    from tareas.ventas.global_red import global_metadata

    frame, schema = make_multi_series(6, 120, seed=0)
    config = GlobalSalesConfig(series_columns=GLOBAL_SERIES_COLUMNS,
                               future_covariates=GLOBAL_FUTURE, levels=GLOBAL_LEVELS,
                               horizon=GLOBAL_HORIZON, steps=GLOBAL_STEPS)
    held = config.held_validation + config.held_calibration
    encoding = SeriesEncoding.fit(frame, schema, held)
    keras.utils.set_random_seed(0)
    model = modelos.build_sales_global(
        len(encoding.keys), GLOBAL_STEPS, GLOBAL_HORIZON,
        hierarchy=[len(v) for v in encoding.vocabularies], n_future=len(GLOBAL_FUTURE),
        levels=list(GLOBAL_LEVELS), hidden_units=8, decoder_units=4)
    path = modelos.save(model, Path(root) / "ventas_global" / "modelo.h5",
                        metadata=global_metadata(encoding, config, "sinteticas",
                                                 {80: 0.1, 95: 0.2}))
    return path, frame, schema
