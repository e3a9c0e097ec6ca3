"""``POST /traducir``: un número escrito en palabras, del español al inglés."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from servicio import esquemas
from servicio.dependencias import check_key, error_responses, pick, prepare, run
from servicio.entradas import ApiError

router = APIRouter(tags=["tareas"], dependencies=[Depends(check_key)])


@router.post("/traducir", summary="Traduce un número escrito en palabras (español → inglés)",
             response_model=esquemas.Translation, response_model_exclude_none=True,
             responses=error_responses(401, 404, 413, 415, 422))
async def translate(request: Request, peticion: esquemas.TranslationRequest,
                    atencion: Annotated[bool, Query(
                        description="1: devuelve también los pesos de atención")] = False,
                    modelo: Annotated[str | None, Query(max_length=100)] = None):
    model = pick(request, "traduccion", modelo)
    if not peticion.texto.strip():
        raise ApiError(422, "Campo «texto» (cuerpo): está vacío; escriba un número en "
                            "palabras («ciento veinte»).", "texto")
    item = await prepare(model.prepare, peticion.texto.strip(), bool(atencion))
    return {"modelo": model.name, **(await run(request, model, item))}
