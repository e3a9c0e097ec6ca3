"""Agrupar en lotes las peticiones a un mismo modelo.

Con varios clientes a la vez, cada petición no llama a la red por su cuenta: deja su
entrada en la cola del modelo y espera. Un único trabajador por modelo recoge hasta
``max_batch`` entradas (o las que lleguen en ``wait_ms`` milisegundos desde la primera),
hace UNA llamada (``run_batch``) en su propio hilo y devuelve a cada petición su
resultado. Mientras la red calcula, las peticiones nuevas se acumulan para el lote
siguiente: con carga, los lotes se llenan solos.

Un solo hilo por modelo: ningún motor se llama desde dos hilos a la vez.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from nucleo.errores import RedesError

logger = logging.getLogger("redes")


class Batcher:
    """La cola y el trabajador de un modelo.

    Args:
        run_batch: ``lista de entradas → lista de resultados`` (mismo orden y longitud).
        max_batch: entradas como mucho por llamada.
        wait_ms: cuánto esperar a que se llene un lote tras la primera entrada (0: no
            esperar; se agrupa lo que ya está en la cola).
        name: para los registros y el nombre del hilo.
    """

    def __init__(self, run_batch: Callable[[list[Any]], list[Any]], *, max_batch: int = 8,
                 wait_ms: float = 5.0, name: str = "modelo"):
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.wait = wait_ms / 1000.0
        self.name = name
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        #: Lotes atendidos y entradas en ellos (para ver que se agrupa).
        self.batches = 0
        self.items = 0

    async def submit(self, item: Any) -> Any:
        """Encola ``item`` y espera su resultado (o la excepción de su lote)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # primera petición (o la app corre ya en otro bucle)
            self._loop, self._queue = loop, asyncio.Queue()
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"redes-{self.name}")
            self._worker = loop.create_task(self._serve())
        future = loop.create_future()
        await self._queue.put((item, future))
        return await future

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        queue = self._queue
        while True:
            batch = [await queue.get()]
            deadline = loop.time() + self.wait
            while len(batch) < self.max_batch:
                if not queue.empty():
                    batch.append(queue.get_nowait())
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(queue.get(), remaining))
                except TimeoutError:
                    break
            # Una petición cuyo cliente ya se fue no ocupa sitio en la red.
            batch = [(item, fut) for item, fut in batch if not fut.done()]
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(
                    self._executor, self.run_batch, [item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 (se entrega a cada petición)
                if len(batch) == 1:
                    self._fail(batch[0][1], exc)
                else:
                    # El fallo de una petición no debe tumbar a las demás de su lote: cada
                    # una se repite sola y recibe su propio resultado o su propio error.
                    await self._one_by_one(loop, batch)
                continue
            self.batches += 1
            self.items += len(batch)
            for (_, fut), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)

    async def _one_by_one(self, loop, batch) -> None:
        for item, fut in batch:
            if fut.done():
                continue
            try:
                (result,) = await loop.run_in_executor(self._executor, self.run_batch, [item])
            except Exception as exc:  # noqa: BLE001 (se entrega a su petición)
                self._fail(fut, exc)
                continue
            self.batches += 1
            self.items += 1
            if not fut.done():
                fut.set_result(result)

    def _fail(self, fut, exc: Exception) -> None:
        """El error de una petición; los que no son de la entrada se registran."""
        if not isinstance(exc, RedesError):
            logger.error("Falló una petición a %s: %s", self.name, exc, exc_info=exc)
        if not fut.done():
            fut.set_exception(exc)

    async def close(self) -> None:
        """Para el trabajador (las peticiones en curso ya terminaron) y su hilo.

        Si después llega otra petición (la app arranca de nuevo), vuelven a crearse.
        """
        if self._worker is not None and self._loop is asyncio.get_running_loop():
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._worker = self._queue = self._loop = self._executor = None
