"""Los tres perceptrones de series temporales del blog: ST1, STMV y STE.

Todos reciben los ``steps`` retardos ya escalados a [-1, 1] y predicen el valor
escalado del día siguiente con una salida ``tanh``; se compilan como el blog: pérdida
MAE, Adam y MSE como métrica.

=========  =====================================================  ==================
variante   entrada                                                forma de la entrada
=========  =====================================================  ==================
``st1``    los 7 retardos (como el blog, con forma (1, 7))        ``(1, steps)``
``stmv``   retardos + día de la semana + mes, como números        ``(steps + 2,)``
``ste``    retardos + embeddings del día (2) y del mes (4)        ``(steps + 2,)``
=========  =====================================================  ==================

En ``stmv`` y ``ste`` las dos últimas columnas son el día de la semana (0–6) y el mes
(1–12) del día objetivo, sin escalar: el modelo los convierte dentro del grafo (así
el mismo vector sirve para las dos variantes y no hay nada que guardar aparte).
:func:`datos.ventas.sales_inputs` construye esa entrada a partir de la tabla supervisada.

El cuaderno del blog declaraba en STE la entrada de retardos pero no la conectaba: el
modelo solo veía el calendario. ``build_sales_mlp("ste", blog_ste=True)`` reproduce esa
variante (ignora las columnas de retardos) para poder compararla; la nuestra las usa.

Referencia: «Pronóstico de Series Temporales con Redes Neuronales en Python» (ST1) y
«Pronóstico de Ventas con Redes Neuronales – Parte 2» (STMV y STE), Aprende Machine
Learning.
"""

from __future__ import annotations

from typing import Any


from nucleo.keras_listo import keras
from nucleo.keras_listo import layers
from nucleo.keras_listo import ops

from nucleo.errores import ArgumentError
from nucleo.validacion import check_int, check_number
from modelos.compilado import build_optimizer
from modelos.registro import register_builder

from nucleo.vocabulario import MAX_LAGS as MAX_STEPS
from nucleo.vocabulario import SALES_MLP_VARIANTS as VARIANTS

# Límites de los argumentos (con MAX_STEPS, los retardos): un archivo manipulado
# (``hidden_units=10**12``) no puede pedir memoria sin medida al reconstruirse. Cubren de
# sobra lo que se usa (7 a 28 retardos, capas de 7 a 32 neuronas, embeddings de 2 y 4).
MAX_HIDDEN_UNITS = 4096
MAX_EMBEDDING = 256
# Profundidad de los embeddings del blog: 2 para los 7 días, 4 para los 12 meses.
DAY_EMBEDDING = 2
MONTH_EMBEDDING = 4


def calendar_columns(inputs, steps: int):
    """Separa ``(B, steps + 2)`` en retardos ``(B, steps)``, día ``(B, 1)`` y mes ``(B, 1)``."""
    return inputs[:, :steps], inputs[:, steps:steps + 1], inputs[:, steps + 1:steps + 2]


@register_builder("ventas")
def build_sales_mlp(
    variant: str = "st1",
    steps: int = 7,
    *,
    hidden_units: int | None = None,
    day_embedding: int = DAY_EMBEDDING,
    month_embedding: int = MONTH_EMBEDDING,
    blog_ste: bool = False,
    l2: float = 0.0,
    dropout: float = 0.0,
    learning_rate: float = 1e-3,
    compile: bool = True,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
) -> keras.Model:
    """Perceptrón de pronóstico de ventas del blog, en una de sus tres variantes.

    - ``st1``: ``Dense(steps, tanh)`` sobre la entrada ``(1, steps)`` → ``Flatten`` →
      ``Dense(1, tanh)``; 64 parámetros con ``steps=7``, como el blog.
    - ``stmv``: retardos + día (0–6 → [-1, 1]) + mes (1–12 → [-1, 1]) como números →
      ``Dense(steps, tanh)`` → ``Dense(1, tanh)``.
    - ``ste``: ``Embedding(7, 2)`` del día y ``Embedding(12, 4)`` del mes concatenados
      con los retardos → ``Dense(steps, tanh)`` → ``Dense(1, tanh)``. Con
      ``blog_ste=True``, los retardos no se conectan (el modelo del cuaderno del blog).

    Args:
        variant: ``"st1"``, ``"stmv"`` o ``"ste"``.
        steps: retardos de entrada (``PASOS = 7`` en el blog; hasta :data:`MAX_STEPS`).
        hidden_units: neuronas de la capa oculta (por defecto ``steps``, como el blog;
            hasta :data:`MAX_HIDDEN_UNITS`).
        day_embedding: profundidad del embedding del día de la semana (``ste``; hasta
            :data:`MAX_EMBEDDING`).
        month_embedding: profundidad del embedding del mes (``ste``; hasta
            :data:`MAX_EMBEDDING`).
        blog_ste: en ``ste``, reproducir el modelo del blog sin la entrada de retardos.
        l2: penalización L2 de los pesos de la capa oculta (0: ninguna, como el blog).
        dropout: fracción de *dropout* tras la capa oculta (0: ninguno, como el blog).
        learning_rate: tasa de Adam (la de Keras por defecto, 1e-3, como el blog).
        compile: compilar con MAE, Adam y MSE como el blog.
        optimizer: sustituye al optimizador.
        loss: sustituye a la pérdida.
        metrics: sustituye a las métricas.

    Returns:
        ``keras.Model`` de salida ``(None, 1)`` (valor escalado del día objetivo).

    Raises:
        ArgumentError: variante desconocida o argumentos no válidos.

    Example:
        >>> build_sales_mlp("st1").count_params()
        64
    """
    where = "build_sales_mlp"
    if variant not in VARIANTS:
        raise ArgumentError(
            f"{where}: «variant» debe ser uno de {', '.join(VARIANTS)}; recibido {variant!r}."
        )
    steps = check_int(steps, "steps", maximum=MAX_STEPS, where=where)
    hidden = check_int(steps if hidden_units is None else hidden_units, "hidden_units",
                       maximum=MAX_HIDDEN_UNITS, where=where)
    check_int(day_embedding, "day_embedding", maximum=MAX_EMBEDDING, where=where)
    check_int(month_embedding, "month_embedding", maximum=MAX_EMBEDDING, where=where)
    check_number(learning_rate, "learning_rate", minimum=0.0, maximum=10.0, where=where)
    check_number(l2, "l2", minimum=0.0, maximum=1.0, where=where)
    check_number(dropout, "dropout", minimum=0.0, maximum=1.0, include_maximum=False,
                 where=where)
    if not isinstance(blog_ste, bool):
        raise ArgumentError(f"{where}: «blog_ste» debe ser True o False; recibido {blog_ste!r}.")
    if blog_ste and variant != "ste":
        raise ArgumentError(f"{where}: «blog_ste» solo tiene sentido con variant='ste'.")

    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    if variant == "st1":
        # El blog da a cada ejemplo la forma (1, PASOS): de ahí el Flatten.
        inputs = keras.Input(shape=(1, steps), name="retardos")
        x = layers.Dense(hidden, activation="tanh", name="oculta",
                         kernel_regularizer=regularizer)(inputs)  # (B, 1, hidden)
        x = layers.Flatten(name="aplanado")(x)  # (B, hidden)
    else:
        inputs = keras.Input(shape=(steps + 2,), name="retardos_calendario")
        lags, day, month = calendar_columns(inputs, steps)
        if variant == "stmv":
            # Números en [-1, 1] con rangos fijos (0–6 y 1–12): nada que ajustar ni guardar.
            day_value = ops.subtract(ops.divide(day, 3.0), 1.0)
            month_value = ops.subtract(ops.divide(ops.subtract(month, 1.0), 5.5), 1.0)
            x = layers.Concatenate(name="entrada")([lags, day_value, month_value])
        else:
            parts = calendar_embeddings(day, month, day_embedding, month_embedding)
            if not blog_ste:
                parts.append(lags)
            x = layers.Concatenate(name="entrada")(parts)  # (B, 6) o (B, 6 + steps)
        x = layers.Dense(hidden, activation="tanh", name="oculta",
                         kernel_regularizer=regularizer)(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(1, activation="tanh", dtype="float32", name="salida")(x)

    name = f"ventas_{variant}" + ("_blog" if blog_ste else "")
    model = keras.Model(inputs, outputs, name=name)
    if compile:
        compile_like_blog(model, learning_rate, optimizer, loss, metrics)
    return model


def calendar_embeddings(day, month, day_embedding: int = DAY_EMBEDDING,
                        month_embedding: int = MONTH_EMBEDDING) -> list:
    """Los embeddings de la STE: día de la semana (0–6) → ``(B, 2)`` y mes (1–12) → ``(B, 4)``.

    Args:
        day: ``(B, 1)`` día de la semana, sin escalar.
        month: ``(B, 1)`` mes, sin escalar.

    Returns:
        ``[día (B, day_embedding), mes (B, month_embedding)]``, capas ``dia`` y ``mes``.
    """
    day_vector = layers.Embedding(7, day_embedding, name="embedding_dia")(day)  # (B, 1, 2)
    month_vector = layers.Embedding(12, month_embedding, name="embedding_mes")(
        ops.subtract(month, 1.0))  # (B, 1, 4); mes 1–12 → índice 0–11
    return [layers.Flatten(name="dia")(day_vector), layers.Flatten(name="mes")(month_vector)]


def compile_like_blog(model, learning_rate: float, optimizer=None, loss=None,
                      metrics=None) -> None:
    """Compila como los perceptrones del blog: pérdida MAE, Adam y MSE como métrica
    (cada argumento que no es ``None`` sustituye al del blog)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate) if optimizer is None else optimizer,
        loss="mean_absolute_error" if loss is None else loss,
        metrics=["mse"] if metrics is None else metrics,
    )
    build_optimizer(model)


def input_shape(variant: str, steps: int) -> tuple[int, ...]:
    """Forma de un ejemplo de entrada de ``variant`` (sin el lote)."""
    return (1, steps) if variant == "st1" else (steps + 2,)

