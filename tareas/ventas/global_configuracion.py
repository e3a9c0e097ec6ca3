"""La configuración del modelo global de muchas series (``redes pronostico entrenar
--columna-serie ...``): :class:`GlobalSalesConfig`.

Comparte las opciones de :class:`~tareas.ventas.configuracion.SalesConfig` que
significan lo mismo (``--csv``, ``--modelo``, ``--retardos``, ``--dias-validacion``...), con
valores por defecto para muchas series (28 retardos), y añade las de las series, las
covariables, el horizonte y los intervalos. Las épocas y el lote, si no se dan, salen del
tamaño de los datos (:func:`resolve_schedule`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from nucleo.errores import ArgumentError
from nucleo.vocabulario import DEFAULT_TRAINING_PRECISION
from nucleo.vocabulario import MAX_HORIZON
from nucleo.vocabulario import MAX_INTERVAL_LEVEL
from nucleo.vocabulario import MAX_LAGS
from nucleo.vocabulario import MAX_LEARNING_RATE
from nucleo.vocabulario import SALES_GAP_POLICIES
from nucleo.vocabulario import SALES_GLOBAL_MODELS
from nucleo.vocabulario import TRAINING_PRECISIONS
from tareas.configuracion import USED_PRECISION_KEY
from tareas.configuracion import TrainingConfig
from tareas.configuracion import setting

#: Días que pronostica de una vez por defecto (cuatro semanas).
DEFAULT_HORIZON = 28
#: El lote y las épocas cuando no se dan (:func:`resolve_schedule`): lotes de 8 a 64 (un
#: múltiplo de 8, para que lo repartan 2, 4 u 8 procesos), al menos
#: ``MIN_BATCHES_PER_EPOCH`` lotes por época, y al menos ``MIN_EPOCHS`` épocas y
#: ``MIN_UPDATES`` pasos de Adam en total.
MIN_BATCH, MAX_BATCH, MIN_BATCHES_PER_EPOCH = 8, 64, 64
MIN_EPOCHS, MIN_UPDATES = 30, 6000
#: Ventanas de calibración que se buscan cuando no se da ``--dias-calibracion``
#: (:func:`resolve_calibration`): una por serie y día de origen.
MIN_CALIBRATION_WINDOWS = 29


def _distinct(value, name: str, where: str):
    if len(set(value)) != len(value):
        raise ArgumentError(f"{where}: «{name}» repite un valor: {list(value)}.")
    return value


@dataclasses.dataclass(frozen=True)
class GlobalSalesConfig(TrainingConfig):
    """La configuración de :func:`~tareas.ventas.global_entrenamiento.train_sales_global`.

    Attributes:
        csv: el CSV largo (``--csv``); o se dan los datos en memoria.
        series_columns: columnas que identifican la serie (``--columna-serie tienda
            producto``); con varias, cada una tiene su embedding.
        future_covariates: covariables conocidas de antemano (``--covariables-futuras``).
        past_covariates: covariables conocidas solo hasta el último día
            (``--covariables-pasadas``).
        gaps: días que faltan en una serie: ``"rechazar"`` o ``"rellenar"`` con 0
            (``--huecos``).
        levels: niveles de los intervalos en % (``--intervalos 80 95``; ``()``: ninguno).
        horizon: días que pronostica de una vez (``--horizonte``).
        variant: ``"ste"``, ``"lstm"`` o ``"gru"`` (``--modelo``).
        steps: días anteriores que ve (``--retardos``).
        epochs: épocas (``--epocas``; ``None``: las de :func:`resolve_schedule`).
        validation: últimos días de cada serie apartados para medir (``--dias-validacion``;
            ``None``: el horizonte; 0: ninguno).
        calibration: días anteriores a la validación apartados para calibrar los
            intervalos (``--dias-calibracion``; ``None``: el horizonte, o más con pocas
            series, ver :func:`resolve_calibration`; 0: sin calibrar).
        batch_size: ejemplos por lote (``--lote``; ``None``: el de
            :func:`resolve_schedule`).
        learning_rate: tasa de Adam (``--tasa``).
        patience: parada temprana tras tantas épocas sin mejorar la pérdida de
            entrenamiento (``--paciencia``).
        minutes: tope de tiempo en minutos (``--minutos``).
        precision: ``"auto"``, ``"float32"`` o ``"mixed_bfloat16"`` (``--precision``).
        seed: semilla (``--semilla``).
        run_dir: carpeta de resultados (``--salida``; ``None``: ``pesos/ventas_global_<modelo>``).
        date_column: columna de la fecha (``--columna-fecha``; por defecto ``fecha``).
        value_column: columna del valor (``--columna-valor``; por defecto ``unidades``).
    """

    TASK = "pronostico"
    RESOLVED_KEYS = (USED_PRECISION_KEY,)

    csv: Path | None = setting("--csv", None)
    series_columns: tuple[str, ...] = setting("--columna-serie", (),
                                              check=_distinct)
    future_covariates: tuple[str, ...] = setting("--covariables-futuras", (), check=_distinct)
    past_covariates: tuple[str, ...] = setting("--covariables-pasadas", (), check=_distinct)
    gaps: str = setting("--huecos", "rechazar", choices=SALES_GAP_POLICIES)
    levels: tuple[int, ...] = setting("--intervalos", (80, 95), minimum=1,
                                      maximum=MAX_INTERVAL_LEVEL, check=_distinct)
    horizon: int = setting("--horizonte", DEFAULT_HORIZON, minimum=1, maximum=MAX_HORIZON)
    variant: str = setting("--modelo", "ste", choices=SALES_GLOBAL_MODELS)
    steps: int = setting("--retardos", 28, minimum=1, maximum=MAX_LAGS)
    epochs: int | None = setting("--epocas", None, minimum=1)
    validation: int | None = setting("--dias-validacion", None, minimum=0)
    calibration: int | None = setting("--dias-calibracion", None, minimum=0)
    batch_size: int | None = setting("--lote", None, minimum=1)
    learning_rate: float = setting("--tasa", 1e-3, above=0.0, maximum=MAX_LEARNING_RATE)
    patience: int | None = setting("--paciencia", None, minimum=1, zero_is_none=True)
    minutes: float | None = setting("--minutos", None, above=0.0)
    precision: str = setting("--precision", DEFAULT_TRAINING_PRECISION,
                             choices=TRAINING_PRECISIONS)
    seed: int = setting("--semilla", 0, minimum=0)
    run_dir: Path | None = setting("--salida", None)
    date_column: str | int | None = setting("--columna-fecha", None)
    value_column: str | int | None = setting("--columna-valor", None)

    def check(self) -> None:
        where = "GlobalSalesConfig"
        for name, days in (("validation (--dias-validacion)", self.held_validation),
                           ("calibration (--dias-calibracion)", self.held_calibration)):
            if 0 < days < self.horizon:
                raise ArgumentError(f"{where}: «{name}» debe ser 0 o al menos el horizonte "
                                    f"({self.horizon} días): cada ventana apartada se "
                                    f"pronostica de una vez; recibido {days}.")
        overlap = set(self.series_columns) & set(self.covariates)
        if overlap:
            raise ArgumentError(f"{where}: la columna «{sorted(overlap)[0]}» no puede ser a la "
                                "vez de la serie y una covariable.")

    @property
    def covariates(self) -> tuple[str, ...]:
        return self.future_covariates + self.past_covariates

    @property
    def held_validation(self) -> int:
        """Días de validación resueltos (el horizonte si no se dieron)."""
        return self.horizon if self.validation is None else self.validation

    @property
    def held_calibration(self) -> int:
        """Días de calibración resueltos (el horizonte si no se dieron)."""
        return self.horizon if self.calibration is None else self.calibration

    def resolved_run_dir(self) -> Path:
        """``run_dir``, o la carpeta por defecto: ``pesos/ventas_global_<modelo>``."""
        return self.run_dir if self.run_dir is not None else Path("pesos") / (
            f"ventas_global_{self.variant}")


def resolve_schedule(config: GlobalSalesConfig, examples: int) -> GlobalSalesConfig:
    """``config`` con el lote y las épocas que no se dieron, según los ejemplos.

    Con muchas series (cientos de miles de ventanas) son lotes de 64 y 30 épocas. Con una
    sola serie de dos años (~500 ventanas), 64 darían 8 pasos por época y 240 en total, y
    la red se queda corta: en el CSV del blog (3 cortes, 3 semillas), MASE 0,65 con 30
    épocas de lotes de 64 frente a 0,525 con lotes de 8 y ~100 épocas
    (``bench/ventas_multiples.py``). Por eso el lote baja hasta 8 para dar al menos
    ``MIN_BATCHES_PER_EPOCH`` lotes por época, y las épocas suben hasta dar
    ``MIN_UPDATES`` pasos.

    Args:
        config: la configuración (``epochs``/``batch_size`` ``None``: se resuelven).
        examples: ventanas de entrenamiento.
    """
    batch = config.batch_size
    if batch is None:
        batch = MIN_BATCH * (examples // (MIN_BATCH * MIN_BATCHES_PER_EPOCH))
        batch = min(MAX_BATCH, max(MIN_BATCH, batch))
    epochs = config.epochs
    if epochs is None:
        batches = max(1, -(-examples // batch))
        epochs = max(MIN_EPOCHS, -(-MIN_UPDATES // batches))
    return config.replace(batch_size=batch, epochs=epochs)


def resolve_calibration(config: GlobalSalesConfig, lengths) -> GlobalSalesConfig:
    """``config`` con los días de calibración resueltos si no se dieron.

    Con el horizonte, cada serie aporta una sola ventana a la calibración conformal: con
    cientos de series basta, pero con una sola son 28 puntuaciones de la misma ventana y
    el cuantil con la corrección de muestra finita, ⌈(n+1)·0,8⌉/n = 0,86 para n = 28,
    ensancha de más (cobertura del 88 % al 80 % en el CSV del blog). Con menos de
    ``MIN_CALIBRATION_WINDOWS`` series se apartan días de más, uno por ventana que falte
    (con una serie y 28 días de horizonte, 56 días y 29 orígenes: 83 % al 80 %), sin
    quitar al entrenamiento más de la mitad de lo que le queda a la serie más corta.

    Args:
        config: la configuración (``calibration`` ``None``: se resuelve).
        lengths: días de cada serie.
    """
    if config.calibration is not None or not config.levels:
        return config
    lengths = list(lengths)
    missing = max(0, MIN_CALIBRATION_WINDOWS - len(lengths))
    needed = config.steps + 2 * config.horizon + config.held_validation
    room = max(0, (min(lengths, default=needed) - needed) // 2)
    return config.replace(calibration=config.horizon + min(missing, room))
