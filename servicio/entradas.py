"""Lo que llega por HTTP, comprobado en el borde: límites, tipos de contenido y campos.

- :class:`BodyLimit`: middleware ASGI que cuenta los bytes del cuerpo (FastAPI no pone
  ningún límite) y responde 413 en cuanto se pasa, sin dejarlo llegar a la app; también
  responde 415 si el tipo de contenido no es el que la ruta acepta.
- :class:`ApiError`: un error con su código HTTP y un mensaje en castellano que nombra el
  campo; la app lo convierte en ``{"detail": ..., "campo": ...}``.
- :func:`series_from_json` y :func:`series_from_csv`: la historia de ventas de una
  petición, validada igual que ``redes pronostico`` valida un CSV.
- :func:`validation_message`: los errores de validación de FastAPI/pydantic, en castellano.
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from nucleo.errores import DataError

#: Tipos de contenido que acepta cada ruta POST (el resto: 415).
CONTENT_TYPES = {
    "/detectar": ("multipart/form-data",),
    "/clasificar": ("multipart/form-data",),
    "/traducir": ("application/json",),
    "/ventas/pronostico": ("application/json", "multipart/form-data"),
}


class ApiError(Exception):
    """Un error que la API devuelve tal cual: código, mensaje en castellano y campo."""

    def __init__(self, status: int, detail: str, field: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field


def media_type(headers: list[tuple[bytes, bytes]]) -> str:
    """El tipo de contenido de una petición ASGI, sin parámetros y en minúsculas."""
    for key, value in headers:
        if key.lower() == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


async def send_json(send, status: int, payload: dict[str, Any]) -> None:
    """Responde ``payload`` como JSON desde un middleware ASGI."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def host_name(value: str) -> str:
    """``"127.0.0.1:8000"`` → ``"127.0.0.1"``, ``"[::1]:8000"`` → ``"::1"`` (en minúsculas)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostCheck:
    """Middleware ASGI: 400 si la cabecera ``Host`` no es uno de ``allowed``.

    Una página abierta en el navegador del usuario puede apuntar un nombre suyo a
    127.0.0.1 (DNS rebinding) y llamar al servidor local sin clave; su petición lleva su
    propio nombre en ``Host``, y se rechaza. ``allowed=None`` no comprueba nada.
    """

    def __init__(self, app, allowed: tuple[str, ...] | None):
        self.app = app
        self.allowed = None if allowed is None else {host_name(h) for h in allowed}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.allowed is None:
            return await self.app(scope, receive, send)
        raw = next((value.decode("latin-1") for key, value in scope["headers"]
                    if key.lower() == b"host"), "")
        if host_name(raw) not in self.allowed:
            return await send_json(send, 400, {
                "detail": f"La cabecera Host «{raw[:100]}» no es la de este servidor (acepta "
                          f"{', '.join(sorted(self.allowed))}); si llega por otro nombre, "
                          "añádalo con «redes servir --hosts».",
                "campo": "Host"})
        return await self.app(scope, receive, send)


class BodyLimit:
    """Middleware ASGI: 415 por tipo de contenido y 413 por tamaño del cuerpo.

    El cuerpo se lee entero aquí (hasta ``max_bytes``) y se pasa a la app desde memoria:
    un cliente que anuncia ``Content-Length`` de más recibe 413 sin enviar nada, y uno
    que lo omite (``chunked``) recibe 413 en cuanto se pasa del límite.
    """

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        allowed = CONTENT_TYPES.get(scope["path"])
        if allowed is not None and media_type(scope["headers"]) not in allowed:
            got = media_type(scope["headers"]) or "ninguno"
            return await send_json(send, 415, {
                "detail": f"{scope['path']} espera el tipo de contenido "
                          f"{' o '.join(allowed)}; se recibió «{got}».",
                "campo": "Content-Type"})
        limit_text = f"{self.max_bytes / 2**20:.3g} MiB"
        for key, value in scope["headers"]:
            if key.lower() == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return await send_json(send, 400, {
                        "detail": "La cabecera Content-Length no es un número."})
                if declared > self.max_bytes:
                    return await send_json(send, 413, {
                        "detail": f"El cuerpo de la petición ocupa {declared} bytes y el "
                                  f"límite es {limit_text} (--limite-mb)."})
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await send_json(send, 413, {
                    "detail": f"El cuerpo de la petición pasa del límite de {limit_text} "
                              "(--limite-mb)."})
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


# === Ventas ===

def series_from_json(dates: list[Any], values: list[Any]):
    """La serie de ``{"fechas": [...], "unidades": [...]}``, validada.

    Raises:
        ApiError: 422 que nombra el campo y la posición (``fechas[3]``).
    """
    from datos.ventas import SalesSeries
    from datos.ventas_serie import MAX_SALES_VALUE, parse_date

    if len(dates) != len(values):
        raise ApiError(422, f"«fechas» tiene {len(dates)} elementos y «unidades» {len(values)};"
                            " deben tener los mismos.", "unidades")
    if not dates:
        raise ApiError(422, "«fechas» y «unidades» están vacías; hace falta la historia de "
                            "ventas.", "fechas")
    parsed = []
    for i, text in enumerate(dates):
        day = parse_date(text) if isinstance(text, str) else None
        if day is None:
            raise ApiError(422, f"fechas[{i}]: «{str(text)[:40]}» no es una fecha; se "
                                "esperaba AAAA-MM-DD.", "fechas")
        parsed.append(day)
    numbers = []
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or abs(value) > MAX_SALES_VALUE:
            raise ApiError(422, f"unidades[{i}]: {str(value)[:40]!s} no vale; se esperaba un "
                                f"número finito de valor absoluto ≤ {MAX_SALES_VALUE:g}.",
                           "unidades")
        numbers.append(float(value))
    order = np.argsort(np.array(parsed, dtype="datetime64[D]"), kind="stable")
    days = np.array(parsed, dtype="datetime64[D]")[order]
    repeated = np.flatnonzero(days[1:] == days[:-1])
    if repeated.size:
        first = order[repeated[0]], order[repeated[0] + 1]
        raise ApiError(422, f"fechas[{min(first)}] y fechas[{max(first)}] repiten la fecha "
                            f"{days[repeated[0]]}; cada día debe aparecer una vez.", "fechas")
    return SalesSeries(days, np.array(numbers, dtype=np.float64)[order], source="fechas")


def series_from_csv(data: bytes, filename: str):
    """La serie de un CSV subido (campo ``archivo``), leída con el lector de ``redes pronostico``.

    El archivo se escribe solo en una carpeta temporal propia, que se borra enseguida.

    Raises:
        ApiError: 422 con el error del lector (línea y qué se esperaba), nombrando el
            archivo subido y no la ruta temporal.
    """
    from datos.ventas import read_sales_csv

    with uploaded_csvs({"archivo": (data, filename)}) as paths:
        return read_sales_csv(paths["archivo"])


@contextlib.contextmanager
def uploaded_csvs(uploads: dict[str, tuple[bytes, str] | None],
                  expected: str = "fecha,unidades"):
    """Escribe cada CSV subido (``campo → (bytes, nombre)``) en una carpeta temporal propia,
    que se borra al salir, y da ``campo → ruta`` (``None`` si no se subió).

    Un :class:`~nucleo.errores.DataError` dentro del bloque sale como 422 que nombra el
    archivo subido (nunca la ruta temporal) y su campo.

    Raises:
        ApiError: 422 con un archivo vacío o con el error del lector.
    """
    shown = {field: f"archivo «{Path(upload[1] or 'subido.csv').name[:80]}»"
             for field, upload in uploads.items() if upload is not None}
    with tempfile.TemporaryDirectory(prefix="redes-servir-") as folder:
        paths: dict[str, Path | None] = {}
        for field, upload in uploads.items():
            if upload is None:
                paths[field] = None
                continue
            if not upload[0].strip():
                raise ApiError(422, f"{shown[field]}: está vacío; se esperaba un CSV "
                                    f"{expected}.", field)
            paths[field] = Path(folder) / f"{field}.csv"
            paths[field].write_bytes(upload[0])
        try:
            yield paths
        except DataError as exc:
            message, culprit = str(exc), None
            for field, path in paths.items():
                if path is not None and str(path) in message:
                    message = message.replace(f"«{path}»", shown[field]).replace(
                        str(path), shown[field])
                    culprit = culprit or field
            raise ApiError(422, message, culprit or getattr(exc, "field", None)
                           or next(iter(uploads))) from None


# === Errores de validación de FastAPI ===

_PLACES = {"body": "cuerpo", "query": "consulta", "path": "ruta", "header": "cabecera",
           "form": "formulario"}


def validation_message(errors: list[dict[str, Any]]) -> tuple[str, str | None]:
    """El primer error de validación de pydantic, en castellano: ``(mensaje, campo)``."""
    if not errors:
        return "La petición no es válida.", None
    error = errors[0]
    loc = [str(part) for part in error.get("loc", ())]
    place = _PLACES.get(loc[0], loc[0]) if loc else ""
    field_parts = loc[1:] if len(loc) > 1 else loc
    field = ".".join(field_parts) if field_parts else None
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        return (f"El cuerpo no es JSON válido ({ctx.get('error', 'sintaxis')}).", None)
    explanations = {
        "missing": "falta",
        "string_type": "debe ser texto",
        "float_type": "debe ser un número", "float_parsing": "debe ser un número",
        "int_type": "debe ser un número entero", "int_parsing": "debe ser un número entero",
        "int_from_float": "debe ser un número entero",
        "bool_type": "debe ser verdadero o falso", "bool_parsing": "debe ser 0 o 1",
        "list_type": "debe ser una lista", "dict_type": "debe ser un objeto JSON",
        "model_attributes_type": "debe ser un objeto JSON",
        "model_type": "debe ser un objeto JSON",
        "finite_number": "debe ser un número finito",
        "greater_than_equal": f"debe ser ≥ {ctx.get('ge')}",
        "greater_than": f"debe ser > {ctx.get('gt')}",
        "less_than_equal": f"debe ser ≤ {ctx.get('le')}",
        "less_than": f"debe ser < {ctx.get('lt')}",
        "string_too_long": f"tiene más de {ctx.get('max_length')} caracteres",
        "string_too_short": f"tiene menos de {ctx.get('min_length')} caracteres",
        "too_long": f"tiene más de {ctx.get('max_length')} elementos",
        "too_short": f"tiene menos de {ctx.get('min_length')} elementos",
        "literal_error": f"debe ser uno de {ctx.get('expected')}",
        "enum": f"debe ser uno de {ctx.get('expected')}",
        "extra_forbidden": "no es un campo admitido",
        "value_error": "no es válido",
    }
    explanation = explanations.get(kind, "no es válido")
    name = f"«{field}»" if field else "el cuerpo"
    where = f" ({place})" if place else ""
    got = error.get("input")
    shown = "" if kind in ("missing", "extra_forbidden") or isinstance(got, (dict, list)) \
        else f"; recibido {str(got)[:40]!r}"
    return f"Campo {name}{where}: {explanation}{shown}.", field
