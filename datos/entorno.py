"""Importación silenciosa de TensorFlow.

TensorFlow 2.21 escribe en el descriptor 2 (desde C++) mensajes de arranque como
«oneDNN custom operations are on» *antes* de leer ``TF_CPP_MIN_LOG_LEVEL``, así que
la variable de entorno no basta (sí sirve, a nivel 3, para lo que TensorFlow escribe
después, como «failed call to cuInit» en una máquina sin GPU). Durante el
``import tensorflow`` redirigimos el descriptor 2 a un archivo temporal y al terminar
reescribimos en stderr todo lo que no sea ese ruido conocido: un error real de
importación nunca se pierde.

Con ``REDES_VERBOSO=1`` (lo pone ``redes --verbose``) no se filtra nada.

Con ``REDES_CPUS_LOGICOS=N`` (N ≥ 2) la CPU se divide en N dispositivos lógicos
justo tras importar, antes de que TensorFlow los inicialice: así
``tf.distribute.MirroredStrategy`` tiene N réplicas en una máquina sin GPU (pruebas
y demostraciones de ``--estrategia mirrored``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile

_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog"
    r"|[IWE]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\]"
    r"|To enable the following instructions:"
    r"|.*rebuild TensorFlow with the appropriate compiler flags)"
)
_done = False


def verbose() -> bool:
    """Indica si el usuario pidió ver los mensajes internos de TensorFlow."""
    return os.environ.get("REDES_VERBOSO", "") not in ("", "0")


@contextlib.contextmanager
def _filtered_fd2():
    """Redirige el descriptor 2 a un temporal y reescribe lo que no sea ruido."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            for line in tmp.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not _NOISE.match(line):
                    print(line, file=sys.stderr)


def import_tensorflow():
    """Importa TensorFlow una vez, sin el ruido de arranque salvo en modo verboso.

    Returns:
        El módulo ``tensorflow``.
    """
    global _done
    if _done:
        import tensorflow as tf

        return tf
    if verbose():
        import tensorflow as tf

        _done = True
        _split_cpu(tf)
        return tf
    # 3 oculta también los «E» de C++ que no son fallos (p. ej. «failed call to
    # cuInit» en máquinas sin GPU); los errores reales llegan como excepciones.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _filtered_fd2():
        import tensorflow as tf
    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    _done = True
    _split_cpu(tf)
    return tf


def _split_cpu(tf) -> None:
    """Aplica ``REDES_CPUS_LOGICOS`` (ver la cabecera del módulo)."""
    value = os.environ.get("REDES_CPUS_LOGICOS", "")
    if not value:
        return
    if not value.isdigit() or int(value) < 1:
        from datos.errores import EnvironmentSetupError

        raise EnvironmentSetupError(
            f"REDES_CPUS_LOGICOS debe ser un entero ≥ 1; vale «{value}»."
        )
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(int(value))]
    )
