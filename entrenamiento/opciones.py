"""Los ajustes de una llamada a :func:`entrenamiento.entrenar.train`, ya comprobados.

:class:`FitOptions` reúne lo que ``train`` recibe además del modelo, los datos y la
carpeta (épocas, lote, semilla, métrica vigilada, precisión, callbacks...), con sus
valores por defecto; :func:`fit_options` los comprueba antes de crear nada.
:class:`Run` añade las rutas de la ejecución (:func:`prepare_run`) y el
:class:`~entrenamiento.distribuido.Cluster` (``None`` con un solo proceso).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nucleo.keras_listo import keras

import modelos
from entrenamiento import distribuido
from nucleo.entorno import check_tensorboard_installed
from nucleo.entorno import resolve_training_precision
from nucleo.errores import ArgumentError
from nucleo.validacion import check_int
from nucleo.vocabulario import check_choice
from nucleo.vocabulario import check_devices

WEIGHTS_NAME = "modelo.h5"
LOG_NAME = "registro.csv"
PLOT_NAME = "curvas.png"
#: El registro de una ejecución que aún puede descartarse, y el de una descartada.
PENDING_LOG_NAME = "registro_nuevo.csv"
DISCARDED_LOG_NAME = "registro_descartado.csv"
DISCARDED_PLOT_NAME = "curvas_descartado.png"
BACKUP_NAME = "respaldo"


@dataclasses.dataclass
class FitOptions:
    """Los ajustes de :func:`entrenamiento.entrenar.train` (sus argumentos por nombre).

    Attributes:
        epochs: número total de épocas (también al reanudar).
        batch_size: tamaño de lote global para ``(x, y)``; un PyDataset trae el suyo.
        seed: semilla de Python, numpy y el backend (``nucleo.entorno.set_random_seed``).
        monitor: métrica que decide el mejor modelo (y la parada temprana); se
            minimiza salvo que sea de acierto (accuracy, auc, map...).
        patience: épocas sin mejora antes de parar (``EarlyStopping``); ``None``, sin parada.
        precision: ``"float32"``, ``"mixed_bfloat16"`` o ``"auto"`` (la más rápida en
            esta máquina: :func:`nucleo.entorno.resolve_training_precision`); la política
            global anterior se restaura al terminar.
        devices: ``None`` (un dispositivo), un entero o ``"todos"``: datos en paralelo
            en esos dispositivos de este proceso, con JAX (varias GPU, o las CPU lógicas
            de ``REDES_CPUS_LOGICOS``; :func:`entrenamiento.distribuido.local_devices`).
        metadata: metadatos JSON que se guardan en modelo.h5 (clases, escalado...).
        verbose: como en ``keras.Model.fit``; ``"auto"`` es la barra de progreso en
            una terminal y una línea por época si la salida va a un archivo.
        callbacks: callbacks de Keras adicionales; en cada época se ejecutan después del
            registro, el mejor modelo y la parada temprana, y antes del respaldo.
        shuffle: barajar los ejemplos en cada época.
        backup: respaldar cada época en ``run_dir/respaldo`` para poder reanudar (XOR,
            de 1000 épocas de un paso, lo desactiva: el respaldo cuesta más que la época).
        weights_path: dónde guardar el mejor modelo (por defecto ``run_dir/modelo.h5``;
            p. ej. ``pesos/red_lego.h5`` como el ``saved_weights_name`` del blog).
        steps_per_execution: pasos por llamada al grafo compilado; ``"epoch"`` hace toda
            la época de ``(x, y)`` en una sola llamada (para modelos diminutos).
        initialize: función que recibe el modelo recién construido, antes de entrenar
            (p. ej. cargar un extractor preentrenado); al reanudar, el respaldo la pisa.
        evaluators: callbacks que van antes que todos en cada época: añaden métricas a
            ``logs`` (p. ej. ``val_map_50``) que el registro, ``monitor`` y la parada ya
            ven; o cambian los pesos que se guardan (``keras.callbacks.SwapEMAWeights``).
        tensorboard: carpeta donde ``keras.callbacks.TensorBoard`` escribe cada época la
            pérdida, las métricas (también las de los ``evaluators``) y la tasa de
            aprendizaje; ``None``, sin registros de TensorBoard. Necesita el paquete
            ``tensorboard`` (extra ``tensorboard``); vale con cualquier backend.
    """

    epochs: int | None = None
    batch_size: int = 32
    seed: int = 0
    monitor: str = "val_loss"
    patience: int | None = None
    precision: str = "float32"
    devices: int | str | None = None
    metadata: Mapping[str, Any] | None = None
    verbose: Any = "auto"
    callbacks: Any = ()
    shuffle: bool = True
    backup: bool = True
    weights_path: Any = None
    steps_per_execution: Any = None
    initialize: Callable[[keras.Model], Any] | None = None
    evaluators: Any = ()
    tensorboard: Any = None


def fit_options(builder_kwargs, options: Mapping[str, Any]) -> FitOptions:
    """Comprueba los argumentos de ``train``; devuelve sus :class:`FitOptions`.

    Raises:
        ArgumentError: un ajuste que no existe o un valor no válido (lo nombra).
    """
    names = [field.name for field in dataclasses.fields(FitOptions)]
    unknown = [name for name in options if name not in names]
    if unknown:
        raise ArgumentError(f"train: no hay ningún ajuste «{unknown[0]}»; los ajustes son: "
                            f"{', '.join(names)}.")
    opts = FitOptions(**options)
    if builder_kwargs is not None and not isinstance(builder_kwargs, Mapping):
        raise ArgumentError(
            "train: «builder_kwargs» debe ser un diccionario; "
            f"recibido {type(builder_kwargs).__name__}."
        )
    check_int(opts.epochs, "epochs", where="train")
    check_int(opts.batch_size, "batch_size", where="train")
    check_int(opts.seed, "seed", minimum=0, where="train")
    if opts.patience is not None:
        check_int(opts.patience, "patience", minimum=0, where="train")
    resolve_training_precision(opts.precision, where="train")
    check_devices(opts.devices, where="train")
    check_choice(opts.verbose, "verbose", ("auto", 0, 1, 2), where="train")
    if opts.steps_per_execution not in (None, "epoch"):
        check_int(opts.steps_per_execution, "steps_per_execution", where="train")
    if not isinstance(opts.monitor, str) or not opts.monitor:
        raise ArgumentError(
            f"train: «monitor» debe ser el nombre de una métrica; recibido {opts.monitor!r}."
        )
    if opts.tensorboard is not None:
        if not isinstance(opts.tensorboard, (str, os.PathLike)) or not str(opts.tensorboard):
            raise ArgumentError(f"train: «tensorboard» debe ser una carpeta; recibido "
                                f"{opts.tensorboard!r}.")
        check_tensorboard_installed("train: «tensorboard»")
    opts.callbacks = callback_list(opts.callbacks, "callbacks")
    opts.evaluators = callback_list(opts.evaluators, "evaluators")
    return opts


def callback_list(callbacks, name: str) -> list:
    """``callbacks`` (uno o varios ``keras.callbacks.Callback``) como lista."""
    if isinstance(callbacks, keras.callbacks.Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks or ())
    bad = [c for c in callbacks if not isinstance(c, keras.callbacks.Callback)]
    if bad:
        raise ArgumentError(
            f"train: «{name}» debe ser una lista de keras.callbacks.Callback; "
            f"recibido {type(bad[0]).__name__}."
        )
    return callbacks


def resolve_builder(builder) -> Callable[..., keras.Model]:
    """El constructor registrado de nombre ``builder``, o ``builder`` si ya es una función."""
    if isinstance(builder, str):
        return modelos.get_builder(builder)
    if callable(builder):
        return builder
    raise ArgumentError(
        f"train: «builder» debe ser el nombre de un constructor "
        f"({', '.join(modelos.builder_names())}) o una función; recibido {builder!r}."
    )


@dataclasses.dataclass
class Run:
    """Una llamada a ``train`` ya comprobada: sus ajustes, sus rutas y sus procesos.

    Attributes:
        options: los :class:`FitOptions` comprobados.
        precision: la política de Keras que se usa (``"auto"`` ya resuelta).
        cluster: los procesos del entrenamiento distribuido, o ``None``.
        run_dir, weights_path, log_path, plot_path: rutas (``None`` en memoria).
    """

    options: FitOptions
    precision: str
    cluster: distribuido.Cluster | None
    run_dir: Path | None = None
    weights_path: Path | None = None
    log_path: Path | None = None
    plot_path: Path | None = None

    @property
    def chief(self) -> bool:
        """``True`` si este proceso escribe (el 0, o el único)."""
        return distribuido.is_chief(self.cluster)


def prepare_run(run_dir, opts: FitOptions, cluster: distribuido.Cluster | None) -> Run:
    """Crea la carpeta de la ejecución (si la hay) y fija las rutas de sus archivos."""
    run = Run(opts, resolve_training_precision(opts.precision), cluster)
    if run_dir is None:
        if opts.weights_path is not None:
            raise ArgumentError("train: «weights_path» necesita «run_dir» (sin run_dir el "
                                "entrenamiento es en memoria y no escribe nada).")
        return run
    run.run_dir = Path(run_dir)
    run.weights_path = (run.run_dir / WEIGHTS_NAME if opts.weights_path is None
                        else Path(opts.weights_path))
    run.log_path, run.plot_path = run.run_dir / LOG_NAME, run.run_dir / PLOT_NAME
    if not opts.backup and run.weights_path.is_file():
        # Sin respaldo (XOR) una ejecución nueva no sustituye un modelo mejor: su registro
        # va aparte hasta saber si su modelo se queda (ver entrenar._place_log).
        run.log_path = run.run_dir / PENDING_LOG_NAME
    if run.chief:  # con varios procesos, solo el 0 escribe
        run.run_dir.mkdir(parents=True, exist_ok=True)
        run.weights_path.parent.mkdir(parents=True, exist_ok=True)
    return run
