"""``GET /salud`` y ``GET /modelos``."""

from fastapi import APIRouter, Depends, Request

from servicio import esquemas
from servicio.dependencias import check_key, error_responses

router = APIRouter(tags=["servicio"])


@router.get("/salud", response_model=esquemas.Health, summary="Estado del servicio")
async def health(request: Request):
    return {"estado": "ok", "modelos": len(request.app.state.models)}


@router.get("/modelos", response_model=esquemas.ModelList, summary="Modelos cargados",
            dependencies=[Depends(check_key)], responses=error_responses(401))
async def list_models(request: Request):
    return {"modelos": [model.info() for model in request.app.state.models.values()]}
