"""La configuración de :func:`tareas.ventas.train_sales` (los valores del blog)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from nucleo.errores import ArgumentError
from nucleo.vocabulario import DEFAULT_TRAINING_PRECISION
from nucleo.vocabulario import MAX_LAGS
from nucleo.vocabulario import MAX_LEARNING_RATE
from nucleo.vocabulario import SALES_MLP_VARIANTS
from nucleo.vocabulario import SALES_RNN_MODELS
from nucleo.vocabulario import TRAINING_PRECISIONS
from tareas.configuracion import USED_PRECISION_KEY
from tareas.configuracion import TrainingConfig
from tareas.configuracion import setting
from tareas.ventas.comun import BLOG_EPOCHS
from tareas.ventas.comun import BLOG_STEPS
from tareas.ventas.comun import BLOG_VALIDATION
from tareas.ventas.comun import LEARNING_RATE


@dataclasses.dataclass(frozen=True)
class SalesConfig(TrainingConfig):
    """La configuración de :func:`~tareas.ventas.train_sales`.

    Attributes:
        csv: el CSV de ventas diarias (``--csv``); o se da la serie a ``train_sales``.
        variant: ``"st1"``, ``"stmv"``, ``"ste"``, ``"lstm"``, ``"gru"`` o ``"rnn"``
            (``--modelo``).
        blog_ste: con ``ste``, el modelo del blog (retardos sin conectar) (``--blog``).
        steps: retardos (``--retardos``; 7 en el blog).
        epochs: épocas (``--epocas``; 40 en el blog).
        validation: últimos días de validación (``--dias-validacion``; 30; 0: ninguno).
        batch_size: filas por lote (``--lote``; el blog usa ``PASOS`` = 7).
        learning_rate: tasa de Adam (``--tasa``).
        patience: parada temprana tras tantas épocas sin mejorar la pérdida de
            *entrenamiento*, la que elige la época que se guarda (``--paciencia``;
            ``None``: todas las épocas).
        minutes: tope de tiempo de entrenamiento en minutos; se para al terminar el lote
            en curso (``--minutos``; ``None``: sin tope).
        precision: ``"auto"`` (la más rápida aquí), ``"float32"`` o ``"mixed_bfloat16"``
            (``--precision``); la salida del modelo es siempre float32.
        seed: semilla (``--semilla``).
        run_dir: carpeta de resultados (``--salida``; ``None``:
            ``pesos/ventas_<variante>[_blog]``).
        date_column: nombre o posición de la columna de fecha del CSV
            (``--columna-fecha``).
        value_column: nombre o posición de la columna de valor (``--columna-valor``).
    """

    TASK = "pronostico"
    RESOLVED_KEYS = (USED_PRECISION_KEY,)

    csv: Path | None = setting("--csv", None)
    variant: str = setting("--modelo", "st1",
                           choices=SALES_MLP_VARIANTS + tuple(SALES_RNN_MODELS))
    blog_ste: bool = setting("--blog", False)
    steps: int = setting("--retardos", BLOG_STEPS, minimum=1, maximum=MAX_LAGS)
    epochs: int = setting("--epocas", BLOG_EPOCHS, minimum=1)
    validation: int = setting("--dias-validacion", BLOG_VALIDATION, minimum=0)
    batch_size: int = setting("--lote", BLOG_STEPS, minimum=1)
    learning_rate: float = setting("--tasa", LEARNING_RATE, above=0.0,
                                   maximum=MAX_LEARNING_RATE)
    patience: int | None = setting("--paciencia", None, minimum=1, zero_is_none=True)
    minutes: float | None = setting("--minutos", None, above=0.0)
    precision: str = setting("--precision", DEFAULT_TRAINING_PRECISION,
                             choices=TRAINING_PRECISIONS)
    seed: int = setting("--semilla", 0, minimum=0)
    run_dir: Path | None = setting("--salida", None)
    date_column: str | int | None = setting("--columna-fecha", None)
    value_column: str | int | None = setting("--columna-valor", None)

    def check(self) -> None:
        if self.blog_ste and self.variant != "ste":
            raise ArgumentError("SalesConfig: «blog_ste (--blog)» (la variante del blog) solo "
                                f"existe para variant='ste'; variant es {self.variant!r}.")

    def resolved_run_dir(self) -> Path:
        """``run_dir``, o la carpeta por defecto: ``pesos/ventas_<variante>[_blog]``."""
        if self.run_dir is not None:
            return self.run_dir
        return Path("pesos") / f"ventas_{self.variant}{'_blog' if self.blog_ste else ''}"
