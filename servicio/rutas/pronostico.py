"""``POST /ventas/pronostico`` (JSON o un CSV subido) y ``GET /ventas/ejemplo``."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from nucleo.vocabulario import MAX_HISTORY_DAYS
from nucleo.vocabulario import SERVICE_MAX_FORECAST_DAYS
from servicio import esquemas
from servicio.dependencias import check_key, error_responses, pick, prepare, run
from servicio.entradas import ApiError, series_from_csv, series_from_json, validation_message

router = APIRouter(tags=["tareas"])

FORECAST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": esquemas.ForecastRequest.model_json_schema()},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["archivo"],
            "properties": {"archivo": {"type": "string", "format": "binary",
                                       "description": "CSV fecha,unidades"},
                           "dias": {"type": "integer", "minimum": 1,
                                    "maximum": SERVICE_MAX_FORECAST_DAYS}}}}}}


def _invalid(exc, place: str) -> ApiError:
    message, field = validation_message(
        [{**error, "loc": (place, *error["loc"])} for error in exc.errors()])
    return ApiError(422, message, field)


async def _from_form(request: Request):
    """La serie y los días de un formulario con el CSV en ``archivo``."""
    from pydantic import ValidationError

    async with request.form(max_files=2, max_fields=10) as form:
        upload = form.get("archivo")
        if upload is None or isinstance(upload, str):
            raise ApiError(422, "Campo «archivo» (formulario): falta el CSV de ventas "
                                "(fecha,unidades).", "archivo")
        try:
            days = esquemas.ForecastDays.model_validate({"dias": form.get("dias", "7")}).dias
        except ValidationError as exc:
            raise _invalid(exc, "form") from None
        data = await upload.read()
        return await prepare(series_from_csv, data, upload.filename or ""), days


async def _from_json(request: Request):
    """La serie y los días de un cuerpo JSON (:class:`esquemas.ForecastRequest`)."""
    from pydantic import ValidationError

    try:
        payload = esquemas.ForecastRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise _invalid(exc, "body") from None
    return series_from_json(payload.fechas, payload.unidades), payload.dias


@router.post("/ventas/pronostico", dependencies=[Depends(check_key)],
             summary="Pronostica los días siguientes de una serie de ventas",
             response_model=esquemas.Forecast,
             responses=error_responses(401, 404, 413, 415, 422),
             openapi_extra={"requestBody": FORECAST_BODY})
async def sales_forecast(request: Request,
                         modelo: Annotated[str | None, Query(max_length=100)] = None):
    model = pick(request, "pronostico", modelo)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        series, days = await _from_form(request)
    else:
        series, days = await _from_json(request)
    if len(series) > MAX_HISTORY_DAYS:
        raise ApiError(422, f"La historia tiene {len(series)} días; como mucho "
                            f"{MAX_HISTORY_DAYS}.", "fechas")
    item = await prepare(model.prepare, series, days)
    return {"modelo": model.name, **(await run(request, model, item))}


@router.get("/ventas/ejemplo", summary="Un CSV de ejemplo para el pronóstico",
            response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "fecha,unidades"}})
async def sales_example():
    return Response(esquemas.example_csv(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="ejemplo.csv"'})
