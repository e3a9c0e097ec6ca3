"""La función de entrenamiento que usan todos los comandos de la CLI.

:func:`train` construye el modelo (con la semilla, la política de precisión y la
distribución ya aplicadas), lo entrena con ``fit`` y deja en
``run_dir``::

    run_dir/
      modelo.h5      el mejor modelo según ``monitor`` (modelos.save, atómico)
      registro.csv   una fila por época (CSVLogger), también las anteriores a una reanudación
      curvas.png     curvas de entrenamiento y validación leídas de registro.csv
      respaldo/      estado de la última época (BackupAndRestore); se borra al terminar

Con ``tensorboard=CARPETA`` escribe además allí los registros de TensorBoard (pérdida,
métricas y tasa de aprendizaje de cada época; :func:`_tensorboard`).

Si el proceso muere (incluso con SIGKILL), repetir la misma llamada reanuda el
entrenamiento en la época siguiente a la última completada. Con ``run_dir=None`` el
entrenamiento es en memoria: no escribe nada y devuelve el modelo con los pesos de la
mejor época (las comparaciones de muchas semillas lo usan).

Los ajustes (épocas, lote, semilla, métrica vigilada...) son los de
:class:`entrenamiento.opciones.FitOptions`; los datos se comprueban y se reparten entre
procesos en :mod:`entrenamiento.entradas`. Con varios procesos, ``cluster`` (el
:class:`~entrenamiento.distribuido.Cluster` de :func:`entrenamiento.distribuido.initialize`)
llega aquí explícitamente: el bucle no lee ningún estado global.

Ejemplo::

    resultado = train("mlp", {"input_dim": 784}, (x, y), (x_val, y_val),
                      run_dir="resultados/mnist", epochs=3, batch_size=128)
    resultado.model.evaluate(x_test, y_test)
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nucleo.entorno import set_random_seed
from nucleo.keras_listo import keras

import modelos
from modelos.compilado import build_for_fit
from entrenamiento import distribuido
from entrenamiento.callbacks import BackupCallback
from entrenamiento.callbacks import BestModelCheckpoint
from entrenamiento.callbacks import CosineLearningRate  # noqa: F401 (API pública)
from entrenamiento.callbacks import InMemoryBest
from entrenamiento.callbacks import ResumeState
from entrenamiento.callbacks import TimeLimit
from entrenamiento.callbacks import WorkerResume
from entrenamiento.callbacks import monitor_mode
from entrenamiento.entradas import check_data
from entrenamiento.entradas import repeated_dataset
from entrenamiento.entradas import shard_data
from entrenamiento.opciones import BACKUP_NAME
from entrenamiento.opciones import DISCARDED_LOG_NAME
from entrenamiento.opciones import DISCARDED_PLOT_NAME
from entrenamiento.opciones import LOG_NAME
from entrenamiento.opciones import PENDING_LOG_NAME
from entrenamiento.opciones import FitOptions
from entrenamiento.opciones import Run
from entrenamiento.opciones import fit_options
from entrenamiento.opciones import prepare_run
from entrenamiento.opciones import resolve_builder
from informes.graficos import plot_history, read_history
from modelos.registro import builder_spec
from nucleo.errores import ArgumentError

logger = logging.getLogger("redes")

__all__ = ["STOP_REASONS", "BestModelCheckpoint", "FitOptions", "TrainResult", "monitor_mode",
           "train"]


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
        precision: la política de precisión que se usó (``"auto"`` ya resuelta).
        epochs_run: épocas que corrió esta ejecución (sin las de antes de reanudar).
        seconds: segundos de ``fit`` en esta ejecución.
        stop_reason: por qué paró: ``"epocas"`` (las pedidas), ``"tiempo"`` (el tope
            de ``TimeLimit``), ``"parada_temprana"`` (``patience``) o ``"interrupcion"``
            (Ctrl+C con un solo proceso, tras alguna época: se sigue con el mejor modelo).
        discarded_log: si esta ejecución no mejoró el modelo ya guardado (sin respaldo,
            XOR), su registro ``registro_descartado.csv`` (con ``curvas_descartado.png``);
            ``log_path`` y ``plot_path`` siguen siendo los del modelo guardado.
    """

    model: keras.Model
    history: dict[str, list[float]]
    run_dir: Path | None
    weights_path: Path | None
    log_path: Path | None
    plot_path: Path | None
    initial_epoch: int
    best_epoch: int | None = None
    precision: str = "float32"
    epochs_run: int = 0
    seconds: float = 0.0
    stop_reason: str = "epocas"
    discarded_log: Path | None = None

    def summary(self) -> dict[str, Any]:
        """Las cifras que todo entrenador pone en su resumen (tabla y JSON): épocas
        corridas, segundos y el motivo de la parada."""
        return {"epocas_corridas": self.epochs_run,
                "segundos_entrenando": round(self.seconds, 1),
                "motivo_parada": STOP_REASONS[self.stop_reason]}


#: Motivo de la parada → lo que se lee en el resumen.
STOP_REASONS = {"epocas": "épocas completas", "tiempo": "tope de tiempo (--minutos)",
                "parada_temprana": "parada temprana (--paciencia)",
                "interrupcion": "interrumpido (Ctrl+C)"}


def _interrupted(model, run: Run, callback_list):
    """Tras un Ctrl+C durante ``fit`` con un solo proceso y alguna época completa: se
    cierra lo que ``on_train_end`` habría cerrado y se sigue con el mejor modelo (el
    resumen dice que se interrumpió). Sin ninguna época, o con varios procesos, el Ctrl+C
    sigue su camino (el respaldo permite reanudar)."""
    history = getattr(model, "history", None)
    if run.cluster is not None or history is None or not getattr(history, "epoch", None):
        raise KeyboardInterrupt
    logger.warning("Interrumpido con Ctrl+C tras %d épocas: se termina con el mejor modelo "
                   "hasta ahora (otro Ctrl+C sale sin resumen).", len(history.epoch))
    from entrenamiento.callbacks import FreezeLayers

    for callback in callback_list:
        if isinstance(callback, keras.callbacks.CSVLogger) and callback.csv_file is not None \
                and not callback.csv_file.closed:
            callback.csv_file.close()
        elif isinstance(callback, keras.callbacks.TensorBoard):
            callback.on_train_end()   # cierra sus archivos de eventos
        elif isinstance(callback, FreezeLayers):   # no deja capas congeladas
            callback.on_train_end()
    return history


def _stop_reason(callbacks, early) -> str:
    """``"tiempo"`` si un :class:`TimeLimit` paró el entrenamiento, ``"parada_temprana"``
    si lo hizo ``EarlyStopping``; si no, ``"epocas"``."""
    if any(isinstance(c, TimeLimit) and c.stopped for c in callbacks):
        return "tiempo"
    if early is not None and early.stopped_epoch > 0:
        return "parada_temprana"
    return "epocas"


def _check_same_run(model, run: Run, train_data, validation_data) -> None:
    """Todos los procesos con el mismo modelo, datos y ajustes, o un error en todos."""
    spec, opts = builder_spec(model), run.options
    distribuido.check_same({
        "procesos": run.cluster.num_processes,
        "constructor": spec.name, "argumentos": spec.kwargs,
        "parametros": int(model.count_params()),
        "epocas": opts.epochs, "lote": opts.batch_size, "semilla": opts.seed,
        "precision": run.precision, "monitor": opts.monitor, "paciencia": opts.patience,
        "respaldo": opts.backup,
        "lotes": [None if d is None else len(d) for d in (train_data, validation_data)],
    }, run.cluster, "el mismo modelo, datos y ajustes")


def _build_model(build, builder_kwargs, run: Run, replicas: int):
    """Construye el modelo (con la distribución ya fijada) y comprueba que se puede guardar."""
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
    unit = ("proceso", "procesos") if run.cluster is not None else ("dispositivo",
                                                                     "dispositivos")
    # En memoria (muchas corridas cortas, p. ej. una comparación) solo con --verbose.
    log = logger.info if run.run_dir is not None else logger.debug
    log(
        "Entrenando «%s» %d épocas%s (lote %d, precisión %s, %d %s).",
        builder_spec(model).name, run.options.epochs,
        f" en «{run.run_dir}»" if run.run_dir else " en memoria", run.options.batch_size,
        run.precision, replicas, unit[replicas != 1],
    )
    return model


def _tensorboard(opts: FitOptions) -> list:
    """El ``keras.callbacks.TensorBoard`` de ``opts.tensorboard`` (o ninguno): escalares
    por época en ``CARPETA/train`` y ``CARPETA/validation`` (``epoch_loss``,
    ``epoch_learning_rate``, ``epoch_map_50``...), sin el grafo (que con YOLO ocupa
    mucho). Escribe con ``tf.summary`` también con JAX o PyTorch: se importa TensorFlow
    antes, sin su ruido de arranque."""
    if opts.tensorboard is None:
        return []
    from nucleo.entorno import import_tensorflow

    import_tensorflow()
    return [keras.callbacks.TensorBoard(log_dir=str(opts.tensorboard), write_graph=False)]


def _callbacks(model, run: Run):
    """La lista de callbacks en su orden, el que guarda el mejor modelo y el de reanudar.

    Orden en ``on_epoch_end``: primero los ``evaluators`` (que añaden métricas a la
    época), luego el CSV, TensorBoard y el mejor modelo, la parada temprana y los del
    usuario, y el respaldo al final (una época respaldada tiene siempre su fila y su
    modelo escritos).
    """
    opts = run.options
    first = list(opts.evaluators)
    early = None
    if opts.patience is not None:
        early = keras.callbacks.EarlyStopping(monitor=opts.monitor, patience=opts.patience,
                                              mode=monitor_mode(opts.monitor))
    tail = [*([early] if early else []), *opts.callbacks]
    if not run.chief:
        # Los demás procesos no escriben: reanudan como el 0 y toman las mismas decisiones
        # (parada temprana con las mismas métricas globales, tope de tiempo acordado).
        worker = WorkerResume(opts.backup, run.cluster)
        return [*first, worker, *tail], None, worker, early
    if run.run_dir is None:
        best = InMemoryBest(opts.monitor)
        return [*first, *_tensorboard(opts), best, *tail], best, None, early
    run_metadata = dict(opts.metadata or {})
    run_metadata["entrenamiento"] = {
        "epocas": opts.epochs, "lote": opts.batch_size, "semilla": opts.seed,
        "precision": run.precision, "dispositivos": opts.devices,
    }
    checkpoint = BestModelCheckpoint(run.weights_path, opts.monitor, run_metadata,
                                     cluster=run.cluster)
    csv_logger = keras.callbacks.CSVLogger(str(run.log_path), append=False)
    backup = BackupCallback(str(run.run_dir / BACKUP_NAME), double_checkpoint=True,
                            cluster=run.cluster)
    resume = ResumeState(backup if opts.backup else None, csv_logger, checkpoint,
                         run.log_path, opts.epochs, spec=builder_spec(model))
    return ([*first, resume, csv_logger, *_tensorboard(opts), checkpoint, *tail,
             *([backup] if opts.backup else [])], checkpoint, resume, early)


def _fit(model, train_data, validation_data, run: Run, callback_list):
    """Llama a ``model.fit`` con los datos preparados; devuelve el ``History`` de Keras."""
    opts = run.options
    # Con varios procesos, fit no debe barajar el orden de los lotes de un PyDataset: cada
    # proceso lo haría con su propio estado aleatorio y juntarían partes de lotes
    # distintos. Nuestros PyDataset barajan ellos mismos por (semilla, época).
    fit_kwargs: dict[str, Any] = {"x": train_data,
                                  "shuffle": opts.shuffle and run.cluster is None}
    if isinstance(train_data, tuple):
        # El propio tf.data baraja; fit ignoraría (y avisaría de) shuffle=True.
        fit_kwargs = repeated_dataset(*train_data, opts.batch_size, opts.shuffle, opts.seed)
    if opts.steps_per_execution == "epoch":
        if "steps_per_epoch" not in fit_kwargs:
            raise ArgumentError("train: steps_per_execution=\"epoch\" necesita datos (x, y).")
        model.steps_per_execution = fit_kwargs["steps_per_epoch"]
    elif opts.steps_per_execution is not None:
        model.steps_per_execution = opts.steps_per_execution
    verbose = opts.verbose
    if not run.chief:
        verbose = 0  # una sola barra de progreso: la del proceso 0
    elif verbose == "auto":
        # La barra de Keras reescribe la línea; fuera de una terminal (CI, un
        # registro redirigido) sería un muro de texto: una línea por época.
        verbose = 1 if sys.stdout.isatty() else 2
    # Con TensorFlow, un solo trazado del primer paso: el optimizador (los constructores
    # del proyecto ya lo crean al compilar; uno registrado por el usuario quizá no) y las
    # métricas se crean antes.
    build_for_fit(model, fit_kwargs["x"])
    try:
        return model.fit(**fit_kwargs, validation_data=validation_data, epochs=opts.epochs,
                         verbose=verbose, callbacks=callback_list)
    except (ValueError, RuntimeError) as exc:
        cluster = run.cluster
        if cluster is None or "gloo" not in str(exc).lower():
            raise
        raise distribuido.DistributedError(
            f"Proceso {cluster.process_id} de {cluster.num_processes}: se perdió la conexión "
            f"con otro proceso del entrenamiento ({str(exc).strip().splitlines()[0][:160]}). "
            "Vuelva a ejecutar la misma orden para reanudar desde la última época "
            "completa.") from exc


def _keep_best(model, run: Run, best):
    """Devuelve el modelo con los pesos de la mejor época (o del mejor modelo anterior).

    Con varios procesos, el proceso 0 deja el entrenamiento distribuido y carga el mejor
    modelo en un modelo nuevo, solo suyo; los demás terminan aquí (:class:`WorkerFinished`).
    """
    if run.run_dir is None:
        best.restore()
        return model
    if not run.chief:
        distribuido.finish(run.cluster)
        raise distribuido.WorkerFinished()
    monitor = run.options.monitor
    if best.best_epoch is None and best.kept_previous is not None:
        logger.info("Esta ejecución no mejoró «%s» = %.4f del modelo ya guardado en «%s»: "
                    "se conserva ese modelo.", monitor, best.kept_previous, run.weights_path)
    elif best.best_epoch is None:
        # Ninguna época mejoró (p. ej. siempre NaN): se guarda el modelo final.
        logger.warning("«%s» nunca mejoró; se guarda el modelo final en «%s».",
                       monitor, run.weights_path)
        last = best.last_epoch if best.last_epoch is not None else run.options.epochs - 1
        best.set_model(model)
        best.save(last, None)
    if run.cluster is not None:
        distribuido.finish(run.cluster)
        model = modelos.load(run.weights_path)
    else:
        modelos.load_weights(model, run.weights_path)
    if best.best is not None and best.best_epoch is not None:
        logger.info("Mejor modelo: época %d, «%s» = %.4f; pesos cargados desde «%s».",
                    best.best_epoch + 1, monitor, best.best, run.weights_path)
    return model


def _place_log(run: Run, best) -> Path | None:
    """El registro de una ejecución que podía descartarse: si su modelo se guardó, pasa a
    ser ``registro.csv`` (con sus curvas); si se conservó el modelo anterior, queda como
    ``registro_descartado.csv`` y ``registro.csv``/``curvas.png`` siguen describiendo el
    modelo guardado. Devuelve el registro descartado, o ``None``."""
    if run.run_dir is None or run.log_path.name != PENDING_LOG_NAME or not run.chief:
        return None
    pending, run.log_path = run.log_path, run.run_dir / LOG_NAME
    if best.best_epoch is None and best.kept_previous is not None:
        discarded = run.run_dir / DISCARDED_LOG_NAME
        os.replace(pending, discarded)
        history = read_history(discarded)
        if history:
            plot_history(history, run.run_dir / DISCARDED_PLOT_NAME)
        logger.info("El registro de esta ejecución descartada queda en «%s».", discarded)
        return discarded
    os.replace(pending, run.log_path)
    return None


def _history(fit_history, run: Run) -> dict[str, list[float]]:
    """El historial completo: el de ``fit`` en memoria, o el de ``registro.csv`` (que
    incluye las épocas de antes de una reanudación), y sus curvas."""
    if run.run_dir is None:
        return {k: [float(v) for v in values] for k, values in fit_history.history.items()}
    history = read_history(run.log_path)
    if history:
        plot_history(history, run.plot_path)
    else:
        logger.warning("«%s» no tiene ninguna época; no se dibujan las curvas.", run.log_path)
    return history


def train(builder, builder_kwargs: Mapping[str, Any] | None = None, train_data=None,
          validation_data=None, *, run_dir, cluster: distribuido.Cluster | None = None,
          **options) -> TrainResult:
    """Construye, entrena y guarda un modelo registrado, con reanudación tras un corte.

    Args:
        builder: nombre registrado (``"mlp"``, ``"deportes"``...) o función ``build_xxx``
            de :mod:`modelos`.
        builder_kwargs: argumentos del constructor (p. ej. ``{"input_dim": 8}``).
        train_data: ``(x, y)`` de numpy o un ``keras.utils.PyDataset``.
        validation_data: lo mismo para validación, u ``None``.
        run_dir: carpeta de resultados (modelo.h5, registro.csv, curvas.png, respaldo/), o
            ``None`` para entrenar en memoria sin escribir nada.
        cluster: con varios procesos, el :class:`~entrenamiento.distribuido.Cluster` de
            :func:`entrenamiento.distribuido.initialize` (``None``: un solo proceso).
        **options: los ajustes de :class:`~entrenamiento.opciones.FitOptions`
            (``epochs``, obligatorio; ``batch_size``, ``seed``, ``monitor``,
            ``patience``, ``precision``, ``devices``, ``metadata``, ``verbose``,
            ``callbacks``, ``shuffle``, ``backup``, ``weights_path``,
            ``steps_per_execution``, ``initialize``, ``evaluators``, ``tensorboard``).

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
    build = resolve_builder(builder)
    opts = fit_options(builder_kwargs, options)
    train_data = check_data("train_data", train_data, required=True)
    validation_data = check_data("validation_data", validation_data, required=False)
    run = prepare_run(run_dir, opts, cluster)
    if cluster is not None:
        train_data, validation_data = shard_data(train_data, validation_data, run)

    previous_policy = keras.mixed_precision.global_policy()
    try:
        set_random_seed(opts.seed)
        keras.mixed_precision.set_dtype_policy(run.precision)
        with distribuido.local_devices(opts.devices, cluster) as replicas:
            model = _build_model(build, builder_kwargs, run, replicas)
            if opts.initialize is not None:
                opts.initialize(model)
            if cluster is not None:
                _check_same_run(model, run, train_data, validation_data)
            callback_list, best, resume, early = _callbacks(model, run)
            fit_start = time.perf_counter()
            try:
                fit_history = _fit(model, train_data, validation_data, run, callback_list)
                stop_reason = _stop_reason(callback_list, early)
            except KeyboardInterrupt:
                fit_history = _interrupted(model, run, callback_list)
                stop_reason = "interrupcion"
            fit_seconds = time.perf_counter() - fit_start
            if early is not None and early.stopped_epoch > 0:
                logger.info("Parada temprana en la época %d/%d: «%s» no mejoró en %d épocas.",
                            early.stopped_epoch + 1, opts.epochs, opts.monitor, opts.patience)
            model = _keep_best(model, run, best)
            discarded = _place_log(run, best)
    finally:
        keras.mixed_precision.set_dtype_policy(previous_policy)
    history = (read_history(discarded) if discarded is not None
               else _history(fit_history, run))
    return TrainResult(model=model, history=history, run_dir=run.run_dir,
                       weights_path=run.weights_path, log_path=run.log_path,
                       plot_path=run.plot_path,
                       initial_epoch=resume.initial_epoch if resume is not None else 0,
                       best_epoch=best.best_epoch, precision=run.precision,
                       epochs_run=len(fit_history.epoch), seconds=fit_seconds,
                       stop_reason=stop_reason, discarded_log=discarded)
