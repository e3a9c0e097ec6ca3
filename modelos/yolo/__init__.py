"""YOLOv2: constructor, objetivos, lotes, preprocesado, pérdida y decodificación.

Todo lo propio del modelo vive aquí, junto al constructor: la codificación de las cajas
(:mod:`modelos.yolo.objetivos`), los lotes para ``fit`` (:mod:`modelos.yolo.lotes`), el
camino de una imagen hasta la red (:mod:`modelos.yolo.preprocesado`), la pérdida y la
decodificación. De :mod:`datos` se usan la lectura de anotaciones e imágenes y el aumento.

Ejemplo (el del artículo)::

    from datos.anotaciones import read_voc
    from modelos.yolo import YoloDataset, build_yolo, detect

    imagenes, _ = read_voc("lego/annotations", "lego/images", ["lego"])
    modelo = build_yolo()                       # ["lego"], 416, 5 anclas, 5 cajas
    modelo.fit(YoloDataset(imagenes, ["lego"], augmenter=True, train_times=5), epochs=7)
    cajas = detect(modelo, foto)                # (N, 6): xmin, ymin, xmax, ymax, puntuación, clase
"""

from modelos.yolo.constructor import allow_multiscale
from modelos.yolo.constructor import build_yolo
from modelos.yolo.constructor import yolo_config
from modelos.yolo.decodificacion import decode
from modelos.yolo.decodificacion import decode_batch
from modelos.yolo.decodificacion import detect
from modelos.yolo.decodificacion import detect_batch
from modelos.yolo.decodificacion import nms
from modelos.yolo.lotes import YoloDataset
from modelos.yolo.objetivos import VOC_ANCHORS
from modelos.yolo.objetivos import encode_targets
from modelos.yolo.objetivos import pack_target
from modelos.yolo.objetivos import unpack_target
from modelos.yolo.perdida import YoloLoss
from modelos.yolo.preprocesado import YoloPreprocessor
from modelos.registro import declare_family

__all__ = [
    "VOC_ANCHORS",
    "YoloDataset",
    "YoloLoss",
    "allow_multiscale",
    "build_yolo",
    "decode",
    "decode_batch",
    "detect",
    "detect_batch",
    "encode_targets",
    "nms",
    "pack_target",
    "unpack_target",
    "yolo_config",
]

declare_family("yolo", task="deteccion", preprocessor=YoloPreprocessor())
