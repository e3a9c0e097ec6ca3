"""Entrenar un clasificador de imágenes desde una carpeta (una subcarpeta por clase).

:func:`train_classifier` recibe una :class:`~tareas.clasificacion.configuracion.ClassifierConfig`
y hace, en este orden: comprobar (:func:`_check_training`, antes de leer ninguna imagen),
leer y dividir las imágenes (:func:`_read_split`), entrenar con
:func:`entrenamiento.entrenar.train` y medir en la partición de prueba (:func:`_report`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from informes.resultado import TaskResult, training_files
from modelos.clasificacion.preprocesado import prepare_images
from nucleo.errores import ArgumentError
from tareas.clasificacion.configuracion import ClassifierConfig
from tareas.clasificacion.prediccion import report_lines
from tareas.configuracion import check_augment_settings
from tareas.configuracion import save_run_config

logger = logging.getLogger("redes")


def _builder_kwargs(config: ClassifierConfig, num_classes: int) -> dict[str, Any]:
    shape = (*config.image_size, config.channels)
    if config.model == "mobilenetv2":
        kwargs: dict[str, Any] = {"num_classes": num_classes,
                                  "input_size": list(config.image_size), "alpha": config.width}
        from modelos.mobilenet.keras_aplicaciones import is_keras_applications

        if config.backbone_weights is not None and is_keras_applications(config.backbone_weights):
            kwargs["padding"] = "keras"   # el relleno con que se entrenó ese archivo
    elif config.flatten:
        kwargs = {"input_dim": int(np.prod(shape)), "num_classes": num_classes}
    else:
        kwargs = {"input_shape": list(shape), "num_classes": num_classes}
    if config.learning_rate is not None:
        kwargs["learning_rate"] = config.learning_rate
    if config.optimizer is not None:
        kwargs["optimizer"] = config.optimizer
    return kwargs


def _pretrained(config: ClassifierConfig):
    """El ``initialize`` de ``train`` que copia el extractor de ``--backbone-pesos``."""
    if config.backbone_weights is None:
        return None

    def initialize(model) -> None:
        from modelos.mobilenet.preentrenado import load_pretrained_features

        info = load_pretrained_features(model, config.backbone_weights)
        logger.info("Extractor preentrenado: %d capas de %s.", info["capas"], info["archivo"])

    return initialize


def _check_training(config: ClassifierConfig) -> None:
    """Lo que la configuración no puede comprobar sola, antes de leer ninguna imagen."""
    from modelos.clasificacion.constructor import check_optimizer

    where = "train_classifier"
    if config.directory is None:
        raise ArgumentError(f"{where}: falta «directory (--dir)», la carpeta de imágenes.")
    if config.optimizer is not None:
        check_optimizer(config.optimizer, "optimizer (--optimizador)", where=where)
    check_augment_settings(config.augment_settings, "augment_settings (--ajustes-aumento)",
                           where=where)
    if config.backbone_weights is not None and not Path(config.backbone_weights).is_file():
        raise ArgumentError(f"{where}: «backbone_weights (--backbone-pesos)»: el archivo "
                            f"{config.backbone_weights} no existe.")


@dataclasses.dataclass
class _Split:
    """Las imágenes leídas, ya preparadas para el modelo, y las tres particiones."""

    folder: Any
    x: np.ndarray
    y: np.ndarray
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def _read_split(config: ClassifierConfig) -> _Split:
    """Lee la carpeta y la divide como el blog: 80/20 y, del 80, otro 80/20 de validación."""
    from datos.imagenes import read_image_folder
    from datos.particiones import split_indices

    folder = read_image_folder(config.directory, image_size=config.image_size,
                               channels=config.channels)
    train_idx, val_idx, test_idx = split_indices(folder.labels, seed=config.seed)
    logger.info(
        "División del blog: %d entrenamiento, %d validación, %d prueba (%d clases).",
        len(train_idx), len(val_idx), len(test_idx), folder.num_classes,
    )
    return _Split(folder, prepare_images(folder.images, config.flatten), folder.one_hot(),
                  train_idx, val_idx, test_idx)


def _training_data(config: ClassifierConfig, split: _Split):
    """``(x, y)`` de entrenamiento, o lotes aumentados con imgaug si ``augment``."""
    x, y = split.x[split.train], split.y[split.train]
    if not config.augment:
        return x, y
    from datos.aumento import make_augmenter
    from datos.generadores import ImageBatches

    augmenter = make_augmenter(seed=config.seed, **config.augment_settings)
    return ImageBatches(x, y, batch_size=config.batch_size, augmenter=augmenter,
                        seed=config.seed, workers=config.workers)


def train_classifier(config: ClassifierConfig | None = None, *, verbose: Any = "auto",
                     cluster=None, devices=None, **overrides) -> TaskResult:
    """Entrena un clasificador sobre una carpeta ``clase/imagen`` con las divisiones del blog.

    80/20 entrenamiento/prueba y, del entrenamiento, 80/20 para validación,
    estratificado y con semilla. Guarda el mejor modelo (por ``val_loss``) en
    ``run_dir/modelo.h5`` con las clases y el tamaño de imagen como metadatos, el
    registro CSV, las curvas, la matriz de confusión de prueba y la configuración
    completa (``configuracion.json``). Con ``minutes`` (``--minutos``), el entrenamiento
    para al terminar el lote en que se cumple el tope y se queda el mejor modelo hasta
    entonces.

    Args:
        config: la :class:`~tareas.clasificacion.configuracion.ClassifierConfig`
            (``None``: el preset del modelo que nombre ``model``, o ``deportes``).
        verbose: barra de progreso de Keras.
        cluster: con varios procesos, el :class:`~entrenamiento.distribuido.Cluster`.
        devices: ``--dispositivos``: datos en paralelo en varios dispositivos de este
            proceso (:func:`entrenamiento.distribuido.local_devices`); ``None``, uno.
        **overrides: campos de la configuración que cambian
            (``directory="imagenes", model="mlp", epochs=2``).

    Returns:
        Un :class:`~informes.resultado.TaskResult`: métricas finales (``metrics``),
        archivos escritos (``pesos``, ``registro``, ``curvas``, ``matriz_confusion``,
        ``configuracion``) y, en ``data``, el informe de prueba (``informe``), las
        imágenes omitidas por ilegibles (``omitidas``) y el tamaño de cada partición
        (``division``).

    Raises:
        ArgumentError: un argumento no válido (antes de leer ninguna imagen).
        DataError: carpeta inexistente, vacía o con clases sin imágenes legibles.
    """
    from entrenamiento.callbacks import TimeLimit
    from entrenamiento.entrenar import train

    config = ClassifierConfig.build(config, **overrides)
    _check_training(config)
    run_dir = config.resolved_run_dir()
    split = _read_split(config)
    folder = split.folder
    metadata = {
        "tarea": "clasificacion", "clases": folder.class_names,
        "tamanio": list(config.image_size), "canales": config.channels,
        "aplanar": config.flatten, "semilla": config.seed,
    }
    validation = ((split.x[split.validation], split.y[split.validation])
                  if len(split.validation) else None)
    config_file = save_run_config(config.replace(run_dir=run_dir), run_dir, cluster)
    # Con varios procesos manda el reloj del proceso 0: todos paran en el mismo lote.
    limit = [] if config.minutes is None else [TimeLimit(config.minutes * 60.0, cluster)]
    start = time.perf_counter()
    result = train(
        config.model, _builder_kwargs(config, folder.num_classes),
        _training_data(config, split), validation, run_dir=run_dir, cluster=cluster,
        devices=devices,
        epochs=config.epochs, batch_size=config.batch_size, seed=config.seed,
        monitor="val_loss" if validation else "loss", patience=config.patience,
        precision=config.precision, metadata=metadata,
        verbose=verbose, callbacks=limit, initialize=_pretrained(config),
        tensorboard=config.tensorboard,
    )
    seconds = time.perf_counter() - start
    report = _report(config, split, result, run_dir, seconds)
    report.files["configuracion"] = config_file
    return report


def _report(config: ClassifierConfig, split: _Split, result, run_dir: Path,
            seconds: float) -> TaskResult:
    """Métricas finales, matriz de confusión e informe de la partición de prueba."""
    from informes.graficos import plot_confusion_matrix
    from informes.tablas import classification_summary

    folder, test_idx = split.folder, split.test
    figures: dict[str, Any] = {"modelo": config.model,
                               "epocas": len(result.history.get("loss", []))}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if result.history.get(key):
            figures[key] = float(result.history[key][-1])
    files: dict[str, Any] = training_files(result)
    summary = None
    if len(test_idx):
        probabilities = result.model.predict(split.x[test_idx], verbose=0)
        summary = classification_summary(folder.labels[test_idx], probabilities,
                                         folder.class_names)
        figures["test_accuracy"] = summary["accuracy"]
        files["matriz_confusion"] = plot_confusion_matrix(
            np.asarray(summary["confusion_matrix"]), folder.class_names,
            run_dir / "matriz_confusion.png",
        )
    figures["segundos"] = round(seconds, 2)
    figures.update(result.summary())
    skipped = [str(p) for p, _ in folder.skipped]
    return TaskResult(
        title=f"Clasificador «{config.model}»: métricas finales",
        metrics=figures,
        files=files,
        data={"informe": summary, "omitidas": skipped,
              "division": {"entrenamiento": len(split.train), "validacion": len(split.validation),
                           "prueba": len(test_idx)}},
        text=report_lines(summary, skipped),
        model=result.model,
        history=result.history,
    )
