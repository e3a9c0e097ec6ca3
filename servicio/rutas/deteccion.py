"""``POST /detectar``: las cajas de un YOLOv2 en una imagen subida."""

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response

from servicio import esquemas
from servicio.dependencias import check_key, error_responses, pick, prepare, read_image, run

router = APIRouter(tags=["tareas"], dependencies=[Depends(check_key)])


@router.post("/detectar", summary="Detecta objetos en una imagen (YOLOv2)",
             response_model=esquemas.Detection,
             responses={200: {"content": {"image/png": {}},
                              "description": "JSON, o con formato=png la imagen con las "
                                             "cajas dibujadas"},
                        **error_responses(401, 404, 413, 415, 422)})
async def detect(request: Request,
                 imagen: Annotated[UploadFile, File(description="la foto")],
                 umbral: Annotated[float, Query(ge=0.0, le=1.0,
                                                description="puntuación mínima")] = 0.3,
                 formato: Annotated[esquemas.ImageFormat, Query(
                     description="json, o png: la imagen con las cajas")] = "json",
                 modelo: Annotated[str | None, Query(max_length=100)] = None):
    model = pick(request, "deteccion", modelo)
    image = await read_image(request, imagen)
    item = await prepare(model.prepare, image, float(umbral), formato == "png")
    result = await run(request, model, item)
    if formato == "png":
        return Response(result["png"], media_type="image/png")
    # Cuántas cajas de cada clase, en el orden en que aparece cada una por primera vez.
    counts = Counter(box["etiqueta"] for box in result["cajas"])
    return {"modelo": model.name, **result, "conteo": dict(counts)}
