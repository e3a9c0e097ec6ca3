"""Clasificadores guardados: cargarlos, evaluarlos en una carpeta y clasificar imágenes."""

from __future__ import annotations

import dataclasses

from pathlib import Path
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError, ModelFileError
from nucleo.vocabulario import MAX_IMAGE_SIDE
from nucleo.validacion import check_int
# Particiones de ``evaluate_classifier`` y clases que puede nombrar un clasificador guardado.
from nucleo.vocabulario import MAX_CLASSES
from nucleo.vocabulario import SPLITS
from nucleo.vocabulario import check_choice
from informes.resultado import TaskResult
from modelos.clasificacion.preprocesado import prepare_images
from tareas.base import Predictor

#: Imágenes por llamada a la red al clasificar una lista.
PREDICT_BATCH = 32


def report_lines(summary: dict[str, Any] | None, skipped: list[str]) -> list[str]:
    from informes.tablas import format_classification_report

    text = [format_classification_report(summary)] if summary else []
    if skipped:
        text.append(f"imágenes omitidas por ilegibles: {len(skipped)}")
    return text


def _check_metadata(weights, metadata: dict[str, Any]) -> None:
    """Tipos y límites de los metadatos de un clasificador, antes de construir el modelo."""
    def refuse(what: str):
        raise ModelFileError(f"«{weights}»: metadatos de clasificador no válidos: {what}.")

    classes = metadata["clases"]
    if (not isinstance(classes, list) or not classes or len(classes) > MAX_CLASSES
            or not all(isinstance(c, str) and c for c in classes)
            or len(set(classes)) != len(classes)):
        refuse(f"«clases» debe ser una lista de 1 a {MAX_CLASSES} nombres distintos")
    size = metadata["tamanio"]
    if (not isinstance(size, list) or len(size) != 2
            or not all(type(v) is int and 1 <= v <= MAX_IMAGE_SIDE for v in size)):
        refuse(f"«tamanio» debe ser [alto, ancho] con enteros entre 1 y {MAX_IMAGE_SIDE}; "
               f"es {str(size)[:80]}")
    if type(metadata["canales"]) is not int or metadata["canales"] not in (1, 3):
        refuse(f"«canales» debe ser 1 o 3; es {str(metadata['canales'])[:80]}")
    if not isinstance(metadata["aplanar"], bool):
        refuse("«aplanar» debe ser true o false")
    seed = metadata.get("semilla", 0)
    if type(seed) is not int or seed < 0:
        refuse(f"«semilla» debe ser un entero ≥ 0; es {str(seed)[:80]}")


def _check_against_model(weights, metadata: dict[str, Any], model) -> None:
    """Clases, tamaño y canales de los metadatos frente a la entrada y salida del modelo."""
    classes = metadata["clases"]
    height, width = metadata["tamanio"]
    channels = metadata["canales"]
    expected = (height * width * channels,) if metadata["aplanar"] else (height, width, channels)
    inputs = tuple(model.input_shape[1:])
    if inputs != expected:
        raise ModelFileError(
            f"«{weights}»: los metadatos dicen imágenes de {height}×{width} con {channels} "
            f"canal(es) (entrada {expected}) y el modelo espera la entrada {inputs}.")
    outputs = model.output_shape[-1]
    if outputs != len(classes):
        shown = ", ".join(classes[:10]) + (", ..." if len(classes) > 10 else "")
        raise ModelFileError(
            f"«{weights}»: los metadatos nombran {len(classes)} clase(s) ({shown}) y el "
            f"modelo tiene {outputs} salidas.")


def load_classifier(weights, engine: str = "keras"):
    """Carga un clasificador de ``redes clasificacion entrenar`` y comprueba sus metadatos.

    Args:
        weights: su ``modelo.h5`` o su carpeta de ``redes TAREA exportar``.
        engine: motor de inferencia (:func:`inferencia.motores.load_engine`).

    Returns:
        ``(motor, metadatos)``; con ``engine="keras"`` el motor envuelve el modelo de
        Keras sin compilar (``motor.keras_model``).

    Raises:
        ModelFileError: si no es un clasificador de imágenes, si sus metadatos no son
            válidos o no encajan con el modelo (clases frente a salidas, tamaño y
            canales frente a la entrada).
    """
    from inferencia.motores import load_engine, source_metadata

    metadata = source_metadata(weights)
    needed = ("clases", "tamanio", "canales", "aplanar")
    if metadata.get("tarea") != "clasificacion" or any(k not in metadata for k in needed):
        raise ModelFileError(
            f"«{weights}» no es un clasificador de imágenes entrenado con "
            "«redes clasificacion entrenar» (faltan las clases o el tamaño en los metadatos)."
        )
    _check_metadata(weights, metadata)
    model = load_engine(weights, engine)
    _check_against_model(weights, metadata, model)
    return model, metadata


def evaluate_classifier(weights, directory, *, split: str = "all", run_dir=None,
                        engine: str = "keras") -> TaskResult:
    """Evalúa un clasificador guardado sobre una carpeta ``clase/imagen``.

    Args:
        weights: archivo ``modelo.h5`` de ``redes clasificacion entrenar``.
        directory: carpeta con las mismas clases que el modelo.
        split: ``"all"`` (todas las imágenes) o ``"test"`` (la misma partición de
            prueba que usó el entrenamiento, con su semilla).
        run_dir: dónde escribir la matriz de confusión (por defecto junto a los pesos).
        engine: motor de inferencia (:func:`inferencia.motores.load_engine`).

    Returns:
        Un :class:`~informes.resultado.TaskResult` con ``imagenes`` y ``accuracy``,
        la matriz de confusión escrita y, en ``data``, el informe por clase
        (``informe``) y las imágenes omitidas (``omitidas``).
    """
    from datos.imagenes import read_image_folder
    from datos.particiones import split_indices
    from informes.graficos import plot_confusion_matrix
    from informes.tablas import classification_summary

    check_choice(split, "split (--particion)", SPLITS, where="evaluate_classifier")
    model, metadata = load_classifier(weights, engine)
    folder = read_image_folder(directory, image_size=tuple(metadata["tamanio"]),
                               channels=metadata["canales"], class_names=metadata["clases"])
    indices = np.arange(len(folder.labels))
    if split == "test":
        indices = split_indices(folder.labels, seed=metadata.get("semilla", 0))[2]
    x = prepare_images(folder.images[indices], metadata["aplanar"])
    probabilities = model.predict(x, verbose=0)
    summary = classification_summary(folder.labels[indices], probabilities, folder.class_names)
    run_dir = Path(run_dir or Path(weights).parent)
    suffix = "" if split == "all" else "_prueba"
    matrix_path = plot_confusion_matrix(np.asarray(summary["confusion_matrix"]),
                                        folder.class_names, run_dir / f"evaluacion{suffix}.png")
    skipped = [str(p) for p, _ in folder.skipped]
    return TaskResult(
        title="Evaluación",
        metrics={"imagenes": int(len(indices)), "accuracy": summary["accuracy"]},
        files={"matriz_confusion": matrix_path},
        data={"motor": model.name, "informe": summary, "omitidas": skipped},
        text=report_lines(summary, skipped),
        model=model.keras_model or model,  # el de Keras si el motor es keras
    )


def predict_images(weights, images, top: int = 1, *, engine: str = "keras"
                   ) -> list[TaskResult]:
    """Clase y probabilidad de cada imagen con un clasificador guardado.

    Args:
        weights: archivo ``modelo.h5`` de ``redes clasificacion entrenar``.
        images: rutas de imagen.
        top: cuántas clases más probables devolver por imagen (≥ 1; como mucho todas).
        engine: motor de inferencia (:func:`inferencia.motores.load_engine`).

    Returns:
        Un :class:`~informes.resultado.TaskResult` por imagen, con
        ``data = {"imagen", "clase", "probabilidad", "top"}``.

    Raises:
        ArgumentError: sin imágenes, o ``top`` < 1.
        DataError: si alguna imagen no existe o está dañada (la nombra).
        ModelFileError: si el archivo no es un clasificador válido.
    """
    if isinstance(images, (str, Path)) or not images:
        raise ArgumentError("predict_images: indica una lista con al menos una imagen.")
    top = check_int(top, "top (--top)", where="predict_images")
    predictor = load(weights, engine)
    answers = []
    for start in range(0, len(images), PREDICT_BATCH):
        chunk = images[start:start + PREDICT_BATCH]
        answers += predictor.run_batch([predictor.prepare(path, top) for path in chunk])
    results = []
    for path, answer in zip(images, answers, strict=True):
        best = answer["clases"][0]
        extra = "".join(f"  {row['etiqueta']} {row['probabilidad']:.2%}"
                        for row in answer["clases"][1:])
        results.append(TaskResult(
            title=str(path),
            data={"imagen": str(path), "clase": best["etiqueta"],
                  "probabilidad": best["probabilidad"],
                  "top": [{"clase": row["etiqueta"], "probabilidad": row["probabilidad"]}
                          for row in answer["clases"]]},
            text=[f"{path}: {best['etiqueta']} ({best['probabilidad']:.2%}){extra}"],
        ))
    return results


# === El predictor de la tarea (CLI, API y servicio) ===

@dataclasses.dataclass
class ClassificationInput:
    pixels: np.ndarray   # float32 (alto, ancho, canales) en [0, 1]
    top: int


class ClassificationPredictor(Predictor):
    """Un clasificador de ``redes clasificacion entrenar`` cargado."""

    task = "clasificacion"

    def __init__(self, weights, engine, metadata):
        super().__init__(weights, engine)
        self.classes = list(metadata["clases"])
        self.size = tuple(metadata["tamanio"])
        self.channels = int(metadata["canales"])
        self.flatten = bool(metadata["aplanar"])

    def details(self):
        return {"entrada": [*self.size, self.channels], "etiquetas": self.classes}

    def prepare(self, image, top: int) -> ClassificationInput:
        """Una imagen (ruta, o ``uint8`` RGB ya decodificada) al tamaño del clasificador.

        Una ruta se lee con el mismo decodificador que el entrenamiento
        (:func:`datos.imagenes.load_image`).
        """
        from datos.imagenes import load_image, resize_to

        if isinstance(image, (str, Path)):
            pixels = load_image(image, self.size, self.channels)
        else:
            pixels = resize_to(image, self.size, self.channels)
        return ClassificationInput(pixels, top)

    def example_input(self):
        return self.prepare(np.zeros((*self.size, 3), np.uint8), 1)

    def run_batch(self, items: list[ClassificationInput]) -> list[dict[str, Any]]:
        batch = prepare_images(np.stack([item.pixels for item in items]), self.flatten)
        probabilities = np.asarray(self.engine.predict_on_batch(batch), dtype=np.float64)
        results = []
        for item, row in zip(items, probabilities, strict=True):
            order = np.argsort(-row, kind="stable")[:min(item.top, len(self.classes))]
            results.append({"clases": [{"etiqueta": self.classes[i],
                                        "probabilidad": round(float(row[i]), 6)}
                                       for i in order]})
        return results


def load(weights, engine: str = "keras") -> ClassificationPredictor:
    """Carga un clasificador de :func:`train_classifier` para predecir (ver
    :func:`load_classifier`)."""
    model, metadata = load_classifier(weights, engine)
    return ClassificationPredictor(weights, model, metadata)
