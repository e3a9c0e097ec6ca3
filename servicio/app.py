"""La app FastAPI de ``redes servir``: API de los modelos cargados y la página web.

Rutas (documentadas en ``/docs``): ``POST /detectar``, ``POST /clasificar``,
``POST /ventas/pronostico``, ``GET /ventas/ejemplo``, ``POST /traducir``, ``GET /modelos``,
``GET /salud`` y ``GET /`` (la página, en ``estatico/``).

Toda entrada mala da un 4xx con ``{"detail": "<mensaje en castellano>", "campo": ...}``
y nunca una traza: 413 (cuerpo o píxeles de más), 415 (tipo de contenido), 422 (JSON,
CSV o imagen mal formados; el mensaje nombra el campo), 404 (modelo no cargado) y 401
(falta la clave, cuando se pide).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from pathlib import Path

from nucleo.errores import DataError
from nucleo.vocabulario import SERVICE_BATCH_REQUESTS
from nucleo.vocabulario import SERVICE_MAX_MB
from nucleo.vocabulario import SERVICE_MAX_PIXELS
from servicio.entradas import ApiError, BodyLimit, HostCheck, validation_message
from servicio.lotes import Batcher
from servicio.modelos_servidos import ServedModel

logger = logging.getLogger("redes")

STATIC_DIR = Path(__file__).with_name("estatico")
#: Los routers de la app: el del servicio y uno por tarea (:mod:`servicio.rutas`).
ROUTERS = ("general", "deteccion", "clasificacion", "pronostico", "traduccion")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Ajustes del servicio (los de ``redes servir``).

    Attributes:
        max_body_bytes: tamaño máximo del cuerpo de una petición.
        max_pixels: píxeles como mucho de una imagen subida (ancho × alto), comprobados
            antes de decodificarla.
        max_batch: peticiones como mucho en una llamada a la red.
        wait_ms: cuánto se espera a que se llene un lote.
        api_key: clave que deben enviar los clientes en ``X-Clave``; ``None``, ninguna.
        cors_origins: orígenes a los que se permite CORS; vacío, ninguno.
        allowed_hosts: valores aceptados de la cabecera ``Host`` (sin puerto); ``None``,
            cualquiera. ``redes servir`` en 127.0.0.1 acepta solo los nombres locales.
    """

    max_body_bytes: int = int(SERVICE_MAX_MB * 2**20)
    max_pixels: int = SERVICE_MAX_PIXELS
    max_batch: int = SERVICE_BATCH_REQUESTS
    wait_ms: float = 5.0
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] | None = None


def swagger_ui_dir() -> Path | None:
    """La carpeta de Swagger UI del paquete ``swagger-ui-bundle-v2`` (el extra
    ``servicio``), para servir ``/docs`` sin CDN; ``None`` si no está instalado."""
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    folder = Path(swagger_ui_bundle.swagger_ui_path)
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def create_app(models: list[ServedModel], settings: Settings | None = None):
    """Crea la app con los modelos ya cargados.

    Args:
        models: los modelos a servir (de
            :func:`~servicio.modelos_servidos.load_served_model`).
        settings: límites, lotes, clave y CORS.

    Returns:
        La app ASGI (FastAPI envuelta en el límite del cuerpo).
    """
    import importlib

    from fastapi import FastAPI
    from starlette.formparsers import MultiPartParser

    settings = settings or Settings()
    names = [model.name for model in models]
    if len(set(names)) != len(names):
        raise DataError(f"Dos modelos se llaman igual ({', '.join(names)}); cada --pesos "
                        "debe dar un nombre distinto (nombre=ruta).")
    batchers = {model.name: Batcher(model.run_batch, max_batch=settings.max_batch,
                                    wait_ms=settings.wait_ms, name=model.name)
                for model in models}
    # Las subidas se quedan en memoria (el cuerpo ya está acotado): nunca tocan el disco.
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size,
                                         settings.max_body_bytes)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        for batcher in batchers.values():
            await batcher.close()

    app = FastAPI(
        title="redes-keras", version="0.1.0", lifespan=lifespan, docs_url=None,
        redoc_url=None,
        description="Los modelos de «Aprende Machine Learning» servidos por HTTP: detección "
                    "(YOLOv2), clasificación de imágenes, pronóstico de ventas y traducción "
                    "de números. Los errores son JSON con «detail» en castellano.",
    )
    app.state.models = {model.name: model for model in models}
    app.state.batchers = batchers
    app.state.settings = settings
    _install_error_handlers(app)
    for name in ROUTERS:
        app.include_router(importlib.import_module(f"servicio.rutas.{name}").router)
    _mount_pages(app)
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        from servicio.dependencias import KEY_HEADER

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"],
                           allow_headers=[KEY_HEADER, "Content-Type"])
    limited = HostCheck(BodyLimit(app, settings.max_body_bytes), settings.allowed_hosts)
    limited.fastapi_app = app  # las pruebas y la CLI llegan a la app por aquí
    return limited


def _install_error_handlers(app) -> None:
    """Errores siempre en JSON y en castellano, nunca una traza."""
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse({"detail": exc.detail, "campo": exc.field}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        message, field = validation_message(exc.errors())
        return JSONResponse({"detail": message, "campo": field}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        spanish = {404: f"No existe la ruta {request.url.path}; las rutas están en /docs.",
                   405: f"{request.url.path} no admite el método {request.method}.",
                   400: f"El cuerpo de la petición está mal formado ({exc.detail})."}
        status = 422 if exc.status_code == 400 else exc.status_code
        detail = spanish.get(exc.status_code, str(exc.detail))
        return JSONResponse({"detail": detail, "campo": None}, status_code=status,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        logger.exception("Error inesperado en %s", request.url.path)
        return JSONResponse({"detail": "Error interno del servidor; el registro del servidor "
                                       "tiene el detalle.", "campo": None}, status_code=500)


def _mount_pages(app) -> None:
    """La página web (``/``) y la documentación sin red (``/docs``, Swagger UI del paquete
    swagger-ui-bundle-v2)."""
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    docs_assets = swagger_ui_dir()
    if docs_assets is not None:
        from fastapi.openapi.docs import get_swagger_ui_html

        app.mount("/docs-estatico", StaticFiles(directory=docs_assets), name="docs-estatico")

        @app.get("/docs", include_in_schema=False)
        async def docs():
            return get_swagger_ui_html(
                openapi_url="/openapi.json", title="redes-keras: API",
                swagger_js_url="/docs-estatico/swagger-ui-bundle.js",
                swagger_css_url="/docs-estatico/swagger-ui.css",
                swagger_favicon_url="/docs-estatico/favicon-32x32.png")

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    if STATIC_DIR.is_dir():
        app.mount("/estatico", StaticFiles(directory=STATIC_DIR), name="estatico")
