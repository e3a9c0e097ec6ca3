"""Tareas de clasificación de imágenes: entrenar, evaluar y predecir desde carpetas.

Son las funciones que llama ``redes clasificar ...``; devuelven diccionarios con las
cifras para que la CLI las muestre en una tabla o las escriba en JSON.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from datos.errores import ArgumentError, ModelFileError
from datos.validacion import check_int

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


def _prepare(images: np.ndarray, flatten: bool) -> np.ndarray:
    return images.reshape(len(images), -1) if flatten else images


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
) -> dict[str, Any]:
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
        learning_rate: tasa de aprendizaje del optimizador del blog.
        optimizer: nombre de un optimizador de Keras que sustituye al del blog.
        seed: semilla de la división, la inicialización y el barajado.
        patience: épocas sin mejora antes de parar (sin parada temprana si es None).
        augment: aumentar las imágenes de entrenamiento con imgaug; ``True`` usa
            los valores de :func:`datos.aumento.make_augmenter` y un diccionario los
            sustituye (p. ej. ``{"flip": 0.0}`` para dígitos o letras).
        workers: hilos que preparan los lotes aumentados (``keras.utils.PyDataset``).
        precision: ``"float32"`` o ``"mixed_bfloat16"``.
        strategy: ``None``/``"ninguna"`` o ``"mirrored"``.
        verbose: barra de progreso de Keras.

    Returns:
        Diccionario con las métricas finales, las rutas escritas y el informe.
    """
    from datos.imagenes import read_image_folder, split_indices
    from entrenamiento.entrenar import train
    from entrenamiento.graficos import plot_confusion_matrix
    from entrenamiento.informes import classification_summary

    check_int(workers, "--trabajadores")
    if model not in PRESETS:
        raise ArgumentError(f"--modelo debe ser uno de {sorted(PRESETS)}; recibido «{model}».")
    preset = PRESETS[model]
    image_size = tuple(image_size or preset.image_size)
    channels = channels or preset.channels
    epochs = epochs or preset.epochs
    batch_size = batch_size or preset.batch_size
    run_dir = Path(run_dir or Path("pesos") / model)

    folder = read_image_folder(directory, image_size=image_size, channels=channels)
    train_idx, val_idx, test_idx = split_indices(folder.labels, seed=seed)
    x = _prepare(folder.images, preset.flatten)
    y = folder.one_hot()
    logger.info(
        "División del blog: %d entrenamiento, %d validación, %d prueba (%d clases).",
        len(train_idx), len(val_idx), len(test_idx), folder.num_classes,
    )
    metadata = {
        "tarea": "clasificacion",
        "clases": folder.class_names,
        "tamanio": list(image_size),
        "canales": channels,
        "aplanar": preset.flatten,
        "semilla": seed,
    }
    kwargs = _builder_kwargs(preset, (*image_size, channels), folder.num_classes,
                             learning_rate, optimizer)
    train_data: Any = (x[train_idx], y[train_idx])
    if augment:
        if preset.flatten:
            raise ArgumentError("--aumento necesita un modelo convolucional (deportes o cifar).")
        from datos.aumento import make_augmenter
        from datos.generadores import ImageBatches

        settings = augment if isinstance(augment, dict) else {}
        train_data = ImageBatches(x[train_idx], y[train_idx], batch_size=batch_size,
                                  augmenter=make_augmenter(seed=seed, **settings), seed=seed,
                                  workers=workers)
    validation = (x[val_idx], y[val_idx]) if len(val_idx) else None

    start = time.perf_counter()
    result = train(
        preset.builder, kwargs, train_data, validation,
        run_dir=run_dir, epochs=epochs, batch_size=batch_size, seed=seed,
        monitor="val_loss" if validation else "loss", patience=patience,
        precision=precision, strategy=strategy, metadata=metadata, verbose=verbose,
    )
    seconds = time.perf_counter() - start

    figures: dict[str, Any] = {"modelo": model, "epocas": len(result.history.get("loss", []))}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if result.history.get(key):
            figures[key] = float(result.history[key][-1])
    summary = None
    if len(test_idx):
        probabilities = result.model.predict(x[test_idx], verbose=0)
        summary = classification_summary(folder.labels[test_idx], probabilities, folder.class_names)
        figures["test_accuracy"] = summary["accuracy"]
        matrix_path = plot_confusion_matrix(
            np.asarray(summary["confusion_matrix"]), folder.class_names,
            run_dir / "matriz_confusion.png",
        )
    figures["segundos"] = round(seconds, 2)
    return {
        "metricas": figures,
        "informe": summary,
        "archivos": {
            "pesos": str(result.weights_path),
            "registro": str(result.log_path),
            "curvas": str(result.plot_path),
            **({"matriz_confusion": str(matrix_path)} if summary else {}),
        },
        "omitidas": [str(p) for p, _ in folder.skipped],
        "division": {"entrenamiento": len(train_idx), "validacion": len(val_idx),
                     "prueba": len(test_idx)},
    }


def _load_classifier(weights):
    import modelos

    info = modelos.load_metadata(weights)
    metadata = info["metadata"]
    needed = ("clases", "tamanio", "canales", "aplanar")
    if metadata.get("tarea") != "clasificacion" or any(k not in metadata for k in needed):
        raise ModelFileError(
            f"«{weights}» no es un clasificador de imágenes entrenado con "
            "«redes clasificar entrenar» (faltan las clases o el tamaño en los metadatos)."
        )
    return modelos.load(weights, compile=False), metadata


def evaluate_classifier(weights, directory, *, split: str = "todo", run_dir=None) -> dict[str, Any]:
    """Evalúa un clasificador guardado sobre una carpeta ``clase/imagen``.

    Args:
        weights: archivo ``modelo.h5`` de ``redes clasificar entrenar``.
        directory: carpeta con las mismas clases que el modelo.
        split: ``"todo"`` (todas las imágenes) o ``"prueba"`` (la misma partición de
            prueba que usó el entrenamiento, con su semilla).
        run_dir: dónde escribir la matriz de confusión (por defecto junto a los pesos).

    Returns:
        Diccionario con exactitud, informe por clase y rutas escritas.
    """
    from datos.imagenes import read_image_folder, split_indices
    from entrenamiento.graficos import plot_confusion_matrix
    from entrenamiento.informes import classification_summary

    if split not in ("todo", "prueba"):
        raise ArgumentError(f"--particion debe ser «todo» o «prueba»; recibido «{split}».")
    model, metadata = _load_classifier(weights)
    folder = read_image_folder(directory, image_size=tuple(metadata["tamanio"]),
                               channels=metadata["canales"], class_names=metadata["clases"])
    indices = np.arange(len(folder.labels))
    if split == "prueba":
        indices = split_indices(folder.labels, seed=metadata.get("semilla", 0))[2]
    x = _prepare(folder.images[indices], metadata["aplanar"])
    probabilities = model.predict(x, verbose=0)
    summary = classification_summary(folder.labels[indices], probabilities, folder.class_names)
    run_dir = Path(run_dir or Path(weights).parent)
    suffix = "" if split == "todo" else "_prueba"
    matrix_path = plot_confusion_matrix(np.asarray(summary["confusion_matrix"]),
                                        folder.class_names, run_dir / f"evaluacion{suffix}.png")
    return {
        "metricas": {"imagenes": int(len(indices)), "accuracy": summary["accuracy"]},
        "informe": summary,
        "archivos": {"matriz_confusion": str(matrix_path)},
        "omitidas": [str(p) for p, _ in folder.skipped],
    }


def predict_images(weights, images, top: int = 1) -> list[dict[str, Any]]:
    """Clase y probabilidad de cada imagen con un clasificador guardado.

    Args:
        weights: archivo ``modelo.h5`` de ``redes clasificar entrenar``.
        images: rutas de imagen.
        top: cuántas clases más probables devolver por imagen.

    Returns:
        Una entrada por imagen: ``{"imagen", "clase", "probabilidad", "top"}``.

    Raises:
        DataError: si alguna imagen no existe o está dañada (la nombra).
    """
    from datos.imagenes import load_image

    if not images:
        raise ArgumentError("Indica al menos una imagen.")
    model, metadata = _load_classifier(weights)
    size, channels = tuple(metadata["tamanio"]), metadata["canales"]
    batch = np.stack([load_image(path, size, channels) for path in images])
    probabilities = model.predict(_prepare(batch, metadata["aplanar"]), verbose=0)
    classes = metadata["clases"]
    top = max(1, min(int(top), len(classes)))
    results = []
    for path, row in zip(images, probabilities):
        order = np.argsort(row)[::-1][:top]
        results.append({
            "imagen": str(path),
            "clase": classes[order[0]],
            "probabilidad": float(row[order[0]]),
            "top": [{"clase": classes[i], "probabilidad": float(row[i])} for i in order],
        })
    return results
