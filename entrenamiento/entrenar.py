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
entrenamiento en la época siguiente a la última completada. Con ``run_dir=None`` el
entrenamiento es en memoria: no escribe nada y devuelve el modelo con los pesos de la
mejor época (las comparaciones de muchas semillas lo usan).

Ejemplo::

    resultado = train("mlp", {"input_dim": 784}, (x, y), (x_val, y_val),
                      run_dir="resultados/mnist", epochs=3, batch_size=128)
    resultado.model.evaluate(x_test, y_test)
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import sys
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping

import numpy as np

from nucleo.entorno import set_random_seed
from nucleo.keras_listo import keras

import modelos
from nucleo.errores import ArgumentError, DataError
from nucleo.validacion import check_int
from entrenamiento import distribuido
from entrenamiento.callbacks import BackupCallback
from entrenamiento.callbacks import BestModelCheckpoint
from entrenamiento.callbacks import CosineLearningRate  # noqa: F401 (API pública)
from entrenamiento.callbacks import InMemoryBest
from entrenamiento.callbacks import ResumeState
from entrenamiento.callbacks import TimeLimit  # noqa: F401 (API pública)
from entrenamiento.callbacks import WorkerResume
from entrenamiento.callbacks import monitor_mode
from informes.graficos import plot_history, read_history
from nucleo.entorno import resolve_training_precision
from nucleo.vocabulario import check_choice, check_strategy
from modelos.registro import builder_spec

logger = logging.getLogger("redes")

WEIGHTS_NAME = "modelo.h5"
LOG_NAME = "registro.csv"
PLOT_NAME = "curvas.png"
BACKUP_NAME = "respaldo"


@dataclasses.dataclass
class TrainResult:
    """Lo que devuelve :func:`train`.

    Attributes:
        model: el modelo entrenado, con los pesos del mejor ``modelo.h5`` cargados.
        history: historial completo (métrica → valores por época); con archivos se lee de
            ``registro.csv`` e incluye las épocas anteriores a una reanudación.
        run_dir: carpeta del entrenamiento (``None`` en memoria).
        weights_path: el mejor modelo (por defecto ``run_dir / "modelo.h5"``).
        log_path: ``run_dir / "registro.csv"``.
        plot_path: ``run_dir / "curvas.png"``.
        initial_epoch: 0, o el índice de época en que empezó una ejecución reanudada.
        best_epoch: índice (desde 0) de la época cuyos pesos tiene ``model``, o ``None``
            si se conservó un modelo anterior mejor.
    """

    model: keras.Model
    history: dict[str, list[float]]
    run_dir: Path | None
    weights_path: Path | None
    log_path: Path | None
    plot_path: Path | None
    initial_epoch: int
    best_epoch: int | None = None


@dataclasses.dataclass
class _Run:
    """Rutas y ajustes ya validados de una llamada a :func:`train`."""

    run_dir: Path | None
    weights_path: Path | None
    log_path: Path | None
    plot_path: Path | None
    epochs: int
    batch_size: int
    seed: int
    monitor: str
    patience: int | None
    precision: str
    strategy: str
    verbose: Any
    shuffle: bool
    backup: bool
    steps_per_execution: Any


def _check_data(name: str, data: Any, required: bool):
    """Acepta ``(x, y)`` de numpy, un ``keras.utils.PyDataset`` o un ``tf.data.Dataset``."""
    if data is None:
        if required:
            raise ArgumentError(f"train: falta «{name}» (una tupla (x, y) o un PyDataset).")
        return None
    if isinstance(data, keras.utils.PyDataset) or _is_tf_dataset(data):
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


def _is_tf_dataset(data) -> bool:
    """``True`` si ``data`` es un ``tf.data.Dataset`` (sin importar TensorFlow)."""
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(data, tf.data.Dataset)


def repeated_dataset(x, y, batch_size: int, shuffle: bool, seed: int) -> dict[str, Any]:
    """``(x, y)`` de numpy como un ``tf.data`` infinito con ``steps_per_epoch``.

    Con arreglos de numpy, ``fit`` vuelve a crear el iterador de datos en cada época, un
    coste fijo que domina cuando la época es de un paso (XOR: ver bench/RESULTS.md). Un
    único iterador infinito, rebarajado en cada pasada con la semilla, da las mismas
    épocas (mismos lotes de ``batch_size``, el último incompleto).

    Con JAX o PyTorch (sin TensorFlow), un :class:`datos.reparto.ArrayBatches` con el
    mismo barajado por (semilla, época) que usan varios procesos: 1 proceso y N procesos
    ven los mismos lotes globales.
    """
    count = len(x)
    steps = math.ceil(count / batch_size)
    if keras.backend.backend() != "tensorflow":
        from datos.reparto import ArrayBatches

        return {"x": ArrayBatches(x, y, batch_size, shuffle=shuffle, seed=seed),
                "steps_per_epoch": steps, "shuffle": False}
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE)
    return {"x": dataset, "steps_per_epoch": steps, "shuffle": False}


def _shard_data(train_data, validation_data, run: _Run):
    """Con varios procesos: cada uno lee solo su parte de cada lote (:mod:`datos.reparto`).

    Los ``(x, y)`` de numpy pasan a :class:`datos.reparto.ArrayBatches`; los ``PyDataset``
    deben saber repartirse (``shard``), como los de ``datos`` y ``modelos``.
    """
    from datos.reparto import ArrayBatches

    cluster = distribuido.current()
    if run.run_dir is None:
        raise ArgumentError("train: con varios procesos hace falta «run_dir» (el proceso 0 "
                            "guarda ahí el mejor modelo y los demás lo cargan de él).")
    if run.strategy != "none":
        raise ArgumentError("train: con varios procesos la estrategia es DataParallel de "
                            "keras.distribution; no use además «mirrored».")
    shards = []
    for name, data in (("train_data", train_data), ("validation_data", validation_data)):
        training = name == "train_data"
        if isinstance(data, tuple):
            data = ArrayBatches(*data, run.batch_size, shuffle=run.shuffle and training,
                                seed=run.seed)
        if data is not None and not callable(getattr(data, "shard", None)):
            raise ArgumentError(
                f"train: con varios procesos, «{name}» debe ser (x, y) o un PyDataset que "
                f"sepa repartirse entre procesos (método shard, ver datos.reparto); "
                f"recibido {type(data).__name__}.")
        if data is not None:
            # La validación ajusta su lote para no dejar fuera ejemplos (o los menos).
            data.shard(cluster.process_id, cluster.num_processes, fit_batch=not training)
            left_out = data.example_count - len(data) * data.batch_size
            logger.info("«%s»: %d lotes de %d por época (%d por proceso)%s.", name, len(data),
                        data.batch_size, data.local_batch_size,
                        f"; {left_out} ejemplos del último lote incompleto quedan fuera"
                        if left_out else "")
        shards.append(data)
    return shards


def _check_same_run(model, run: _Run, train_data, validation_data) -> None:
    """Todos los procesos con el mismo modelo, datos y ajustes, o un error en todos."""
    spec = builder_spec(model)
    distribuido.check_same({
        "procesos": distribuido.current().num_processes,
        "constructor": spec.name, "argumentos": spec.kwargs,
        "parametros": int(model.count_params()),
        "epocas": run.epochs, "lote": run.batch_size, "semilla": run.seed,
        "precision": run.precision, "monitor": run.monitor, "paciencia": run.patience,
        "respaldo": run.backup,
        "lotes": [None if d is None else len(d) for d in (train_data, validation_data)],
    }, "el mismo modelo, datos y ajustes")


def _resolve_builder(builder) -> Callable[..., keras.Model]:
    if isinstance(builder, str):
        return modelos.get_builder(builder)
    if callable(builder):
        return builder
    raise ArgumentError(
        f"train: «builder» debe ser el nombre de un constructor "
        f"({', '.join(modelos.builder_names())}) o una función; recibido {builder!r}."
    )


def _check_arguments(builder_kwargs, *, epochs, batch_size, seed, monitor, patience,
                     precision, strategy, verbose, callbacks, steps_per_execution) -> list:
    """Valida los ajustes de :func:`train`; devuelve ``callbacks`` como lista."""
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
    resolve_training_precision(precision, where="train")
    check_strategy(strategy, where="train")
    check_choice(verbose, "verbose", ("auto", 0, 1, 2), where="train")
    if steps_per_execution not in (None, "epoch"):
        check_int(steps_per_execution, "steps_per_execution", where="train")
    if not isinstance(monitor, str) or not monitor:
        raise ArgumentError(
            f"train: «monitor» debe ser el nombre de una métrica; recibido {monitor!r}."
        )
    return _callback_list(callbacks, "callbacks")


def _callback_list(callbacks, name: str) -> list:
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


def _prepare_run(run_dir, weights_path, **settings) -> _Run:
    """Crea la carpeta de la ejecución (si la hay) y fija las rutas de sus archivos."""
    if run_dir is None:
        if weights_path is not None:
            raise ArgumentError("train: «weights_path» necesita «run_dir» (sin run_dir el "
                                "entrenamiento es en memoria y no escribe nada).")
        return _Run(None, None, None, None, **settings)
    run_dir = Path(run_dir)
    weights_path = run_dir / WEIGHTS_NAME if weights_path is None else Path(weights_path)
    if distribuido.is_chief():  # con varios procesos, solo el 0 escribe
        run_dir.mkdir(parents=True, exist_ok=True)
        weights_path.parent.mkdir(parents=True, exist_ok=True)
    return _Run(run_dir, weights_path, run_dir / LOG_NAME, run_dir / PLOT_NAME, **settings)


def _build_model(build, builder_kwargs, run: _Run):
    """Construye el modelo (en el ámbito de la estrategia) y comprueba que se puede guardar."""
    distribution = None
    if run.strategy == "mirrored":
        if keras.backend.backend() != "tensorflow":
            raise ArgumentError(
                f"train: la estrategia «mirrored» (tf.distribute) solo existe con el backend "
                f"tensorflow; el backend es «{keras.backend.backend()}».")
        import tensorflow as tf

        distribution = tf.distribute.MirroredStrategy()
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
    unit = ("réplica", "réplicas")
    if distribuido.current() is not None:
        replicas, unit = distribuido.current().num_processes, ("proceso", "procesos")
    # En memoria (muchas corridas cortas, p. ej. una comparación) solo con --verbose.
    log = logger.info if run.run_dir is not None else logger.debug
    log(
        "Entrenando «%s» %d épocas%s (lote %d, precisión %s, %d %s).",
        builder_spec(model).name, run.epochs,
        f" en «{run.run_dir}»" if run.run_dir else " en memoria", run.batch_size,
        run.precision, replicas, unit[replicas != 1],
    )
    return model


def _callbacks(model, run: _Run, metadata, extra: list, first: list = ()):
    """La lista de callbacks en su orden, el que guarda el mejor modelo y el de reanudar.

    Orden en ``on_epoch_end``: primero ``first`` (los ``evaluators`` de :func:`train`,
    que añaden métricas a la época), luego el CSV y el mejor modelo, la parada temprana y
    los del usuario, y el respaldo al final (una época respaldada tiene siempre su fila y
    su modelo escritos).
    """
    first = list(first)
    early = None
    if run.patience is not None:
        early = keras.callbacks.EarlyStopping(monitor=run.monitor, patience=run.patience,
                                              mode=monitor_mode(run.monitor))
    tail = [*([early] if early else []), *extra]
    if not distribuido.is_chief():
        # Los demás procesos no escriben: reanudan como el 0 y toman las mismas decisiones
        # (parada temprana con las mismas métricas globales, tope de tiempo acordado).
        worker = WorkerResume(run.backup)
        return [*first, worker, *tail], None, worker, early
    if run.run_dir is None:
        best = InMemoryBest(run.monitor)
        return [*first, best, *tail], best, None, early
    run_metadata = dict(metadata or {})
    run_metadata["entrenamiento"] = {
        "epocas": run.epochs, "lote": run.batch_size, "semilla": run.seed,
        "precision": run.precision, "estrategia": run.strategy,
    }
    checkpoint = BestModelCheckpoint(run.weights_path, run.monitor, run_metadata)
    csv_logger = keras.callbacks.CSVLogger(str(run.log_path), append=False)
    backup = BackupCallback(str(run.run_dir / BACKUP_NAME), double_checkpoint=True)
    resume = ResumeState(backup if run.backup else None, csv_logger, checkpoint, run.log_path,
                         run.epochs, spec=builder_spec(model))
    return ([*first, resume, csv_logger, checkpoint, *tail, *([backup] if run.backup else [])],
            checkpoint, resume, early)


def _fit(model, train_data, validation_data, run: _Run, callback_list):
    """Llama a ``model.fit`` con los datos preparados; devuelve el ``History`` de Keras."""
    # Con varios procesos, fit no debe barajar el orden de los lotes de un PyDataset: cada
    # proceso lo haría con su propio estado aleatorio y juntarían partes de lotes
    # distintos. Nuestros PyDataset barajan ellos mismos por (semilla, época).
    fit_kwargs: dict[str, Any] = {
        "x": train_data, "shuffle": run.shuffle and distribuido.current() is None}
    if isinstance(train_data, tuple):
        # El propio tf.data baraja; fit ignoraría (y avisaría de) shuffle=True.
        fit_kwargs = repeated_dataset(*train_data, run.batch_size, run.shuffle, run.seed)
    if run.steps_per_execution == "epoch":
        if "steps_per_epoch" not in fit_kwargs:
            raise ArgumentError("train: steps_per_execution=\"epoch\" necesita datos (x, y).")
        model.steps_per_execution = fit_kwargs["steps_per_epoch"]
    elif run.steps_per_execution is not None:
        model.steps_per_execution = run.steps_per_execution
    verbose = run.verbose
    if not distribuido.is_chief():
        verbose = 0  # una sola barra de progreso: la del proceso 0
    elif verbose == "auto":
        # La barra de Keras reescribe la línea; fuera de una terminal (CI, un
        # registro redirigido) sería un muro de texto: una línea por época.
        verbose = 1 if sys.stdout.isatty() else 2
    try:
        return model.fit(**fit_kwargs, validation_data=validation_data, epochs=run.epochs,
                         verbose=verbose, callbacks=callback_list)
    except (ValueError, RuntimeError) as exc:
        cluster = distribuido.current()
        if cluster is None or "gloo" not in str(exc).lower():
            raise
        raise distribuido.DistributedError(
            f"Proceso {cluster.process_id} de {cluster.num_processes}: se perdió la conexión "
            f"con otro proceso del entrenamiento ({str(exc).strip().splitlines()[0][:160]}). "
            "Vuelva a ejecutar la misma orden para reanudar desde la última época "
            "completa.") from exc


def _keep_best(model, run: _Run, best):
    """Devuelve el modelo con los pesos de la mejor época (o del mejor modelo anterior).

    Con varios procesos, el proceso 0 deja el entrenamiento distribuido y carga el mejor
    modelo en un modelo nuevo, solo suyo; los demás terminan aquí (:class:`WorkerFinished`).
    """
    if run.run_dir is None:
        best.restore()
        return model
    if not distribuido.is_chief():
        distribuido.finish()
        raise distribuido.WorkerFinished()
    if best.best_epoch is None and best.kept_previous is not None:
        logger.info("Esta ejecución no mejoró «%s» = %.4f del modelo ya guardado en «%s»: "
                    "se conserva ese modelo.", run.monitor, best.kept_previous,
                    run.weights_path)
    elif best.best_epoch is None:
        # Ninguna época mejoró (p. ej. siempre NaN): se guarda el modelo final.
        logger.warning("«%s» nunca mejoró; se guarda el modelo final en «%s».",
                       run.monitor, run.weights_path)
        last = best.last_epoch if best.last_epoch is not None else run.epochs - 1
        best.set_model(model)
        best.save(last, None)
    if distribuido.current() is not None:
        distribuido.finish()
        model = modelos.load(run.weights_path)
    else:
        modelos.load_weights(model, run.weights_path)
    if best.best is not None and best.best_epoch is not None:
        logger.info("Mejor modelo: época %d, «%s» = %.4f; pesos cargados desde «%s».",
                    best.best_epoch + 1, run.monitor, best.best, run.weights_path)
    return model


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
    steps_per_execution=None,
    initialize: Callable[[keras.Model], Any] | None = None,
    evaluators=(),
) -> TrainResult:
    """Construye, entrena y guarda un modelo registrado, con reanudación tras un corte.

    Args:
        builder: nombre registrado (``"mlp"``, ``"deportes"``...) o función ``build_xxx``
            de :mod:`modelos`.
        builder_kwargs: argumentos del constructor (p. ej. ``{"input_dim": 8}``).
        train_data: ``(x, y)`` de numpy o un ``keras.utils.PyDataset``.
        validation_data: lo mismo para validación, u ``None``.
        run_dir: carpeta de resultados (modelo.h5, registro.csv, curvas.png, respaldo/), o
            ``None`` para entrenar en memoria sin escribir nada.
        epochs: número total de épocas (también al reanudar).
        batch_size: tamaño de lote global para ``(x, y)``; un PyDataset trae el suyo.
        seed: semilla de Python, numpy y el backend (``nucleo.entorno.set_random_seed``).
        monitor: métrica que decide el mejor modelo (y la parada temprana); se
            minimiza salvo que sea de acierto (accuracy, auc...).
        patience: épocas sin mejora antes de parar (``EarlyStopping``); ``None``, sin parada.
        precision: ``"float32"``, ``"mixed_bfloat16"`` o ``"auto"`` (la más rápida en
            esta máquina: :func:`nucleo.entorno.resolve_training_precision`); la política
            global anterior se restaura al terminar.
        strategy: ``None`` / ``"none"`` o ``"mirrored"`` (``tf.distribute.MirroredStrategy``
            en todas las GPU, o en las CPU lógicas de ``REDES_CPUS_LOGICOS``).
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

    Returns:
        Un :class:`TrainResult` con el modelo (mejores pesos cargados) y las rutas
        (``None`` en un entrenamiento en memoria).

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
    callbacks = _check_arguments(
        builder_kwargs, epochs=epochs, batch_size=batch_size, seed=seed, monitor=monitor,
        patience=patience, precision=precision, strategy=strategy, verbose=verbose,
        callbacks=callbacks, steps_per_execution=steps_per_execution)
    evaluators = _callback_list(evaluators, "evaluators")
    train_data = _check_data("train_data", train_data, required=True)
    validation_data = _check_data("validation_data", validation_data, required=False)
    run = _prepare_run(run_dir, weights_path, epochs=epochs, batch_size=batch_size, seed=seed,
                       monitor=monitor, patience=patience,
                       precision=resolve_training_precision(precision),
                       strategy=check_strategy(strategy), verbose=verbose, shuffle=shuffle,
                       backup=backup, steps_per_execution=steps_per_execution)

    if distribuido.current() is not None:
        train_data, validation_data = _shard_data(train_data, validation_data, run)

    previous_policy = keras.mixed_precision.global_policy()
    try:
        set_random_seed(seed)
        keras.mixed_precision.set_dtype_policy(run.precision)
        model = _build_model(build, builder_kwargs, run)
        if initialize is not None:
            initialize(model)
        if distribuido.current() is not None:
            _check_same_run(model, run, train_data, validation_data)
        callback_list, best, resume, early = _callbacks(model, run, metadata, callbacks,
                                                             evaluators)
        fit_history = _fit(model, train_data, validation_data, run, callback_list)
        if early is not None and early.stopped_epoch > 0:
            logger.info("Parada temprana en la época %d/%d: «%s» no mejoró en %d épocas.",
                        early.stopped_epoch + 1, epochs, monitor, patience)
        model = _keep_best(model, run, best)
    finally:
        keras.mixed_precision.set_dtype_policy(previous_policy)

    if run.run_dir is None:
        history = {k: [float(v) for v in values] for k, values in fit_history.history.items()}
    else:
        history = read_history(run.log_path)
        if history:
            plot_history(history, run.plot_path)
        else:
            logger.warning("«%s» no tiene ninguna época; no se dibujan las curvas.", run.log_path)
    return TrainResult(
        model=model,
        history=history,
        run_dir=run.run_dir,
        weights_path=run.weights_path,
        log_path=run.log_path,
        plot_path=run.plot_path,
        initial_epoch=resume.initial_epoch if resume is not None else 0,
        best_epoch=best.best_epoch,
    )
