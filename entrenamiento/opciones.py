"""Las opciones compartidas por la API y la orden ``redes``, definidas una sola vez.

Los valores son identificadores en inglés, como los de Keras (``"float32"``,
``"mirrored"``): la API y la CLI aceptan exactamente los mismos. La ayuda de la CLI
los explica en castellano.
"""

from __future__ import annotations

from datos.errores import ArgumentError

#: Políticas de precisión de Keras que admite el entrenamiento; ``"auto"`` elige la más
#: rápida de las otras dos en esta máquina (:func:`resolve_precision`).
PRECISIONS = ("float32", "mixed_bfloat16", "auto")
#: Estrategias de distribución: ninguna o ``tf.distribute.MirroredStrategy``.
STRATEGIES = ("none", "mirrored")
#: Mensaje de ayuda común de ``--precision``.
PRECISION_HELP = ("precisión de cálculo: float32 (por defecto); mixed_bfloat16, más rápida "
                  "en CPU con instrucciones bfloat16 (AVX-512 BF16 o AMX) y en GPU, y mucho "
                  "más lenta en una CPU sin ellas; auto elige la más rápida aquí")

# Indicadores de /proc/cpuinfo de una CPU que calcula en bfloat16 de forma nativa.
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


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


def native_bfloat16(cpuinfo: str | None = None) -> bool:
    """``True`` si la CPU calcula en bfloat16 de forma nativa (AVX-512 BF16 o AMX).

    Sin esas instrucciones, ``mixed_bfloat16`` se emula y es mucho más lento que
    ``float32``. Lee ``/proc/cpuinfo`` (Linux); en otro sistema devuelve ``False``.

    Args:
        cpuinfo: texto de ``/proc/cpuinfo`` (para las pruebas); ``None`` lo lee.
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
                cpuinfo = handle.read()
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return any(flag in flags for flag in _BF16_FLAGS)
    return False


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
