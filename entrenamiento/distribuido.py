"""Entrenamiento de datos en paralelo en varios procesos, con ``keras.distribution`` en JAX.

Cada proceso (uno por máquina, o varios en esta) tiene una copia del modelo y entrena
con su parte de cada lote; JAX suma los gradientes de todos (*all-reduce* con gloo) y
todas las copias dan el mismo paso. Es lo que hace ``keras.distribution.initialize`` +
``DataParallel`` en JAX: :func:`initialize` llama a ``jax.distributed.initialize`` con
plazos (conexión y latido) para que un coordinador inalcanzable o un proceso caído
den un error en un tiempo acotado, y fija ``DataParallel`` sobre todos los
dispositivos.

- El proceso 0 es el coordinador y el único que escribe (pesos, registro, gráficos,
  JSON). Los demás terminan al acabar ``fit`` (:class:`WorkerFinished`).
- Cada proceso lee solo su parte de cada lote (:mod:`datos.reparto`).
- Lo que se decide con el reloj (tope de tiempo, tasa en coseno por tiempo) se decide
  en el proceso 0 y se comunica a todos (:func:`agree`): si un proceso parase un lote
  antes que otro, el otro esperaría para siempre.
- Al reanudar, el proceso 0 envía su respaldo a los demás (:func:`share_files`), así las
  máquinas no necesitan un disco compartido.

Nada aquí guarda estado propio: :func:`initialize` devuelve el :class:`Cluster` y quien
entrena lo pasa explícitamente (``train(..., cluster=cluster)``, y a los callbacks que lo
necesitan); cada función recibe el suyo, ``None`` con un solo proceso.

Los procesos se lanzan con :mod:`cli.lanzador` (``redes ... --procesos N``
o ``--coordinador HOST:PUERTO --num-procesos N --proceso I``).

En una sola máquina con varias GPU basta un proceso: :func:`local_devices`
(``--dispositivos N``) pone el mismo ``DataParallel`` sobre los dispositivos que ese
proceso ve.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import shutil
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

from nucleo.errores import ArgumentError, RedesError
from nucleo.vocabulario import ALL_DEVICES

logger = logging.getLogger("redes")

#: Segundos que un proceso espera al coordinador (y a los demás) al empezar.
CONNECT_TIMEOUT = 60
#: Segundos sin latido tras los que el coordinador da por muerto a un proceso.
HEARTBEAT_TIMEOUT = 30
#: Segundos que los procesos se esperan al terminar (el 0 guarda antes el último modelo).
SHUTDOWN_TIMEOUT = 120


class DistributedError(RedesError, RuntimeError):
    """El entrenamiento en varios procesos no pudo empezar o seguir."""


class WorkerFinished(SystemExit):
    """Un proceso distinto del 0 terminó su parte del entrenamiento (código 0).

    Solo el proceso 0 sigue después de ``fit``: carga el mejor modelo, evalúa, informa y
    escribe. Deriva de ``SystemExit`` para que el proceso termine sin más.
    """

    def __init__(self):
        super().__init__(0)


@dataclasses.dataclass(frozen=True)
class Cluster:
    """Un entrenamiento en varios procesos ya conectado.

    Attributes:
        coordinator: ``HOST:PUERTO`` del proceso 0.
        num_processes: procesos en total.
        process_id: el de este proceso, de 0 a ``num_processes - 1``.
    """

    coordinator: str
    num_processes: int
    process_id: int

    @property
    def chief(self) -> bool:
        """``True`` en el proceso 0, el que escribe."""
        return self.process_id == 0


def is_chief(cluster: Cluster | None) -> bool:
    """``True`` si este proceso escribe: el 0, o el único (``cluster`` ``None``)."""
    return cluster is None or cluster.chief


def parse_address(text: str, option: str = "--coordinador") -> tuple[str, int]:
    """``"HOST:PUERTO"`` → ``(host, puerto)``.

    Raises:
        ArgumentError: que nombra ``option`` si no es ``HOST:PUERTO`` con un puerto válido.
    """
    host, sep, port = str(text).rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ArgumentError(f"{option}: se esperaba HOST:PUERTO (p. ej. 10.0.0.1:4321), con "
                            f"un puerto entre 1 y 65535; recibido {text!r}.")
    return host, int(port)


def check_cluster(num_processes: int, process_id: int) -> None:
    """Comprueba ``--num-procesos`` y ``--proceso`` antes de conectar."""
    if num_processes < 1:
        raise ArgumentError(f"--num-procesos debe ser ≥ 1; recibido {num_processes}.")
    if not 0 <= process_id < num_processes:
        raise ArgumentError(f"--proceso debe estar entre 0 y {num_processes - 1} (hay "
                            f"{num_processes} procesos); recibido {process_id}.")


def initialize(coordinator: str, num_processes: int, process_id: int, *,
               timeout: float = CONNECT_TIMEOUT,
               heartbeat: float = HEARTBEAT_TIMEOUT) -> Cluster:
    """Conecta este proceso con los demás y reparte los datos con ``DataParallel``.

    Args:
        coordinator: ``HOST:PUERTO`` del proceso 0 (que lo abre en esa dirección).
        num_processes: procesos en total.
        process_id: el de este proceso.
        timeout: segundos de espera a que estén todos.
        heartbeat: segundos sin noticias de un proceso para darlo por muerto.

    Raises:
        ArgumentError: dirección o números no válidos.
        DistributedError: backend distinto de JAX, coordinador inalcanzable o procesos
            que no acuden a tiempo.
    """
    host, port = parse_address(coordinator)
    check_cluster(num_processes, process_id)
    from nucleo.keras_listo import keras

    if keras.backend.backend() != "jax":
        raise DistributedError(
            "El entrenamiento en varios procesos usa keras.distribution, que en Keras 3.15 "
            f"solo funciona con el backend jax; el backend es «{keras.backend.backend()}». "
            "Use «redes --backend jax ...» (instalación: pip install \".[jax]\").")
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    address = f"{host}:{port}"
    # JAX aborta el proceso (sin excepción de Python) si no llega al coordinador: se
    # comprueba antes, para dar un error claro.
    if process_id == 0:
        _check_port_free(host, port, num_processes)
    else:
        _wait_for_coordinator(host, port, process_id, num_processes, timeout)
    try:
        jax.distributed.initialize(
            coordinator_address=address, num_processes=num_processes,
            process_id=process_id, coordinator_bind_address=address,
            initialization_timeout=max(1, int(timeout)),
            heartbeat_timeout_seconds=max(2, int(heartbeat)),
            shutdown_timeout_seconds=SHUTDOWN_TIMEOUT)
    except Exception as exc:  # jaxlib da XlaRuntimeError o RuntimeError, según el fallo
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        role = ("abrir el coordinador en" if process_id == 0 else "conectar con el coordinador")
        raise DistributedError(
            f"Proceso {process_id} de {num_processes}: no se pudo {role} {address} en "
            f"{int(timeout)} s ({detail[:200]}). Compruebe que el proceso 0 está en marcha "
            "en esa dirección, que el puerto está libre y abierto, y que todos los procesos "
            "usan el mismo --num-procesos.") from exc
    if jax.process_count() != num_processes:
        raise DistributedError(
            f"Proceso {process_id}: se esperaban {num_processes} procesos y el coordinador "
            f"{address} tiene {jax.process_count()}; use el mismo --num-procesos en todos.")
    keras.distribution.set_distribution(keras.distribution.DataParallel(
        devices=jax.devices(), auto_shard_dataset=False))
    logger.info("Proceso %d de %d conectado con el coordinador %s (%d dispositivos).",
                process_id, num_processes, address, len(jax.devices()))
    return Cluster(address, num_processes, process_id)


def _check_port_free(host: str, port: int, num_processes: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise DistributedError(
                f"Proceso 0 de {num_processes}: no se puede abrir el coordinador en "
                f"{host}:{port} ({exc.strerror or exc}); elija otro puerto o compruebe que la "
                "dirección es de esta máquina.") from exc


def _wait_for_coordinator(host: str, port: int, process_id: int, num_processes: int,
                          timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0) as connection:
                if _speaks_http2(connection, deadline):
                    return
                raise DistributedError(
                    f"Proceso {process_id} de {num_processes}: {host}:{port} acepta la "
                    f"conexión pero no responde como el coordinador de JAX (gRPC) en "
                    f"{timeout:g} s: ¿otro programa en ese puerto, o un proceso 0 colgado? "
                    "Compruebe la dirección de --coordinador.")
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise DistributedError(
                    f"Proceso {process_id} de {num_processes}: el coordinador {host}:{port} no "
                    f"responde tras {timeout:g} s ({exc.strerror or exc}). Arranque el proceso "
                    "0 con --coordinador en esa dirección (o compruebe la red y el "
                    "cortafuegos); --espera-coordinador da más tiempo.") from exc
            time.sleep(0.2)


#: El prefacio de una conexión HTTP/2 y un marco SETTINGS vacío (RFC 9113, §3.4 y §6.5).
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def _speaks_http2(connection: socket.socket, deadline: float) -> bool:
    """``True`` si al otro lado hay un servidor HTTP/2 (el coordinador de JAX es gRPC):
    tras el prefacio, un servidor HTTP/2 manda su marco SETTINGS (tipo 4) enseguida. Un
    puerto que acepta y calla (o responde otra cosa) da ``False`` al acabar la espera;
    así JAX no se queda colgado hasta abortar con una traza nativa."""
    connection.sendall(_HTTP2_PREFACE)
    received = b""
    while len(received) < 9:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        connection.settimeout(min(remaining, 1.0))
        try:
            chunk = connection.recv(9 - len(received))
        except TimeoutError:
            continue
        if not chunk:
            return False
        received += chunk
    return received[3] == 0x04


def finish(cluster: Cluster | None) -> None:
    """Deja el entrenamiento distribuido: sin ``DataParallel`` y con JAX desconectado.

    Después, el proceso 0 sigue trabajando solo (evaluar, informar) en su dispositivo.
    Con ``cluster`` ``None`` no hace nada.
    """
    if cluster is None:
        return
    import jax
    from nucleo.keras_listo import keras

    keras.distribution.set_distribution(None)
    jax.distributed.shutdown()


@contextlib.contextmanager
def local_devices(devices, cluster: Cluster | None):
    """Datos en paralelo en varios dispositivos de ESTE proceso (``--dispositivos``).

    Es el mismo ``DataParallel`` de ``keras.distribution`` que reparte entre procesos,
    aquí sobre los dispositivos que ve un solo proceso de JAX: varias GPU de una máquina,
    o la CPU dividida en ``REDES_CPUS_LOGICOS`` dispositivos. Cada lote global se parte
    entre ellos y los gradientes se suman: el resultado es el de un solo dispositivo con
    el mismo lote. (Sustituye a ``tf.distribute.MirroredStrategy``, que solo servía con
    TensorFlow y a ese mismo caso.)

    Args:
        devices: ``None`` o ``1`` (sin reparto), un entero o ``"todos"``.
        cluster: el de varios procesos, o ``None``; con varios procesos cada uno usa ya
            todos sus dispositivos y ``devices`` debe ser ``None``.

    Yields:
        El número de dispositivos que reciben parte de cada lote.

    Raises:
        ArgumentError: más dispositivos de los que hay, o junto con varios procesos.
        DistributedError: un backend distinto de JAX.
    """
    if devices is None or devices == 1:
        yield 1 if cluster is None else cluster.num_processes
        return
    if cluster is not None:
        raise ArgumentError("train: con varios procesos cada uno usa ya todos sus "
                            "dispositivos; no indique además «devices» (--dispositivos).")
    from nucleo.keras_listo import keras

    if keras.backend.backend() != "jax":
        raise DistributedError(
            "El reparto entre dispositivos (--dispositivos) usa keras.distribution, que en "
            f"Keras 3.15 solo funciona con el backend jax; el backend es "
            f"«{keras.backend.backend()}». Use «redes --backend jax ...» (instalación: "
            "pip install \".[jax]\").")
    import jax

    available = jax.local_devices()
    count = len(available) if devices == ALL_DEVICES else int(devices)
    if count > len(available):
        raise ArgumentError(
            f"train: se pidieron {count} dispositivos y este proceso ve {len(available)} "
            f"({available[0].platform}); en una CPU, REDES_CPUS_LOGICOS={count} la divide "
            "en dispositivos lógicos.")
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=available[:count]))
    try:
        yield count
    finally:
        keras.distribution.set_distribution(previous)


@contextlib.contextmanager
def local_only(cluster: Cluster | None):
    """Código que solo ejecuta el proceso 0 (guardar un modelo, un respaldo...).

    Con ``DataParallel`` activo, crear una variable de Keras es una operación colectiva
    (JAX comprueba que vale lo mismo en todos los procesos), y guardar crea algunas (el
    optimizador de referencia de ``save_weights``). Dentro de este bloque no hay
    distribución: lo que se crea es local y leer las variables replicadas del modelo no
    necesita a los demás procesos.
    """
    if cluster is None:
        yield
        return
    from nucleo.keras_listo import keras

    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)


def _collective(cluster: Cluster, function, *args):
    """Llama a una operación colectiva de JAX; si otro proceso falta, un error claro."""
    try:
        return function(*args)
    except Exception as exc:  # jaxlib: JaxRuntimeError / XlaRuntimeError según la versión
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise DistributedError(
            f"Proceso {cluster.process_id} de {cluster.num_processes}: los demás procesos no "
            f"respondieron ({type(exc).__name__}: {first}). ¿Terminó alguno con un error, o "
            "no usan todos el mismo --num-procesos?") from exc


def agree(value: float, cluster: Cluster | None) -> float:
    """El valor ``value`` del proceso 0, en todos los procesos (con uno solo, ``value``)."""
    if cluster is None:
        return value
    from jax.experimental import multihost_utils

    shared = _collective(cluster, multihost_utils.broadcast_one_to_all,
                         np.asarray(value, np.float32))
    return float(np.asarray(shared))


def check_same(description: dict, cluster: Cluster | None,
               what: str = "el entrenamiento") -> None:
    """Comprueba que todos los procesos tienen la misma ``description``.

    Cada proceso publica una huella de ``description`` (JSON): si alguno difiere (otro
    número de procesos, otros datos, otro lote...), todos paran con el mismo error en vez
    de quedarse esperando a mitad de una época.

    Raises:
        DistributedError: nombra los procesos que no coinciden con el 0 y el contenido
            del de este proceso.
    """
    if cluster is None:
        return
    from jax.experimental import multihost_utils

    text = json.dumps(description, sort_keys=True, default=str)
    digest = np.frombuffer(hashlib.sha256(text.encode()).digest()[:8], np.int32).copy()
    gathered = np.asarray(_collective(cluster, multihost_utils.process_allgather,
                                      digest)).reshape(cluster.num_processes, -1)
    different = [i for i in range(len(gathered)) if not np.array_equal(gathered[i],
                                                                       gathered[0])]
    if different:
        raise DistributedError(
            f"Los procesos {different} no tienen {what} igual que el proceso 0 (mismo "
            f"número de procesos, datos, lote y ajustes en todos). El proceso "
            f"{cluster.process_id} tiene: {text[:300]}")


def share_files(folder: Path | None, cluster: Cluster | None) -> Path | None:
    """Envía los archivos de ``folder`` del proceso 0 a los demás.

    En el proceso 0 devuelve ``folder`` (o ``None`` si no existe o está vacía); en los
    demás, una carpeta temporal con una copia (que :func:`finish` no borra: la borra
    :func:`cleanup_shared`), o ``None``. Sirve para reanudar desde el respaldo del
    proceso 0 sin un disco compartido.
    """
    if cluster is None:
        return folder
    from jax.experimental import multihost_utils

    files = []
    if cluster.chief and folder is not None and Path(folder).is_dir():
        files = sorted(p for p in Path(folder).iterdir() if p.is_file())
    names = "\n".join(p.name for p in files).encode()
    header = np.zeros(2, np.int32)
    header[:] = (len(files), len(names))
    header = np.asarray(_collective(cluster, multihost_utils.broadcast_one_to_all, header))
    count, names_size = int(header[0]), int(header[1])
    if count == 0:
        return None
    name_bytes = np.zeros(names_size, np.uint8)
    sizes = np.zeros(count, np.int32)
    if cluster.chief:
        name_bytes[:] = np.frombuffer(names, np.uint8)
        sizes[:] = [p.stat().st_size for p in files]
    name_bytes = np.asarray(multihost_utils.broadcast_one_to_all(name_bytes))
    sizes = np.asarray(multihost_utils.broadcast_one_to_all(sizes))
    target = None if cluster.chief else Path(tempfile.mkdtemp(prefix="redes-respaldo-"))
    for i, name in enumerate(bytes(name_bytes).decode().split("\n")):
        content = np.zeros(int(sizes[i]), np.uint8)
        if cluster.chief and len(content):
            content[:] = np.frombuffer(files[i].read_bytes(), np.uint8)
        if len(content):
            content = np.asarray(multihost_utils.broadcast_one_to_all(content))
        if target is not None:
            (target / Path(name).name).write_bytes(content.tobytes())
    return Path(folder) if cluster.chief else target


def cleanup_shared(folder: Path | None, cluster: Cluster | None) -> None:
    """Borra una copia temporal de :func:`share_files` (en los procesos distintos del 0)."""
    if folder is not None and not is_chief(cluster) and folder.name.startswith("redes-respaldo-"):
        shutil.rmtree(folder, ignore_errors=True)
