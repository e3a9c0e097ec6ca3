"""Los esquemas JSON de la API de ``redes servir`` (pydantic): entradas y respuestas.

Documentan la API en ``/docs`` y en ``/openapi.json``; las pruebas comprueban con
schemathesis que toda respuesta los cumple.
"""

from __future__ import annotations

import functools
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from nucleo.vocabulario import MAX_HISTORY_DAYS
from nucleo.vocabulario import MAX_TEXT_CHARS
from nucleo.vocabulario import SERVICE_MAX_FORECAST_DAYS as MAX_FORECAST_DAYS

ImageFormat = Literal["json", "png"]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class ErrorResponse(BaseModel):
    """Un error: el mensaje en castellano y, si lo hay, el campo culpable."""

    detail: str = Field(description="qué falló y qué se esperaba, en castellano")
    campo: str | None = Field(None, description="el campo de la petición que falló")


class Health(BaseModel):
    estado: Literal["ok"]
    modelos: int = Field(description="modelos cargados")


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    nombre: str
    tarea: Literal["deteccion", "clasificacion", "pronostico", "traduccion"]
    constructor: str | None
    motor: str
    pesos: str
    entrada: list[int] | None = None
    etiquetas: list[str] | None = None


class ModelList(BaseModel):
    modelos: list[ModelInfo]


class Box(BaseModel):
    etiqueta: str
    puntuacion: float = Field(ge=0.0, le=1.0)
    x1: float
    y1: float
    x2: float
    y2: float


class Detection(BaseModel):
    modelo: str
    ancho: int = Field(description="ancho de la imagen original, en píxeles")
    alto: int
    cajas: list[Box] = Field(description="en píxeles de la imagen original")
    conteo: dict[str, int] = Field(description="cuántas cajas hay de cada clase (solo las "
                                               "clases con alguna caja)")


class ClassScore(BaseModel):
    etiqueta: str
    probabilidad: float


class Classification(BaseModel):
    modelo: str
    clases: list[ClassScore]


class ForecastDays(BaseModel):
    dias: int = Field(7, ge=1, le=MAX_FORECAST_DAYS, description="días a pronosticar")


class ForecastRequest(BaseModel):
    """La historia de ventas en unidades (sin escalar: el escalado va en el modelo)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "fechas": ["2018-11-23", "2018-11-24", "2018-11-26", "2018-11-27", "2018-11-28",
                   "2018-11-29", "2018-11-30"],
        "unidades": [198, 221, 162, 181, 187, 205, 240], "dias": 7}]})

    fechas: list[str] = Field(max_length=MAX_HISTORY_DAYS,
                              description="fechas AAAA-MM-DD, sin repetir")
    unidades: list[FiniteFloat] = Field(max_length=MAX_HISTORY_DAYS,
                                        description="unidades vendidas cada fecha")
    # strict: un booleano no es un número de días (true no se lee como 1).
    dias: int = Field(7, ge=1, le=MAX_FORECAST_DAYS, strict=True,
                      description="días a pronosticar")


class DatedValue(BaseModel):
    fecha: str
    unidades: float


class Forecast(BaseModel):
    modelo: str
    historia: list[DatedValue]
    pronostico: list[DatedValue]


class TranslationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"texto": "ciento veinte"}]})

    texto: str = Field(max_length=MAX_TEXT_CHARS,
                       description="un número escrito en palabras, en castellano")


class Attention(BaseModel):
    origen: list[str]
    destino: list[str]
    pesos: list[list[float]] = Field(description="fila i: la atención de la palabra de "
                                                 "destino i sobre cada palabra de origen")


class Translation(BaseModel):
    modelo: str
    texto: str
    traduccion: str
    atencion: Attention | None = None


@functools.cache
def example_csv() -> str:
    """El CSV de ejemplo de ``GET /ventas/ejemplo``: 120 días de la serie sintética."""
    from datos.ventas import make_sales_series

    series = make_sales_series("2018-08-01", 120, seed=0)
    lines = ["fecha,unidades"]
    lines += [f"{date},{int(value)}" for date, value in zip(series.dates, series.values,
                                                            strict=True)]
    return "\n".join(lines) + "\n"
