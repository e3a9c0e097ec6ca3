"""Los esquemas JSON de la API de ``redes servir`` (pydantic): entradas y respuestas.

Documentan la API en ``/docs`` y en ``/openapi.json``; las pruebas comprueban con
schemathesis que toda respuesta los cumple.
"""

from __future__ import annotations

import functools
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from datos.ventas_esquema import MAX_SCHEMA_COLUMNS
from nucleo.vocabulario import MAX_HISTORY_DAYS
from nucleo.vocabulario import MAX_HORIZON
from nucleo.vocabulario import MAX_TEXT_CHARS
from nucleo.vocabulario import SERVICE_MAX_FORECAST_DAYS as MAX_FORECAST_DAYS
from nucleo.vocabulario import SERVICE_MAX_SERIES

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


# === Muchas series (un modelo global: ``redes pronostico entrenar --columna-serie``) ===

Covariates = Annotated[
    dict[str, Annotated[list[FiniteFloat], Field(max_length=MAX_HISTORY_DAYS)]],
    Field(max_length=MAX_SCHEMA_COLUMNS)]


class SeriesHistory(BaseModel):
    """Una serie de una petición de muchas series: su historia y sus covariables."""

    model_config = ConfigDict(extra="forbid")

    serie: str = Field(min_length=1, max_length=400,
                       description="la serie, como la nombra el modelo: sus columnas unidas "
                                   "con « / » (p. ej. «T01 / P003»)")
    fechas: list[str] = Field(max_length=MAX_HISTORY_DAYS,
                              description="fechas AAAA-MM-DD de la historia, sin repetir")
    unidades: list[FiniteFloat] = Field(max_length=MAX_HISTORY_DAYS,
                                        description="unidades vendidas cada fecha")
    covariables: Covariates = Field(
        default_factory=dict,
        description="cada covariable del modelo (futuras y pasadas): un valor por fecha")
    futuras: Covariates = Field(
        default_factory=dict,
        description="cada covariable futura del modelo: un valor por día pronosticado")


class ManySeriesRequest(BaseModel):
    """Muchas series de una vez, para un modelo global: cada una con su historia en
    unidades y, si el modelo las usa, sus covariables."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "series": [{"serie": "T01 / P001",
                    "fechas": ["2022-04-17", "2022-04-18", "2022-04-19"],
                    "unidades": [31, 28, 35],
                    "covariables": {"precio": [2.5, 2.5, 2.0], "festivo": [0, 0, 0]},
                    "futuras": {"precio": [2.0, 2.5], "festivo": [0, 1]}}],
        "dias": 2}]})

    series: list[SeriesHistory] = Field(min_length=1, max_length=SERVICE_MAX_SERIES,
                                        description="las series, cada una una vez")
    # strict: un booleano no es un número de días (true no se lee como 1).
    dias: int | None = Field(None, ge=1, le=MAX_HORIZON, strict=True,
                             description="días a pronosticar (por defecto, y como mucho, "
                                         "el horizonte del modelo)")


class ForecastDay(BaseModel):
    """Un día pronosticado por un modelo global: la mediana y los extremos de cada
    intervalo (``inferior_80``, ``superior_80``, ``inferior_95``...)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, float]

    fecha: str
    unidades: float = Field(description="la mediana del pronóstico")


class SeriesForecast(BaseModel):
    serie: str
    historia: list[DatedValue]
    pronostico: list[ForecastDay]


class ManyForecast(BaseModel):
    modelo: str
    horizonte: int = Field(description="días que el modelo pronostica de una vez")
    niveles: list[int] = Field(description="niveles de los intervalos, en %")
    series: list[SeriesForecast] = Field(description="en el orden de la petición")


def inline_schema(model: type[BaseModel]) -> dict:
    """El esquema JSON de ``model`` sin ``$defs`` (cada referencia sustituida por su
    definición), para ponerlo tal cual en el OpenAPI de una ruta."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(definitions[ref.rsplit("/", 1)[1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return resolve(schema)


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
