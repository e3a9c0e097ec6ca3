"""Lo que comparten las rutas de todas las tareas: la clave, elegir el modelo, preparar
la entrada fuera del bucle de eventos, leer una imagen subida y encolar en su lote.

Las rutas llegan al estado de la app (modelos, lotes, ajustes) por ``request.app.state``.
"""

# Sin «from __future__ import annotations»: FastAPI lee en tiempo de ejecución las
# anotaciones de las dependencias.
import hmac
from typing import Any

from fastapi import Request

from nucleo.errores import RedesError, TooLargeError
from servicio.entradas import ApiError

#: Cabecera de la clave de acceso.
KEY_HEADER = "X-Clave"
#: Cómo se nombra cada tarea en los mensajes.
TASK_NAMES = {"deteccion": "detección", "clasificacion": "clasificación",
              "pronostico": "pronóstico de ventas", "traduccion": "traducción"}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Las respuestas de error de una ruta, para el OpenAPI."""
    from servicio.esquemas import ErrorResponse

    texts = {400: "Petición mal formada", 401: "Falta la clave o no es correcta",
             404: "No hay ningún modelo cargado para esa tarea o con ese nombre",
             413: "Cuerpo o imagen más grandes que el límite",
             415: "Tipo de contenido equivocado",
             422: "Entrada mal formada: el mensaje nombra el campo"}
    return {code: {"model": ErrorResponse, "description": texts[code]} for code in codes}


async def check_key(request: Request):
    """Dependencia de las rutas protegidas: la clave de ``X-Clave``, si se pide."""
    api_key = request.app.state.settings.api_key
    if api_key is None:
        return
    given = request.headers.get(KEY_HEADER, "")
    if not hmac.compare_digest(given.encode(), api_key.encode()):
        raise ApiError(401, f"Falta la clave o no es correcta: envíela en la cabecera "
                            f"{KEY_HEADER}.", KEY_HEADER)


def pick(request: Request, task: str, name: str | None):
    """El modelo de ``task`` llamado ``name`` (o el primero de esa tarea).

    Raises:
        ApiError: 404 si no hay ninguno.
    """
    models = request.app.state.models
    label = TASK_NAMES[task]
    if name is not None:
        model = models.get(name)
        if model is None or model.task != task:
            loaded = [m.name for m in models.values() if m.task == task]
            raise ApiError(404, f"No hay ningún modelo de {label} llamado «{name[:60]}»; "
                                f"cargados: {', '.join(loaded) or 'ninguno'}.", "modelo")
        return model
    for model in models.values():
        if model.task == task:
            return model
    raise ApiError(404, f"No hay ningún modelo de {label} cargado: arranque el servidor "
                        f"con «redes servir --pesos ...» de un modelo de {label}.", "modelo")


async def run(request: Request, model, item):
    """La respuesta de ``item``, atendida en el próximo lote de su modelo."""
    return await request.app.state.batchers[model.name].submit(item)


async def prepare(fn, *args):
    """La preparación de la entrada (decodificar, leer), fuera del bucle de eventos.

    Raises:
        ApiError: 413 con una entrada demasiado grande, 422 con una entrada mala.
    """
    from starlette.concurrency import run_in_threadpool

    try:
        return await run_in_threadpool(fn, *args)
    except TooLargeError as exc:
        raise ApiError(413, str(exc), "imagen") from None
    except RedesError as exc:
        # Un FieldError (una petición JSON) sabe qué campo falló.
        raise ApiError(422, str(exc), getattr(exc, "field", None)) from None


async def read_image(request: Request, upload):
    """La imagen subida en el campo ``imagen``, decodificada (con el límite de píxeles).

    Raises:
        ApiError: 415 si no es una imagen, 413 o 422 si no se puede decodificar.
    """
    from datos.imagenes import decode_image_bytes

    limit_pixels = request.app.state.settings.max_pixels
    declared = (upload.content_type or "").lower()
    if declared and not declared.startswith("image/") and declared not in (
            "application/octet-stream",):
        raise ApiError(415, f"campo «imagen» ({upload.filename}): tipo «{declared}»; se "
                            "esperaba una imagen (image/jpeg, image/png...).", "imagen")
    data = await upload.read()
    where = f"campo «imagen» ({(upload.filename or 'sin nombre')[:80]})"
    try:
        return await prepare(lambda: decode_image_bytes(data, where=where,
                                                        max_pixels=limit_pixels))
    except ApiError as exc:
        exc.field = "imagen"
        raise
