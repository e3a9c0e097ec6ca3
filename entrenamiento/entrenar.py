"""La función de entrenamiento que usan todos los comandos de la CLI.

:func:`train` construye el modelo (con la semilla, la política de precisión y la
estrategia de distribución ya aplicadas), lo entrena con ``fit`` y deja en
``run_dir``::

    run_dir/
      modelo.h5      el mejor modelo según ``monitor`` (modelos.save, atómico)
      registro.csv   una fila por época (CSVLogger), también las anteriores a una reanudación
      curvas.png     curvas de entrenamiento y validación leídas de registro.csv
      respaldo/      estado de la última época (BackupAndRestore); se borra al terminar

Si el proceso muere (incluso con SIGKILL), repetir la misma llamada reanuda el
entrenamiento en la época siguiente a la última completada.

Ejemplo::

    resultado = train("mlp", {"input_dim": 784}, (x, y), (x_val, y_val),
                      run_dir="resultados/mnist", epochs=3, batch_size=128)
    resultado.model.evaluate(x_test, y_test)
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from datos.entorno import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402

import modelos  # noqa: E402
from datos.archivos import atomic_write  # noqa: E402
from datos.errores import ArgumentError, DataError, ModelFileError  # noqa: E402
from datos.validacion import check_int  # noqa: E402
from entrenamiento.graficos import plot_history, read_history  # noqa: E402
from modelos.registro import builder_spec  # noqa: E402

logger = logging.getLogger("redes")

PRECISIONS = ("float32", "mixed_bfloat16")
STRATEGIES = (None, "ninguna", "mirrored")
WEIGHTS_NAME = "modelo.h5"
LOG_NAME = "registro.csv"
PLOT_NAME = "curvas.png"
BACKUP_NAME = "respaldo"

# Fragmentos de nombres de métricas que se maximizan; el resto (pérdidas, errores) se minimiza.
_MAX_HINTS = ("acc", "auc", "precision", "recall", "f1", "iou")


class TimeLimit(keras.callbacks.Callback):
    """Para el entrenamiento tras ``seconds`` segundos (al acabar el lote en curso)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.start = None
        self.stopped = False

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True
            self.stopped = True


class CosineLearningRate(keras.callbacks.Callback):
    """Tasa de aprendizaje en coseno, de ``initial`` a ``initial · minimum`` al final.

    El avance es la fracción de pasos hechos (``total_steps``, leído del contador del
    optimizador, así que sigue bien tras reanudar) o la de tiempo transcurrido
    (``seconds``, para entrenamientos con tope de tiempo), la mayor de las dos.

    Args:
        initial: tasa inicial.
        total_steps: pasos de todo el entrenamiento, o ``None``.
        seconds: duración prevista en segundos, o ``None``.
        minimum: fracción de ``initial`` al final (0.01).
    """

    def __init__(self, initial: float, *, total_steps: int | None = None,
                 seconds: float | None = None, minimum: float = 0.01):
        super().__init__()
        if total_steps is None and seconds is None:
            raise ArgumentError("CosineLearningRate: indique «total_steps» o «seconds».")
        self.initial, self.total_steps, self.seconds = initial, total_steps, seconds
        self.minimum = minimum
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def progress(self) -> float:
        done = 0.0
        if self.total_steps:
            done = int(self.model.optimizer.iterations) / self.total_steps
        if self.seconds:
            done = max(done, (time.perf_counter() - self.start) / self.seconds)
        return min(done, 1.0)

    def on_train_batch_begin(self, batch, logs=None):
        cosine = 0.5 * (1.0 + math.cos(math.pi * self.progress()))
        rate = self.initial * (self.minimum + (1.0 - self.minimum) * cosine)
        self.model.optimizer.learning_rate.assign(rate)


@dataclasses.dataclass
class TrainResult:
    """Lo que devuelve :func:`train`.

    Attributes:
        model: el modelo entrenado, con los pesos del mejor ``modelo.h5`` cargados.
        history: historial completo leído de ``registro.csv`` (métrica → valores por
            época), incluidas las épocas anteriores a una reanudación.
        run_dir: carpeta del entrenamiento.
        weights_path: el mejor modelo (por defecto ``run_dir / "modelo.h5"``).
        log_path: ``run_dir / "registro.csv"``.
        plot_path: ``run_dir / "curvas.png"``.
        initial_epoch: 0, o el índice de época en que empezó una ejecución reanudada.
    """

    model: keras.Model
    history: dict[str, list[float]]
    run_dir: Path
    weights_path: Path
    log_path: Path
    plot_path: Path
    initial_epoch: int


def monitor_mode(monitor: str) -> str:
    """``"max"`` para aciertos (accuracy, auc...); ``"min"`` para pérdidas y errores."""
    name = monitor.lower().removeprefix("val_")
    return "max" if any(hint in name for hint in _MAX_HINTS) else "min"


class BestModelCheckpoint(keras.callbacks.Callback):
    """Guarda el modelo con :func:`modelos.save` cada vez que ``monitor`` mejora.

    El mejor valor se guarda en los metadatos del archivo como
    ``metadata["mejor"] = {"monitor", "valor", "epoca"}`` (``epoca`` es el índice
    desde 0, como la columna ``epoch`` de registro.csv). Si ``monitor`` no aparece
    en los registros de la época (p. ej. ``val_loss`` sin datos de validación), se
    guarda cada época: la última cuenta como la mejor.

    Args:
        path: archivo HDF5 de destino.
        monitor: métrica vigilada (``"val_loss"``, ``"val_accuracy"``...).
        metadata: metadatos JSON que se guardan junto al mejor valor.
        mode: ``"min"``, ``"max"`` o ``None`` para deducirlo de ``monitor``.
    """

    def __init__(self, path, monitor: str, metadata: Mapping[str, Any] | None = None, mode=None):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.mode = mode or monitor_mode(monitor)
        self.metadata = dict(metadata or {})
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.last_epoch: int | None = None
        self._warned_missing = False

    def restore_best(self) -> None:
        """Recupera el mejor valor de un ``modelo.h5`` existente (al reanudar)."""
        try:
            stored = modelos.load_metadata(self.path)["metadata"].get("mejor")
        except ModelFileError as exc:
            logger.warning("No se pudo leer el mejor valor anterior (%s); se empieza de cero.", exc)
            return
        if isinstance(stored, dict) and stored.get("monitor") == self.monitor:
            value = stored.get("valor")
            self.best = None if value is None else float(value)
            self.best_epoch = stored.get("epoca")
            if self.best is not None:
                logger.info("Mejor «%s» anterior: %.4f (época %d).",
                            self.monitor, self.best, self.best_epoch + 1)

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.last_epoch = epoch
        if self.monitor not in logs:
            if not self._warned_missing:
                logger.warning(
                    "«%s» no está en las métricas de la época (%s): se guarda el modelo "
                    "de cada época y el último cuenta como el mejor.",
                    self.monitor,
                    ", ".join(sorted(logs)) or "ninguna",
                )
                self._warned_missing = True
            self.save(epoch, None)
            return
        value = float(logs[self.monitor])
        if not self._improved(value):
            return
        previous = self.best
        self.save(epoch, value)
        if previous is None:
            logger.debug("Época %d: «%s» = %.4f; modelo guardado en «%s».",
                        epoch + 1, self.monitor, value, self.path)
        else:
            logger.debug("Época %d: «%s» mejoró de %.4f a %.4f; modelo guardado en «%s».",
                        epoch + 1, self.monitor, previous, value, self.path)

    def save(self, epoch: int, value: float | None) -> None:
        """Guarda el modelo como el mejor, con ``value`` de ``monitor`` en la época ``epoch``."""
        self.best, self.best_epoch = value, epoch
        metadata = dict(self.metadata)
        metadata["mejor"] = {"monitor": self.monitor, "valor": value, "epoca": epoch}
        modelos.save(self.model, self.path, metadata=metadata)


class _Backup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` que restaura cuando se lo pide :class:`_ResumeState`.

    Así el respaldo puede ir el último en la lista (se guarda después de escribir la
    fila del CSV y el mejor modelo) y aun así restaurarse antes que nada.
    """

    def on_train_begin(self, logs=None):
        pass

    def restore(self) -> None:
        super().on_train_begin()


class _ResumeState(keras.callbacks.Callback):
    """Primer callback: restaura el respaldo y prepara registro y mejor valor."""

    def __init__(self, backup: _Backup | None, csv_logger, checkpoint: BestModelCheckpoint,
                 log_path: Path, epochs: int):
        super().__init__()
        self.backup = backup
        self.csv_logger = csv_logger
        self.checkpoint = checkpoint
        self.log_path = log_path
        self.epochs = epochs
        self.initial_epoch = 0

    def on_train_begin(self, logs=None):
        if self.backup is None:
            return
        try:
            self.backup.restore()
        except (OSError, ValueError) as exc:
            raise ModelFileError(
                f"La copia de respaldo «{self.backup.backup_dir}» no se puede cargar en "
                f"este modelo ({exc}). Si cambiaste el modelo o los datos, bórrala para "
                "empezar de cero."
            ) from exc
        metadata_path = Path(self.backup.backup_dir) / "training_metadata.json"
        if metadata_path.is_file():
            # BackupAndRestore deja aquí la época que acaba de restaurar.
            self.initial_epoch = int(json.loads(metadata_path.read_text())["epoch"])
        resuming = self.initial_epoch > 0
        self.csv_logger.append = resuming
        if resuming:
            logger.info("Reanudando el entrenamiento en la época %d/%d desde «%s».",
                        self.initial_epoch + 1, self.epochs, self.backup.backup_dir)
            _truncate_log(self.log_path, self.initial_epoch)
            if self.checkpoint.path.is_file():
                self.checkpoint.restore_best()


def _truncate_log(path: Path, epoch: int) -> None:
    """Deja en el CSV solo las filas completas de épocas < ``epoch`` (atómico).

    Si el proceso murió tras escribir la fila de una época pero antes de respaldarla,
    esa época se repite y su fila no debe quedar duplicada.
    """
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        rows = [row for row in reader if len(row) == len(header) and row and _is_int(row[0])
                and int(row[0]) < epoch]
    def write(handle) -> None:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)

    atomic_write(path, write, text=True)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _check_choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        shown = ", ".join(repr(option) for option in allowed)
        raise ArgumentError(f"train: «{name}» debe ser uno de {shown}; recibido {value!r}.")


def _check_data(name: str, data: Any, required: bool):
    """Acepta ``(x, y)`` de numpy, un ``keras.utils.PyDataset`` o un ``tf.data.Dataset``."""
    if data is None:
        if required:
            raise ArgumentError(f"train: falta «{name}» (una tupla (x, y) o un PyDataset).")
        return None
    if isinstance(data, (keras.utils.PyDataset, tf.data.Dataset)):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
        n_x, n_y = np.shape(x)[:1], np.shape(y)[:1]
        if n_x != n_y:
            raise DataError(
                f"train: en «{name}», x tiene {n_x[0] if n_x else 0} ejemplos e y "
                f"{n_y[0] if n_y else 0}."
            )
        if not n_x or n_x[0] == 0:
            raise DataError(f"train: «{name}» no tiene ningún ejemplo.")
        return (x, y)
    raise ArgumentError(
        f"train: «{name}» debe ser una tupla (x, y) o un keras.utils.PyDataset; "
        f"recibido {type(data).__name__}."
    )


def repeated_dataset(x, y, batch_size: int, shuffle: bool, seed: int) -> dict[str, Any]:
    """``(x, y)`` de numpy como un ``tf.data`` infinito con ``steps_per_epoch``.

    Con arreglos de numpy, ``fit`` vuelve a crear el iterador de datos en cada época
    (~40 ms aquí): en XOR, 1000 épocas de un paso tardaban 37 s. Un único iterador
    infinito, rebarajado en cada pasada con la semilla, da las mismas épocas (mismos
    lotes de ``batch_size``, el último incompleto) y tarda 3 s.
    """
    count = len(x)
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE)
    return {"x": dataset, "steps_per_epoch": math.ceil(count / batch_size), "shuffle": False}


def _resolve_builder(builder) -> Callable[..., keras.Model]:
    if isinstance(builder, str):
        return modelos.get_builder(builder)
    if callable(builder):
        return builder
    raise ArgumentError(
        f"train: «builder» debe ser el nombre de un constructor "
        f"({', '.join(modelos.builder_names())}) o una función; recibido {builder!r}."
    )


def train(
    builder,
    builder_kwargs: Mapping[str, Any] | None = None,
    train_data=None,
    validation_data=None,
    *,
    run_dir,
    epochs: int,
    batch_size: int = 32,
    seed: int = 0,
    monitor: str = "val_loss",
    patience: int | None = None,
    precision: str = "float32",
    strategy: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    verbose="auto",
    callbacks=(),
    shuffle: bool = True,
    backup: bool = True,
    weights_path=None,
) -> TrainResult:
    """Construye, entrena y guarda un modelo registrado, con reanudación tras un corte.

    Args:
        builder: nombre registrado (``"mlp"``, ``"deportes"``...) o función ``build_xxx``
            de :mod:`modelos`.
        builder_kwargs: argumentos del constructor (p. ej. ``{"input_dim": 8}``).
        train_data: ``(x, y)`` de numpy o un ``keras.utils.PyDataset``.
        validation_data: lo mismo para validación, u ``None``.
        run_dir: carpeta de resultados (modelo.h5, registro.csv, curvas.png, respaldo/).
        epochs: número total de épocas (también al reanudar).
        batch_size: tamaño de lote global para ``(x, y)``; un PyDataset trae el suyo.
        seed: semilla de ``keras.utils.set_random_seed`` (Python, numpy y TensorFlow).
        monitor: métrica que decide el mejor modelo (y la parada temprana); se
            minimiza salvo que sea de acierto (accuracy, auc...).
        patience: épocas sin mejora antes de parar (``EarlyStopping``); ``None``, sin parada.
        precision: ``"float32"`` o ``"mixed_bfloat16"``; la política global anterior
            se restaura al terminar.
        strategy: ``None`` / ``"ninguna"`` o ``"mirrored"`` (``tf.distribute.MirroredStrategy``
            en todas las GPU, o en las CPU lógicas de ``REDES_CPUS_LOGICOS``).
        metadata: metadatos JSON que se guardan en modelo.h5 (clases, escalado...).
        verbose: como en ``keras.Model.fit``; ``"auto"`` es la barra de progreso en
            una terminal y una línea por época si la salida va a un archivo.
        callbacks: callbacks de Keras adicionales; en cada época se ejecutan después del
            registro, el mejor modelo y la parada temprana, y antes del respaldo.
        shuffle: barajar los ejemplos en cada época.
        backup: respaldar cada época en ``run_dir/respaldo`` para poder reanudar
            (cuesta ~20 ms por época; XOR, de 1000 épocas de un paso, lo desactiva).
        weights_path: dónde guardar el mejor modelo (por defecto ``run_dir/modelo.h5``;
            p. ej. ``pesos/red_lego.h5`` como el ``saved_weights_name`` del blog).

    Returns:
        Un :class:`TrainResult` con el modelo (mejores pesos cargados) y las rutas.

    Raises:
        ArgumentError: argumentos no válidos (nombra el argumento y los valores posibles).
        DataError: datos vacíos o con x e y de distinta longitud.
        ModelFileError: respaldo que no corresponde al modelo, o fallo al guardar.

    Example:
        >>> r = train("mlp", {"input_dim": 8, "hidden": (8,), "num_classes": 2},
        ...           (x, y), run_dir="resultados/demo", epochs=5)  # doctest: +SKIP
        >>> r.history["loss"][-1] < r.history["loss"][0]  # doctest: +SKIP
        True
    """
    build = _resolve_builder(builder)
    if builder_kwargs is not None and not isinstance(builder_kwargs, Mapping):
        raise ArgumentError(
            "train: «builder_kwargs» debe ser un diccionario; "
            f"recibido {type(builder_kwargs).__name__}."
        )
    check_int(epochs, "epochs", where="train")
    check_int(batch_size, "batch_size", where="train")
    check_int(seed, "seed", minimum=0, where="train")
    if patience is not None:
        check_int(patience, "patience", minimum=0, where="train")
    _check_choice("precision", precision, PRECISIONS)
    _check_choice("strategy", strategy, STRATEGIES)
    _check_choice("verbose", verbose, ("auto", 0, 1, 2))
    if not isinstance(monitor, str) or not monitor:
        raise ArgumentError(
            f"train: «monitor» debe ser el nombre de una métrica; recibido {monitor!r}."
        )
    if isinstance(callbacks, keras.callbacks.Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks or ())
    bad = [c for c in callbacks if not isinstance(c, keras.callbacks.Callback)]
    if bad:
        raise ArgumentError(
            f"train: «callbacks» debe ser una lista de keras.callbacks.Callback; "
            f"recibido {type(bad[0]).__name__}."
        )
    train_data = _check_data("train_data", train_data, required=True)
    validation_data = _check_data("validation_data", validation_data, required=False)

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    weights_path = run_dir / WEIGHTS_NAME if weights_path is None else Path(weights_path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / LOG_NAME
    plot_path = run_dir / PLOT_NAME

    previous_policy = keras.mixed_precision.global_policy()
    try:
        keras.utils.set_random_seed(seed)
        keras.mixed_precision.set_dtype_policy(precision)
        distribution = tf.distribute.MirroredStrategy() if strategy == "mirrored" else None
        scope = distribution.scope() if distribution else contextlib.nullcontext()
        with scope:
            model = build(**dict(builder_kwargs or {}))
        if builder_spec(model) is None:
            raise ArgumentError(
                "train: «builder» debe ser un constructor registrado de modelos "
                "(modelos.save necesita reconstruirlo)."
            )
        if not model.compiled:
            raise ArgumentError(
                "train: el constructor devolvió un modelo sin compilar (compile=False)."
            )
        replicas = distribution.num_replicas_in_sync if distribution else 1
        logger.info(
            "Entrenando «%s» %d épocas en «%s» (lote %d, precisión %s, %d réplica%s).",
            builder_spec(model).name, epochs, run_dir, batch_size, precision,
            replicas, "" if replicas == 1 else "s",
        )

        run_metadata = dict(metadata or {})
        run_metadata["entrenamiento"] = {
            "epocas": epochs, "lote": batch_size, "semilla": seed,
            "precision": precision, "estrategia": strategy or "ninguna",
        }
        checkpoint = BestModelCheckpoint(weights_path, monitor, run_metadata)
        csv_logger = keras.callbacks.CSVLogger(str(log_path), append=False)
        backup_callback = _Backup(str(run_dir / BACKUP_NAME), double_checkpoint=True)
        resume = _ResumeState(backup_callback if backup else None, csv_logger, checkpoint,
                              log_path, epochs)
        early = None
        if patience is not None:
            early = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience)
        # Orden: en on_epoch_end primero el CSV y el mejor modelo, el respaldo al final
        # (una época respaldada tiene siempre su fila y su modelo escritos).
        callback_list = [resume, csv_logger, checkpoint, *([early] if early else []),
                         *callbacks, *([backup_callback] if backup else [])]

        fit_kwargs: dict[str, Any] = {"x": train_data, "shuffle": shuffle}
        if isinstance(train_data, tuple):
            # El propio tf.data baraja; fit ignoraría (y avisaría de) shuffle=True.
            fit_kwargs = repeated_dataset(*train_data, batch_size, shuffle, seed)
        if verbose == "auto":
            # La barra de Keras reescribe la línea; fuera de una terminal (CI, un
            # registro redirigido) sería un muro de texto: una línea por época.
            verbose = 1 if sys.stdout.isatty() else 2
        model.fit(
            **fit_kwargs,
            validation_data=validation_data,
            epochs=epochs,
            verbose=verbose,
            callbacks=callback_list,
        )
        if early is not None and early.stopped_epoch > 0:
            logger.info("Parada temprana en la época %d/%d: «%s» no mejoró en %d épocas.",
                        early.stopped_epoch + 1, epochs, monitor, patience)

        if checkpoint.best_epoch is None:
            # Ninguna época mejoró (p. ej. siempre NaN): se guarda el modelo final.
            logger.warning("«%s» nunca mejoró; se guarda el modelo final en «%s».",
                           monitor, weights_path)
            last = checkpoint.last_epoch if checkpoint.last_epoch is not None else epochs - 1
            checkpoint.set_model(model)
            checkpoint.save(last, None)
        modelos.load_weights(model, weights_path)
        if checkpoint.best is not None:
            logger.info("Mejor modelo: época %d, «%s» = %.4f; pesos cargados desde «%s».",
                        checkpoint.best_epoch + 1, monitor, checkpoint.best, weights_path)
    finally:
        keras.mixed_precision.set_dtype_policy(previous_policy)

    history = read_history(log_path)
    if history:
        plot_history(history, plot_path)
    else:
        logger.warning("«%s» no tiene ninguna época; no se dibujan las curvas.", log_path)
    return TrainResult(
        model=model,
        history=history,
        run_dir=run_dir,
        weights_path=weights_path,
        log_path=log_path,
        plot_path=plot_path,
        initial_epoch=resume.initial_epoch,
    )
