"""int8 (NNCF) frente a float32 y bfloat16: calidad en las figuras y velocidad, lado a lado.

El objetivo de la issue: mAP@0.5 en el conjunto de figuras a menos de 0,01 del de
float32, y cuánto más rápido va.

1. El modelo: ``--pesos`` (un YOLO entrenado en las figuras) o, sin él, uno entrenado
   aquí durante ``--minutos`` con la receta de ``bench/yolo_calidad.py`` (tiny a 224
   desde cero, 300 imágenes de la semilla 0).
2. Calibración: las fotos de entrenamiento (``redes deteccion exportar --int8 --calibracion``),
   sin anotaciones.
3. Calidad: mAP@0.5 y @0.3 en 100 imágenes generadas aparte (semilla 1000, nunca vistas),
   con Keras en float32, OpenVINO en float32, OpenVINO en bf16 (si la CPU lo tiene
   nativo) y OpenVINO int8.
4. Velocidad: ``detect_batch`` de esas imágenes en lotes de 8 con cada motor (la mejor de
   ``--rondas``, intercaladas).

Uso::

    python bench/int8.py --minutos 12 --carpeta /tmp/int8
    python bench/int8.py --pesos /tmp/int8/ejecucion/modelo.h5 --carpeta /tmp/int8
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from nucleo.archivos import dumps_strict  # noqa: E402
from nucleo.entorno import import_tensorflow, native_bfloat16  # noqa: E402

import_tensorflow()

from datos.anotaciones import read_voc  # noqa: E402
from datos.sinteticos import make_shapes_dataset  # noqa: E402
from tareas.deteccion.evaluar import evaluate_records  # noqa: E402
from inferencia.cuantizar import quantize_export  # noqa: E402
from inferencia.exportar import export_model, read_description  # noqa: E402
from inferencia.motores import load_engine, open_export  # noqa: E402
from modelos.yolo.decodificacion import detect_batch  # noqa: E402
from modelos.yolo.preprocesado import read_image  # noqa: E402
from yolo_calidad import CLASSES  # noqa: E402

TARGET = 0.01


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pesos", help="YOLO entrenado en las figuras (si no, se entrena)")
    parser.add_argument("--minutos", type=float, default=12.0)
    parser.add_argument("--carpeta", help="carpeta de trabajo (por defecto una temporal)")
    parser.add_argument("--rondas", type=int, default=3)
    parser.add_argument("--json", help="escribe las cifras en JSON")
    args = parser.parse_args(argv)
    work = Path(args.carpeta or tempfile.mkdtemp(prefix="int8_"))
    train_dir, test_dir = work / "entrenamiento", work / "prueba"
    if not (train_dir / "annotations").is_dir():
        make_shapes_dataset(train_dir, n_images=300, classes=CLASSES, seed=0)
    if not (test_dir / "annotations").is_dir():
        make_shapes_dataset(test_dir, n_images=100, classes=CLASSES, seed=1000)
    weights = Path(args.pesos) if args.pesos else _train(work, args.minutos)

    began = time.perf_counter()
    int8 = read_description(quantize_export(weights, train_dir, work / "int8"))
    quantize_seconds = time.perf_counter() - began
    float32 = read_description(export_model(weights, "openvino", work / "openvino"))
    engines = {"keras float32": load_engine(weights, "keras"),
               "openvino float32": open_export(float32, precision="float32")}
    if native_bfloat16():
        engines["openvino bf16"] = open_export(float32, precision="bfloat16")
    engines["openvino int8"] = open_export(int8)

    records, _ = read_voc(test_dir / "annotations", test_dir / "images", list(CLASSES))
    quality = {}
    for name, engine in engines.items():
        evaluation = evaluate_records(engine, records, list(CLASSES), progress=False)
        quality[name] = {"map_50": evaluation["map"]["0.5"], "map_30": evaluation["map"]["0.3"]}
    images = [read_image(record.path) for record in records]
    speed = dict.fromkeys(engines, 0.0)
    for _ in range(args.rondas):
        for name, engine in engines.items():
            detect_batch(engine, images[:8], batch_size=8)   # calienta
            start = time.perf_counter()
            detect_batch(engine, images, batch_size=8)
            speed[name] = max(speed[name], len(images) / (time.perf_counter() - start))

    size = int8["yolo"]["input_size"]
    print(f"\nYOLOv2 {int8['yolo']['backbone']} {size[0]}×{size[1]}, 3 clases; "
          f"calibración: {int8['cuantizacion']['fotos']} fotos en {quantize_seconds:.0f} s; "
          f"prueba: {len(records)} imágenes nunca vistas")
    header = f"{'motor':<20}{'mAP@0.5':>9}{'mAP@0.3':>9}{'img/s':>9}{'× float32':>11}"
    print(header + "\n" + "-" * len(header))
    base = speed["openvino float32"]
    for name in engines:
        print(f"{name:<20}{quality[name]['map_50']:>9.4f}{quality[name]['map_30']:>9.4f}"
              f"{speed[name]:>9.1f}{speed[name] / base:>10.2f}×")
    gap = quality["keras float32"]["map_50"] - quality["openvino int8"]["map_50"]
    verdict = "cumple" if gap <= TARGET else "NO cumple"
    print(f"\nint8 pierde {gap:+.4f} de mAP@0.5 frente a float32 ({verdict} el objetivo "
          f"≤ {TARGET}).")
    if args.json:
        Path(args.json).write_text(dumps_strict(
            {"calidad": quality, "img_s": speed, "perdida_map_50": gap,
             "segundos_calibracion": quantize_seconds, "pesos": str(weights)},
            indent=2, ensure_ascii=False))
    return 0


def _train(work: Path, minutes: float) -> Path:
    import yolo_calidad

    yolo_calidad.main(["--minutos", str(minutes), "--carpeta", str(work)])
    return work / "ejecucion" / "modelo.h5"


if __name__ == "__main__":
    sys.exit(main())
