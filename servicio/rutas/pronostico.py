"""``POST /ventas/pronostico`` (JSON o un CSV subido) y ``GET /ventas/ejemplo``.

Con un modelo de una serie (el del blog), la historia de una serie; con un modelo global
(``redes pronostico entrenar --columna-serie``), muchas series de una vez
(:class:`esquemas.ManySeriesRequest`, o un CSV largo en ``archivo`` y sus covariables
futuras en ``futuro``) y, de cada una, la mediana y los intervalos.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from nucleo.vocabulario import MAX_HISTORY_DAYS
from nucleo.vocabulario import SERVICE_MAX_FORECAST_DAYS
from servicio import esquemas
from servicio.dependencias import check_key, error_responses, pick, prepare, run
from servicio.entradas import ApiError, series_from_csv, series_from_json, uploaded_csvs
from servicio.entradas import validation_message

router = APIRouter(tags=["tareas"])

FORECAST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"anyOf": [
            esquemas.inline_schema(esquemas.ForecastRequest),
            esquemas.inline_schema(esquemas.ManySeriesRequest)]}},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["archivo"],
            "properties": {"archivo": {"type": "string", "format": "binary",
                                       "description": "CSV fecha,unidades; con un modelo de "
                                       "muchas series, el CSV largo (columnas de la serie, "
                                       "fecha, unidades y covariables)"},
                           "futuro": {"type": "string", "format": "binary",
                                      "description": "con un modelo de muchas series que usa "
                                      "covariables futuras: su CSV largo en los días "
                                      "pronosticados"},
                           "dias": {"type": "integer", "minimum": 1,
                                    "maximum": SERVICE_MAX_FORECAST_DAYS}}}}}}


def _invalid(exc, place: str) -> ApiError:
    message, field = validation_message(
        [{**error, "loc": (place, *error["loc"])} for error in exc.errors()])
    return ApiError(422, message, field)


def _many(model) -> bool:
    """Si el modelo servido es global (muchas series en una petición)."""
    return getattr(model.predictor, "many_series", False)


async def _from_form(request: Request, model):
    """La entrada preparada de un formulario con el CSV en ``archivo`` (y, con un modelo
    de muchas series, el de las covariables futuras en ``futuro``)."""
    from pydantic import ValidationError

    async with request.form(max_files=3, max_fields=10) as form:
        upload, future = form.get("archivo"), form.get("futuro")
        if upload is None or isinstance(upload, str):
            raise ApiError(422, "Campo «archivo» (formulario): falta el CSV de ventas "
                                "(fecha,unidades).", "archivo")
        if isinstance(future, str) or (future is not None and not _many(model)):
            raise ApiError(422, "Campo «futuro» (formulario): es el CSV de las covariables "
                                "futuras de un modelo de muchas series"
                                + ("" if _many(model) else f"; «{model.name}» es de una "
                                   "sola serie") + ".", "futuro")
        try:
            days = esquemas.ForecastDays.model_validate(
                {"dias": form.get("dias", "7")}).dias
        except ValidationError as exc:
            raise _invalid(exc, "form") from None
        data = await upload.read()
        if not _many(model):
            series = await prepare(series_from_csv, data, upload.filename or "")
            return await _single(model, series, days)
        uploads = {"archivo": (data, upload.filename or "")}
        uploads["futuro"] = None if future is None else (await future.read(),
                                                         future.filename or "")
        days = days if "dias" in form else None

        def read():
            with uploaded_csvs(uploads, "largo") as paths:
                return model.prepare(paths["archivo"], days, future=paths["futuro"])

        return await prepare(read)


async def _from_json(request: Request, model):
    """La entrada preparada de un cuerpo JSON (:class:`esquemas.ForecastRequest`, o
    :class:`esquemas.ManySeriesRequest` con un modelo de muchas series)."""
    from pydantic import ValidationError

    body = await request.body()
    if _many(model):
        try:
            payload = esquemas.ManySeriesRequest.model_validate_json(body)
        except ValidationError as exc:
            if any(error["loc"] == ("series",) and error["type"] == "missing"
                   for error in exc.errors()):
                raise ApiError(422, f"«{model.name}» es un modelo de muchas series: envíe "
                                    '{"series": [{"serie": ..., "fechas": [...], '
                                    '"unidades": [...]}, ...], "dias": N}.', "series") from None
            raise _invalid(exc, "body") from None
        records = [item.model_dump() for item in payload.series]
        return await prepare(model.prepare, records, payload.dias)
    try:
        payload = esquemas.ForecastRequest.model_validate_json(body)
    except ValidationError as exc:
        if any(error["loc"] == ("series",) and error["type"] == "extra_forbidden"
               for error in exc.errors()):
            raise ApiError(422, f"«{model.name}» es un modelo de una sola serie: envíe "
                                '{"fechas": [...], "unidades": [...], "dias": N}; las '
                                "peticiones de muchas series son para un modelo global.",
                           "series") from None
        raise _invalid(exc, "body") from None
    return await _single(model, series_from_json(payload.fechas, payload.unidades),
                         payload.dias)


async def _single(model, series, days: int):
    """La entrada preparada de una serie (un modelo de una sola serie)."""
    if len(series) > MAX_HISTORY_DAYS:
        raise ApiError(422, f"La historia tiene {len(series)} días; como mucho "
                            f"{MAX_HISTORY_DAYS}.", "fechas")
    return await prepare(model.prepare, series, days)


@router.post("/ventas/pronostico", dependencies=[Depends(check_key)],
             summary="Pronostica los días siguientes de una serie de ventas, o de muchas "
                     "con un modelo global",
             response_model=esquemas.Forecast | esquemas.ManyForecast,
             responses=error_responses(401, 404, 413, 415, 422),
             openapi_extra={"requestBody": FORECAST_BODY})
async def sales_forecast(request: Request,
                         modelo: Annotated[str | None, Query(max_length=100)] = None):
    model = pick(request, "pronostico", modelo)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        item = await _from_form(request, model)
    else:
        item = await _from_json(request, model)
    return {"modelo": model.name, **(await run(request, model, item))}


@router.get("/ventas/ejemplo", summary="Un CSV de ejemplo para el pronóstico",
            response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "fecha,unidades"}})
async def sales_example():
    return Response(esquemas.example_csv(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="ejemplo.csv"'})
