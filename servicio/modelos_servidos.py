"""Los modelos que sirve ``redes servir``: cada uno se carga una vez y atiende lotes.

Cada clase envuelve un motor de :mod:`inferencia.motores` (keras, onnx, openvino...) y
sabe dos cosas:

- ``prepare_*``: comprobar y preparar la entrada de UNA petición (decodificar la imagen,
  leer la serie, codificar la frase). Es donde una entrada mala da un error claro
  (:class:`~nucleo.errores.DataError`), antes de llegar a la red.
- ``run_batch``: atender de una vez las entradas ya preparadas de VARIAS peticiones
  (una sola llamada a la red por lote; ver :mod:`servicio.lotes`) y devolver
  un resultado por entrada, en el mismo orden.

:func:`load_served_model` reconoce la tarea por los metadatos del archivo.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import numpy as np

from nucleo.errores import DataError, ModelFileError



class ServedModel:
    """Un modelo cargado: nombre, tarea y motor. Las subclases saben atender su tarea."""

    task = ""

    def __init__(self, name: str, weights: Path, engine):
        self.name = name
        self.weights = Path(weights)
        self.engine = engine

    def info(self) -> dict[str, Any]:
        """Lo que ``GET /modelos`` cuenta de él."""
        from modelos.registro import builder_spec

        spec = builder_spec(self.engine)
        return {"nombre": self.name, "tarea": self.task,
                "constructor": spec.name if spec else None, "motor": self.engine.name,
                "pesos": str(self.weights), **self.details()}

    def details(self) -> dict[str, Any]:
        return {}

    def run_batch(self, items: list[Any]) -> list[Any]:
        raise NotImplementedError

    def example_input(self):
        """Una entrada preparada cualquiera, para calentar el modelo al arrancar."""
        raise NotImplementedError


# === Detección ===

@dataclasses.dataclass
class DetectionInput:
    image: np.ndarray       # uint8 (H, W, 3) original, para dibujar y medir
    resized: np.ndarray     # uint8 (alto, ancho, 3), la entrada de la red
    threshold: float
    draw: bool


class ServedDetector(ServedModel):
    """Un YOLOv2: ``detect_batch`` sobre las imágenes de varias peticiones a la vez."""

    task = "deteccion"

    def __init__(self, name, weights, engine):
        super().__init__(name, weights, engine)
        from modelos.yolo.constructor import yolo_config
        from modelos.yolo.decodificacion import input_size, model_anchors

        self.labels = list(yolo_config(engine)["labels"])
        self.anchors = model_anchors(engine)
        self.input_size = input_size(engine)

    def details(self):
        return {"entrada": [*self.input_size, 3], "etiquetas": self.labels}

    def prepare(self, image: np.ndarray, threshold: float, draw: bool) -> DetectionInput:
        from modelos.yolo.preprocesado import resize_image

        return DetectionInput(image, resize_image(image, self.input_size), threshold, draw)

    def example_input(self):
        return self.prepare(np.zeros((*self.input_size, 3), np.uint8), 0.3, False)

    def run_batch(self, items: list[DetectionInput]) -> list[dict[str, Any]]:
        from tareas.deteccion.predecir import describe, draw_boxes
        from modelos.yolo.decodificacion import as_netout, decode, to_pixels
        from modelos.yolo.preprocesado import to_input

        netouts = as_netout(self.engine.predict_on_batch(
            to_input(np.stack([item.resized for item in items]))), rank=5)
        results = []
        for item, netout in zip(items, netouts, strict=True):
            found = to_pixels(decode(netout, self.anchors, item.threshold),
                              item.image.shape[1], item.image.shape[0])
            result = {"ancho": int(item.image.shape[1]), "alto": int(item.image.shape[0]),
                      "cajas": [{"etiqueta": row["etiqueta"], "puntuacion": row["puntuacion"],
                                 "x1": row["caja"][0], "y1": row["caja"][1],
                                 "x2": row["caja"][2], "y2": row["caja"][3]}
                                for row in describe(found, self.labels)]}
            if item.draw:
                result["png"] = encode_png(draw_boxes(item.image, found, self.labels))
            results.append(result)
        return results


def encode_png(image: np.ndarray) -> bytes:
    """``uint8`` RGB → bytes de un PNG, en memoria."""
    from PIL import Image

    with io.BytesIO() as handle:
        Image.fromarray(image).save(handle, format="PNG")
        return handle.getvalue()


# === Clasificación ===

@dataclasses.dataclass
class ClassificationInput:
    pixels: np.ndarray   # float32 (alto, ancho, canales) en [0, 1]
    top: int


class ServedClassifier(ServedModel):
    """Un clasificador de ``redes clasificar entrenar``."""

    task = "clasificacion"

    def __init__(self, name, weights, engine, metadata):
        super().__init__(name, weights, engine)
        self.classes = list(metadata["clases"])
        self.size = tuple(metadata["tamanio"])
        self.channels = int(metadata["canales"])
        self.flatten = bool(metadata["aplanar"])

    def details(self):
        return {"entrada": [*self.size, self.channels], "etiquetas": self.classes}

    def prepare(self, image: np.ndarray, top: int) -> ClassificationInput:
        from datos.imagenes import resize_to

        return ClassificationInput(resize_to(image, self.size, self.channels), top)

    def example_input(self):
        return self.prepare(np.zeros((*self.size, 3), np.uint8), 1)

    def run_batch(self, items: list[ClassificationInput]) -> list[dict[str, Any]]:
        from modelos.clasificacion.preprocesado import prepare_images

        batch = prepare_images(np.stack([item.pixels for item in items]), self.flatten)
        probabilities = np.asarray(self.engine.predict_on_batch(batch), dtype=np.float64)
        results = []
        for item, row in zip(items, probabilities, strict=True):
            order = np.argsort(-row, kind="stable")[:min(item.top, len(self.classes))]
            results.append({"clases": [{"etiqueta": self.classes[i],
                                        "probabilidad": round(float(row[i]), 6)}
                                       for i in order]})
        return results


# === Ventas ===

@dataclasses.dataclass
class ForecastInput:
    series: Any          # datos.ventas.SalesSeries
    dates: np.ndarray    # las fechas a pronosticar
    window: list[float]  # los últimos ``steps`` valores, escalados


class ServedSalesModel(ServedModel):
    """Un modelo de ``redes ventas entrenar`` con su escalador: unidades en, unidades fuera.

    El pronóstico recursivo de varias peticiones avanza a la vez: en cada día, una sola
    llamada a la red con la ventana de cada petición que aún no terminó.
    """

    task = "ventas"

    def __init__(self, name, weights, engine, scaler, variant: str, steps: int):
        super().__init__(name, weights, engine)
        self.scaler, self.variant, self.steps = scaler, variant, steps

    def details(self):
        return {"entrada": [self.steps], "variante": self.variant, "retardos": self.steps}

    def prepare(self, series, days: int) -> ForecastInput:
        from tareas.ventas.pronostico import next_dates, open_weekdays

        if len(series) < self.steps:
            raise DataError(f"«{series.source}» tiene {len(series)} días y el modelo necesita "
                            f"los {self.steps} últimos para pronosticar.")
        dates = next_dates(series.dates[-1], days, open_weekdays(series.dates))
        window = [float(v) for v in self.scaler.transform(series.values[-self.steps:])]
        return ForecastInput(series, dates, window)

    def example_input(self):
        from datos.ventas import make_sales_series

        return self.prepare(make_sales_series("2018-01-01", 4 * self.steps, seed=0), 1)

    def run_batch(self, items: list[ForecastInput]) -> list[dict[str, Any]]:
        from datos.ventas import calendar_features, sales_inputs

        calendars = [calendar_features(item.dates) for item in items]
        windows = [list(item.window) for item in items]
        predicted: list[list[float]] = [[] for _ in items]
        for day in range(max(len(item.dates) for item in items)):
            active = [i for i, item in enumerate(items) if day < len(item.dates)]
            x = sales_inputs(self.variant,
                             np.array([windows[i][-self.steps:] for i in active]),
                             [calendars[i][0][day] for i in active],
                             [calendars[i][1][day] for i in active])
            values = np.asarray(self.engine.predict_on_batch(x), dtype=np.float64)[:, 0]
            for i, value in zip(active, values, strict=True):
                predicted[i].append(float(value))
                windows[i].append(float(value))
        results = []
        for item, values in zip(items, predicted, strict=True):
            units = self.scaler.inverse_transform(values)
            results.append({
                "historia": [{"fecha": str(d), "unidades": float(v)}
                             for d, v in zip(item.series.dates, item.series.values, strict=True)],
                "pronostico": [{"fecha": str(d), "unidades": round(float(v), 4)}
                               for d, v in zip(item.dates, units, strict=True)]})
        return results


# === Traducción ===

@dataclasses.dataclass
class TranslationInput:
    text: str
    source: np.ndarray   # ids (S,) sin relleno
    attention: bool


class ServedTranslator(ServedModel):
    """Un traductor de números de ``redes transformer entrenar --tarea numeros``."""

    task = "traduccion"

    def __init__(self, name, weights, engine, source_tok, target_tok, metadata):
        super().__init__(name, weights, engine)
        from modelos.transformer.decodificacion import sequence_limits

        self.source_tok, self.target_tok = source_tok, target_tok
        self.source_limit, target_limit = sequence_limits(engine)
        self.output_len = min(metadata["longitudes"]["destino"] + 1, target_limit - 1)

    def details(self):
        return {"entrada": [self.source_limit], "vocabulario_origen": len(self.source_tok),
                "vocabulario_destino": len(self.target_tok)}

    def prepare(self, text: str, attention: bool) -> TranslationInput:
        from tareas.traduccion.prediccion import encode_texts

        ids = encode_texts([text], self.source_tok, self.source_limit)[0]
        return TranslationInput(text, ids[ids != 0], attention)

    def example_input(self):
        return self.prepare(next(w for w in self.source_tok.vocabulary if w.isalpha()), False)

    def run_batch(self, items: list[TranslationInput]) -> list[dict[str, Any]]:
        from modelos.transformer.decodificacion import attention_maps, translate

        # Formas fijas (todas las posiciones; lotes de 1, 2, 4, 8...): la decodificación
        # compilada no se vuelve a trazar con cada longitud ni con cada tamaño de lote.
        rows = 1 << (len(items) - 1).bit_length()
        source = np.zeros((rows, self.source_limit), dtype=np.int32)
        for row, item in zip(source, items + items[:1] * (rows - len(items)), strict=True):
            row[:len(item.source)] = item.source
        translated = translate(self.engine, source, self.output_len)[:len(items)]
        results = []
        for item, ids in zip(items, translated, strict=True):
            result = {"texto": item.text, "traduccion": self.target_tok.decode(ids)}
            if item.attention:
                target = [self.target_tok.index["<s>"], *ids]
                cross = attention_maps(self.engine, item.source[None], [target])["decoder_cross"]
                weights = np.asarray(cross[-1][0], dtype=np.float64).mean(axis=0)
                # Fila i: la palabra de salida i (la que se predice tras target[i]).
                words = [self.target_tok.vocabulary[i] for i in ids]
                result["atencion"] = {
                    "origen": [self.source_tok.vocabulary[i] for i in item.source],
                    "destino": words,
                    "pesos": np.round(weights[:len(words)], 5).tolist()}
            results.append(result)
        return results


# === Carga ===

def load_served_model(weights, *, engine: str = "keras", name: str | None = None
                      ) -> ServedModel:
    """Carga ``weights`` (``.h5`` o carpeta de ``redes exportar``) y reconoce su tarea.

    Raises:
        ModelFileError: el archivo no es un modelo de ninguna de las cuatro tareas.
    """
    from tareas.ventas.comun import TASK as SALES_TASK
    from inferencia.motores import load_engine, source_info

    weights = Path(weights)
    info = source_info(weights)
    metadata = info["metadata"]
    name = name or _default_name(weights)
    if info["builder"] == "yolo":
        return ServedDetector(name, weights, load_engine(weights, engine))
    if metadata.get("tarea") == "clasificacion":
        from tareas.clasificacion import load_classifier

        model, metadata = load_classifier(weights, engine)
        return ServedClassifier(name, weights, model, metadata)
    if metadata.get("tarea") == SALES_TASK:
        from tareas.ventas.pronostico import load_sales_model

        model, scaler, variant, steps = load_sales_model(weights, engine)
        return ServedSalesModel(name, weights, model, scaler, variant, steps)
    from tareas.traduccion import TASK as TRANSLATION_TASK

    if metadata.get("tarea") == TRANSLATION_TASK:
        from tareas.traduccion import load_translator

        model, source_tok, target_tok, metadata = load_translator(weights, engine)
        if engine == "keras":
            from inferencia.motores import KerasEngine

            model = KerasEngine(model, metadata)
        return ServedTranslator(name, weights, model, source_tok, target_tok, metadata)
    raise ModelFileError(
        f"«{weights}» no es un modelo que «redes servir» sepa servir (constructor "
        f"«{info['builder']}», tarea «{metadata.get('tarea')}»): sirve detectores YOLO, "
        "clasificadores de imágenes, modelos de ventas y traductores de números.")


def _default_name(weights: Path) -> str:
    """``pesos/ventas_ste/modelo.h5`` → ``ventas_ste``; ``pesos/detector.h5`` → ``detector``."""
    stem = weights.stem if weights.suffix else weights.name
    if stem in ("modelo", "model", "modelo.json") and weights.parent.name:
        return weights.parent.name
    return stem
