"""YOLOv2: constructor, pérdida y decodificación.

Ejemplo (el del artículo)::

    from datos.anotaciones import read_voc
    from datos.yolo import YoloDataset
    from modelos.yolo import build_yolo, detect

    imagenes, _ = read_voc("lego/annotations", "lego/images", ["lego"])
    modelo = build_yolo()                       # ["lego"], 416, 5 anclas, 5 cajas
    modelo.fit(YoloDataset(imagenes, ["lego"], augmenter=True, train_times=5), epochs=7)
    cajas = detect(modelo, foto)                # (N, 6): xmin, ymin, xmax, ymax, puntuación, clase
"""

from modelos.yolo.constructor import build_yolo
from modelos.yolo.constructor import yolo_config
from modelos.yolo.decodificacion import decode
from modelos.yolo.decodificacion import decode_batch
from modelos.yolo.decodificacion import detect
from modelos.yolo.decodificacion import detect_batch
from modelos.yolo.decodificacion import nms
from modelos.yolo.perdida import YoloLoss

__all__ = [
    "YoloLoss",
    "build_yolo",
    "decode",
    "decode_batch",
    "detect",
    "detect_batch",
    "nms",
    "yolo_config",
]
