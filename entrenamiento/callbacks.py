"""Callbacks de Keras del bucle de entrenamiento de :func:`entrenamiento.entrenar.train`.

- Los que añaden las tareas (:class:`TimeLimit`, :class:`CosineLearningRate`,
  :class:`FreezeLayers`, :class:`EpochMetric`) están en
  :mod:`entrenamiento.callbacks_tarea` y se exportan también desde aquí.
- :class:`BestModelCheckpoint`: el mejor modelo en un HDF5 (:func:`modelos.save`).
- :class:`InMemoryBest`: lo mismo sin archivos (entrenamientos en memoria).
- :class:`BackupCallback` y :class:`ResumeState`: reanudar tras un corte (incluso SIGKILL);
  :class:`WorkerResume`, lo mismo en los procesos distintos del 0.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from nucleo.keras_listo import keras

import modelos
from nucleo.archivos import atomic_write
from entrenamiento import distribuido
from entrenamiento.callbacks_tarea import CosineLearningRate  # noqa: F401 (API pública)
from entrenamiento.callbacks_tarea import EpochMetric  # noqa: F401 (API pública)
from entrenamiento.callbacks_tarea import FreezeLayers  # noqa: F401 (API pública)
from entrenamiento.callbacks_tarea import TimeLimit  # noqa: F401 (API pública)
from nucleo.errores import ModelFileError

logger = logging.getLogger("redes")

# Fragmentos de nombres de métricas que se maximizan; el resto (pérdidas, errores) se minimiza.
_MAX_HINTS = ("acc", "auc", "precision", "recall", "f1", "iou")


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
        cluster: con varios procesos, el :class:`~entrenamiento.distribuido.Cluster`.
    """

    def __init__(self, path, monitor: str, metadata: Mapping[str, Any] | None = None, mode=None,
                 cluster: distribuido.Cluster | None = None):
        super().__init__(monitor, mode)
        self.cluster = cluster
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
        with distribuido.local_only(self.cluster):  # solo el proceso 0 guarda
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

    def __init__(self, backup_dir, *, cluster: distribuido.Cluster | None = None, **kwargs):
        super().__init__(backup_dir, **kwargs)
        self.cluster = cluster

    def on_train_begin(self, logs=None):
        pass

    def restore(self) -> None:
        super().on_train_begin()

    def on_epoch_end(self, epoch, logs=None):
        with distribuido.local_only(self.cluster):  # solo el proceso 0 respalda
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
        distribuido.share_files(Path(self.backup.backup_dir), self.backup.cluster)
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
        cluster: el :class:`~entrenamiento.distribuido.Cluster` de este proceso.
    """

    def __init__(self, backup: bool, cluster: distribuido.Cluster):
        super().__init__()
        self.backup = backup
        self.cluster = cluster
        self.initial_epoch = 0
        self.folder: Path | None = None

    def on_train_begin(self, logs=None):
        if not self.backup:
            return
        self.folder = distribuido.share_files(None, self.cluster)
        if self.folder is not None:
            copy = BackupCallback(str(self.folder), double_checkpoint=True)
            copy.set_model(self.model)
            self.initial_epoch = restore_backup(copy)

    def on_train_end(self, logs=None):
        distribuido.cleanup_shared(self.folder, self.cluster)


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
