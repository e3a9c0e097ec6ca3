"""Callbacks de Keras del bucle de entrenamiento de :func:`entrenamiento.entrenar.train`.

- :class:`TimeLimit` y :class:`CosineLearningRate`: tope de tiempo y tasa en coseno.
- :class:`FreezeLayers`: las primeras épocas solo entrena la cabeza; luego todo, con
  una tasa más baja.
- :class:`BestModelCheckpoint`: el mejor modelo en un HDF5 (:func:`modelos.save`).
- :class:`InMemoryBest`: lo mismo sin archivos (entrenamientos en memoria).
- :class:`BackupCallback` y :class:`ResumeState`: reanudar tras un corte (incluso SIGKILL);
  :class:`WorkerResume`, lo mismo en los procesos distintos del 0.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import time
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from nucleo.keras_listo import keras

import modelos
from nucleo.archivos import atomic_write
from entrenamiento import distribuido
from nucleo.errores import ArgumentError, ModelFileError

logger = logging.getLogger("redes")

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
        # Con varios procesos manda el reloj del proceso 0: todos paran en el mismo lote.
        if distribuido.agree(time.perf_counter() - self.start) > self.seconds:
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
            # Con varios procesos, el reloj del proceso 0 (la misma tasa en todos).
            elapsed = distribuido.agree(time.perf_counter() - self.start)
            done = max(done, elapsed / self.seconds)
        return min(done, 1.0)

    def on_train_batch_begin(self, batch, logs=None):
        if getattr(self.model, "_jax_state", None):
            # En JAX, fit lleva el estado (el contador de pasos y la tasa) fuera de las
            # variables entre lote y lote: se vuelca en ellas, se cambia la tasa y fit lo
            # vuelve a leer.
            self.model.jax_state_sync()
            self.model._jax_state_synced = True
        cosine = 0.5 * (1.0 + math.cos(math.pi * self.progress()))
        rate = self.initial * (self.minimum + (1.0 - self.minimum) * cosine)
        self.model.optimizer.learning_rate.assign(rate)


def monitor_mode(monitor: str) -> str:
    """``"max"`` para aciertos (accuracy, auc...); ``"min"`` para pérdidas y errores."""
    name = monitor.lower().removeprefix("val_")
    if name == "map" or name.startswith("map_"):   # mAP de detección (no «mape»)
        return "max"
    return "max" if any(hint in name for hint in _MAX_HINTS) else "min"


class _BestTracker(keras.callbacks.Callback):
    """Base de los callbacks que guardan el mejor modelo según ``monitor``.

    Si ``monitor`` no aparece en los registros de la época (p. ej. ``val_loss`` sin
    datos de validación), cada época cuenta como la mejor hasta ese momento.
    """

    def __init__(self, monitor: str, mode=None):
        super().__init__()
        self.monitor = monitor
        self.mode = mode or monitor_mode(monitor)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.last_epoch: int | None = None
        self._warned_missing = False

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
        if self._improved(value):
            logger.debug("Época %d: «%s» = %.4f, el mejor hasta ahora.",
                         epoch + 1, self.monitor, value)
            self.save(epoch, value)

    def save(self, epoch: int, value: float | None) -> None:
        raise NotImplementedError


class InMemoryBest(_BestTracker):
    """Guarda en memoria los pesos de la mejor época (entrenamientos sin archivos).

    Args:
        monitor: métrica vigilada.
        mode: ``"min"``, ``"max"`` o ``None`` para deducirlo de ``monitor``.
    """

    def __init__(self, monitor: str, mode=None):
        super().__init__(monitor, mode)
        self.weights: list | None = None

    def save(self, epoch: int, value: float | None) -> None:
        self.best, self.best_epoch = value, epoch
        self.weights = self.model.get_weights()

    def restore(self) -> None:
        """Carga en el modelo los pesos de la mejor época (si hubo alguna)."""
        if self.weights is not None:
            self.model.set_weights(self.weights)


class BestModelCheckpoint(_BestTracker):
    """Guarda el modelo con :func:`modelos.save` cada vez que ``monitor`` mejora.

    El mejor valor se guarda en los metadatos del archivo como
    ``metadata["mejor"] = {"monitor", "valor", "epoca"}`` (``epoca`` es el índice
    desde 0, como la columna ``epoch`` de registro.csv).

    Un archivo ya existente del mismo modelo y la misma tarea (mismo constructor, mismos
    argumentos y mismos metadatos) no se sustituye por uno peor: su mejor valor cuenta
    como el que hay que superar (:meth:`adopt_existing`).

    Args:
        path: archivo HDF5 de destino.
        monitor: métrica vigilada (``"val_loss"``, ``"val_accuracy"``...).
        metadata: metadatos JSON que se guardan junto al mejor valor.
        mode: ``"min"``, ``"max"`` o ``None`` para deducirlo de ``monitor``.
    """

    def __init__(self, path, monitor: str, metadata: Mapping[str, Any] | None = None, mode=None):
        super().__init__(monitor, mode)
        self.path = Path(path)
        self.metadata = dict(metadata or {})
        #: Mejor valor de un archivo anterior que esta ejecución aún no ha superado.
        self.kept_previous: float | None = None

    def _stored_best(self) -> tuple[dict, Any] | None:
        try:
            info = modelos.load_metadata(self.path)
        except ModelFileError as exc:
            logger.warning("No se pudo leer el mejor valor anterior (%s); se empieza de cero.",
                           exc)
            return None
        stored = info["metadata"].get("mejor")
        if isinstance(stored, dict) and stored.get("monitor") == self.monitor:
            return info, stored
        return None

    def restore_best(self) -> None:
        """Recupera el mejor valor de un ``modelo.h5`` existente (al reanudar)."""
        found = self._stored_best()
        if found is None:
            return
        value = found[1].get("valor")
        self.best = None if value is None else float(value)
        self.best_epoch = found[1].get("epoca")
        if self.best is not None:
            logger.info("Mejor «%s» anterior: %.4f (época %d).",
                        self.monitor, self.best, self.best_epoch + 1)

    def adopt_existing(self, spec) -> None:
        """Al empezar de cero: si ``path`` ya guarda este mismo modelo y tarea, su mejor
        valor es el listón; la nueva ejecución solo lo sustituye si lo mejora."""
        if not self.path.is_file() or spec is None:
            return
        found = self._stored_best()
        if found is None:
            return
        info, stored = found
        ours = _json_roundtrip({"builder": spec.name, "kwargs": spec.kwargs,
                                "metadata": _without_run(self.metadata)})
        theirs = _json_roundtrip({"builder": info["builder"], "kwargs": info["kwargs"],
                                  "metadata": _without_run(info["metadata"])})
        value = stored.get("valor")
        if ours != theirs or value is None or math.isnan(float(value)):
            return
        self.best = self.kept_previous = float(value)
        logger.info("«%s» ya guarda este modelo con «%s» = %.4f: solo se sustituirá si esta "
                    "ejecución lo mejora.", self.path, self.monitor, self.best)

    def save(self, epoch: int, value: float | None) -> None:
        """Guarda el modelo como el mejor, con ``value`` de ``monitor`` en la época ``epoch``."""
        self.best, self.best_epoch = value, epoch
        self.kept_previous = None
        metadata = dict(self.metadata)
        metadata["mejor"] = {"monitor": self.monitor, "valor": value, "epoca": epoch}
        with distribuido.local_only():  # solo el proceso 0 guarda
            modelos.save(self.model, self.path, metadata=metadata)


def _without_run(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Los metadatos que describen la tarea (sin el mejor valor ni los ajustes de la corrida)."""
    return {k: v for k, v in metadata.items() if k not in ("mejor", "entrenamiento")}


def _json_roundtrip(value: Any) -> Any:
    """``value`` tal como quedaría tras guardarlo en JSON (tuplas → listas)."""
    try:
        return json.loads(json.dumps(value, sort_keys=True, default=str))
    except (TypeError, ValueError):
        return None


class BackupCallback(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` que restaura cuando se lo pide :class:`ResumeState`.

    Así el respaldo puede ir el último en la lista (se guarda después de escribir la
    fila del CSV y el mejor modelo) y aun así restaurarse antes que nada.
    """

    def on_train_begin(self, logs=None):
        pass

    def restore(self) -> None:
        super().on_train_begin()

    def on_epoch_end(self, epoch, logs=None):
        with distribuido.local_only():  # solo el proceso 0 respalda
            super().on_epoch_end(epoch, logs)


class ResumeState(keras.callbacks.Callback):
    """Primer callback: restaura el respaldo y prepara registro y mejor valor."""

    def __init__(self, backup: BackupCallback | None, csv_logger, checkpoint: BestModelCheckpoint,
                 log_path: Path, epochs: int, spec=None):
        super().__init__()
        self.spec = spec
        self.backup = backup
        self.csv_logger = csv_logger
        self.checkpoint = checkpoint
        self.log_path = log_path
        self.epochs = epochs
        self.initial_epoch = 0

    def on_train_begin(self, logs=None):
        if self.backup is None:
            self.checkpoint.adopt_existing(self.spec)
            return
        # Con varios procesos, los demás reciben una copia del respaldo (WorkerResume).
        distribuido.share_files(Path(self.backup.backup_dir))
        self.initial_epoch = restore_backup(self.backup)
        resuming = self.initial_epoch > 0
        self.csv_logger.append = resuming
        if resuming:
            logger.info("Reanudando el entrenamiento en la época %d/%d desde «%s».",
                        self.initial_epoch + 1, self.epochs, self.backup.backup_dir)
            truncate_log(self.log_path, self.initial_epoch)
            if self.checkpoint.path.is_file():
                self.checkpoint.restore_best()
        else:
            self.checkpoint.adopt_existing(self.spec)


def restore_backup(backup: BackupCallback) -> int:
    """Restaura ``backup`` en su modelo; devuelve la época en que sigue (0 sin respaldo)."""
    try:
        backup.restore()
    except (OSError, ValueError) as exc:
        raise ModelFileError(
            f"La copia de respaldo «{backup.backup_dir}» no se puede cargar en "
            f"este modelo ({exc}). Si cambiaste el modelo o los datos, bórrala para "
            "empezar de cero."
        ) from exc
    metadata_path = Path(backup.backup_dir) / "training_metadata.json"
    if metadata_path.is_file():
        # BackupAndRestore deja aquí la época que acaba de restaurar.
        return int(json.loads(metadata_path.read_text())["epoch"])
    return 0


class WorkerResume(keras.callbacks.Callback):
    """Primer callback de los procesos distintos del 0: reanudan como el proceso 0.

    Reciben una copia de su respaldo (:func:`entrenamiento.distribuido.share_files`) y la
    cargan a la vez que él (la carga de pesos es colectiva), así todas las copias del
    modelo, del optimizador y la época de inicio coinciden. No escriben nada.

    Args:
        backup: si el entrenamiento usa respaldo (el mismo valor en todos los procesos).
    """

    def __init__(self, backup: bool):
        super().__init__()
        self.backup = backup
        self.initial_epoch = 0
        self.folder: Path | None = None

    def on_train_begin(self, logs=None):
        if not self.backup:
            return
        self.folder = distribuido.share_files(None)
        if self.folder is not None:
            copy = BackupCallback(str(self.folder), double_checkpoint=True)
            copy.set_model(self.model)
            self.initial_epoch = restore_backup(copy)

    def on_train_end(self, logs=None):
        distribuido.cleanup_shared(self.folder)


def truncate_log(path: Path, epoch: int) -> None:
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


class FreezeLayers(keras.callbacks.Callback):
    """Congela ``layers`` las ``epochs`` primeras épocas; después las descongela y la tasa
    pasa a ``learning_rate · factor``.

    Es el ajuste fino de un extractor preentrenado (la guía de transferencia de Keras):
    primero se entrena solo la cabeza, con el extractor fijo (también sus medias y
    varianzas de BatchNormalization, que con ``trainable=False`` funciona en modo
    inferencia); luego todo, con una tasa más baja para no destrozar lo aprendido.

    El estado depende solo del número de época: tras reanudar, la época K + 1 empieza
    descongelada y con la tasa baja. Con una tasa en coseno (``schedule``), lo que baja
    es su tasa inicial: el coseno sigue su curva con el pico ``learning_rate · factor``.
    El optimizador se construye con todas las variables antes de congelar, así que las
    que se descongelan ya tienen sus momentos.

    Args:
        layers: capas del extractor, o una función que las elige del modelo.
        epochs: épocas con el extractor congelado.
        learning_rate: tasa de la cabeza (la del compilado).
        factor: multiplica la tasa al descongelar.
        schedule: el :class:`CosineLearningRate` del entrenamiento, si lo hay (debe ir
            antes en la lista de callbacks).

    Raises:
        ArgumentError: con el backend JAX, cuyo ``fit`` fija las variables entrenables
            al empezar.
    """

    def __init__(self, layers, epochs: int, learning_rate: float, factor: float = 0.1,
                 schedule: CosineLearningRate | None = None):
        super().__init__()
        self.layers = layers if callable(layers) else list(layers)
        self.epochs, self.learning_rate, self.factor = epochs, learning_rate, factor
        self.schedule = schedule
        self.frozen = None

    def on_train_begin(self, logs=None):
        if keras.backend.backend() == "jax":
            raise ArgumentError(
                "Congelar el extractor unas épocas necesita el backend tensorflow o torch: "
                "con jax, fit fija las variables entrenables al empezar.")
        if callable(self.layers):
            self.layers = list(self.layers(self.model))
        optimizer = self.model.optimizer
        if not optimizer.built:
            # Con tf.distribute, las variables del optimizador se crean en su ámbito.
            strategy = getattr(self.model, "distribute_strategy", None)
            with strategy.scope() if strategy is not None else contextlib.nullcontext():
                optimizer.build(self.model.trainable_variables)

    def on_epoch_begin(self, epoch, logs=None):
        frozen = epoch < self.epochs
        if frozen == self.frozen:
            return
        self.frozen = frozen
        for layer in self.layers:
            layer.trainable = not frozen
        rate = self.learning_rate * (1.0 if frozen else self.factor)
        if self.schedule is not None:
            self.schedule.initial = rate
        self.model.optimizer.learning_rate.assign(rate)
        self.model.make_train_function(force=True)
        if not frozen:
            logger.info("Época %d: se descongela el extractor (%d capas); tasa %g (× %g).",
                        epoch + 1, len(self.layers), rate, self.factor)

    def on_train_end(self, logs=None):
        # Si el entrenamiento acaba antes de descongelar (tope de tiempo, parada temprana),
        # el modelo que se devuelve no debe quedar con capas congeladas.
        if self.frozen:
            for layer in self.layers:
                layer.trainable = True
            self.frozen = False


class EpochMetric(keras.callbacks.Callback):
    """Añade al final de cada época ``logs[name] = compute(model)``.

    Para métricas que no caben en ``compile`` (el mAP de validación de YOLO): va en los
    ``evaluators`` de :func:`entrenamiento.entrenar.train`, antes del registro CSV y del
    mejor modelo, que así la ven y pueden usarla como ``monitor``.

    Args:
        name: nombre de la columna (p. ej. ``"val_map_50"``).
        compute: función del modelo que devuelve un número.
    """

    def __init__(self, name: str, compute):
        super().__init__()
        self.name, self.compute = name, compute

    def on_epoch_end(self, epoch, logs=None):
        value = float(self.compute(self.model))
        if logs is not None:
            logs[self.name] = value
        logger.info("Época %d: %s = %.4f", epoch + 1, self.name, value)
