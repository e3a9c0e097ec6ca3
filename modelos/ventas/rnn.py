"""Pronosticadores de ventas recurrentes: SimpleRNN, GRU y LSTM sobre los retardos.

Reciben exactamente la entrada de la STE (:mod:`modelos.ventas.mlp`): un vector
``(steps + 2,)`` con los ``steps`` retardos escalados a [-1, 1] seguidos del día de la
semana (0–6) y del mes (1–12) del día objetivo, sin escalar. Así
:func:`datos.ventas.sales_inputs`, el entrenamiento, la comparación y el pronóstico
recursivo sirven sin cambios. Dentro del grafo:

- los retardos pasan a ser una secuencia ``(steps, 1)``, un valor por paso, del más
  antiguo ``(t-steps)`` al más reciente ``(t-1)``, que recorre la celda recurrente;
- con ``embeddings=True``, el estado final se concatena con los embeddings del día
  (2) y del mes (4), como la STE concatena esos embeddings con los retardos;
- ``Dense(1, tanh)`` da el valor escalado del día objetivo, y se compila como los
  perceptrones del blog: pérdida MAE, Adam y MSE como métrica.

El nombre de la celda en ``redes pronostico entrenar --modelo`` es ``lstm``, ``gru`` o ``rnn``
(:data:`MODELS`).

Referencia: «Pronóstico de Ventas con Redes Neuronales – Parte 2» (la STE) y la
introducción a Keras (SimpleRNN, GRU, LSTM), Aprende Machine Learning; Hochreiter y
Schmidhuber (1997), «Long Short-Term Memory»; Cho et al. (2014), GRU.
"""

from __future__ import annotations

from typing import Any


from nucleo.keras_listo import keras
from nucleo.keras_listo import layers

from nucleo.errores import ArgumentError
from nucleo.validacion import check_int, check_number
from modelos.registro import register_builder
from modelos.ventas.mlp import DAY_EMBEDDING
from modelos.ventas.mlp import MAX_EMBEDDING
from modelos.ventas.mlp import MAX_HIDDEN_UNITS
from modelos.ventas.mlp import MAX_STEPS
from modelos.ventas.mlp import MONTH_EMBEDDING
from modelos.ventas.mlp import calendar_columns
from modelos.ventas.mlp import calendar_embeddings
from modelos.ventas.mlp import compile_like_blog
from nucleo.vocabulario import SALES_RNN_CELLS as CELLS
# Nombre en ``redes pronostico entrenar --modelo`` → celda de :func:`build_sales_rnn`.
from nucleo.vocabulario import SALES_RNN_MODELS as MODELS


# Unidades por defecto: pocas, como la capa oculta de 7 de la STE (la serie tiene ~570
# filas de entrenamiento); las cifras con otras están en bench/RESULTS.md.
UNITS = 8


def _cell_layer(cell: str, units: int, dropout: float) -> layers.Layer:
    """La capa recurrente de ``cell``, con las activaciones por defecto de Keras."""
    kind = {"lstm": layers.LSTM, "gru": layers.GRU, "simple": layers.SimpleRNN}[cell]
    return kind(units, dropout=dropout, name=cell)


def model_name(cell: str) -> str:
    """El nombre de ``cell`` en ``redes pronostico entrenar --modelo`` (``simple`` → ``rnn``)."""
    return {value: key for key, value in MODELS.items()}[cell]


@register_builder("ventas_rnn")
def build_sales_rnn(
    cell: str = "lstm",
    steps: int = 7,
    *,
    units: int = UNITS,
    embeddings: bool = True,
    bidirectional: bool = False,
    day_embedding: int = DAY_EMBEDDING,
    month_embedding: int = MONTH_EMBEDDING,
    dropout: float = 0.0,
    learning_rate: float = 1e-3,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """Pronosticador recurrente de ventas con la entrada de la STE.

    ``(B, steps + 2)`` → retardos ``(B, steps, 1)`` → ``LSTM``/``GRU``/``SimpleRNN``
    (``units``; envuelta en ``Bidirectional`` si se pide) → ``(B, units)`` [+ embeddings
    del día y del mes] → ``Dense(1, tanh)``.

    Args:
        cell: ``"lstm"``, ``"gru"`` o ``"simple"`` (SimpleRNN).
        steps: retardos, que son los pasos de la secuencia (7 en el blog; hasta
            :data:`~modelos.ventas.mlp.MAX_STEPS`).
        units: unidades de la celda (hasta :data:`~modelos.ventas.mlp.MAX_HIDDEN_UNITS`).
        embeddings: concatenar al estado final los embeddings del día de la semana y del
            mes, como la STE; con ``False`` el modelo solo ve los retardos (las dos
            columnas del calendario se ignoran).
        bidirectional: recorrer la secuencia en los dos sentidos (``Bidirectional``,
            estados concatenados: ``2 · units``).
        day_embedding: profundidad del embedding del día (hasta
            :data:`~modelos.ventas.mlp.MAX_EMBEDDING`).
        month_embedding: profundidad del embedding del mes (hasta
            :data:`~modelos.ventas.mlp.MAX_EMBEDDING`).
        dropout: fracción de *dropout* de la entrada de la celda (0: ninguno).
        learning_rate: tasa de Adam (1e-3, la de Keras por defecto, como el blog).
        compile: compilar con MAE, Adam y MSE como el blog.
        optimizer: sustituye al optimizador.
        loss: sustituye a la pérdida.
        metrics: sustituye a las métricas.

    Returns:
        ``keras.Model`` de entrada ``(None, steps + 2)`` y salida ``(None, 1)``.

    Raises:
        ArgumentError: celda desconocida o argumentos no válidos (los nombra).

    Example:
        >>> build_sales_rnn("gru", units=4, embeddings=False).count_params()
        89
    """
    where = "build_sales_rnn"
    if cell not in CELLS:
        raise ArgumentError(
            f"{where}: «cell» debe ser uno de {', '.join(CELLS)}; recibido {cell!r}."
        )
    steps = check_int(steps, "steps", maximum=MAX_STEPS, where=where)
    units = check_int(units, "units", maximum=MAX_HIDDEN_UNITS, where=where)
    for name, value in (("embeddings", embeddings), ("bidirectional", bidirectional)):
        if not isinstance(value, bool):
            raise ArgumentError(f"{where}: «{name}» debe ser True o False; recibido {value!r}.")
    check_int(day_embedding, "day_embedding", maximum=MAX_EMBEDDING, where=where)
    check_int(month_embedding, "month_embedding", maximum=MAX_EMBEDDING, where=where)
    check_number(dropout, "dropout", minimum=0.0, maximum=1.0, include_maximum=False,
                 where=where)
    check_number(learning_rate, "learning_rate", minimum=0.0, maximum=10.0, where=where)

    # === Entrada: la misma que la STE ===
    inputs = keras.Input(shape=(steps + 2,), name="retardos_calendario")
    lags, day, month = calendar_columns(inputs, steps)  # (B, steps), (B, 1), (B, 1)
    sequence = layers.Reshape((steps, 1), name="secuencia")(lags)  # (B, steps, 1)

    # === Celda recurrente ===
    recurrent = _cell_layer(cell, units, dropout)
    if bidirectional:
        recurrent = layers.Bidirectional(recurrent, name="bidireccional")
    x = recurrent(sequence)  # (B, units) o (B, 2 · units)

    # === Calendario del día objetivo, como la STE ===
    if embeddings:
        x = layers.Concatenate(name="estado_calendario")(
            [x, *calendar_embeddings(day, month, day_embedding, month_embedding)])  # (B, units + 6)
    outputs = layers.Dense(1, activation="tanh", dtype="float32", name="salida")(x)

    name = f"ventas_{model_name(cell)}" + ("_bidireccional" if bidirectional else "")
    model = keras.Model(inputs, outputs, name=name)
    if compile:
        compile_like_blog(model, learning_rate, optimizer, loss, metrics)
    return model
