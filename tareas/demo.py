"""La demo de ``make demo`` / ``redes demo``: solo datos incluidos, sin red.

1. XOR (blog): 1000 épocas hasta exactitud 1.0.
2. Dígitos manuscritos reales de scikit-learn (``load_digits``, 1797 imágenes de 8×8)
   escritos como carpeta de PNG y clasificados con la CNN de CIFAR por el mismo camino
   que ``redes clasificacion entrenar``.
3. Ventas diarias sintéticas (patrón semanal, pico de verano, días sin ventas): la STE
   del blog con los últimos 30 días aparte y un pronóstico de la semana siguiente.
4. Traducción de números escritos en palabras del español al inglés con un
   Transformer pequeño (números generados por el proyecto).
5. Detección de objetos: YOLOv2 tiny entrenado desde cero sobre figuras
   generadas (formato Pascal-VOC) y una imagen de prueba dibujada con sus cajas
   (``..._detected.png``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from informes.resultado import TaskResult
from tareas.clasificacion.configuracion import ClassifierConfig

# La CNN del tutorial de CIFAR con Adam en lugar de SGD (SGD lr 1e-3 necesitaría
# muchas más épocas) y aumento geométrico sin volteo (un dígito volteado es otro);
# las cifras medidas con y sin aumento están en bench/RESULTS.md. Sin carpetas ni
# semilla: las pone run_demo.
DIGITS_CONFIG = ClassifierConfig.preset("cifar").replace(
    image_size=(8, 8), channels=1, epochs=60, batch_size=32, optimizer="adam", augment=True,
    augment_settings={"flip": 0.0, "max_photometric": 0, "translate": 0.15,
                      "geometric_probability": 0.7})


def run_demo(out_dir="pesos/demo", *, seed: int = 0, verbose: Any = "auto",
             precision: str | None = None) -> dict[str, TaskResult]:
    """Ejecuta la demo completa y devuelve el resultado de cada parte y un resumen.

    Args:
        out_dir: carpeta donde se escriben pesos, registros y gráficos.
        seed: semilla de todo.
        verbose: barra de progreso de Keras para los dígitos.
        precision: precisión del entrenamiento de todas las partes (``"auto"``,
            ``"float32"`` o ``"mixed_bfloat16"``); ``None``: la de cada parte (``auto``,
            y float32 en las ventas), la que da las cifras de la demo.

    Returns:
        ``{"xor", "digitos", "ventas", "traduccion", "deteccion", "resumen"}`` →
        :class:`~informes.resultado.TaskResult`, en ese orden.
    """
    from datos.sinteticos import write_digits_folder
    from tareas.clasificacion import train_classifier
    from tareas.traduccion import run_translation_demo
    from tareas.ventas import run_sales_demo
    from tareas.xor import train_xor
    from tareas.deteccion import run_detection_demo

    out_dir = Path(out_dir)
    given = {} if precision is None else {"precision": precision}
    parts = {"xor": train_xor(run_dir=out_dir / "xor", seed=seed, **given)}
    images = write_digits_folder(out_dir / "digitos_imagenes")
    parts["digitos"] = train_classifier(DIGITS_CONFIG.replace(
        directory=images, run_dir=out_dir / "digitos", seed=seed, **given), verbose=verbose)
    parts["ventas"] = run_sales_demo(out_dir, seed=seed, precision=precision)
    parts["traduccion"] = run_translation_demo(out_dir / "transformer", seed=seed, **given)
    parts["deteccion"] = run_detection_demo(out_dir, seed=seed, precision=precision)
    parts["resumen"] = TaskResult(title="Resumen de la demo", metrics={
        "XOR: exactitud binaria": parts["xor"].metrics["binary_accuracy"],
        "Dígitos: exactitud en prueba": parts["digitos"].metrics["test_accuracy"],
        "Ventas: MAE de validación (unidades), STE":
            parts["ventas"].metrics["val_mae_unidades"],
        "Ventas: MAE de validación (unidades), ingenuo t−7":
            parts["ventas"].metrics["val_mae_unidades_ingenuo"],
        "Traducción: acierto exacto en prueba":
            parts["traduccion"].metrics["test_exact_match"],
        "Detección: mAP@0.5 en figuras de prueba":
            parts["deteccion"].metrics["prueba_map_50"],
    })
    return parts
