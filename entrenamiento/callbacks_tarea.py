"""Callbacks que las tareas añaden al bucle de :func:`entrenamiento.entrenar.train`.

- :class:`TimeLimit` y :class:`CosineLearningRate`: tope de tiempo y tasa en coseno.
- :class:`FreezeLayers`: las primeras épocas solo entrena la cabeza; luego todo, con
  una tasa más baja.
- :class:`EpochMetric`: una métrica más al final de cada época (el mAP de validación).

Los que miran el reloj reciben el :class:`~entrenamiento.distribuido.Cluster` (con
varios procesos manda el reloj del proceso 0). :mod:`entrenamiento.callbacks` los
vuelve a exportar.
"""

from __future__ import annotations

import logging
import math
import time

from nucleo.keras_listo import keras

from entrenamiento import distribuido
from nucleo.errores import ArgumentError

logger = logging.getLogger("redes")


class TimeLimit(keras.callbacks.Callback):
    """Para el entrenamiento tras ``seconds`` segundos (al acabar el lote en curso).

    Con varios procesos (``cluster``), manda el reloj del proceso 0: todos paran en el
    mismo lote.
    """

    def __init__(self, seconds: float, cluster: distribuido.Cluster | None = None):
        super().__init__()
        self.seconds = seconds
        self.cluster = cluster
        self.start = None
        self.stopped = False

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        # Con varios procesos manda el reloj del proceso 0: todos paran en el mismo lote.
        if distribuido.agree(time.perf_counter() - self.start, self.cluster) > self.seconds:
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
        cluster: con varios procesos, el :class:`~entrenamiento.distribuido.Cluster` (el
            reloj del proceso 0 manda en todos).
    """

    def __init__(self, initial: float, *, total_steps: int | None = None,
                 seconds: float | None = None, minimum: float = 0.01,
                 cluster: distribuido.Cluster | None = None):
        super().__init__()
        self.cluster = cluster
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
            elapsed = distribuido.agree(time.perf_counter() - self.start, self.cluster)
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
