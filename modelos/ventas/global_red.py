"""El modelo global de muchas series: una sola red para todas, con embeddings por serie.

Es la STE del blog llevada a muchas series y a varios días de una vez: por cada serie y
día de origen recibe los ``steps`` días anteriores (escalados con la escala de su serie),
las covariables, el calendario de cada día del horizonte, el índice de la serie (y de
cada nivel de la jerarquía: tienda, producto) y el logaritmo de su escala, y devuelve
los ``horizon`` días siguientes de una vez (salida múltiple), cada uno con su mediana y
los extremos de cada intervalo (:mod:`modelos.ventas.cuantiles`).

Salida múltiple y no recursiva, por lo medido con una primera versión de
``bench/ventas_multiples.py`` (60 series
× 500 días sintéticas, horizonte 28, la misma red, 10 épocas y semilla; CPU AMD EPYC Zen 3
compartida de 2 núcleos): la recursiva (horizonte 1, cada mediana vuelve como retardo)
da un MASE de validación un 4 % peor (0.690 frente a 0.666; el ingenuo estacional, 1.129)
y necesita 28 llamadas a la red por pronóstico en lugar de una. Además no puede usar
covariables pasadas en los días futuros (no se conocen) y sus cuantiles no se encadenan
sin simular trayectorias; la salida múltiple da los intervalos de cada día directamente.

Toda la entrada va en un solo vector ``float32`` (como la STE: un solo tensor sirve a los
motores exportados); :class:`GlobalLayout` dice dónde va cada parte y :func:`pack_inputs`
lo monta desde numpy. Dentro del grafo, los índices se recortan a su vocabulario: una
entrada fuera de rango nunca rompe el motor.

La red: los retardos se dividen por su media (la escala de la ventana, como DeepAR) y la
salida se multiplica por ella; un contexto de la ventana (``cell``) y la salida, suma de
tres partes: una capa densa desde el contexto, un atajo lineal desde los retardos y una
capa con los mismos pesos para cada día (su día de la semana, su mes, sus covariables).

=========  =====================================================================
``cell``   contexto
=========  =====================================================================
``ste``    retardos, covariables y embeddings concatenados → 2 × Dense(relu)
``lstm``   los ``steps`` días (valor + covariables) → LSTM; + embeddings → 2 × Dense
``gru``    lo mismo con GRU
=========  =====================================================================

Referencia: «Pronóstico de Ventas con Redes Neuronales – Parte 2» (la STE), Aprende
Machine Learning; Salinas et al. (2020), DeepAR (modelo global con escala por serie);
Wen et al. (2017), MQ-RNN (cuantiles de varios días de una vez).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from nucleo.keras_listo import keras
from nucleo.keras_listo import layers
from nucleo.keras_listo import ops

from nucleo.errores import ArgumentError
from nucleo.validacion import check_int, check_number
from nucleo.vocabulario import MAX_HORIZON
from nucleo.vocabulario import SALES_GLOBAL_MODELS as CELLS
from modelos.compilado import build_optimizer
from modelos.registro import register_builder
from modelos.ventas.cuantiles import PinballLoss
from modelos.ventas.cuantiles import check_levels
from modelos.ventas.cuantiles import quantiles_for
from modelos.ventas.mlp import MAX_EMBEDDING
from modelos.ventas.mlp import MAX_HIDDEN_UNITS
from modelos.ventas.mlp import MAX_STEPS

#: Series (y valores de un nivel de la jerarquía) como máximo.
MAX_SERIES = 1_000_000
#: Covariables y niveles de jerarquía como máximo.
MAX_COLUMNS = 64
#: Unidades ocultas por defecto.
HIDDEN_UNITS = 64


@dataclasses.dataclass(frozen=True)
class GlobalLayout:
    """Dónde va cada parte en el vector de entrada del modelo global (sin el lote).

    Partes, en orden: ``steps`` retardos escalados; ``steps × n_past`` covariables pasadas
    (día a día); ``(steps + horizon) × n_future`` covariables futuras (de los retardos y
    del horizonte); ``horizon`` días de la semana (0–6) y ``horizon`` meses (0–11) de los
    días pronosticados; el índice de la serie y de cada nivel de la jerarquía; el
    logaritmo de la escala de la serie.
    """

    steps: int
    horizon: int
    n_future: int = 0
    n_past: int = 0
    n_levels: int = 0

    def sizes(self) -> dict[str, int]:
        """Tamaño de cada parte, en el orden del vector."""
        return {"retardos": self.steps, "pasadas": self.steps * self.n_past,
                "futuras": (self.steps + self.horizon) * self.n_future,
                "dia": self.horizon, "mes": self.horizon, "ids": 1 + self.n_levels,
                "escala": 1}

    def slices(self) -> dict[str, tuple[int, int]]:
        """``parte → (inicio, fin)``."""
        out, start = {}, 0
        for name, size in self.sizes().items():
            out[name] = (start, start + size)
            start += size
        return out

    @property
    def width(self) -> int:
        return sum(self.sizes().values())


def pack_inputs(layout: GlobalLayout, lags, past, future, weekday, month, ids,
                log_scale) -> np.ndarray:
    """Monta el vector de entrada ``(N, layout.width)`` (``float32``).

    Args:
        lags: ``(N, steps)``; past: ``(N, steps, n_past)``; future:
            ``(N, steps + horizon, n_future)``; weekday, month: ``(N, horizon)`` (0–6,
            0–11); ids: ``(N, 1 + n_levels)``; log_scale: ``(N,)``.
    """
    n = len(lags)
    parts = [np.asarray(lags).reshape(n, -1), np.asarray(past).reshape(n, -1),
             np.asarray(future).reshape(n, -1), np.asarray(weekday).reshape(n, -1),
             np.asarray(month).reshape(n, -1), np.asarray(ids).reshape(n, -1),
             np.asarray(log_scale).reshape(n, 1)]
    packed = np.concatenate(parts, axis=1).astype(np.float32)
    if packed.shape[1] != layout.width:
        raise ArgumentError(f"pack_inputs: la entrada tiene {packed.shape[1]} columnas y el "
                            f"modelo espera {layout.width} ({layout.sizes()}).")
    return packed


def _check(where: str, n_series, steps, horizon, hierarchy, n_future, n_past, cell,
           sizes: dict[str, Any], dropout, learning_rate) -> tuple[int, ...]:
    check_int(n_series, "n_series", maximum=MAX_SERIES, where=where)
    check_int(steps, "steps", maximum=MAX_STEPS, where=where)
    check_int(horizon, "horizon", maximum=MAX_HORIZON, where=where)
    check_int(n_future, "n_future", minimum=0, maximum=MAX_COLUMNS, where=where)
    check_int(n_past, "n_past", minimum=0, maximum=MAX_COLUMNS, where=where)
    if cell not in CELLS:
        raise ArgumentError(f"{where}: «cell» debe ser uno de {', '.join(CELLS)}; recibido "
                            f"{cell!r}.")
    if isinstance(hierarchy, (str, bytes)) or not isinstance(hierarchy, (list, tuple)) \
            or len(hierarchy) > MAX_COLUMNS:
        raise ArgumentError(f"{where}: «hierarchy» debe ser una lista con el número de valores "
                            f"de cada nivel (p. ej. [3, 4]); recibido {hierarchy!r}.")
    for size in hierarchy:
        check_int(size, "hierarchy", maximum=MAX_SERIES, where=where)
    for name in ("hidden_units", "decoder_units"):
        check_int(sizes[name], name, maximum=MAX_HIDDEN_UNITS, where=where)
    for name in ("series_embedding", "hierarchy_embedding", "day_embedding", "month_embedding"):
        check_int(sizes[name], name, maximum=MAX_EMBEDDING, where=where)
    check_number(dropout, "dropout", minimum=0.0, maximum=1.0, include_maximum=False,
                 where=where)
    check_number(learning_rate, "learning_rate", minimum=0.0, maximum=10.0, where=where)
    return tuple(int(size) for size in hierarchy)


def _embedded(part, size: int, dim: int, name: str):
    """``Embedding(size, dim)`` de los índices ``part`` (recortados), aplanado."""
    index = ops.clip(part, 0.0, float(size - 1))
    return layers.Flatten(name=f"{name}_plano")(layers.Embedding(size, dim, name=name)(index))


@register_builder("ventas_global")
def build_sales_global(
    n_series: int = 1,
    steps: int = 28,
    horizon: int = 28,
    *,
    hierarchy: list[int] | tuple[int, ...] = (),
    n_future: int = 0,
    n_past: int = 0,
    levels: list[int] | tuple[int, ...] = (),
    cell: str = "ste",
    hidden_units: int = HIDDEN_UNITS,
    series_embedding: int = 8,
    hierarchy_embedding: int = 4,
    day_embedding: int = 2,
    month_embedding: int = 4,
    decoder_units: int = 16,
    dropout: float = 0.2,
    learning_rate: float = 1e-3,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """Red global de ventas: muchas series, ``horizon`` días de una vez, con cuantiles.

    Args:
        n_series: series distintas (filas del embedding de la serie).
        steps: días anteriores que ve (retardos; hasta :data:`~modelos.ventas.mlp.MAX_STEPS`).
        horizon: días que pronostica de una vez (hasta :data:`~nucleo.vocabulario.MAX_HORIZON`).
        hierarchy: valores distintos de cada columna de la serie cuando hay varias
            (``[tiendas, productos]``): un embedding por nivel, además del de la serie.
        n_future: covariables conocidas de antemano (en los retardos y en el horizonte).
        n_past: covariables conocidas solo hasta el último día (en los retardos).
        levels: niveles de los intervalos en % (``[80, 95]``); ``[]``: solo la mediana.
        cell: ``"ste"`` (perceptrón), ``"lstm"`` o ``"gru"``.
        hidden_units: neuronas de las capas ocultas (y unidades de la celda recurrente).
        series_embedding: profundidad del embedding de la serie.
        hierarchy_embedding: profundidad del embedding de cada nivel de la jerarquía.
        day_embedding: profundidad del embedding del día de la semana (2, como la STE).
        month_embedding: profundidad del embedding del mes (4, como la STE).
        decoder_units: neuronas de la capa de cada día del horizonte (la misma para todos).
        dropout: *dropout* tras cada capa oculta del contexto (0.2: con pocas series, sin
            él la red memoriza y sus intervalos salen estrechos fuera de la muestra).
        learning_rate: tasa de Adam.
        compile: compilar con Adam y la :class:`~modelos.ventas.cuantiles.PinballLoss`.
        optimizer: sustituye al optimizador.
        loss: sustituye a la pérdida.
        metrics: métricas (por defecto ninguna).

    Returns:
        ``keras.Model`` de entrada ``(None, GlobalLayout.width)`` y salida
        ``(None, horizon, 1 + 2 · len(levels))`` en la escala de cada serie, con los
        cuantiles en orden (nunca se cruzan).

    Example:
        >>> build_sales_global(10, steps=7, horizon=3, levels=[80]).output_shape
        (None, 3, 3)
    """
    where = "build_sales_global"
    sizes = {"hidden_units": hidden_units, "series_embedding": series_embedding,
             "hierarchy_embedding": hierarchy_embedding, "day_embedding": day_embedding,
             "month_embedding": month_embedding, "decoder_units": decoder_units}
    hierarchy = _check(where, n_series, steps, horizon, hierarchy, n_future, n_past, cell,
                       sizes, dropout, learning_rate)
    levels = check_levels(levels, where=where)
    layout = GlobalLayout(steps, horizon, n_future, n_past, len(hierarchy))
    steps, horizon = layout.steps, layout.horizon
    inputs = keras.Input(shape=(layout.width,), name="entrada_global")
    part = {name: inputs[:, a:b] for name, (a, b) in layout.slices().items() if b > a}

    # === Serie y jerarquía: embeddings, contexto de toda la ventana ===
    context = [_embedded(part["ids"][:, 0:1], n_series, series_embedding, "embedding_serie")]
    context += [_embedded(part["ids"][:, i + 1:i + 2], size, hierarchy_embedding,
                          f"embedding_nivel_{i + 1}") for i, size in enumerate(hierarchy)]
    context.append(part["escala"])
    known = None
    if "futuras" in part:  # (B, steps + horizon, F)
        known = layers.Reshape((steps + horizon, n_future), name="secuencia_futuras")(
            part["futuras"])
    # Escala de la ventana (como DeepAR): la media de |retardos| (+ 0.1, para las ventanas de
    # una serie intermitente sin ventas); la red ve los retardos divididos por ella y su
    # salida se multiplica por ella: un cambio de nivel (tendencia, temporada) no la saca de
    # lo que aprendió.
    level = ops.add(ops.mean(ops.abs(part["retardos"]), axis=1, keepdims=True), 0.1)  # (B, 1)
    part["retardos"] = ops.divide(part["retardos"], level)
    context.append(ops.log(level))
    x = _body(cell, part, layout, known, context, hidden_units, dropout)  # (B, hidden)

    # === Salida: tres sumandos (B, horizon, Q) ===
    quantiles = quantiles_for(levels)
    width = len(quantiles)
    whole = layers.Reshape((horizon, width), name="horizonte")(
        layers.Dense(horizon * width, name="cuantiles")(x))
    # Un atajo lineal de los retardos a la salida (autorregresivo, como DLinear): con pocas
    # series aprende antes el nivel y la semana que las capas ocultas.
    linear = layers.Reshape((horizon, width), name="horizonte_lineal")(
        layers.Dense(horizon * width, name="atajo_lineal")(part["retardos"]))
    local = _decoder(x, part, known, layout, width, day_embedding, month_embedding,
                     decoder_units)
    raw = layers.Add(name="suma")([whole, linear, local])
    outputs = ops.multiply(_ordered_quantiles(raw, len(levels), horizon),
                           ops.expand_dims(level, -1))
    model = keras.Model(inputs, outputs, name=f"ventas_global_{cell}")
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate) if optimizer is None else optimizer,
            loss=PinballLoss(quantiles) if loss is None else loss,
            metrics=[] if metrics is None else metrics)
        build_optimizer(model)
    return model


def _body(cell: str, part: dict, layout: GlobalLayout, known, context: list, hidden: int,
          dropout: float):
    """El contexto ``(B, hidden)`` de la ventana: ``ste`` (todo concatenado, como la STE)
    o una celda recurrente sobre los días de los retardos (valor + covariables)."""
    steps = layout.steps
    if cell == "ste":
        parts = [part[name] for name in ("retardos", "pasadas") if name in part]
        if known is not None:
            parts.append(layers.Flatten(name="futuras_retardos")(known[:, :steps, :]))
        x = layers.Concatenate(name="entrada")(parts + context)
    else:
        sequence = [layers.Reshape((steps, 1), name="secuencia_retardos")(part["retardos"])]
        if "pasadas" in part:
            sequence.append(layers.Reshape((steps, layout.n_past), name="secuencia_pasadas")(
                part["pasadas"]))
        if known is not None:
            sequence.append(known[:, :steps, :])
        joined = (layers.Concatenate(name="secuencia")(sequence) if len(sequence) > 1
                  else sequence[0])                                  # (B, steps, 1 + P + F)
        kind = layers.LSTM if cell == "lstm" else layers.GRU
        state = kind(hidden, name=cell)(joined)
        x = layers.Concatenate(name="estado_contexto")([state, *context])
    for index in (1, 2):
        x = layers.Dense(hidden, activation="relu", name=f"oculta_{index}")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, name=f"dropout_{index}")(x)
    return x


def _decoder(x, part: dict, known, layout: GlobalLayout, width: int, day_embedding: int,
             month_embedding: int, units: int):
    """Lo de cada día del horizonte, con los mismos pesos para todos (como MQ-RNN): el
    contexto, los embeddings de su día de la semana y de su mes (los de la STE) y sus
    covariables futuras → ``Dense(units, relu)`` → ``(B, horizon, Q)``."""
    horizon = layout.horizon
    day = layers.Embedding(7, day_embedding, name="embedding_dia")(
        ops.clip(part["dia"], 0.0, 6.0))                               # (B, H, 2)
    month = layers.Embedding(12, month_embedding, name="embedding_mes")(
        ops.clip(part["mes"], 0.0, 11.0))                              # (B, H, 4)
    daily = [layers.RepeatVector(horizon, name="contexto_por_dia")(
        layers.Dense(units, name="contexto")(x)), day, month]
    if known is not None:
        daily.append(known[:, layout.steps:, :])                       # (B, H, F)
    h = layers.Concatenate(name="entrada_por_dia")(daily)
    h = layers.Dense(units, activation="relu", name="oculta_por_dia")(h)
    return layers.Dense(width, name="cuantiles_por_dia")(h)


def _ordered_quantiles(raw, n_levels: int, horizon: int):
    """``(B, H, 1 + 2k)`` sin cruces: la mediana y, por nivel creciente, extremos que se
    alejan de ella con incrementos ``softplus`` acumulados."""
    if n_levels == 0:
        return raw
    center = raw[:, :, 0:1]
    lower = center - ops.cumsum(ops.softplus(raw[:, :, 1::2]), axis=-1)   # (B, H, k)
    upper = center + ops.cumsum(ops.softplus(raw[:, :, 2::2]), axis=-1)
    pairs = layers.Reshape((horizon, 2 * n_levels), name="extremos")(
        ops.stack([lower, upper], axis=-1))
    return layers.Concatenate(name="salida", dtype="float32")([center, pairs])
