"""Aumento para detección a 416×416: imágenes por segundo, lado a lado en una ejecución.

1. La cadena del artículo (``datos.aumento.make_augmenter``: fotométrica + escala,
   desplazamiento y volteo, con las cajas en la misma llamada a imgaug) sobre
   imágenes ya en memoria, con 1 y 2 hilos.
2. La misma cadena en albumentations 2.x (extra opcional ``bench``), con 1 y 2 hilos.
3. ``modelos.yolo.YoloDataset`` completo (leer el JPEG, redimensionar, aumentar y
   codificar el objetivo de YOLOv2), con 1 y 2 hilos, como lo consume ``fit``.

La columna «× entrenamiento» dice cuántas veces más rápido produce imágenes cada
variante que las que consume un paso de entrenamiento de YOLOv2 a 416 en
``mixed_bfloat16`` (:data:`TRAINING_IMAGES_PER_SECOND`, la cifra de ``bench/RESULTS.md``).

Uso: ``python bench/aumento.py [--rapido]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Imágenes/s que consume el entrenamiento de YOLOv2 416 en mixed_bfloat16 (bench/RESULTS.md).
TRAINING_IMAGES_PER_SECOND = 4.0
SIZE = 416
BATCH = 8


def _albumentations_pipeline():
    """La cadena del artículo en albumentations, con los mismos rangos que la nuestra."""
    import albumentations as A
    import cv2

    photometric = [
        A.OneOf([A.GaussianBlur(blur_limit=(3, 3), sigma_limit=(0.1, 1.0)),
                 A.Blur(blur_limit=(3, 3)), A.MedianBlur(blur_limit=(3, 3))]),
        A.Sharpen(alpha=(0.0, 0.5), lightness=(0.9, 1.1)),
        A.GaussNoise(std_range=(0.0, 0.03), per_channel=True),
        A.PixelDropout(dropout_prob=0.025, per_channel=True),
        A.RandomBrightnessContrast(brightness_limit=(-20 / 255, 20 / 255),
                                   contrast_limit=(0.0, 0.0)),
        A.MultiplicativeNoise(multiplier=(0.8, 1.2), per_channel=True),
        A.RandomBrightnessContrast(brightness_limit=(0.0, 0.0), contrast_limit=(-0.25, 0.25)),
    ]
    return A.Compose(
        [A.Affine(scale=(0.9, 1.1), translate_percent={"x": (-0.1, 0.1), "y": (-0.1, 0.1)},
                  border_mode=cv2.BORDER_REPLICATE, p=0.5),
         A.HorizontalFlip(p=0.5),
         # imgaug aplica entre 0 y 4 (2 de media); albumentations, un número fijo: 2.
         A.SomeOf(photometric, n=2)],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"],
                                 min_visibility=0.25),
        seed=0,
    )


def _rate(work, n_batches: int, workers: int) -> float:
    """Imágenes por segundo de ``work(i)`` (un lote de BATCH) con ``workers`` hilos."""
    work(0)  # calentamiento
    start = time.perf_counter()
    if workers == 1:
        for i in range(n_batches):
            work(i)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, range(n_batches)))
    return n_batches * BATCH / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rapido", action="store_true", help="pocas imágenes (prueba de humo)")
    args = parser.parse_args()
    n_batches = 3 if args.rapido else 24

    from nucleo.entorno import import_tensorflow

    import_tensorflow()
    import numpy as np

    from datos.anotaciones import read_voc
    from datos.aumento import make_augmenter
    from datos.sinteticos import make_shapes_dataset
    from modelos.yolo import YoloDataset
    from modelos.yolo.preprocesado import read_record

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = make_shapes_dataset(Path(tmp) / "figuras", n_images=n_batches * BATCH,
                                   image_size=(SIZE, SIZE), seed=0)
        records, _ = read_voc(root / "annotations", root / "images")
        images = np.stack([read_record(r, (SIZE, SIZE)) for r in records])
        boxes = [r.boxes for r in records]
        labels = [r.labels for r in records]

        augmenter = make_augmenter(seed=0)

        def imgaug_batch(i):
            rows_ = slice(i * BATCH, (i + 1) * BATCH)
            return augmenter.augment_with_boxes(images[rows_], boxes[rows_], labels[rows_],
                                                seed=i)

        for workers in (1, 2):
            rows.append((f"imgaug (la del artículo), {workers} hilo(s)",
                         _rate(imgaug_batch, n_batches, workers)))

        try:
            pipeline = _albumentations_pipeline()
        except ImportError:
            pipeline = None
            print("albumentations no está instalado (pip install "
                  "'redes-keras[bench]'): se omite.")
        if pipeline is not None:
            def albumentations_batch(i):
                return [pipeline(image=images[j], bboxes=boxes[j], labels=labels[j])
                        for j in range(i * BATCH, (i + 1) * BATCH)]

            for workers in (1, 2):
                rows.append((f"albumentations, {workers} hilo(s)",
                             _rate(albumentations_batch, n_batches, workers)))

        classes = sorted({name for r in records for name in r.labels})
        dataset = YoloDataset(records, classes, image_size=SIZE, batch_size=BATCH,
                              augmenter=True, max_boxes=5)
        for workers in (1, 2):
            rows.append((f"YoloDataset completo (JPEG → objetivo), {workers} hilo(s)",
                         _rate(dataset.__getitem__, len(dataset), workers)))

    width = max(len(name) for name, _ in rows)
    print(f"\nAumento a {SIZE}×{SIZE}, lotes de {BATCH}, {n_batches * BATCH} imágenes "
          f"con cajas (figuras sintéticas)")
    print(f"{'variante'.ljust(width)}  imágenes/s  × entrenamiento")
    for name, rate in rows:
        print(f"{name.ljust(width)}  {rate:10.1f}  {rate / TRAINING_IMAGES_PER_SECOND:14.1f}×")
    print(f"(× entrenamiento: frente a las ~{TRAINING_IMAGES_PER_SECOND:g} imágenes/s que "
          "consume un paso de YOLOv2 a 416 en mixed_bfloat16)")


if __name__ == "__main__":
    main()
