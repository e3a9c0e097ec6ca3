"""Entrenar un clasificador de imágenes desde una carpeta (una subcarpeta por clase)."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError
from nucleo.vocabulario import MAX_IMAGE_SIDE
from nucleo.validacion import check_int, check_int_tuple, check_number
# Particiones de ``evaluate_classifier`` y clases que puede nombrar un clasificador guardado.
from nucleo.vocabulario import TRAINING_PRECISIONS, check_choice, check_strategy
from informes.resultado import TaskResult, training_files
from modelos.clasificacion.preprocesado import prepare_images
from tareas.clasificacion.prediccion import report_lines

logger = logging.getLogger("redes")


@dataclasses.dataclass(frozen=True)
class ClassifierPreset:
    """Valores por defecto de cada clasificador para carpetas de imágenes."""

    builder: str
    image_size: tuple[int, int]
    channels: int
    flatten: bool
    epochs: int
    batch_size: int


# Los valores del blog / tutorial de cada modelo.
PRESETS = {
    # «Clasificación de imágenes» (sportsMNIST): 21×28 RGB, 6 épocas, lotes de 64.
    "deportes": ClassifierPreset("deportes", (21, 28), 3, False, 6, 64),
    # Tutorial de CIFAR-10: 32×32 RGB.
    "cifar": ClassifierPreset("cifar", (32, 32), 3, False, 10, 32),
    # Tutorial de MNIST: 28×28 en grises aplanado, 3 épocas, lotes de 128.
    "mlp": ClassifierPreset("mlp", (28, 28), 1, True, 3, 128),
}


def _builder_kwargs(preset: ClassifierPreset, shape: tuple[int, int, int], num_classes: int,
                    learning_rate: float | None, optimizer: str | None) -> dict[str, Any]:
    if preset.flatten:
        kwargs: dict[str, Any] = {"input_dim": int(np.prod(shape)), "num_classes": num_classes}
    else:
        kwargs = {"input_shape": list(shape), "num_classes": num_classes}
    if learning_rate is not None:
        kwargs["learning_rate"] = learning_rate
    if optimizer is not None:
        kwargs["optimizer"] = optimizer
    return kwargs


@dataclasses.dataclass(frozen=True)
class _Settings:
    """Ajustes de :func:`train_classifier` ya validados, con los valores del blog."""

    preset: ClassifierPreset
    image_size: tuple[int, int]
    channels: int
    epochs: int
    batch_size: int


def _check_training(model, *, image_size, channels, epochs, batch_size, learning_rate,
                    optimizer, seed, patience, augment, workers, precision,
                    strategy) -> _Settings:
    """Valida todos los argumentos de :func:`train_classifier` antes de leer imágenes."""
    from modelos.clasificacion.constructor import check_optimizer

    where = "train_classifier"
    if model not in PRESETS:
        raise ArgumentError(f"{where}: «model (--modelo)» debe ser uno de "
                            f"{', '.join(PRESETS)}; recibido {model!r}.")
    preset = PRESETS[model]
    if image_size is not None:
        image_size = check_int_tuple(image_size, "image_size (--tamanio)", length=2,
                                     maximum=MAX_IMAGE_SIDE, where=where)
    if channels is not None and (isinstance(channels, bool) or channels not in (1, 3)):
        raise ArgumentError(f"{where}: «channels» debe ser 1 (grises, --gris) o 3 (RGB); "
                            f"recibido {channels!r}.")
    if epochs is not None:
        check_int(epochs, "epochs (--epocas)", where=where)
    if batch_size is not None:
        check_int(batch_size, "batch_size (--lote)", where=where)
    if learning_rate is not None:
        check_number(learning_rate, "learning_rate (--tasa)", minimum=0.0, maximum=10.0,
                     include_minimum=False, where=where)
    if optimizer is not None:
        check_optimizer(optimizer, "optimizer (--optimizador)", where=where)
    check_int(seed, "seed (--semilla)", minimum=0, where=where)
    if patience is not None:
        check_int(patience, "patience (--paciencia)", minimum=0, where=where)
    check_int(workers, "workers (--trabajadores)", where=where)
    check_choice(precision, "precision (--precision)", TRAINING_PRECISIONS, where=where)
    check_strategy(strategy, where=where)
    if not isinstance(augment, (bool, dict)):
        raise ArgumentError(f"{where}: «augment (--aumento)» debe ser True/False o un "
                            f"diccionario de ajustes; recibido {augment!r}.")
    if augment and preset.flatten:
        raise ArgumentError("--aumento necesita un modelo convolucional (deportes o cifar).")
    return _Settings(
        preset=preset,
        image_size=tuple(preset.image_size if image_size is None else image_size),
        channels=preset.channels if channels is None else channels,
        epochs=preset.epochs if epochs is None else epochs,
        batch_size=preset.batch_size if batch_size is None else batch_size,
    )


def train_classifier(
    directory,
    model: str = "deportes",
    *,
    run_dir=None,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    optimizer: str | None = None,
    seed: int = 0,
    patience: int | None = None,
    augment: bool | dict[str, Any] = False,
    workers: int = 1,
    precision: str = "float32",
    strategy: str | None = None,
    verbose: Any = "auto",
) -> TaskResult:
    """Entrena un clasificador sobre una carpeta ``clase/imagen`` con las divisiones del blog.

    80/20 entrenamiento/prueba y, del entrenamiento, 80/20 para validación,
    estratificado y con semilla. Guarda el mejor modelo (por ``val_loss``) en
    ``run_dir/modelo.h5`` con las clases y el tamaño de imagen como metadatos, el
    registro CSV, las curvas y la matriz de confusión de prueba.

    Args:
        directory: carpeta con una subcarpeta por clase.
        model: ``"deportes"``, ``"cifar"`` o ``"mlp"``.
        run_dir: carpeta de la ejecución (por defecto ``pesos/<modelo>``).
        image_size: ``(alto, ancho)``; por defecto el del modelo en el blog.
        channels: 1 o 3; por defecto el del modelo.
        epochs: épocas; por defecto las del blog.
        batch_size: tamaño de lote; por defecto el del blog.
        learning_rate: tasa de aprendizaje del optimizador del blog (> 0).
        optimizer: nombre de un optimizador de Keras que sustituye al del blog.
        seed: semilla de la división, la inicialización y el barajado.
        patience: épocas sin mejora antes de parar (sin parada temprana si es None).
        augment: aumentar las imágenes de entrenamiento con imgaug; ``True`` usa
            los valores de :func:`datos.aumento.make_augmenter` y un diccionario los
            sustituye (p. ej. ``{"flip": 0.0}`` para dígitos o letras).
        workers: hilos que preparan los lotes aumentados (``keras.utils.PyDataset``).
        precision: ``"float32"``, ``"mixed_bfloat16"`` o ``"auto"`` (la más rápida aquí).
        strategy: ``None``/``"none"`` o ``"mirrored"``.
        verbose: barra de progreso de Keras.

    Returns:
        Un :class:`~informes.resultado.TaskResult`: métricas finales (``metrics``),
        archivos escritos (``pesos``, ``registro``, ``curvas``, ``matriz_confusion``) y,
        en ``data``, el informe de prueba (``informe``), las imágenes omitidas por
        ilegibles (``omitidas``) y el tamaño de cada partición (``division``).

    Raises:
        ArgumentError: un argumento no válido (antes de leer ninguna imagen).
        DataError: carpeta inexistente, vacía o con clases sin imágenes legibles.
    """
    from datos.imagenes import read_image_folder, split_indices
    from entrenamiento.entrenar import train
    from informes.graficos import plot_confusion_matrix
    from informes.tablas import classification_summary

    settings = _check_training(
        model, image_size=image_size, channels=channels, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, optimizer=optimizer, seed=seed, patience=patience,
        augment=augment, workers=workers, precision=precision, strategy=strategy)
    preset = settings.preset
    run_dir = Path(run_dir or Path("pesos") / model)

    folder = read_image_folder(directory, image_size=settings.image_size,
                               channels=settings.channels)
    train_idx, val_idx, test_idx = split_indices(folder.labels, seed=seed)
    x = prepare_images(folder.images, preset.flatten)
    y = folder.one_hot()
    logger.info(
        "División del blog: %d entrenamiento, %d validación, %d prueba (%d clases).",
        len(train_idx), len(val_idx), len(test_idx), folder.num_classes,
    )
    metadata = {
        "tarea": "clasificacion",
        "clases": folder.class_names,
        "tamanio": list(settings.image_size),
        "canales": settings.channels,
        "aplanar": preset.flatten,
        "semilla": seed,
    }
    kwargs = _builder_kwargs(preset, (*settings.image_size, settings.channels),
                             folder.num_classes, learning_rate, optimizer)
    train_data: Any = (x[train_idx], y[train_idx])
    if augment:
        from datos.aumento import make_augmenter
        from datos.generadores import ImageBatches

        augmenter = make_augmenter(seed=seed, **(augment if isinstance(augment, dict) else {}))
        train_data = ImageBatches(x[train_idx], y[train_idx], batch_size=settings.batch_size,
                                  augmenter=augmenter, seed=seed, workers=workers)
    validation = (x[val_idx], y[val_idx]) if len(val_idx) else None

    start = time.perf_counter()
    result = train(
        preset.builder, kwargs, train_data, validation,
        run_dir=run_dir, epochs=settings.epochs, batch_size=settings.batch_size, seed=seed,
        monitor="val_loss" if validation else "loss", patience=patience,
        precision=precision, strategy=strategy, metadata=metadata, verbose=verbose,
    )
    seconds = time.perf_counter() - start

    figures: dict[str, Any] = {"modelo": model, "epocas": len(result.history.get("loss", []))}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if result.history.get(key):
            figures[key] = float(result.history[key][-1])
    files: dict[str, Any] = training_files(result)
    summary = None
    if len(test_idx):
        probabilities = result.model.predict(x[test_idx], verbose=0)
        summary = classification_summary(folder.labels[test_idx], probabilities, folder.class_names)
        figures["test_accuracy"] = summary["accuracy"]
        files["matriz_confusion"] = plot_confusion_matrix(
            np.asarray(summary["confusion_matrix"]), folder.class_names,
            run_dir / "matriz_confusion.png",
        )
    figures["segundos"] = round(seconds, 2)
    skipped = [str(p) for p, _ in folder.skipped]
    return TaskResult(
        title=f"Clasificador «{model}»: métricas finales",
        metrics=figures,
        files=files,
        data={"informe": summary, "omitidas": skipped,
              "division": {"entrenamiento": len(train_idx), "validacion": len(val_idx),
                           "prueba": len(test_idx)}},
        text=report_lines(summary, skipped),
        model=result.model,
        history=result.history,
    )


# === Clasificadores guardados ===


