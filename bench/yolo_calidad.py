"""Calidad de YOLOv2 entrenado desde cero en CPU: figuras sintéticas o fotos reales.

Reproduce el experimento del artículo (300 fotos de Lego, 1 clase) con el conjunto
generado de figuras (300 imágenes 416×416, 3 clases): ``build_yolo(..., backbone="tiny",
input_size=224)`` desde cero con ``redes deteccion entrenar`` (80/20, aumento, anclas por
k-means) durante como mucho ``--minutos`` minutos, y mAP@0.5 en un conjunto
generado aparte (otra semilla, nunca visto).

    python bench/yolo_calidad.py                 # 20 minutos, el objetivo es mAP@0.5 ≥ 0.80
    python bench/yolo_calidad.py --rapido        # 2 minutos, comprobación rápida

Con ``--fotos CARPETA`` (una carpeta VOC con ``annotations/`` e ``images/``, p. ej. las 200
fotos de mapaches de ``../shared/datasets/mapaches``), mide la receta sobre fotos reales:
aparta una vez ``--prueba-fraccion`` de las fotos (20 %, con una semilla fija, la misma
para todas las ejecuciones), entrena con el resto (que ``train_yolo`` divide 80/20 para
validar) con cada ``--semillas`` y da el mAP@0.5 y @0.3 en las fotos apartadas y la
fracción de cajas «tragonas» (≥ 1,5 veces el área de su caja verdadera), con su media y
su desviación entre semillas:

    python bench/yolo_calidad.py --fotos ../shared/datasets/mapaches --receta fotos \
        --backbone tiny --tamanio 320 --semillas 0 1 2 --minutos 20 --json tiny.json

Con ``--backbone mobilenetv2 --backbone-pesos pesos/imagenet/mobilenet_v2-b0353104.pth``,
el mismo experimento partiendo de la MobileNetV2 de ImageNet.

Con ``--llenas``, fotos llenas generadas (10 a 30 figuras por imagen, solapadas; los
triángulos, mucho más pequeños que los círculos y los cuadrados) y, lado a lado con el
mismo presupuesto, el búfer de cajas de la pérdida de antes (las 5 de mayor área) y el de
ahora (del tamaño de la imagen más llena, elegido sin mirar el tamaño): AP por clase en
imágenes generadas aparte, con la del triángulo como la cifra que mirar:

    python bench/yolo_calidad.py --llenas --receta fotos --backbone tiny --ancho 0.25 \
        --tamanio 320 --imagenes 200 --prueba 50 --epocas 40 --minutos 30
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nucleo.archivos import dumps_strict
from datos.anotaciones import read_voc
from datos.sinteticos import make_shapes_dataset
from tareas.deteccion.configuracion import DetectionConfig
from nucleo.vocabulario import YOLO_RECIPES as RECIPES
from tareas.deteccion.evaluar import evaluate_yolo
from tareas.deteccion.entrenar import split_records
from tareas.deteccion.entrenar import train_yolo
from modelos.yolo.perdida import BOX_LOSSES

# Semilla de la foto apartada: la misma para todas las semillas de entrenamiento.
HOLDOUT_SEED = 2026

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
    parser.add_argument("--backbone-pesos", help="punto de partida del extractor (p. ej. el "
                        ".pth de ImageNet de torchvision con --backbone mobilenetv2)")
    parser.add_argument("--ancho", type=float, default=1.0,
                        help="multiplicador de filtros (el alpha con mobilenetv2)")
    parser.add_argument("--calentamiento", type=int, default=1)
    parser.add_argument("--constante", action="store_true", help="tasa constante (sin coseno)")
    parser.add_argument("--semilla", type=int, default=0)
    parser.add_argument("--carpeta", help="carpeta de trabajo (por defecto una temporal)")
    parser.add_argument("--json", help="escribe las cifras en JSON")
    parser.add_argument("--fotos", help="carpeta VOC de fotos reales (annotations/, images/)")
    parser.add_argument("--etiquetas", nargs="+", help="clases de --fotos (por defecto todas)")
    parser.add_argument("--receta", choices=RECIPES, default="blog")
    parser.add_argument("--perdida-cajas", choices=BOX_LOSSES,
                        help="término de las cajas (por defecto, el de la receta)")
    parser.add_argument("--multiescala", dest="multiescala", action="store_const",
                        const=True, default=None,
                        help="entrenamiento multiescala (por defecto, el de la receta)")
    parser.add_argument("--sin-multiescala", dest="multiescala", action="store_const",
                        const=False, help="sin multiescala (también con la receta fotos)")
    parser.add_argument("--semillas", type=int, nargs="+", help="con --fotos (por defecto 0)")
    parser.add_argument("--epocas", type=int,
                        help="épocas fijas (el presupuesto en pasos, que no depende de lo "
                        "ocupada que esté la máquina); --minutos queda como tope")
    parser.add_argument("--llenas", action="store_true",
                        help="fotos llenas generadas: búfer de antes frente al de ahora")
    parser.add_argument("--prueba-fraccion", type=float, default=0.2,
                        help="con --fotos, fracción apartada para la prueba")
    args = parser.parse_args(argv)
    minutes = 2.0 if args.rapido else args.minutos
    if args.fotos:
        return photos(args, minutes)
    if args.llenas:
        return crowded(args, minutes)

    work = Path(args.carpeta or tempfile.mkdtemp(prefix="yolo_calidad_"))
    start = time.perf_counter()
    train_dir = make_shapes_dataset(work / "entrenamiento", n_images=args.imagenes,
                                    classes=CLASSES, seed=args.semilla)
    test_dir = make_shapes_dataset(work / "prueba", n_images=args.prueba, classes=CLASSES,
                                   seed=args.semilla + 1000)
    print(f"datos generados en {time.perf_counter() - start:.1f} s: {work}")
    summary = _train(args, train_dir, list(CLASSES), work / "ejecucion", minutes,
                     args.semilla)
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
                           "backbone", "calentamiento", "constante", "semilla", "receta",
                           "perdida_cajas")},
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return _finish(args, result, result["prueba_map_50"],
                   f"mAP@0.5 en {args.prueba} imágenes nunca vistas",
                   f" tras {result['segundos_entrenamiento']:.0f} s")


#: Las fotos llenas: clases y lado de cada una (fracción del lado de la imagen).
CROWDED_SIZES = {"circulo": (0.08, 0.2), "cuadrado": (0.08, 0.2), "triangulo": (0.03, 0.06)}


def _largest_five(original):
    """``encode_targets`` con el búfer de antes: las ``max_boxes`` cajas de mayor área."""
    import numpy as np

    def encode(boxes, labels, image_size, grid, anchors, num_classes, max_boxes, *, seed=0):
        y, every = original(boxes, labels, image_size, grid, anchors, num_classes,
                            max(max_boxes, len(boxes)), seed=seed)
        filled = every[np.any(every != 0, axis=1)]
        order = np.argsort(-(filled[:, 2] * filled[:, 3]), kind="stable")[:max_boxes]
        kept = np.zeros((max_boxes, 4), np.float32)
        kept[:len(order)] = filled[np.sort(order)]
        return y, kept

    return encode


def crowded(args, minutes: float) -> int:
    """Fotos llenas: el búfer de antes y el de ahora, con el mismo presupuesto."""
    from modelos.yolo import lotes

    work = Path(args.carpeta or tempfile.mkdtemp(prefix="yolo_llenas_"))
    common = dict(image_size=(args.tamanio, args.tamanio), classes=tuple(CROWDED_SIZES),
                  min_objects=10, max_objects=30, sizes=CROWDED_SIZES)
    train_dir = make_shapes_dataset(work / "entrenamiento", n_images=args.imagenes,
                                    seed=args.semilla, **common)
    test_dir = make_shapes_dataset(work / "prueba", n_images=args.prueba,
                                   seed=args.semilla + 1000, **common)
    labels = list(CROWDED_SIZES)
    rows = {}
    original = lotes.encode_targets
    for variant in ("antes", "ahora"):
        extra = {}
        if variant == "antes":
            lotes.encode_targets = _largest_five(original)
            extra["max_boxes"] = 5
        try:
            summary = _train(args, train_dir, labels, work / variant, minutes, args.semilla,
                             **extra)
        finally:
            lotes.encode_targets = original
        test = evaluate_yolo(summary.file("pesos"), test_dir / "annotations",
                             test_dir / "images", work / f"prueba_{variant}")
        rows[variant] = {
            "epocas": summary.metrics["epocas"],
            "segundos": round(summary.data["segundos"]["entrenamiento"]),
            "max_cajas": summary.data["max_cajas"],
            "celdas_compartidas": summary.data["celdas_compartidas"],
            "prueba_map_50": test.metrics["map_50"],
            "prueba_ap_50": {k: v["0.5"] for k, v in test.data["ap_por_clase"].items()}}
        print(json.dumps({variant: rows[variant]}, ensure_ascii=False))
    result = {"minutos_maximos": minutes, "epocas_fijas": args.epocas,
              "ancho": args.ancho, "imagenes": args.imagenes, "prueba": args.prueba,
              "tamanio": args.tamanio, "backbone": args.backbone, "receta": args.receta,
              "filas": rows}
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print("| búfer | épocas | cajas | " + " | ".join(f"AP50 {c}" for c in labels)
          + " | mAP@0.5 |")
    for variant, row in rows.items():
        print(f"| {variant} | {row['epocas']} | {row['max_cajas']} | "
              + " | ".join(f"{row['prueba_ap_50'][c]:.3f}" for c in labels)
              + f" | {row['prueba_map_50']:.3f} |")
    if args.json:
        Path(args.json).write_text(dumps_strict(result, indent=2, ensure_ascii=False))
    return 0


def _train(args, folder: Path, labels, run_dir: Path, minutes: float, seed: int, **extra):
    """``train_yolo`` con los ajustes de la línea de órdenes (los dos modos)."""
    recipe = {name: value for name, value in (("box_loss", args.perdida_cajas),
                                              ("multiscale", args.multiescala))
              if value is not None}  # None: el de la receta
    return train_yolo(
        ann_dir=folder / "annotations", img_dir=folder / "images", labels=labels,
        run_dir=run_dir, input_size=args.tamanio, backbone=args.backbone,
        width_multiplier=args.ancho, backbone_weights=args.backbone_pesos,
        # La receta fotos entrena hasta que se acaba el tiempo; la del blog, 7 épocas.
        epochs=args.epocas or (None if args.receta == "fotos" else 1000),
        train_times=5, batch_size=args.lote, anchors="auto",
        warmup_epochs=args.calentamiento, learning_rate=args.tasa, cosine=not args.constante,
        patience=None, precision=args.precision, minutes=minutes, seed=seed,
        recipe=args.receta, verbose=2, **recipe, **extra)


def _finish(args, result, value: float, what: str, extra: str = "") -> int:
    """Dice si ``value`` cumple el objetivo (mAP@0.5 ≥ 0.80) y escribe ``--json``."""
    target = 0.80
    verdict = "cumple" if value >= target else "NO cumple"
    print(f"{what}: {value:.4f} ({verdict} el objetivo ≥ {target}){extra}")
    if args.json:
        Path(args.json).write_text(dumps_strict(result, indent=2, ensure_ascii=False))
    return 0


def _copy_subset(records, source: Path, target: Path) -> Path:
    """Copia las fotos y anotaciones de ``records`` a ``target`` (una carpeta temporal)."""
    for sub in ("annotations", "images"):
        (target / sub).mkdir(parents=True, exist_ok=True)
    for record in records:
        image = Path(record.path)
        shutil.copy2(image, target / "images" / image.name)
        shutil.copy2(source / "annotations" / f"{image.stem}.xml",
                     target / "annotations" / f"{image.stem}.xml")
    return target


def _mean_spread(values):
    values = [v for v in values if v == v]  # sin nan
    if not values:
        return {"media": None, "desviacion": None}
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"media": round(statistics.fmean(values), 4), "desviacion": round(spread, 4)}


def photos(args, minutes: float) -> int:
    """La receta sobre fotos reales: varias semillas, prueba apartada, media ± desviación."""
    source = Path(args.fotos)
    records, counts = read_voc(source / "annotations", source / "images", args.etiquetas)
    labels = list(args.etiquetas or sorted(counts))
    keep, held_out = split_records(records, args.prueba_fraccion, HOLDOUT_SEED)
    work = Path(args.carpeta or tempfile.mkdtemp(prefix="yolo_fotos_"))
    train_dir = _copy_subset(keep, source, work / "entrenamiento")
    test_dir = _copy_subset(held_out, source, work / "prueba")
    print(f"{len(keep)} fotos para entrenar y validar, {len(held_out)} apartadas: {work}")
    runs = []
    for seed in args.semillas or [0]:
        summary = _train(args, train_dir, labels, work / f"semilla_{seed}", minutes, seed)
        test = evaluate_yolo(summary.file("pesos"), test_dir / "annotations",
                             test_dir / "images", work / f"prueba_{seed}")
        run = {"semilla": seed, "epocas": summary.metrics["epocas"],
               "motivo_parada": summary.metrics["motivo_parada"],
               "mejor_epoca": summary.metrics["mejor_epoca"],
               "segundos_entrenamiento": summary.data["segundos"]["entrenamiento"],
               "val_map_50": summary.metrics["map_50"],
               "prueba_map_50": test.metrics["map_50"], "prueba_map_30": test.metrics["map_30"],
               "prueba_cajas_tragonas": test.metrics["cajas_tragonas"]}
        print(json.dumps(run, ensure_ascii=False))
        runs.append(run)
    result = {
        "fotos": str(source), "etiquetas": labels, "entrenamiento_y_validacion": len(keep),
        "prueba": len(held_out), "semilla_prueba": HOLDOUT_SEED, "minutos_maximos": minutes,
        "configuracion": {k: getattr(args, k) for k in
                          ("receta", "perdida_cajas", "backbone", "backbone_pesos", "ancho",
                           "tamanio", "lote",
                           "tasa", "precision", "calentamiento", "constante",
                           "multiescala")},
        "ejecuciones": runs,
        **{key: _mean_spread([r[key] for r in runs])
           for key in ("prueba_map_50", "prueba_map_30", "prueba_cajas_tragonas",
                       "val_map_50")},
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    m50, m30, big = (result[k] for k in ("prueba_map_50", "prueba_map_30",
                                         "prueba_cajas_tragonas"))
    multiscale = (DetectionConfig.preset(args.receta).multiscale if args.multiescala is None
                  else args.multiescala)
    print(f"| {args.backbone} {args.tamanio}{' multiescala' if multiscale else ''} | "
          f"{args.receta} ({args.perdida_cajas or 'cajas de la receta'}) | {len(runs)} | "
          f"{m50['media']:.3f} ± {m50['desviacion']:.3f} | "
          f"{m30['media']:.3f} ± {m30['desviacion']:.3f} | "
          + ("—" if big["media"] is None else f"{big['media']:.3f} ± {big['desviacion']:.3f}")
          + " |")
    return _finish(args, result, m50["media"],
                   f"mAP@0.5 medio en {len(held_out)} fotos apartadas")


if __name__ == "__main__":
    sys.exit(main())
