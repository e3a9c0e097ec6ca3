"""El resultado común de todas las tareas (``train_*``, ``evaluate_*``, ``forecast``...).

Cada tarea devuelve un :class:`TaskResult`: las cifras, los archivos que escribió y los
datos propios de la tarea. :func:`report` es el único camino para mostrarlo en la
terminal y guardarlo en JSON, tanto desde la CLI como desde un cuaderno.

Ejemplo::

    resultado = train_xor(run_dir="pesos/xor")
    resultado.metrics["binary_accuracy"]     # 1.0
    resultado.files["pesos"]                 # Path("pesos/xor/modelo.h5")
    report(resultado, json_path="xor.json")  # tabla + rutas + JSON
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from collections.abc import Mapping, Sequence

# Nombres legibles de las cifras que no son métricas de Keras.
_LABELS = {"epocas": "Épocas", "segundos": "Segundos", "modelo": "Modelo",
           "imagenes": "Imágenes", "numeros_prueba": "Números de prueba",
           "segundos_entrenamiento": "Segundos de entrenamiento",
           "map_50": "mAP@0.5 (VOC)", "map_30": "mAP@0.3 (la cifra del blog)",
           "coco_map_50_95": "mAP@0.5:0.95 (COCO)", "coco_ap_50": "AP@0.5 (COCO)",
           "coco_ap_75": "AP@0.75 (COCO)",
           "coco_ap_pequenas": "AP de cajas pequeñas, < 32² px (COCO)",
           "coco_ap_medianas": "AP de cajas medianas, 32²–96² px (COCO)",
           "coco_ap_grandes": "AP de cajas grandes, > 96² px (COCO)",
           "coco_ar_100": "AR@100 (COCO)",
           "mejor_epoca": "Mejor época", "parada_por_tiempo": "Parada por tiempo",
           "segundos_evaluacion": "Segundos de evaluación",
           "val_mae_unidades": "MAE en unidades (validación)",
           "val_rmse_unidades": "RMSE en unidades (validación)",
           "val_mae_unidades_ingenuo": "MAE en unidades del ingenuo estacional (validación)",
           "val_mase": "MASE (validación)",
           "val_mase_ingenuo": "MASE del ingenuo estacional (validación)",
           "val_smape": "sMAPE, de 0 a 200 (validación)",
           "origenes_por_serie": "Orígenes por serie",
           "series": "Series", "ejemplos_entrenamiento": "Ejemplos de entrenamiento",
           "horizonte": "Horizonte (días)", "niveles": "Niveles de los intervalos",
           "dias": "Días", "desde": "Desde", "hasta": "Hasta", "mejor": "Mejor",
           "mejor_red": "Mejor red", "conjunto": "Conjunto", "sha256": "sha256",
           "iou_media": "IoU media", "cajas": "Cajas", "detecciones": "Detecciones",
           "fotogramas": "Fotogramas", "prueba_map_50": "mAP@0.5 (prueba)",
           "pasos_entrenamiento": "Pasos de entrenamiento",
           "fichas_por_s_entrenamiento": "Fichas por segundo (entrenamiento)",
           "fichas_por_s_decodificacion": "Fichas por segundo (decodificación)",
           "epocas_corridas": "Épocas corridas en esta ejecución",
           "segundos_entrenando": "Segundos entrenando (fit)",
           "motivo_parada": "Por qué paró", "clases": "Clases",
           "max_cajas_por_imagen": "Cajas en la imagen con más",
           "media_cajas_por_imagen": "Cajas por imagen (media)",
           "cajas_que_no_caben": "Cajas que no caben con --max-cajas",
           "iou_media_anclas": "Mejor IoU con las anclas (media)",
           "fraccion_iou_anclas_bajo_0_5": "Fracción de cajas con IoU < 0.5 con las anclas",
           "identidades": "Identidades distintas",
           "cajas_tragonas": "Cajas desmesuradas (≥ 1,5 veces el área de la verdadera)"}


@dataclasses.dataclass(frozen=True)
class Table:
    """Una tabla de texto para :func:`report`: título, encabezados y filas."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]


@dataclasses.dataclass
class TaskResult:
    """Lo que devuelve cada tarea de :mod:`entrenamiento`.

    Attributes:
        title: título de la tabla de cifras («XOR: métricas finales»).
        metrics: cifras de la tarea (nombre → número o texto); van a la tabla y al JSON.
        files: archivos escritos (nombre → ruta o lista de rutas).
        data: datos propios de la tarea que van al JSON (predicciones, anclas...).
        tables: tablas que se imprimen antes de las cifras.
        text: bloques de texto ya formateados que se imprimen tras las tablas.
        model: el modelo entrenado o cargado (no va al JSON).
        history: historial por época (métrica → valores), si hubo entrenamiento.
    """

    title: str
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    files: dict[str, Any] = dataclasses.field(default_factory=dict)
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    tables: list[Table] = dataclasses.field(default_factory=list)
    text: list[str] = dataclasses.field(default_factory=list)
    model: Any = dataclasses.field(default=None, repr=False, compare=False)
    history: dict[str, list[float]] = dataclasses.field(default_factory=dict, repr=False)

    def file(self, name: str) -> Path:
        """La ruta del archivo ``name`` (``"pesos"``, ``"registro"``, ``"curvas"``...)."""
        from nucleo.errores import ArgumentError

        if name not in self.files:
            known = ", ".join(sorted(self.files)) or "ninguno"
            raise ArgumentError(f"El resultado no tiene el archivo «{name}» (tiene: {known}).")
        return Path(self.files[name])

    def to_json(self) -> dict[str, Any]:
        """Diccionario para JSON: ``titulo``, ``metricas``, ``archivos`` y los datos."""
        files = {name: ([str(p) for p in value] if isinstance(value, (list, tuple))
                        else str(value)) for name, value in self.files.items()}
        return {"titulo": self.title, "metricas": dict(self.metrics), "archivos": files,
                **self.data}


def training_files(train_result) -> dict[str, Path]:
    """Los archivos de un :class:`entrenamiento.entrenar.TrainResult`, con sus nombres (y
    el registro de una ejecución descartada, si lo hay)."""
    files = {"pesos": train_result.weights_path, "registro": train_result.log_path,
             "curvas": train_result.plot_path}
    discarded = getattr(train_result, "discarded_log", None)
    if discarded is not None:
        files["registro_descartado"] = discarded
        plot = discarded.with_name("curvas_descartado.png")
        if plot.is_file():
            files["curvas_descartado"] = plot
    return files


def metric_name(key: str) -> str:
    """Nombre legible de una cifra: ``val_loss`` → «Pérdida (validación)»."""
    from informes.graficos import metric_label

    if key in _LABELS:
        return _LABELS[key]
    for prefix, where in (("val_", "validación"), ("test_", "prueba")):
        if key.startswith(prefix):
            return f"{metric_label(key[len(prefix):])} ({where})"
    return metric_label(key)


def format_result(result: TaskResult) -> str:
    """El texto que :func:`report` imprime: tablas, cifras y archivos."""
    from informes.tablas import format_columns, format_table

    parts = []
    for table in result.tables:
        rows = [[str(cell) for cell in row] for row in table.rows]
        parts.append(format_columns(tuple(table.headers), rows, table.title))
    parts.extend(result.text)
    if result.metrics:
        parts.append(format_table([(metric_name(k), v) for k, v in result.metrics.items()],
                                  title=result.title))
    lines = []
    for name, value in result.files.items():
        for path in value if isinstance(value, (list, tuple)) else [value]:
            lines.append(f"{name}: {path}")
    if lines:
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def report(result, json_path=None, *, stream=None) -> None:
    """Imprime uno o varios resultados y, con ``json_path``, los guarda en JSON (atómico).

    Args:
        result: un :class:`TaskResult`, una lista de ellos (p. ej. uno por imagen) o un
            diccionario nombre → resultado (la demo); el JSON tiene la misma forma.
        json_path: archivo JSON de destino, o ``None``.
        stream: dónde imprimir (por defecto la salida estándar).
    """
    import sys

    from informes.tablas import write_json

    stream = stream or sys.stdout
    if isinstance(result, TaskResult):
        items, payload = [result], result.to_json
    elif isinstance(result, Mapping):
        items = list(result.values())

        def payload():
            return {name: item.to_json() for name, item in result.items()}
    else:
        items = list(result)

        def payload():
            return [item.to_json() for item in items]
    for item in items:
        print(file=stream)
        print(format_result(item), file=stream)
    if json_path:
        write_json(json_path, payload())
        print(f"json: {json_path}", file=stream)
