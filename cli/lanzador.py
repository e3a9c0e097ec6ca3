"""Lanza y vigila los procesos de un entrenamiento distribuido (sin importar Keras).

``redes <tarea> entrenar ... --procesos N`` lanza N procesos en esta máquina, con el
coordinador en 127.0.0.1 y un puerto libre. ``redes ... --coordinador HOST:PUERTO
--num-procesos N --proceso I`` lanza solo el proceso I (uno por máquina). En los dos
casos, este proceso no entrena: lanza los procesos (``python -m cli.principal`` con
la misma orden), los vigila y, si uno muere (incluso con SIGKILL), detiene los demás en
unos segundos y lo dice con un error claro en vez de dejarlos esperando.

Con varias máquinas, si muere el proceso de otra máquina, el servicio distribuido de
JAX lo detecta (latido perdido, :data:`entrenamiento.distribuido.HEARTBEAT_TIMEOUT`) y
aborta este proceso; aquí se explica qué ha pasado.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

from nucleo.errores import ArgumentError, RedesError

logger = logging.getLogger("redes")

#: Variable de entorno que marca un proceso lanzado por :func:`supervise`.
CHILD_ENV = "REDES_PROCESO_DISTRIBUIDO"
#: Segundos que se espera a que los demás procesos terminen tras SIGTERM.
STOP_GRACE = 5.0
#: Opciones del reparto que el lanzador quita o pone en la orden de cada proceso.
_OPTIONS = ("--procesos", "--coordinador", "--num-procesos", "--proceso")  # (las quita)


class LaunchError(RedesError, RuntimeError):
    """Un proceso del entrenamiento distribuido terminó mal."""


def is_child() -> bool:
    """``True`` en un proceso lanzado por :func:`supervise` (el que entrena)."""
    return os.environ.get(CHILD_ENV) == "1"


def free_port(host: str = "127.0.0.1") -> int:
    """Un puerto TCP libre en ``host`` (el sistema elige uno al enlazar el puerto 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def without_options(argv: Sequence[str]) -> list[str]:
    """``argv`` sin las opciones de reparto (``--procesos N``, ``--proceso=I``...)."""
    result, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in _OPTIONS:
            skip = "=" not in arg
            continue
        result.append(arg)
    return result


def worker_command(argv: Sequence[str], coordinator: str, num_processes: int,
                   process_id: int) -> list[str]:
    """La orden de un proceso: la misma de ``redes`` con su lugar en el reparto."""
    return [sys.executable, "-m", "cli.principal", *without_options(argv),
            "--coordinador", coordinator, "--num-procesos", str(num_processes),
            "--proceso", str(process_id)]


def launch(argv: Sequence[str], *, processes: int | None = None, coordinator: str | None = None,
           num_processes: int | None = None, process_id: int | None = None) -> int:
    """Lanza los procesos de ``redes <argv>`` y espera a que terminen.

    Args:
        argv: la orden de ``redes`` tal como se escribió.
        processes: ``--procesos N``: N procesos en esta máquina (coordinador en 127.0.0.1).
        coordinator: ``--coordinador HOST:PUERTO`` (con ``num_processes`` y ``process_id``):
            solo el proceso ``process_id``, en esta máquina.

    Returns:
        0 si todos terminaron bien.

    Raises:
        ArgumentError: opciones incompatibles o incompletas.
        LaunchError: un proceso terminó mal (se detuvo a los demás).
    """
    if processes is not None and coordinator is not None:
        raise ArgumentError("--procesos (N procesos en esta máquina) y --coordinador (un "
                            "proceso por máquina) no van juntos; use uno de los dos.")
    if coordinator is not None:
        if num_processes is None or process_id is None:
            raise ArgumentError("--coordinador necesita también --num-procesos N y "
                                "--proceso I (de 0 a N-1).")
        from entrenamiento.distribuido import check_cluster, parse_address

        parse_address(coordinator)
        check_cluster(num_processes, process_id)
        commands = {process_id: worker_command(argv, coordinator, num_processes, process_id)}
        total = num_processes
    else:
        if num_processes is not None or process_id is not None:
            raise ArgumentError("--num-procesos y --proceso van con --coordinador HOST:PUERTO.")
        total = int(processes)
        limit = max_local_processes()
        if total > limit:
            raise ArgumentError(
                f"--procesos {total}: esta máquina ({os.cpu_count()} núcleos) admite como "
                f"mucho {limit} procesos a la vez (cada uno carga JAX y una copia del modelo, "
                f"unos {PROCESS_MEMORY_MB} MB); no se ha lanzado ninguno.")
        address = f"127.0.0.1:{free_port()}"
        commands = {i: worker_command(argv, address, total, i) for i in range(total)}
        logger.info("Lanzando %d procesos en esta máquina (coordinador %s).", total, address)
    env = {**os.environ, CHILD_ENV: "1", "KERAS_BACKEND": "jax"}
    return supervise(commands, env, total)


#: Memoria que se cuenta por proceso de entrenamiento (JAX, Keras, el modelo y los lotes).
PROCESS_MEMORY_MB = 512
#: Procesos por núcleo, como mucho, con ``--procesos``.
PROCESSES_PER_CORE = 4


def max_local_processes() -> int:
    """Cuántos procesos caben en esta máquina: ``PROCESSES_PER_CORE`` por núcleo, y no más
    de los que caben en la memoria disponible (``/proc/meminfo``, si se puede leer)."""
    limit = max(2, PROCESSES_PER_CORE * (os.cpu_count() or 1))
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
        available_mb = int(fields["MemAvailable"].split()[0]) // 1024
        limit = min(limit, max(1, available_mb // PROCESS_MEMORY_MB))
    except (OSError, KeyError, ValueError):
        pass
    return limit


def supervise(commands: dict[int, list[str]], env: dict[str, str], total: int) -> int:
    """Ejecuta ``commands`` (proceso → orden) y los vigila hasta que terminen.

    Raises:
        LaunchError: si uno termina con un código distinto de 0 (tras detener los demás).
        KeyboardInterrupt: con Ctrl+C, tras esperar a que los procesos paren.
    """
    children = {i: subprocess.Popen(command, env=env) for i, command in commands.items()}
    for i, child in children.items():
        logger.info("Proceso %d de %d: pid %d.", i, total, child.pid)
    try:
        while True:
            codes = {i: child.poll() for i, child in children.items()}
            failed = [(i, code) for i, code in codes.items() if code not in (None, 0)]
            if failed:
                _stop(children)
                raise LaunchError(_failure_message(*failed[0], total, len(children) > 1))
            if all(code == 0 for code in codes.values()):
                return 0
            time.sleep(0.1)
    except KeyboardInterrupt:
        _stop(children, grace=STOP_GRACE * 2)
        raise


def _stop(children: dict[int, subprocess.Popen], grace: float = STOP_GRACE) -> None:
    """SIGTERM a los procesos vivos; SIGKILL a los que sigan vivos tras ``grace`` s."""
    alive = [c for c in children.values() if c.poll() is None]
    for child in alive:
        child.terminate()
    deadline = time.monotonic() + grace
    for child in alive:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _failure_message(index: int, code: int, total: int, local: bool) -> str:
    others = "; se detuvieron los demás" if local else ""
    start = f"el proceso {index} de {total} del entrenamiento distribuido"
    if code == 2:  # un error de redes, ya mostrado por el proceso: no hay nada que reanudar
        return f"{start} terminó con el error que se muestra arriba{others}."
    if code < 0:
        try:
            how = f"murió con la señal {signal.Signals(-code).name}"
        except ValueError:
            how = f"murió con la señal {-code}"
        if -code == signal.SIGABRT:
            how += (" (el servicio distribuido de JAX lo detiene cuando otro proceso muere o "
                    "deja de responder)")
    else:
        how = f"terminó con el código {code}"
    return (f"{start} {how}{others}. Vuelva a ejecutar la misma orden (en todas las "
            "máquinas) para reanudar desde la última época completa.")
