"""La app FastAPI de ``redes servir``: API de los modelos cargados y la página web.

Rutas (documentadas en ``/docs``): ``POST /detectar``, ``POST /clasificar``,
``POST /ventas/pronostico``, ``GET /ventas/ejemplo``, ``POST /traducir``, ``GET /modelos``,
``GET /salud`` y ``GET /`` (la página, en ``estatico/``).

Toda entrada mala da un 4xx con ``{"detail": "<mensaje en castellano>", "campo": ...}``
y nunca una traza: 413 (cuerpo o píxeles de más), 415 (tipo de contenido), 422 (JSON,
CSV o imagen mal formados; el mensaje nombra el campo), 404 (modelo no cargado) y 401
(falta la clave, cuando se pide).
"""

# Sin «from __future__ import annotations»: FastAPI lee las anotaciones de las rutas,
# definidas dentro de create_app, en tiempo de ejecución.
import contextlib
import dataclasses
import hmac
import logging
from pathlib import Path
from typing import Annotated, Any

from nucleo.errores import DataError, RedesError, TooLargeError
from servicio.entradas import (ApiError, BodyLimit, series_from_csv,
                                            series_from_json, validation_message)
from servicio.lotes import Batcher
from servicio.modelos_servidos import ServedModel
from nucleo.vocabulario import MAX_HISTORY_DAYS
from nucleo.vocabulario import SERVICE_MAX_FORECAST_DAYS as MAX_FORECAST_DAYS

logger = logging.getLogger("redes")

STATIC_DIR = Path(__file__).with_name("estatico")
#: Cabecera de la clave de acceso.
KEY_HEADER = "X-Clave"


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
    """

    max_body_bytes: int = 10 * 2**20
    max_pixels: int = 40_000_000
    max_batch: int = 8
    wait_ms: float = 5.0
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()


def _error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    from servicio.esquemas import ErrorResponse

    texts = {400: "Petición mal formada", 401: "Falta la clave o no es correcta",
             404: "No hay ningún modelo cargado para esa tarea o con ese nombre",
             413: "Cuerpo o imagen más grandes que el límite",
             415: "Tipo de contenido equivocado",
             422: "Entrada mal formada: el mensaje nombra el campo"}
    return {code: {"model": ErrorResponse, "description": texts[code]} for code in codes}


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
    from fastapi import Depends, FastAPI, File, Query, Request, UploadFile
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.formparsers import MultiPartParser

    from servicio import esquemas

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

    # === Errores: siempre JSON en castellano, nunca una traza ===

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

    # === Clave ===

    async def check_key(request: Request):
        if settings.api_key is None:
            return
        given = request.headers.get(KEY_HEADER, "")
        if not hmac.compare_digest(given.encode(), settings.api_key.encode()):
            raise ApiError(401, f"Falta la clave o no es correcta: envíela en la cabecera "
                                f"{KEY_HEADER}.", KEY_HEADER)

    protected = [Depends(check_key)]

    def pick(task: str, name: str | None) -> ServedModel:
        if name is not None:
            model = app.state.models.get(name)
            if model is None or model.task != task:
                loaded = [m.name for m in models if m.task == task]
                raise ApiError(404, f"No hay ningún modelo de {task} llamado «{name[:60]}»; "
                                    f"cargados: {', '.join(loaded) or 'ninguno'}.", "modelo")
            return model
        for model in models:
            if model.task == task:
                return model
        raise ApiError(404, f"No hay ningún modelo de {task} cargado: arranque el servidor "
                            f"con «redes servir --pesos ...» de un modelo de {task}.", "modelo")

    async def run(model: ServedModel, item):
        return await batchers[model.name].submit(item)

    async def prepare(fn, *args):
        """La preparación de la entrada (decodificar, leer), fuera del bucle de eventos."""
        from starlette.concurrency import run_in_threadpool

        try:
            return await run_in_threadpool(fn, *args)
        except TooLargeError as exc:
            raise ApiError(413, str(exc), "imagen") from None
        except RedesError as exc:
            raise ApiError(422, str(exc)) from None

    async def read_image(upload, limit_pixels: int):
        from datos.imagenes import decode_image_bytes

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

    # === Rutas ===

    @app.get("/salud", response_model=esquemas.Health, tags=["servicio"],
             summary="Estado del servicio")
    async def health():
        return {"estado": "ok", "modelos": len(models)}

    @app.get("/modelos", response_model=esquemas.ModelList, tags=["servicio"],
             summary="Modelos cargados", dependencies=protected,
             responses=_error_responses(401))
    async def list_models():
        return {"modelos": [model.info() for model in models]}

    @app.post("/detectar", tags=["tareas"], dependencies=protected,
              summary="Detecta objetos en una imagen (YOLOv2)",
              response_model=esquemas.Detection,
              responses={200: {"content": {"image/png": {}},
                               "description": "JSON, o con formato=png la imagen con las "
                                              "cajas dibujadas"},
                         **_error_responses(401, 404, 413, 415, 422)})
    async def detect(imagen: Annotated[UploadFile, File(description="la foto")],
                     umbral: Annotated[float, Query(ge=0.0, le=1.0,
                                                    description="puntuación mínima")] = 0.3,
                     formato: Annotated[esquemas.ImageFormat, Query(
                         description="json, o png: la imagen con las cajas")] = "json",
                     modelo: Annotated[str | None, Query(max_length=100)] = None):
        model = pick("deteccion", modelo)
        image = await read_image(imagen, settings.max_pixels)
        item = await prepare(model.prepare, image, float(umbral), formato == "png")
        result = await run(model, item)
        if formato == "png":
            return Response(result["png"], media_type="image/png")
        return {"modelo": model.name, **result}

    @app.post("/clasificar", tags=["tareas"], dependencies=protected,
              summary="Clasifica una imagen", response_model=esquemas.Classification,
              responses=_error_responses(401, 404, 413, 415, 422))
    async def classify(imagen: Annotated[UploadFile, File(description="la imagen")],
                       k: Annotated[int, Query(ge=1, le=1000,
                                               description="cuántas clases devolver")] = 3,
                       modelo: Annotated[str | None, Query(max_length=100)] = None):
        model = pick("clasificacion", modelo)
        image = await read_image(imagen, settings.max_pixels)
        item = await prepare(model.prepare, image, int(k))
        return {"modelo": model.name, **(await run(model, item))}

    forecast_body = {
        "required": True,
        "content": {
            "application/json": {"schema": esquemas.ForecastRequest.model_json_schema()},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["archivo"],
                "properties": {"archivo": {"type": "string", "format": "binary",
                                           "description": "CSV fecha,unidades"},
                               "dias": {"type": "integer", "minimum": 1,
                                        "maximum": MAX_FORECAST_DAYS}}}}}}

    @app.post("/ventas/pronostico", tags=["tareas"], dependencies=protected,
              summary="Pronostica los días siguientes de una serie de ventas",
              response_model=esquemas.Forecast,
              responses=_error_responses(401, 404, 413, 415, 422),
              openapi_extra={"requestBody": forecast_body})
    async def sales_forecast(request: Request,
                             modelo: Annotated[str | None, Query(max_length=100)] = None):
        from pydantic import ValidationError

        model = pick("ventas", modelo)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form(max_files=2, max_fields=10) as form:
                upload = form.get("archivo")
                if upload is None or isinstance(upload, str):
                    raise ApiError(422, "Campo «archivo» (formulario): falta el CSV de "
                                        "ventas (fecha,unidades).", "archivo")
                raw_days = form.get("dias", "7")
                try:
                    days = esquemas.ForecastDays.model_validate({"dias": raw_days}).dias
                except ValidationError as exc:
                    message, field = validation_message(
                        [{**e, "loc": ("form", *e["loc"])} for e in exc.errors()])
                    raise ApiError(422, message, field) from None
                data = await upload.read()
                series = await prepare(series_from_csv, data, upload.filename or "")
        else:
            try:
                payload = esquemas.ForecastRequest.model_validate_json(await request.body())
            except ValidationError as exc:
                message, field = validation_message(
                    [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])
                raise ApiError(422, message, field) from None
            days = payload.dias
            series = series_from_json(payload.fechas, payload.unidades)
        if len(series) > MAX_HISTORY_DAYS:
            raise ApiError(422, f"La historia tiene {len(series)} días; como mucho "
                                f"{MAX_HISTORY_DAYS}.", "fechas")
        item = await prepare(model.prepare, series, days)
        return {"modelo": model.name, **(await run(model, item))}

    @app.get("/ventas/ejemplo", tags=["tareas"], summary="Un CSV de ejemplo para el pronóstico",
             response_class=Response,
             responses={200: {"content": {"text/csv": {}}, "description": "fecha,unidades"}})
    async def sales_example():
        return Response(esquemas.example_csv(), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="ejemplo.csv"'})

    @app.post("/traducir", tags=["tareas"], dependencies=protected,
              summary="Traduce un número escrito en palabras (español → inglés)",
              response_model=esquemas.Translation, response_model_exclude_none=True,
              responses=_error_responses(401, 404, 413, 415, 422))
    async def translate(peticion: esquemas.TranslationRequest,
                        atencion: Annotated[bool, Query(
                            description="1: devuelve también los pesos de atención")] = False,
                        modelo: Annotated[str | None, Query(max_length=100)] = None):
        model = pick("traduccion", modelo)
        if not peticion.texto.strip():
            raise ApiError(422, "Campo «texto» (cuerpo): está vacío; escriba un número en "
                                "palabras («ciento veinte»).", "texto")
        item = await prepare(model.prepare, peticion.texto.strip(), bool(atencion))
        return {"modelo": model.name, **(await run(model, item))}

    # === La documentación, sin red: Swagger UI del paquete swagger-ui-bundle-v2 ===

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

    # === La página ===

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    if STATIC_DIR.is_dir():
        app.mount("/estatico", StaticFiles(directory=STATIC_DIR), name="estatico")

    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=[KEY_HEADER,
                                                                          "Content-Type"])
    limited = BodyLimit(app, settings.max_body_bytes)
    limited.fastapi_app = app  # las pruebas y la CLI llegan a la app por aquí
    return limited


__all__ = ["Settings", "create_app"]
