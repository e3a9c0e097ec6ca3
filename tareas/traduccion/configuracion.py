"""La configuración de :func:`tareas.traduccion.train_numbers` y la de la demo."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from datos.numeros import MAX_NUMBER
from nucleo.vocabulario import ATTENTIONS
from nucleo.vocabulario import DEFAULT_TRAINING_PRECISION
from nucleo.vocabulario import MAX_LEARNING_RATE
from nucleo.vocabulario import TRAINING_PRECISIONS
from nucleo.vocabulario import TRANSLATION_ARCHITECTURES
from tareas.configuracion import USED_PRECISION_KEY
from tareas.configuracion import TrainingConfig
from tareas.configuracion import setting

# El dropout por defecto de cada arquitectura (el de SMALL_MODEL y RNN_MODEL del proyecto).
TRANSFORMER_DROPOUT = 0.1
RNN_DROPOUT = 0.0


@dataclasses.dataclass(frozen=True)
class TranslationConfig(TrainingConfig):
    """La configuración de :func:`~tareas.traduccion.train_numbers`.

    El modelo por defecto es el pequeño de la tarea: 2 + 2 capas, d_model 128 (el
    artículo: 6 + 6 y 512); el seq2seq recurrente, un codificador bidireccional de 128
    por sentido con atención de Bahdanau (en una CPU cada paso recurrente es secuencial:
    más pequeño, más pasos en el mismo tiempo).

    Attributes:
        run_dir: carpeta de la ejecución (``--salida``; ``None``: ``pesos/transformer``,
            o ``pesos/lstm`` / ``pesos/gru``).
        architecture: ``"transformer"``, ``"lstm"`` o ``"gru"`` (``--arquitectura``).
        maximum: los números van de 0 a ``maximum`` (``--maximo``; ≤ 999.999).
        n_train: números de entrenamiento (``--frases-entrenamiento``; ``None``: todos los
            que no son de prueba ni de validación).
        n_validation: números de validación, que eligen el mejor modelo
            (``--frases-validacion``).
        n_test: números de prueba, nunca vistos al entrenar (``--frases-prueba``).
        num_layers, d_model, num_heads, d_ff: el Transformer (``--capas``,
            ``--dmodelo``, ``--cabezas``, ``--dff``).
        units, embed_dim, attention, bidirectional_encoder: el seq2seq recurrente
            (``--unidades``, ``--embedding``, ``--atencion``, ``--bidireccional``).
        dropout: ``None``: 0.1 en el Transformer y 0 en el seq2seq (``--dropout``).
        max_len: longitud máxima de las secuencias del modelo (``--longitud-maxima``;
            ``None``: la de la frase más larga de entrenamiento + 2).
        epochs: épocas como máximo (``--epocas``).
        steps_per_epoch: lotes por época (``--lotes-por-epoca``; ``None``: una pasada).
        batch_size: tamaño de lote (``--lote``).
        warmup_steps: pasos de calentamiento de la tasa (solo el Transformer; el seq2seq
            usa Adam con tasa fija) (``--pasos-calentamiento``).
        learning_rate: la tasa de aprendizaje (``--tasa``). En el seq2seq LSTM/GRU es la
            tasa fija de Adam (``None``: 0.001). En el Transformer es la tasa máxima del
            esquema con calentamiento del artículo, la del paso ``warmup_steps``: el
            esquema se escala sin cambiar su forma (``None``: la del artículo,
            ``(d_model · warmup_steps)^-0.5``, 0.0028 con los valores por defecto).
        patience: parada temprana tras tantas épocas sin mejorar la pérdida de validación
            (o la de entrenamiento si no hay validación) (``--paciencia``; ``None``: todas
            las épocas; siempre se guarda el mejor modelo).
        minutes: tope de tiempo de entrenamiento (``--minutos``; se para al terminar el lote).
        beam_size: haz de la evaluación final (``--haz``; 1 = voraz).
        precision: precisión del entrenamiento (``--precision``).
        seed: semilla de la división, la inicialización y los lotes (``--semilla``).
    """

    TASK = "traduccion"
    RESOLVED_KEYS = (USED_PRECISION_KEY,)

    run_dir: Path | None = setting("--salida", None)
    architecture: str = setting("--arquitectura", "transformer",
                                choices=TRANSLATION_ARCHITECTURES)
    maximum: int = setting("--maximo", MAX_NUMBER, minimum=1, maximum=MAX_NUMBER)
    n_train: int | None = setting("--frases-entrenamiento", 200_000, minimum=1,
                                  zero_is_none=True)
    n_validation: int = setting("--frases-validacion", 500, minimum=0)
    n_test: int = setting("--frases-prueba", 2000, minimum=0)
    num_layers: int = setting("--capas", 2, minimum=1)
    d_model: int = setting("--dmodelo", 128, minimum=1)
    num_heads: int = setting("--cabezas", 4, minimum=1)
    d_ff: int = setting("--dff", 512, minimum=1)
    units: int = setting("--unidades", 128, minimum=1)
    embed_dim: int = setting("--embedding", 64, minimum=1)
    attention: str = setting("--atencion", "bahdanau", choices=ATTENTIONS)
    bidirectional_encoder: bool = setting("--bidireccional", True)
    dropout: float | None = setting("--dropout", None, minimum=0.0, below=1.0)
    max_len: int | None = setting("--longitud-maxima", None, minimum=1)
    epochs: int = setting("--epocas", 30, minimum=1)
    steps_per_epoch: int | None = setting("--lotes-por-epoca", 400, minimum=1,
                                          zero_is_none=True)
    batch_size: int = setting("--lote", 64, minimum=1)
    warmup_steps: int = setting("--pasos-calentamiento", 1000, minimum=1)
    learning_rate: float | None = setting("--tasa", None, above=0.0, maximum=MAX_LEARNING_RATE)
    patience: int | None = setting("--paciencia", None, minimum=1, zero_is_none=True)
    minutes: float | None = setting("--minutos", None, above=0.0)
    beam_size: int = setting("--haz", 1, minimum=1)
    precision: str = setting("--precision", DEFAULT_TRAINING_PRECISION,
                             choices=TRAINING_PRECISIONS)
    seed: int = setting("--semilla", 0, minimum=0)

    @property
    def recurrent(self) -> bool:
        """``True`` con un seq2seq recurrente (``lstm`` o ``gru``)."""
        return self.architecture != "transformer"

    def resolved_run_dir(self) -> Path:
        """``run_dir``, o ``pesos/<arquitectura>``: reanudar un Transformer con una LSTM no
        vale."""
        return self.run_dir if self.run_dir is not None else Path("pesos") / self.architecture

    def model_kwargs(self) -> dict[str, Any]:
        """Los argumentos del constructor que da la configuración (sin vocabularios)."""
        if self.recurrent:
            return {"units": self.units, "embed_dim": self.embed_dim,
                    "bidirectional_encoder": self.bidirectional_encoder,
                    "attention": None if self.attention == "none" else self.attention,
                    "dropout": RNN_DROPOUT if self.dropout is None else self.dropout,
                    "cell": self.architecture, **self._learning_rate("learning_rate")}
        return {"num_layers": self.num_layers, "d_model": self.d_model,
                "num_heads": self.num_heads, "d_ff": self.d_ff,
                "dropout": TRANSFORMER_DROPOUT if self.dropout is None else self.dropout,
                **self._learning_rate("peak_learning_rate")}

    def _learning_rate(self, argument: str) -> dict[str, float]:
        """``--tasa`` como el argumento del constructor que la recibe (nada si no se dio:
        manda el valor por defecto del constructor)."""
        return {} if self.learning_rate is None else {argument: self.learning_rate}


#: La demo: 0..999, un modelo aún menor y épocas cortas (una pasada completa cada una).
DEMO_CONFIG = TranslationConfig(
    maximum=999, n_validation=50, n_test=100, n_train=None, num_layers=1, d_model=64,
    num_heads=4, d_ff=128, dropout=0.0, epochs=40, steps_per_epoch=None, batch_size=32,
    warmup_steps=300)
