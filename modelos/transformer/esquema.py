"""La tasa de aprendizaje con calentamiento del artículo (sección 5.3).

``lrate = d_model^-0.5 · min(paso^-0.5, paso · warmup_steps^-1.5)``: crece linealmente
durante ``warmup_steps`` pasos y después decae como la inversa de la raíz del paso.

Referencia:
    Vaswani et al. (2017), «Attention is all you need», ecuación (3).
"""

from __future__ import annotations

from nucleo.keras_listo import keras
from nucleo.keras_listo import ops

from nucleo.validacion import check_int, check_number


@keras.saving.register_keras_serializable(package="redes")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``d_model^-0.5 · min(paso^-0.5, paso · warmup^-1.5) · factor`` (el paso empieza en 1).

    Args:
        d_model: dimensión del modelo (512 en el artículo).
        warmup_steps: pasos de calentamiento (4000 en el artículo).
        factor: multiplicador opcional (1.0 en el artículo).

    Example:
        >>> esquema = WarmupSchedule(512, 4000)
        >>> round(float(esquema(3999)), 6)  # el máximo, en el paso 4000
        0.000699
    """

    def __init__(self, d_model: int = 512, warmup_steps: int = 4000, factor: float = 1.0):
        self.d_model = check_int(d_model, "d_model", where="WarmupSchedule")
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", where="WarmupSchedule")
        self.factor = check_number(factor, "factor", minimum=0.0, maximum=1e6,
                                   where="WarmupSchedule")

    def __call__(self, step):
        # Los optimizadores de Keras cuentan iteraciones desde 0; el artículo, pasos desde 1.
        step = ops.cast(step, "float32") + 1.0
        warmup = ops.cast(self.warmup_steps, "float32")
        rate = ops.minimum(ops.rsqrt(step), step * warmup ** -1.5)
        return self.factor * self.d_model ** -0.5 * rate

    @property
    def peak(self) -> float:
        """La tasa máxima, la del paso ``warmup_steps``: ``factor · (d_model · warmup)^-0.5``."""
        return self.factor * (self.d_model * self.warmup_steps) ** -0.5

    @classmethod
    def with_peak(cls, d_model: int, warmup_steps: int, peak: float) -> WarmupSchedule:
        """El esquema del artículo escalado para que su máximo (en el paso ``warmup_steps``)
        sea ``peak``: la misma forma, calentamiento lineal y caída con la raíz del paso.

        Raises:
            ArgumentError: ``peak`` no es un número > 0 y ≤ 10.
        """
        peak = check_number(peak, "peak", minimum=0.0, maximum=10.0, include_minimum=False,
                            where="WarmupSchedule.with_peak")
        schedule = cls(d_model, warmup_steps)
        return cls(d_model, warmup_steps, peak * (schedule.d_model * schedule.warmup_steps) ** 0.5)

    def get_config(self):
        return {"d_model": self.d_model, "warmup_steps": self.warmup_steps, "factor": self.factor}
