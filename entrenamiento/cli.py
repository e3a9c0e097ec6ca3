"""La herramienta de línea de órdenes ``redes``.

Se analizan los argumentos antes de importar TensorFlow: ``redes --help`` es
inmediato y ``--verbose`` puede decidir si se ve el ruido de arranque de TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Any

from datos.errores import RedesError
from entrenamiento import _argparse_es

logger = logging.getLogger("redes")

PRECISIONS = ("float32", "mixed_bfloat16")

# Módulos que añaden sus propias órdenes: cada uno define ``add_commands(commands)``,
# que recibe el objeto de ``add_subparsers`` de ``redes`` y añade sus órdenes con
# ``set_defaults(func=...)``. Las funciones ``add_common_arguments``,
# ``add_training_arguments`` y ``print_result`` de este módulo son para ellos.
COMMAND_MODULES: tuple[str, ...] = ("entrenamiento.cli_yolo", "entrenamiento.cli_ventas",
                                     "entrenamiento.cli_transformer")
STRATEGIES = ("ninguna", "mirrored")


# === Formato de salida ===

_EXTRA_LABELS = {"epocas": "Épocas", "segundos": "Segundos", "modelo": "Modelo",
                 "imagenes": "Imágenes", "numeros_prueba": "Números de prueba",
                 "segundos_entrenamiento": "Segundos de entrenamiento",
                 "map_50": "mAP@0.5 (VOC)", "map_30": "mAP@0.3 (la cifra del blog)",
                 "mejor_epoca": "Mejor época", "parada_por_tiempo": "Parada por tiempo",
                 "segundos_evaluacion": "Segundos de evaluación"}


def _label(key: str) -> str:
    """Nombre legible de una cifra: ``val_loss`` → «Pérdida (validación)»."""
    from entrenamiento.graficos import metric_label

    for prefix, where in (("val_", "validación"), ("test_", "prueba")):
        if key.startswith(prefix):
            return f"{metric_label(key[len(prefix):])} ({where})"
    return _EXTRA_LABELS.get(key, metric_label(key))


def print_result(title: str, result: dict[str, Any], json_path: str | None) -> None:
    from entrenamiento.informes import format_classification_report, format_table, write_json

    print()
    print(format_table([(_label(k), v) for k, v in result["metricas"].items()], title=title))
    if result.get("informe"):
        print()
        print(format_classification_report(result["informe"]))
    for name, path in result.get("archivos", {}).items():
        print(f"{name}: {path}")
    if result.get("omitidas"):
        print(f"imágenes omitidas por ilegibles: {len(result['omitidas'])}")
    if json_path:
        write_json(json_path, result)
        print(f"json: {json_path}")


def _size(values: list[int] | None) -> tuple[int, int] | None:
    return tuple(values) if values else None


# === Órdenes ===

def _cmd_xor(args) -> int:
    from entrenamiento.informes import format_table
    from entrenamiento.xor import train_xor

    result = train_xor(epochs=args.epocas, seed=args.semilla, run_dir=args.salida,
                       precision=args.precision)
    rows = [(f"{p['entrada']} → {p['esperado']}", p["prediccion"]) for p in result["predicciones"]]
    print(format_table(rows, title="XOR: predicciones", headers=("Entrada → esperado", "Salida")))
    print_result("XOR: métricas finales", result, args.json)
    return 0


def _cmd_train(args) -> int:
    from entrenamiento.clasificacion import train_classifier

    result = train_classifier(
        args.dir, args.modelo, run_dir=args.salida, image_size=_size(args.tamanio),
        channels=1 if args.gris else None, epochs=args.epocas, batch_size=args.lote,
        learning_rate=args.tasa, optimizer=args.optimizador, seed=args.semilla,
        patience=args.paciencia,
        augment={"flip": 0.0} if args.aumento and args.sin_volteo else args.aumento,
        workers=args.trabajadores,
        precision=args.precision,
        strategy=args.estrategia,
    )
    print_result(f"Clasificador «{args.modelo}»: métricas finales", result, args.json)
    return 0


def _cmd_evaluate(args) -> int:
    from entrenamiento.clasificacion import evaluate_classifier

    result = evaluate_classifier(args.pesos, args.dir, split=args.particion, run_dir=args.salida)
    print_result("Evaluación", result, args.json)
    return 0


def _cmd_predict(args) -> int:
    from entrenamiento.clasificacion import predict_images
    from entrenamiento.informes import write_json

    results = predict_images(args.pesos, args.imagenes, top=args.top)
    for item in results:
        extra = "".join(f"  {t['clase']} {t['probabilidad']:.2%}" for t in item["top"][1:])
        print(f"{item['imagen']}: {item['clase']} ({item['probabilidad']:.2%}){extra}")
    if args.json:
        write_json(args.json, results)
    return 0


def _cmd_demo(args) -> int:
    from entrenamiento.demo import run_demo
    from entrenamiento.informes import format_table, write_json

    result = run_demo(args.salida, seed=args.semilla)
    xor, digits = result["xor"], result["digitos"]
    rows = [(f"{p['entrada']} → {p['esperado']}", p["prediccion"]) for p in xor["predicciones"]]
    print()
    print(format_table(rows, title="XOR (blog): predicciones",
                       headers=("Entrada → esperado", "Salida")))
    print_result("XOR (blog): métricas finales", xor, None)
    print_result("Dígitos manuscritos (load_digits, CNN de CIFAR): métricas", digits, None)

    sales = result["ventas"]
    print()
    print(format_table([(row["fecha"], row["unidades"]) for row in sales["pronostico"]],
                       title="Ventas sintéticas (STE del blog): pronóstico de la semana siguiente",
                       headers=("Fecha", "Unidades")))
    translation = result["traduccion"]
    print()
    print(format_table([(row["origen"], row["prediccion"]) for row in translation["traducciones"]],
                       title="Transformer: números en palabras, español → inglés (no vistos)",
                       headers=("Español", "Inglés")))
    detection = result["deteccion"]
    print()
    print(format_table([(d["etiqueta"], f"{d['puntuacion']:.2f}  "
                         + ", ".join(f"{v:.0f}" for v in d["caja"]))
                        for d in detection["detecciones"]],
                       title=f"YOLOv2 tiny (figuras): {detection['archivos']['detectada']}",
                       headers=("Clase", "Puntuación  caja")))
    print()
    print(format_table({
        "XOR: exactitud binaria": xor["metricas"]["binary_accuracy"],
        "Dígitos: exactitud en prueba": digits["metricas"]["test_accuracy"],
        "Ventas: MAE de validación (unidades), STE": sales["metricas"]["val_mae_unidades"],
        "Ventas: MAE de validación (unidades), ingenuo t−7":
            sales["metricas"]["val_mae_unidades_ingenuo"],
        "Traducción: acierto exacto en prueba": translation["metricas"]["test_exact_match"],
        "Detección: mAP@0.5 en figuras de prueba": detection["metricas"]["prueba_map_50"],
    }, title="Resumen de la demo"))
    if args.json:
        write_json(args.json, result)
    return 0


# === Analizador ===

def add_common_arguments(parser: argparse.ArgumentParser, *, run_default: str | None) -> None:
    parser.add_argument("--semilla", type=int, default=0, help="semilla (por defecto 0)")
    parser.add_argument("--salida", default=run_default,
                        help="carpeta de la ejecución: pesos, registro CSV y gráficos"
                        + (f" (por defecto {run_default})" if run_default else ""))
    parser.add_argument("--json", metavar="RUTA", help="escribe también las cifras en JSON")


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="precisión de cálculo (mixed_bfloat16 es más rápida en CPU con AMX)")


def build_parser() -> argparse.ArgumentParser:
    """Construye el analizador de argumentos de ``redes`` (ayuda en castellano)."""
    _argparse_es.install()
    parser = argparse.ArgumentParser(
        prog="redes",
        description="Los modelos clásicos de «Aprende Machine Learning» en Keras 3.",
    )
    parser.add_argument("--verbose", action="store_true",
                        help="muestra los mensajes internos de TensorFlow y el registro detallado")
    commands = parser.add_subparsers(dest="orden", metavar="ORDEN", required=True)

    xor = commands.add_parser("xor", help="entrena la red XOR del blog (1000 épocas)")
    xor.add_argument("--epocas", type=int, default=1000, help="épocas (por defecto 1000)")
    add_common_arguments(xor, run_default="pesos/xor")
    add_training_arguments(xor)
    xor.set_defaults(func=_cmd_xor)

    clasificar = commands.add_parser("clasificar", help="clasificación de imágenes por carpetas")
    tasks = clasificar.add_subparsers(dest="tarea", metavar="TAREA", required=True)

    entrenar = tasks.add_parser(
        "entrenar", help="entrena un clasificador sobre una carpeta con una subcarpeta por clase")
    entrenar.add_argument("--dir", required=True, help="carpeta de imágenes (clase/imagen.jpg)")
    entrenar.add_argument("--modelo", choices=("deportes", "cifar", "mlp"), default="deportes",
                          help="arquitectura (por defecto deportes, la CNN del blog)")
    entrenar.add_argument("--tamanio", type=int, nargs=2, metavar=("ALTO", "ANCHO"),
                          help="tamaño de entrada (por defecto el del blog para cada modelo)")
    entrenar.add_argument("--gris", action="store_true", help="leer las imágenes en escala de grises")
    entrenar.add_argument("--epocas", type=int, help="épocas (por defecto las del blog)")
    entrenar.add_argument("--lote", type=int, help="tamaño de lote (por defecto el del blog)")
    entrenar.add_argument("--tasa", type=float, help="tasa de aprendizaje")
    entrenar.add_argument("--optimizador", help="optimizador de Keras en lugar del del blog (p. ej. adam)")
    entrenar.add_argument("--paciencia", type=int, help="parada temprana tras N épocas sin mejora")
    entrenar.add_argument("--aumento", action="store_true", help="aumento de datos con imgaug")
    entrenar.add_argument("--sin-volteo", action="store_true",
                          help="con --aumento, sin volteo horizontal (dígitos, letras)")
    entrenar.add_argument("--trabajadores", type=int, default=1,
                          help="hilos que preparan los lotes aumentados (por defecto 1)")
    entrenar.add_argument("--estrategia", choices=STRATEGIES, default="ninguna",
                          help="distribución: mirrored = tf.distribute.MirroredStrategy")
    add_common_arguments(entrenar, run_default=None)
    add_training_arguments(entrenar)
    entrenar.set_defaults(func=_cmd_train)

    evaluar = tasks.add_parser("evaluar", help="exactitud, informe por clase y matriz de confusión")
    evaluar.add_argument("--pesos", required=True, help="modelo.h5 de «clasificar entrenar»")
    evaluar.add_argument("--dir", required=True, help="carpeta de imágenes con las mismas clases")
    evaluar.add_argument("--particion", choices=("todo", "prueba"), default="todo",
                         help="todas las imágenes o solo la partición de prueba del entrenamiento")
    evaluar.add_argument("--salida", help="carpeta de los gráficos (por defecto la de los pesos)")
    evaluar.add_argument("--json", metavar="RUTA", help="escribe también las cifras en JSON")
    evaluar.set_defaults(func=_cmd_evaluate)

    predecir = tasks.add_parser("predecir", help="clase y probabilidad de cada imagen")
    predecir.add_argument("--pesos", required=True, help="modelo.h5 de «clasificar entrenar»")
    predecir.add_argument("imagenes", nargs="+", metavar="IMAGEN", help="imágenes a clasificar")
    predecir.add_argument("--top", type=int, default=1, help="cuántas clases mostrar por imagen")
    predecir.add_argument("--json", metavar="RUTA", help="escribe también las predicciones en JSON")
    predecir.set_defaults(func=_cmd_predict)

    demo = commands.add_parser(
        "demo", help="XOR, dígitos, ventas, traducción y detección con datos incluidos")
    add_common_arguments(demo, run_default="pesos/demo")
    demo.set_defaults(func=_cmd_demo)

    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Punto de entrada de ``redes``; devuelve el código de salida."""
    args = build_parser().parse_args(argv)
    if args.verbose:
        os.environ["REDES_VERBOSO"] = "1"
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(message)s", stream=sys.stderr)
    if not args.verbose:
        logging.getLogger("h5py").setLevel(logging.WARNING)
        logging.getLogger("matplotlib").setLevel(logging.WARNING)
    try:
        return args.func(args)
    except RedesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrumpido: vuelve a ejecutar la misma orden para reanudar desde la "
              "última época completa.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - la última red: nada de trazas de TensorFlow
        if args.verbose:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"error inesperado ({type(exc).__name__}): {message}\n"
              "Ejecuta la misma orden con «redes --verbose ...» para ver la traza completa.",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
