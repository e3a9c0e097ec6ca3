"""Inferencia de YOLOv2 con cada motor, lado a lado en una sola ejecución.

Mide, con el YOLOv2 completo (Darknet-19, 20 clases) a 416×416 y lotes de 8:

1. **La red sola** (entrada ya preparada → salida cruda), con cada motor llamado
   directamente, sin nuestro código alrededor:
   - Keras/TensorFlow ``predict_on_batch`` en float32 (y en mixed_bfloat16 si la CPU
     calcula en bfloat16 de forma nativa);
   - ONNX Runtime (``modelo.onnx`` de ``redes deteccion exportar``, ``InferenceSession.run``);
   - OpenVINO (el IR compilado y llamado directamente; en bfloat16 si la CPU lo tiene
     nativo, si no en float32).
2. **De extremo a extremo**: nuestro ``detect_batch`` (redimensionar 8 fotos de otro
   tamaño + red + decodificación + NMS) con cada motor de :mod:`inferencia.motores`.
3. Si NNCF está instalado (extra ``openvino``), lo mismo con el IR cuantizado a int8
   (``redes deteccion exportar --int8``, calibrado con 16 fotos): su red sola y su
   ``detect_batch``. Su calidad se mide aparte, en ``bench/int8.py``.

Da imágenes por segundo, el cociente frente a OpenVINO y ONNX Runtime solos, y el %
del pico de multiplicación de matrices de la CPU (``tf.matmul`` medido aquí mismo) en
la precisión en que calcula cada uno. Las rondas se intercalan y se toma la mejor:
la máquina es compartida.

Al final, lo que elige ``--motor auto`` con cada constructor (un tamaño realista de cada
uno): ``load_engine(h5, "auto")`` mide ONNX Runtime y OpenVINO con ese modelo (lotes de
8) y se queda con el más rápido; aquí se imprimen sus medidas.

Uso: ``python bench/inferencia.py [--rapido] [--lote 8] [--tamanio 416] [--rondas 3]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nucleo.entorno import import_tensorflow, native_bfloat16  # noqa: E402

tf = import_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402

import modelos  # noqa: E402
from inferencia.exportar import export_model, read_description  # noqa: E402
from inferencia.motores import KerasEngine, open_export  # noqa: E402
from modelos.yolo.decodificacion import detect_batch  # noqa: E402
from yolo import conv_gflops, matmul_peak, timed  # noqa: E402

LABELS = [f"clase{i}" for i in range(20)]


def photos(count: int, seed: int = 0) -> list[np.ndarray]:
    """Fotos ``uint8`` de tamaños distintos del de la red (como las de una cámara)."""
    rng = np.random.default_rng(seed)
    sizes = [(480, 640), (375, 500), (720, 1280), (600, 800)]
    return [rng.integers(0, 256, (*sizes[i % len(sizes)], 3), dtype=np.uint8)
            for i in range(count)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rapido", action="store_true", help="pocos pasos (comprobación)")
    parser.add_argument("--lote", type=int, default=8)
    parser.add_argument("--tamanio", type=int, default=416)
    parser.add_argument("--rondas", type=int, default=3)
    parser.add_argument("--backbone", default="darknet19",
                        help="extractor: darknet19 (por defecto), tiny o mobilenetv2")
    args = parser.parse_args(argv)
    steps = 1 if args.rapido else 3
    rounds = 1 if args.rapido else args.rondas
    bf16 = native_bfloat16()
    fast = "bfloat16" if bf16 else "float32"
    print(f"YOLOv2 {args.backbone} {args.tamanio}×{args.tamanio}, lote {args.lote}, 20 clases; "
          f"{os.cpu_count()} núcleos; bfloat16 nativo: {'sí' if bf16 else 'no'}; "
          f"{steps} pasos por medida, mejor de {rounds} rondas")
    peaks = {"float32": matmul_peak("float32", rounds=2 if args.rapido else 5)}
    if bf16:
        peaks["bfloat16"] = matmul_peak("bfloat16", rounds=2 if args.rapido else 5)

    keras.utils.set_random_seed(0)
    model = modelos.build_yolo(LABELS, input_size=args.tamanio, backbone=args.backbone,
                               compile=False)
    gflops = conv_gflops(model)
    x = np.random.default_rng(0).random((args.lote, args.tamanio, args.tamanio, 3),
                                        dtype=np.float32)
    images = photos(args.lote)
    with tempfile.TemporaryDirectory() as tmp:
        weights = modelos.save(model, Path(tmp) / "yolo.h5")
        began = time.perf_counter()
        exports = {fmt: read_description(export_model(weights, fmt, Path(tmp) / fmt))
                   for fmt in ("onnx", "openvino")}
        print(f"Exportar a ONNX y OpenVINO: {time.perf_counter() - began:.0f} s")
        engines = {"keras (float32)": KerasEngine(model),
                   "onnx (float32)": open_export(exports["onnx"]),
                   f"openvino ({fast})": open_export(exports["openvino"], precision=fast)}
        if bf16:
            keras.config.set_dtype_policy("mixed_bfloat16")
            engines["keras (bfloat16)"] = KerasEngine(modelos.load(weights, compile=False),
                                                      precision="bfloat16")
            keras.config.set_dtype_policy("float32")
        int8 = _quantized(exports["openvino"], Path(tmp))
        if int8 is not None:
            engines["openvino (int8)"] = open_export(int8)
        precisions = {name: name.split("(")[1].rstrip(")") for name in engines}
        # La referencia de OpenVINO: su IR compilado, llamado directamente.
        import onnxruntime
        import openvino

        core = openvino.Core()
        compiled = core.compile_model(
            str(Path(exports["openvino"]["directory"]) / "modelo.xml"), "CPU",
            {"INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32"})
        session = onnxruntime.InferenceSession(
            str(Path(exports["onnx"]["directory"]) / "modelo.onnx"),
            providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name
        bare = {f"OpenVINO solo ({fast})": lambda: compiled(x)[0],
                "ONNX Runtime solo (float32)": lambda: session.run(None, {input_name: x})[0]}
        if int8 is not None:
            compiled_int8 = core.compile_model(
                str(Path(int8["directory"]) / "modelo.xml"), "CPU",
                {"INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32"})
            bare["OpenVINO solo (int8)"] = lambda: compiled_int8(x)[0]
        precisions.update({name: name.split("(")[1].rstrip(")") for name in bare})

        network = dict.fromkeys(engines, 0.0)
        standalone = dict.fromkeys(bare, 0.0)
        end_to_end = dict.fromkeys(engines, 0.0)
        for _ in range(rounds):
            for name, fn in bare.items():
                standalone[name] = max(standalone[name], args.lote / timed(fn, steps))
            for name, engine in engines.items():
                network[name] = max(network[name], args.lote / timed(
                    lambda e=engine: e.predict_on_batch(x), steps))
                end_to_end[name] = max(end_to_end[name], args.lote / timed(
                    lambda e=engine: detect_batch(e, images, batch_size=args.lote), steps))

        def row(name: str, rate: float, label: str | None = None) -> str:
            achieved = gflops * rate
            peak = peaks.get(precisions[name], peaks[fast])  # int8: frente al de `fast`
            return (f"{label or name:<34}{rate:>9.2f}{achieved:>10.0f}"
                    f"{100 * achieved / peak:>8.0f}%")

        print(f"\nGFLOP por imagen: {gflops:.2f}; pico de matmul: "
              + ", ".join(f"{p} {v:.0f} GFLOP/s" for p, v in peaks.items())
              + (f" (int8, frente al de {fast})" if int8 is not None else ""))
        header = f"{'red sola':<34}{'img/s':>9}{'GFLOP/s':>10}{'% pico':>9}"
        print(header + "\n" + "-" * len(header))
        for name, rate in standalone.items():
            print(row(name, rate))
        for name, rate in network.items():
            print(row(name, rate, f"motor {name}"))
        header = f"{'detect_batch de extremo a extremo':<34}{'img/s':>9}{'GFLOP/s':>10}" \
                 f"{'% pico':>9}{'× OV solo':>11}{'× ORT solo':>11}"
        print("\n" + header + "\n" + "-" * len(header))
        openvino_rate = standalone[f"OpenVINO solo ({fast})"]
        onnx_rate = standalone["ONNX Runtime solo (float32)"]
        for name, rate in end_to_end.items():
            print(row(name, rate) + f"{rate / openvino_rate:>10.2f}×{rate / onnx_rate:>10.2f}×")
        same = {name: rate for name, rate in end_to_end.items() if "int8" not in name}
        for title, rates in (("sin int8", same), ("con int8", end_to_end)):
            best = max(rates, key=rates.get)
            print(f"\nEl mejor de extremo a extremo {title}: {best}, {rates[best]:.2f} img/s "
                  f"= {rates[best] / openvino_rate:.2f}× OpenVINO solo ({fast}) y "
                  f"{rates[best] / onnx_rate:.2f}× ONNX Runtime solo (objetivo ≥ 1.0×).")
            if int8 is None:
                break

        # Lo que elige --motor auto con cada constructor (lo mide fastest_engine).
        _auto_per_builder(Path(tmp))
    return 0


def _builders() -> dict:
    """Cada constructor con un tamaño realista (el de su tarea en este proyecto)."""
    small = {"num_layers": 2, "d_model": 128, "num_heads": 4, "d_ff": 512, "dropout": 0.0}
    return {
        "cifar": modelos.build_cifar_cnn,
        "deportes": modelos.build_sports_cnn,
        "mlp": modelos.build_mlp,
        "xor": modelos.build_xor,
        "ventas (STE)": lambda: modelos.build_sales_mlp("ste"),
        "ventas_rnn (LSTM)": lambda: modelos.build_sales_rnn("lstm"),
        "transformer": lambda: modelos.build_transformer(40, 40, max_len=32, **small),
        "seq2seq": lambda: modelos.build_seq2seq(40, 40, max_len=32),
        "transformer_clasificador": lambda: modelos.build_encoder_classifier(
            40, 3, max_len=32, **small),
        "transformer_lm": lambda: modelos.build_decoder_lm(40, max_len=32, **small),
    }


def _auto_per_builder(folder: Path) -> None:
    """``load_engine(h5, "auto")`` con cada constructor: µs por lote de cada motor y el
    elegido (``fastest_engine`` los mide y guarda la elección en la caché)."""
    import json

    from inferencia.motores import AUTO_BATCH, auto_choice_path, load_engine

    os.environ["REDES_CACHE"] = str(folder / "cache")
    print(f"\n--motor auto con cada constructor (µs por lote de {AUTO_BATCH}, medido por "
          "fastest_engine la primera vez):")
    header = f"{'constructor':<26}{'onnx':>14}{'openvino':>14}  elegido"
    print(header + "\n" + "-" * len(header))
    for name, build in _builders().items():
        keras.utils.set_random_seed(0)
        weights = modelos.save(build(), folder / f"auto_{name.split()[0]}.h5")
        chosen = load_engine(weights, "auto").name
        record = json.loads(auto_choice_path(weights).read_text())
        cells = ""
        for engine in ("onnx", "openvino"):
            if engine in record["microsegundos"]:
                cells += f"{record['microsegundos'][engine]:>14.0f}"
            else:
                cells += f"{'no convierte' if engine in record['fallos'] else '—':>14}"
        print(f"{name:<26}{cells}  {chosen}")


def _quantized(export: dict, folder: Path) -> dict | None:
    """El IR de ``export`` cuantizado a int8 (calibrado con 16 fotos), o ``None`` sin NNCF."""
    import cv2

    from inferencia.cuantizar import quantize_export
    from inferencia.exportar import missing_modules

    if missing_modules(("nncf",)):
        print("Sin NNCF (extra openvino): no se mide int8.")
        return None
    calibration = folder / "calibracion"
    calibration.mkdir()
    for index, image in enumerate(photos(16, seed=1)):
        cv2.imwrite(str(calibration / f"{index:02d}.png"), image[:, :, ::-1])
    began = time.perf_counter()
    description = read_description(quantize_export(export["directory"], calibration,
                                                   folder / "int8"))
    print(f"Cuantizar a int8 con NNCF: {time.perf_counter() - began:.0f} s")
    return description


if __name__ == "__main__":
    sys.exit(main())
