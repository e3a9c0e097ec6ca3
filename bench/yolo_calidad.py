"""Calidad de YOLOv2 tiny entrenado desde cero en CPU sobre figuras sintéticas.

Reproduce el experimento del artículo (300 fotos de Lego, 1 clase) con el conjunto
generado de figuras (300 imágenes 416×416, 3 clases): ``build_yolo(..., backbone="tiny",
input_size=224)`` desde cero con ``redes yolo entrenar`` (80/20, aumento, anclas por
k-means) durante como mucho ``--minutos`` minutos, y mAP@0.5 en un conjunto
generado aparte (otra semilla, nunca visto).

    python bench/yolo_calidad.py                 # 20 minutos, el objetivo es mAP@0.5 ≥ 0.80
    python bench/yolo_calidad.py --rapido        # 2 minutos, comprobación rápida
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datos.sinteticos import make_shapes_dataset
from entrenamiento.yolo import evaluate_yolo
from entrenamiento.yolo import train_yolo

CLASSES = ("circulo", "cuadrado", "triangulo")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutos", type=float, default=20.0)
    parser.add_argument("--rapido", action="store_true", help="2 minutos")
    parser.add_argument("--imagenes", type=int, default=300)
    parser.add_argument("--prueba", type=int, default=100)
    parser.add_argument("--tamanio", type=int, default=224)
    parser.add_argument("--lote", type=int, default=8)
    parser.add_argument("--tasa", type=float, default=1e-3)
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument("--backbone", default="tiny")
    parser.add_argument("--calentamiento", type=int, default=1)
    parser.add_argument("--constante", action="store_true", help="tasa constante (sin coseno)")
    parser.add_argument("--semilla", type=int, default=0)
    parser.add_argument("--carpeta", help="carpeta de trabajo (por defecto una temporal)")
    parser.add_argument("--json", help="escribe las cifras en JSON")
    args = parser.parse_args(argv)
    minutes = 2.0 if args.rapido else args.minutos

    work = Path(args.carpeta or tempfile.mkdtemp(prefix="yolo_calidad_"))
    start = time.perf_counter()
    train_dir = make_shapes_dataset(work / "entrenamiento", n_images=args.imagenes,
                                    classes=CLASSES, seed=args.semilla)
    test_dir = make_shapes_dataset(work / "prueba", n_images=args.prueba, classes=CLASSES,
                                   seed=args.semilla + 1000)
    print(f"datos generados en {time.perf_counter() - start:.1f} s: {work}")
    summary = train_yolo(
        train_dir / "annotations", train_dir / "images", list(CLASSES),
        run_dir=work / "ejecucion", input_size=args.tamanio, backbone=args.backbone,
        epochs=1000, train_times=5, batch_size=args.lote, anchors="auto",
        warmup_epochs=args.calentamiento, learning_rate=args.tasa, cosine=not args.constante,
        patience=None,
        precision=args.precision, max_seconds=minutes * 60, seed=args.semilla, verbose=2)
    test = evaluate_yolo(summary.file("pesos"), test_dir / "annotations",
                         test_dir / "images", work / "prueba_pr")
    result = {
        "minutos_maximos": minutes,
        "segundos_entrenamiento": summary.data["segundos"]["entrenamiento"],
        "epocas": summary.metrics["epocas"],
        "val_map_50": summary.metrics["map_50"],
        "prueba_map_50": test.metrics["map_50"],
        "prueba_map_30": test.metrics["map_30"],
        "prueba_ap_50": {k: v["0.5"] for k, v in test.data["ap_por_clase"].items()},
        "configuracion": {k: getattr(args, k) for k in
                          ("imagenes", "prueba", "tamanio", "lote", "tasa", "precision",
                           "backbone", "calentamiento", "constante", "semilla")},
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    target = 0.80
    verdict = "cumple" if result["prueba_map_50"] >= target else "NO cumple"
    print(f"mAP@0.5 en {args.prueba} imágenes nunca vistas: {result['prueba_map_50']:.4f} "
          f"({verdict} el objetivo ≥ {target}) tras {result['segundos_entrenamiento']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
