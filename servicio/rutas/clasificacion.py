"""``POST /clasificar``: las clases más probables de una imagen subida."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile

from servicio import esquemas
from servicio.dependencias import check_key, error_responses, pick, prepare, read_image, run

router = APIRouter(tags=["tareas"], dependencies=[Depends(check_key)])


@router.post("/clasificar", summary="Clasifica una imagen",
             response_model=esquemas.Classification,
             responses=error_responses(401, 404, 413, 415, 422))
async def classify(request: Request,
                   imagen: Annotated[UploadFile, File(description="la imagen")],
                   k: Annotated[int, Query(ge=1, le=1000,
                                           description="cuántas clases devolver")] = 3,
                   modelo: Annotated[str | None, Query(max_length=100)] = None):
    model = pick(request, "clasificacion", modelo)
    image = await read_image(request, imagen)
    item = await prepare(model.prepare, image, int(k))
    return {"modelo": model.name, **(await run(request, model, item))}
