"""Las opciones compartidas por la API y la orden ``redes``, definidas una sola vez.

Los valores son identificadores en inglés, como los de Keras (``"float32"``,
``"mirrored"``): la API y la CLI aceptan exactamente los mismos. La ayuda de la CLI
los explica en castellano.
"""

from __future__ import annotations

from nucleo.entorno import native_bfloat16
from nucleo.errores import ArgumentError

#: Políticas de precisión de Keras que admite el entrenamiento; ``"auto"`` elige la más
#: rápida de las otras dos en esta máquina (:func:`resolve_precision`).
PRECISIONS = ("float32", "mixed_bfloat16", "auto")
#: Estrategias de distribución: ninguna o ``tf.distribute.MirroredStrategy``.
STRATEGIES = ("none", "mirrored")
#: Mensaje de ayuda común de ``--precision``.
PRECISION_HELP = ("precisión de cálculo: float32 (por defecto); mixed_bfloat16, más rápida "
                  "en CPU con instrucciones bfloat16 (AVX-512 BF16 o AMX) y en GPU, y mucho "
                  "más lenta en una CPU sin ellas; auto elige la más rápida aquí")

def check_choice(value, name: str, allowed: tuple, *, where: str | None = None):
    """Devuelve ``value`` si está en ``allowed``; si no, un error que nombra ``name``.

    Raises:
        ArgumentError: con los valores posibles y el recibido.
    """
    if value not in allowed:
        shown = ", ".join(repr(option) for option in allowed)
        prefix = f"{where}: " if where else ""
        raise ArgumentError(f"{prefix}«{name}» debe ser uno de {shown}; recibido {value!r}.")
    return value


def check_strategy(value, *, where: str | None = None) -> str:
    """``None`` equivale a ``"none"``; devuelve la estrategia validada."""
    return check_choice("none" if value is None else value, "strategy", STRATEGIES, where=where)


def resolve_precision(precision: str, *, where: str | None = None) -> str:
    """Valida ``precision`` y traduce ``"auto"`` a la política más rápida aquí.

    ``"auto"`` es ``"mixed_bfloat16"`` con una GPU visible o una CPU con bfloat16 nativo
    (:func:`native_bfloat16`), y ``"float32"`` en otro caso.

    Returns:
        ``"float32"`` o ``"mixed_bfloat16"``.
    """
    check_choice(precision, "precision", PRECISIONS, where=where)
    if precision != "auto":
        return precision
    if native_bfloat16():
        return "mixed_bfloat16"
    try:
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return "mixed_bfloat16"
    except ImportError:
        pass
    return "float32"


#: Motores de inferencia: los de ``inferencia.motores.ENGINE_CHOICES``, repetidos aquí para no
#: importar Keras al construir la CLI (una prueba comprueba que coinciden).
ENGINE_CHOICES = ("auto", "keras", "onnx", "openvino", "litert")
#: Mensaje de ayuda común de ``--motor``.
ENGINE_HELP = ("motor de inferencia: keras (por defecto), onnx (ONNX Runtime), openvino, "
               "litert, o auto (el más rápido de los instalados para ese modelo: lo mide la "
               "primera vez y lo recuerda). Con pesos .h5 y otro motor "
               "que keras, la primera vez exporta el modelo a una caché; --pesos admite "
               "también la carpeta de «redes exportar»")
