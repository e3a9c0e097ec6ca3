"""Intervalos de predicción calibrados y las cifras con que se miden.

Los cuantiles de la red (:mod:`modelos.ventas.cuantiles`) se calibran con **predicción
conformal** (CQR normalizada; Romano et al., 2019) en una ventana apartada que la red no
vio al entrenar: en cada punto de esa ventana, la puntuación es cuánto se sale el valor
real del intervalo, en anchuras del intervalo,
``s = max(inferior - real, real - superior) / (superior - inferior)``, y el factor del
nivel ``L`` es el cuantil ``⌈(n + 1)·L/100⌉ / n`` de las ``n`` puntuaciones. Al pronosticar
cada intervalo se ensancha (o se estrecha, si el factor es negativo) ese factor por su
anchura. Si los puntos fueran intercambiables, la cobertura sería al menos la nominal.

Las cifras: cobertura empírica (fracción de valores reales dentro del intervalo),
anchura media, MAE y MASE (el MAE dividido por el del ingenuo estacional de un paso,
``t-7``, en los días de entrenamiento de cada serie; Hyndman y Koehler, 2006).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Estacionalidad del ingenuo estacional (semanal).
SEASON = 7


def conformal_factors(target: np.ndarray, predicted: np.ndarray,
                      levels: Sequence[int]) -> dict[int, float]:
    """El factor conformal de cada nivel.

    Args:
        target: ``(N, H)`` valores reales (en la escala de cada serie).
        predicted: ``(N, H, 1 + 2·niveles)`` salida de la red (mediana, extremos...).
        levels: niveles en orden creciente (los de la red).

    Returns:
        ``{nivel: factor}`` (en anchuras del intervalo).
    """
    factors = {}
    for k, level in enumerate(levels):
        lower, upper = predicted[..., 1 + 2 * k], predicted[..., 2 + 2 * k]
        width = np.maximum(upper - lower, 1e-6)
        scores = np.maximum(lower - target, target - upper).reshape(-1) / width.reshape(-1)
        n = scores.size
        rank = min(1.0, math.ceil((n + 1) * level / 100.0) / n)
        factors[level] = float(np.quantile(scores, rank, method="higher"))
    return factors


def apply_factors(predicted: np.ndarray, levels: Sequence[int],
                  factors: dict[int, float]) -> np.ndarray:
    """Ensancha cada intervalo su factor por su anchura (sin cruzar la mediana)."""
    out = np.array(predicted, dtype=np.float64, copy=True)
    center = out[..., 0]
    for k, level in enumerate(levels):
        lower, upper = out[..., 1 + 2 * k].copy(), out[..., 2 + 2 * k].copy()
        margin = factors.get(level, 0.0) * np.maximum(upper - lower, 0.0)
        out[..., 1 + 2 * k] = np.minimum(lower - margin, center)
        out[..., 2 + 2 * k] = np.maximum(upper + margin, center)
    # Un nivel mayor nunca queda dentro de uno menor tras calibrar.
    for k in range(1, len(levels)):
        out[..., 1 + 2 * k] = np.minimum(out[..., 1 + 2 * k], out[..., 2 * k - 1])
        out[..., 2 + 2 * k] = np.maximum(out[..., 2 + 2 * k], out[..., 2 * k])
    return out


def interval_report(real: np.ndarray, predicted: np.ndarray,
                    levels: Sequence[int]) -> dict[str, float]:
    """Cobertura empírica (en %) y anchura media (en unidades) de cada nivel.

    Args:
        real: ``(N, H)`` en unidades; predicted: ``(N, H, 1 + 2·niveles)`` en unidades.
    """
    report = {}
    for k, level in enumerate(levels):
        lower, upper = predicted[..., 1 + 2 * k], predicted[..., 2 + 2 * k]
        inside = (real >= lower) & (real <= upper)
        report[f"cobertura_{level}"] = round(100.0 * float(np.mean(inside)), 2)
        report[f"anchura_{level}"] = float(np.mean(upper - lower))
    return report


def seasonal_naive(history: np.ndarray, horizon: int) -> np.ndarray:
    """El ingenuo estacional: repite la última semana de ``history`` durante ``horizon`` días."""
    last = np.asarray(history, dtype=np.float64)[-SEASON:]
    return np.resize(last, horizon) if len(last) == SEASON else np.full(horizon, last[-1])


def naive_scale(history: np.ndarray) -> float:
    """El MAE del ingenuo estacional de un paso (``y_t - y_{t-7}``) en ``history``: el
    denominador del MASE (``nan`` si no hay con qué medirlo o vale 0)."""
    values = np.asarray(history, dtype=np.float64)
    if len(values) <= SEASON:
        return math.nan
    scale = float(np.mean(np.abs(values[SEASON:] - values[:-SEASON])))
    return scale if scale > 0 else math.nan


def mase(real: np.ndarray, forecast: np.ndarray, scales: np.ndarray) -> float:
    """MASE medio de las series (una fila por serie); las de escala ``nan`` no cuentan."""
    errors = np.mean(np.abs(np.asarray(real) - np.asarray(forecast)), axis=-1)
    ratio = errors / np.asarray(scales)
    valid = np.isfinite(ratio)
    return float(np.mean(ratio[valid])) if valid.any() else math.nan
