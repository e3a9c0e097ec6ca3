"""La parte de detección de ``redes demo``: YOLOv2 tiny sobre figuras generadas."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from informes.resultado import Table
from informes.resultado import TaskResult
from tareas.deteccion.configuracion import DetectionConfig
from tareas.deteccion.entrenar import train_yolo
from tareas.deteccion.evaluar import DRAW_THRESHOLD
from tareas.deteccion.evaluar import evaluate_records

_CLASSES = ("circulo", "cuadrado")
_SIZE = 160


@dataclasses.dataclass(frozen=True)
class DetectionDemo:
    """La demo: figuras de 2 clases a 160×160 y YOLOv2 tiny (un cuarto de los filtros)
    entrenado desde cero 25 épocas (la batería evalúa este mismo detector).

    Attributes:
        classes: las clases de las figuras.
        image_size: el lado de las imágenes (y de la entrada de la red).
        n_images: imágenes de entrenamiento (y validación).
        n_test: imágenes de prueba, generadas con otra semilla.
        max_objects: figuras por imagen como mucho.
        training: la configuración del entrenamiento (sin carpetas ni semilla: las pone
            :func:`run_detection_demo`).
    """

    classes: tuple[str, ...] = _CLASSES
    image_size: int = _SIZE
    n_images: int = 800
    n_test: int = 50
    max_objects: int = 2
    training: DetectionConfig = DetectionConfig(
        labels=_CLASSES, input_size=_SIZE, backbone="tiny", width_multiplier=0.25,
        anchors="auto", epochs=25, train_times=1, batch_size=16, learning_rate=2e-3,
        cosine=True, warmup_epochs=1, patience=None, precision="auto")


DEMO = DetectionDemo()


def run_detection_demo(out_dir="pesos/demo", *, seed: int = 0, verbose: Any = 2,
                       precision: str | None = None) -> TaskResult:
    """Detector pequeño de figuras generadas, entrenado desde cero (sin red).

    Genera un conjunto VOC de figuras y otro aparte de prueba, entrena YOLOv2 tiny
    desde cero con :func:`~tareas.deteccion.train_yolo`, mide el mAP en la prueba y
    dibuja las cajas de una imagen de prueba (la primera de las 10 primeras con alguna
    detección) en ``..._detected.png``. ``precision`` es la del entrenamiento (``None``:
    la de la demo, ``auto``).

    Returns:
        Un :class:`~informes.resultado.TaskResult`: ``metrics`` (``map_50``,
        ``map_30``, ``epocas``, ``prueba_map_50``), ``files`` (los del entrenamiento y
        ``detectada``) y ``data["detecciones"]`` de la imagen dibujada.
    """
    import modelos
    from datos.anotaciones import read_voc
    from datos.sinteticos import make_shapes_dataset
    from tareas.deteccion.predecir import detect_images

    out_dir = Path(out_dir) / "deteccion"
    classes = list(DEMO.classes)
    shapes = {"classes": DEMO.classes, "image_size": (DEMO.image_size, DEMO.image_size),
              "max_objects": DEMO.max_objects}
    train_dir = make_shapes_dataset(out_dir / "figuras", n_images=DEMO.n_images, seed=seed,
                                    **shapes)
    test_dir = make_shapes_dataset(out_dir / "figuras_prueba", n_images=DEMO.n_test,
                                   seed=seed + 1000, **shapes)
    given = {} if precision is None else {"precision": precision}
    trained = train_yolo(DEMO.training.replace(
        ann_dir=train_dir / "annotations", img_dir=train_dir / "images", run_dir=out_dir,
        seed=seed, **given), verbose=verbose)
    model = modelos.load(trained.file("pesos"))
    images, _ = read_voc(test_dir / "annotations", test_dir / "images", classes)
    test = evaluate_records(model, images, classes, progress=False)
    first = zip(images[:10], test["predicciones"], strict=False)
    shown = next((record.path for record, rows in first if (rows[:, 4] >= DRAW_THRESHOLD).any()),
                 images[0].path)
    (detected,) = detect_images(model, [shown], out_dir=out_dir,
                                obj_threshold=DRAW_THRESHOLD)
    found = detected.data["detecciones"]
    return TaskResult(
        title="Detección (YOLOv2 tiny, figuras): métricas",
        metrics={**{k: trained.metrics[k] for k in ("map_50", "map_30", "epocas")},
                 "prueba_map_50": test["map"]["0.5"]},
        files={**trained.files, "detectada": detected.file("detectada")},
        data={"detecciones": found},
        tables=[Table(f"YOLOv2 tiny (figuras): {detected.file('detectada')}",
                      ("Clase", "Puntuación  caja"),
                      [(d["etiqueta"], f"{d['puntuacion']:.2f}  "
                        + ", ".join(f"{v:.0f}" for v in d["caja"])) for d in found])],
        model=model,
    )
