"""El backend de Keras y la importación silenciosa de TensorFlow.

Keras 3 corre sobre TensorFlow (el predeterminado: el más rápido en CPU), JAX o
PyTorch. :func:`backend_name` dice cuál usará sin importar Keras, :func:`select_backend`
lo elige (como ``KERAS_BACKEND``, antes de importar Keras) y :func:`prepare_backend`,
que llaman los módulos antes de ``import keras``, importa TensorFlow sin ruido solo si
es el backend: con JAX o PyTorch, TensorFlow no se importa.

TensorFlow 2.21 escribe en el descriptor 2 (desde C++) mensajes de arranque como
«oneDNN custom operations are on» *antes* de leer ``TF_CPP_MIN_LOG_LEVEL``, así que
la variable de entorno no basta (sí sirve, a nivel 3, para lo que TensorFlow escribe
después, como «failed call to cuInit» en una máquina sin GPU). Durante el
``import tensorflow`` redirigimos el descriptor 2 a un archivo temporal y al terminar
reescribimos en stderr todo lo que no sea ese ruido conocido: un error real de
importación nunca se pierde.

Con ``REDES_VERBOSO=1`` (lo pone ``redes --verbose``) no se filtra nada.

En una CPU x86 con AVX2 pero sin AVX-512 (p. ej. AMD Zen 3), TensorFlow 2.21 deja
apagadas sus operaciones oneDNN; encendidas (``TF_ENABLE_ONEDNN_OPTS=1``) el paso de
entrenamiento de YOLO tiny va 1,4-1,6 veces más rápido (``bench/RESULTS.md``). Si el
usuario no ha fijado la variable, :func:`import_tensorflow` la enciende en esas CPU
(:func:`onednn_default`); con AVX-512 TensorFlow ya la enciende por sí solo.

Con ``REDES_CPUS_LOGICOS=N`` (N ≥ 2) la CPU se divide en N dispositivos lógicos antes
de que el backend los inicialice (TensorFlow justo tras importarse; JAX con
``XLA_FLAGS=--xla_force_host_platform_device_count=N``, antes de importarse): así
``--dispositivos N`` reparte cada lote entre N dispositivos en una máquina sin GPU
(pruebas y demostraciones).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import re
import sys
import tempfile

from nucleo.vocabulario import BACKEND_EXTRAS
from nucleo.vocabulario import BACKENDS
from nucleo.vocabulario import ENGINE_PRECISIONS
from nucleo.vocabulario import TRAINING_PRECISIONS
from nucleo.vocabulario import check_choice


_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog"
    r"|[IWE]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\]"
    r"|To enable the following instructions:"
    r"|.*rebuild TensorFlow with the appropriate compiler flags)"
)
_done = False
# Indicadores de /proc/cpuinfo de una CPU que calcula en bfloat16 de forma nativa.
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


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


def _cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """Los indicadores de la CPU según ``/proc/cpuinfo`` (vacío si no se puede leer)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
                cpuinfo = handle.read()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[-1].split())
    return set()


def onednn_default(cpuinfo: str | None = None) -> str | None:
    """El valor de ``TF_ENABLE_ONEDNN_OPTS`` que conviene si el usuario no lo fijó.

    ``"1"`` en una CPU con AVX2 y sin AVX-512 (TensorFlow dejaría oneDNN apagado y el
    entrenamiento va 1,4-1,6 veces más lento); ``None`` (lo que decida TensorFlow) en
    las demás.

    Args:
        cpuinfo: texto de ``/proc/cpuinfo`` (para las pruebas); ``None`` lo lee.
    """
    flags = _cpu_flags(cpuinfo)
    if "avx2" in flags and "avx512f" not in flags:
        return "1"
    return None


def apply_onednn_default() -> None:
    """Fija ``TF_ENABLE_ONEDNN_OPTS`` según :func:`onednn_default` si el usuario no lo hizo.

    Solo tiene efecto antes del primer ``import tensorflow`` (lo llama
    :func:`import_tensorflow`; las pruebas, al arrancar).
    """
    if "TF_ENABLE_ONEDNN_OPTS" not in os.environ:
        value = onednn_default()
        if value is not None:
            os.environ["TF_ENABLE_ONEDNN_OPTS"] = value


def import_tensorflow():
    """Importa TensorFlow una vez, sin el ruido de arranque salvo en modo verboso.

    Returns:
        El módulo ``tensorflow``.
    """
    global _done
    if _done:
        import tensorflow as tf

        return tf
    apply_onednn_default()
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


def _logical_cpus() -> int | None:
    """``REDES_CPUS_LOGICOS`` comprobado (ver la cabecera del módulo), o ``None``."""
    value = os.environ.get("REDES_CPUS_LOGICOS", "")
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        from nucleo.errores import EnvironmentSetupError

        raise EnvironmentSetupError(
            f"REDES_CPUS_LOGICOS debe ser un entero ≥ 1; vale «{value}»."
        )
    return int(value)


def _split_cpu(tf) -> None:
    """Aplica ``REDES_CPUS_LOGICOS`` a TensorFlow, recién importado."""
    count = _logical_cpus()
    if count is None:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
    )


def _split_jax_cpu() -> None:
    """Aplica ``REDES_CPUS_LOGICOS`` a JAX (en ``XLA_FLAGS``, antes de importarlo)."""
    count = _logical_cpus()
    flags = os.environ.get("XLA_FLAGS", "")
    if count is None or "xla_force_host_platform_device_count" in flags:
        return
    # Delante: XLA deja de leer las opciones tras una que no entiende.
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={count} {flags}".strip()


def backend_name() -> str:
    """El backend que usará Keras, sin importarlo.

    Como Keras: ``KERAS_BACKEND`` si está definida; si no, el campo ``backend`` de
    ``$KERAS_HOME/keras.json`` (o ``~/.keras/keras.json``); si no, ``"tensorflow"``.
    """
    name = os.environ.get("KERAS_BACKEND", "").strip()
    if name:
        return name
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as handle:
            name = json.load(handle).get("backend", "")
    except (OSError, ValueError, AttributeError):
        name = ""
    return name if isinstance(name, str) and name else "tensorflow"


def installed_backends() -> list[str]:
    """Los de :data:`BACKENDS` que están instalados (sin importarlos)."""
    return [name for name in BACKENDS if importlib.util.find_spec(name) is not None]


def check_backend_installed(name: str) -> None:
    """Comprueba que el backend ``name`` existe y está instalado (sin elegirlo).

    Raises:
        EnvironmentSetupError: si no existe o no está instalado (nombra el extra de pip).
    """
    from nucleo.errores import EnvironmentSetupError

    if name not in BACKENDS:
        raise EnvironmentSetupError(
            f"Backend «{name}» desconocido; se esperaba uno de {', '.join(BACKENDS)}.")
    if name not in installed_backends():
        extra = BACKEND_EXTRAS[name]
        hint = (f'instálalo con pip install "redes-keras[{extra}]" (o, desde el '
                f'repositorio, pip install ".[{extra}]")' if extra
                else "reinstala redes-keras")
        raise EnvironmentSetupError(f"El backend «{name}» no está instalado: {hint}.")


def select_backend(name: str) -> str:
    """Elige el backend de Keras (lo mismo que ``KERAS_BACKEND=name``).

    Debe llamarse antes de importar Keras o cualquier módulo de ``modelos``.

    Raises:
        EnvironmentSetupError: si el backend no existe, no está instalado (nombra el
            extra de pip que lo instala) o Keras ya se importó con otro.
    """
    from nucleo.errores import EnvironmentSetupError

    check_backend_installed(name)
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != name:
        raise EnvironmentSetupError(
            f"Keras ya se importó con el backend «{keras.backend.backend()}»; para usar "
            f"«{name}» hay que elegirlo antes (redes --backend {name} o KERAS_BACKEND).")
    os.environ["KERAS_BACKEND"] = name
    return name


def prepare_backend() -> str:
    """Llamar antes de ``import keras``: con TensorFlow lo importa sin ruido.

    Returns:
        El nombre del backend (:func:`backend_name`).
    """
    name = backend_name()
    if name == "tensorflow":
        import_tensorflow()
    elif name == "jax":
        _split_jax_cpu()
    return name


def set_random_seed(seed: int) -> None:
    """``keras.utils.set_random_seed`` sin importar TensorFlow si no es el backend.

    Keras siembra también TensorFlow si está instalado, y para eso lo importa (con su
    ruido de arranque) aunque el backend sea JAX o PyTorch. Aquí TensorFlow se siembra
    solo si es el backend o ya se importó (por ``tf.data``).
    """
    prepare_backend()
    import keras

    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    from keras.src.utils import module_utils

    lazy = getattr(module_utils, "tensorflow", None)
    if lazy is None or not hasattr(lazy, "_available"):
        keras.utils.set_random_seed(seed)
        return
    saved = lazy._available
    lazy._available = False  # Keras no intenta importar TensorFlow para sembrarlo
    try:
        keras.utils.set_random_seed(seed)
    finally:
        lazy._available = saved


def native_bfloat16(cpuinfo: str | None = None) -> bool:
    """``True`` si la CPU calcula en bfloat16 de forma nativa (AVX-512 BF16 o AMX).

    Sin esas instrucciones, ``mixed_bfloat16`` se emula y es mucho más lento que
    ``float32``. Lee ``/proc/cpuinfo`` (Linux); en otro sistema devuelve ``False``.

    Args:
        cpuinfo: texto de ``/proc/cpuinfo`` (para las pruebas); ``None`` lo lee.
    """
    flags = _cpu_flags(cpuinfo)
    return any(flag in flags for flag in _BF16_FLAGS)


def resolve_training_precision(precision: str, *, where: str | None = None) -> str:
    """Valida una política de entrenamiento y traduce ``"auto"`` a la más rápida aquí.

    ``"auto"`` es ``"mixed_bfloat16"`` con una CPU con bfloat16 nativo
    (:func:`native_bfloat16`) o una GPU visible, y ``"float32"`` en otro caso (en una CPU
    con solo AVX2, bfloat16 se emula y va mucho más lento).

    Returns:
        ``"float32"`` o ``"mixed_bfloat16"``.
    """
    check_choice(precision, "precision", TRAINING_PRECISIONS, where=where)
    if precision != "auto":
        return precision
    if native_bfloat16() or _gpu_visible():
        return "mixed_bfloat16"
    return "float32"


def _gpu_visible() -> bool:
    """``True`` si el backend elegido ve una GPU (solo se pregunta al backend elegido)."""
    name = backend_name()
    if name == "tensorflow":
        return bool(import_tensorflow().config.list_physical_devices("GPU"))
    if name == "jax":
        import jax

        return any(device.platform == "gpu" for device in jax.devices())
    if name == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def resolve_engine_precision(engine: str, precision: str | None) -> str:
    """La precisión de cálculo de un motor de inferencia.

    ``None`` es bfloat16 en OpenVINO si la CPU lo tiene nativo y float32 en otro caso.

    Raises:
        ArgumentError: si no es una de :data:`nucleo.vocabulario.ENGINE_PRECISIONS`.
    """
    if precision is None:
        return "bfloat16" if engine == "openvino" and native_bfloat16() else "float32"
    return check_choice(precision, "precision", ENGINE_PRECISIONS)


def check_tensorboard_installed(where: str = "--tensorboard") -> None:
    """Comprueba (sin importarlo) que está el paquete ``tensorboard``, que necesita
    ``keras.callbacks.TensorBoard`` con cualquier backend (escribe con ``tf.summary``).

    Raises:
        EnvironmentSetupError: si no está instalado (dice cómo instalarlo).
    """
    from nucleo.errores import EnvironmentSetupError

    if importlib.util.find_spec("tensorboard") is None:
        raise EnvironmentSetupError(
            f"{where}: escribir los registros de TensorBoard necesita el paquete "
            "«tensorboard», que no está instalado: pip install \"redes-keras[tensorboard]\" "
            "(o, desde el repositorio, pip install \".[tensorboard]\").")
