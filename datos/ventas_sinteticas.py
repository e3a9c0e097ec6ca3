"""Muchas series de ventas sintéticas con una estructura conocida (tiendas × productos).

:func:`make_multi_series` genera el formato largo de :mod:`datos.ventas_multiples` con lo
que un modelo global debería aprender:

- estacionalidad **compartida**: la semanal del blog (:data:`datos.ventas.WEEKLY_PATTERN`,
  sin el cierre de los domingos) y una anual suave (pico a finales de junio);
- un nivel por tienda × uno por producto, y una tendencia propia de cada serie;
- ``precio`` (covariable futura): el precio base del producto con rachas de promoción
  (10–30 % más barato); las ventas responden con una elasticidad por producto
  (``(precio / base) ** -elasticidad``);
- ``festivo`` (covariable futura, 0/1): los mismos días para todas las series (fiestas
  fijas y algún día suelto), con ventas ×1.8;
- una parte de las series (``intermittent``) son **intermitentes**: nivel de menos de 2
  unidades al día, así que muchos días venden 0.

Las unidades son ``Poisson(media · ruido lognormal)``. Todo sale de un generador propio
con ``seed``: la misma semilla da los mismos datos.

Ejemplo::

    df, schema = make_multi_series(12, 200, seed=0)
    df.groupby("serie")["unidades"].mean()
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from nucleo.errores import ArgumentError
from nucleo.validacion import check_int, check_number
from datos.ventas import WEEKLY_PATTERN
from datos.ventas_esquema import DATE, KEY, KEY_SEPARATOR, VALUE, SeriesSchema
from datos.ventas_serie import calendar_features, parse_date

#: Multiplicador de las ventas en un festivo.
HOLIDAY_EFFECT = 1.8
#: Fiestas fijas (mes, día): las mismas cada año.
FIXED_HOLIDAYS = ((1, 1), (1, 6), (5, 1), (8, 15), (10, 12), (11, 1), (12, 6), (12, 8),
                  (12, 25))
#: Amplitud relativa de la estacionalidad anual.
YEARLY_AMPLITUDE = 0.2
#: Mayor número de series o de días generados (146 millones de filas ya no caben).
MAX_GENERATED = 100_000


def _shape(n_series: int) -> tuple[int, int]:
    """Tiendas y productos por tienda para ``n_series`` series (12 → 3 × 4, 200 → 10 × 20)."""
    stores = min(10, max(1, round(math.sqrt(n_series))))
    return stores, math.ceil(n_series / stores)


def _holidays(dates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1.0 en las fiestas fijas y en ~1 % de días sueltos; 0.0 en los demás."""
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    fixed = np.zeros(len(dates), dtype=bool)
    for month, day in FIXED_HOLIDAYS:
        fixed |= (months == month) & (days == day)
    return (fixed | (rng.random(len(dates)) < 0.01)).astype(np.float64)


def _prices(base: np.ndarray, days: int, rng: np.random.Generator) -> np.ndarray:
    """``(series, días)``: el precio base con rachas de promoción de 3 a 7 días."""
    discount = np.ones((len(base), days))
    for row in discount:
        starts = np.flatnonzero(rng.random(days) < 0.02)
        for start in starts:
            row[start:start + int(rng.integers(3, 8))] = 1.0 - rng.uniform(0.1, 0.3)
    return np.round(base[:, None] * discount, 2)


def make_multi_series(n_series: int = 200, days: int = 730, seed: int = 0, *,
                      start: str = "2022-01-01", intermittent: float = 0.2,
                      noise: float = 0.1) -> tuple[pd.DataFrame, SeriesSchema]:
    """Ventas diarias sintéticas de ``n_series`` series (tienda × producto), formato largo.

    Args:
        n_series: series (1 a :data:`MAX_GENERATED`); se reparten en hasta 10 tiendas.
        days: días de calendario, todos presentes (1 a :data:`MAX_GENERATED`).
        seed: semilla del generador propio (nunca el global).
        start: primer día (ISO).
        intermittent: fracción de series intermitentes (muchos días a 0).
        noise: desviación del ruido lognormal multiplicativo antes de Poisson.

    Returns:
        ``(df, schema)``: ``df`` con ``serie`` («T01 / P003»), ``fecha``, ``unidades``,
        ``precio`` y ``festivo``, ordenado por (serie, fecha); ``schema`` con
        ``series_columns=("tienda", "producto")`` y las dos covariables futuras.

    Raises:
        ArgumentError: un argumento fuera de rango (lo nombra).
    """
    where = "make_multi_series"
    check_int(n_series, "n_series", maximum=MAX_GENERATED, where=where)
    check_int(days, "days", maximum=MAX_GENERATED, where=where)
    check_int(seed, "seed", minimum=0, where=where)
    check_number(intermittent, "intermittent", minimum=0.0, maximum=1.0, where=where)
    check_number(noise, "noise", minimum=0.0, maximum=2.0, where=where)
    first = parse_date(str(start))
    if first is None:
        raise ArgumentError(f"{where}: «start» debe ser una fecha ISO; recibido {start!r}.")
    rng = np.random.default_rng(seed)
    dates = first + np.arange(days)
    weekday, _ = calendar_features(dates)
    day_of_year = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    weekly = np.asarray(WEEKLY_PATTERN[:6] + (0.8,))[weekday]
    yearly = 1.0 + YEARLY_AMPLITUDE * np.sin(2 * np.pi * (day_of_year - 85) / 365.25)
    holiday = _holidays(dates, rng)

    stores, products = _shape(n_series)
    store_of = np.arange(n_series) // products
    product_of = np.arange(n_series) % products
    store_level = rng.lognormal(0.0, 0.3, stores)[store_of]
    product_level = rng.lognormal(np.log(40.0), 0.5, products)[product_of]
    level = store_level * product_level
    sparse = rng.permutation(n_series)[:round(intermittent * n_series)]
    level[sparse] = rng.uniform(0.2, 1.5, len(sparse))
    trend = 1.0 + rng.uniform(-0.2, 0.4, n_series)[:, None] * (np.arange(days) / 365.25)
    base_price = rng.uniform(1.0, 20.0, products)[product_of]
    elasticity = rng.uniform(1.0, 2.5, products)[product_of]
    price = _prices(base_price, days, rng)

    mean = (level[:, None] * trend * weekly * yearly
            * (price / base_price[:, None]) ** -elasticity[:, None]
            * np.where(holiday > 0, HOLIDAY_EFFECT, 1.0))
    units = rng.poisson(np.maximum(mean, 0.0) * rng.lognormal(0.0, noise, mean.shape))
    keys = np.array([f"T{s + 1:02d}{KEY_SEPARATOR}P{p + 1:03d}"
                     for s, p in zip(store_of, product_of, strict=True)])
    frame = pd.DataFrame({
        KEY: np.repeat(keys, days),
        DATE: np.tile(dates, n_series).astype("datetime64[ns]"),
        VALUE: units.reshape(-1).astype(np.float64),
        "precio": price.reshape(-1),
        "festivo": np.tile(holiday, n_series),
    })
    frame = frame.sort_values([KEY, DATE], kind="stable").reset_index(drop=True)
    return frame, SeriesSchema(("tienda", "producto"), ("precio", "festivo"))
