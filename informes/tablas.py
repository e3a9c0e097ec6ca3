"""Informes de evaluación: métricas de clasificación, tablas de texto y JSON.

Ejemplo::

    resumen = classification_summary(y_test, modelo.predict(x_test), ["gato", "perro"])
    logger.info("\\n%s", format_classification_report(resumen))
    write_json("resultados/evaluacion.json", resumen)
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import classification_report
from sklearn.metrics import confusion_matrix

from nucleo.archivos import atomic_write
from nucleo.errores import ArgumentError, DataError

# Filas agregadas de classification_report y su nombre en castellano.
_AVERAGES = {
    "macro avg": "media macro",
    "weighted avg": "media ponderada",
    "micro avg": "media micro",
}


def _to_labels(values, name: str, num_classes: int) -> np.ndarray:
    """Convierte etiquetas enteras, one-hot o probabilidades en un vector de enteros.

    Una matriz (N, C) con C > 1 se reduce con argmax; una (N, 1) o un vector de
    probabilidades no enteras (salida sigmoide) se umbraliza en 0.5.
    """
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim == 2:
        if array.shape[1] != num_classes:
            raise DataError(
                f"«{name}» tiene {array.shape[1]} columnas y hay {num_classes} clases."
            )
        return np.argmax(array, axis=1)
    if array.ndim != 1:
        raise DataError(f"«{name}» debe ser un vector o una matriz (N, C); forma {array.shape}.")
    if array.dtype.kind == "f" and not np.all(np.equal(np.mod(array, 1), 0)):
        array = (array >= 0.5).astype(int)
    if array.dtype.kind not in "iub" and array.dtype.kind != "f":
        raise DataError(f"«{name}» debe contener números; tipo {array.dtype}.")
    labels = array.astype(int)
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size:
        raise DataError(
            f"«{name}» contiene la etiqueta {int(bad[0])}, fuera de 0..{num_classes - 1}."
        )
    return labels


def classification_summary(y_true, y_prob_or_pred, class_names: Sequence[str]) -> dict[str, Any]:
    """Exactitud, informe por clase y matriz de confusión de un clasificador.

    Args:
        y_true: etiquetas reales, enteras (N,) o one-hot (N, C).
        y_prob_or_pred: predicciones enteras (N,), one-hot o probabilidades (N, C),
            o probabilidades de una salida sigmoide (N,) / (N, 1).
        class_names: nombre de cada clase; su longitud fija C.

    Returns:
        ``{"accuracy": float, "report": dict, "confusion_matrix": list[list[int]]}``;
        ``report`` es ``sklearn.metrics.classification_report(..., output_dict=True,
        zero_division=0)`` con los nombres de clase, y la matriz tiene filas = clase
        real y columnas = clase predicha, C×C aunque falte alguna clase.

    Raises:
        DataError: longitudes distintas, datos vacíos o etiquetas fuera de rango.
        ArgumentError: si ``class_names`` está vacío.

    Example:
        >>> classification_summary([0, 1, 1], [0, 1, 0], ["a", "b"])["accuracy"]
        0.6666666666666666
    """
    names = [str(name) for name in class_names]
    if not names:
        raise ArgumentError("classification_summary: «class_names» no puede estar vacío.")
    truth = _to_labels(y_true, "y_true", len(names))
    pred = _to_labels(y_prob_or_pred, "y_prob_or_pred", len(names))
    if len(truth) != len(pred):
        raise DataError(
            f"«y_true» tiene {len(truth)} ejemplos y «y_prob_or_pred» {len(pred)}."
        )
    if len(truth) == 0:
        raise DataError("classification_summary: no hay ningún ejemplo que evaluar.")
    labels = list(range(len(names)))
    report = classification_report(
        truth, pred, labels=labels, target_names=names, output_dict=True, zero_division=0
    )
    matrix = confusion_matrix(truth, pred, labels=labels)
    return {
        "accuracy": float(np.mean(truth == pred)),
        "report": _jsonable(report),
        "confusion_matrix": matrix.astype(int).tolist(),
    }


def _format_value(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _is_number(text: str) -> bool:
    try:
        float(text.rstrip("%"))
    except ValueError:
        return False
    return True


def format_columns(header: Sequence[str], rows: Sequence[Sequence[str]],
                   title: str | None) -> str:
    """Tabla de texto: primera columna a la izquierda; en las demás, los números a la
    derecha y el texto (p. ej. traducciones) a la izquierda."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells):
        parts = [str(cells[0]).ljust(widths[0])]
        parts += [str(cell).rjust(width) if _is_number(str(cell)) else str(cell).ljust(width)
                  for cell, width in zip(cells[1:], widths[1:])]
        return "  ".join(parts).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    lines = ([title] if title else []) + [line(header), rule] + [line(row) for row in rows]
    return "\n".join(lines)


def format_table(rows, title: str | None = None,
                 headers: tuple[str, str] = ("Métrica", "Valor")) -> str:
    """Tabla de texto alineada de dos columnas (por defecto «Métrica» y «Valor»).

    Args:
        rows: diccionario nombre → valor o lista de pares ``(nombre, valor)``.
            Los reales se escriben con 4 decimales.
        title: línea opcional encima de la tabla.
        headers: encabezados de las dos columnas.

    Returns:
        La tabla como texto (sin salto de línea final).

    Raises:
        ArgumentError: si ``rows`` no es un diccionario ni una lista de pares.

    Example:
        >>> print(format_table({"pérdida": 0.25, "épocas": 3}))
        Métrica   Valor
        ---------------
        pérdida  0.2500
        épocas        3
    """
    if isinstance(rows, Mapping):
        items = list(rows.items())
    else:
        try:
            items = [(name, value) for name, value in rows]
        except (TypeError, ValueError):
            raise ArgumentError(
                "format_table: «rows» debe ser un diccionario o una lista de pares "
                "(nombre, valor)."
            ) from None
    body = [(str(name), _format_value(value)) for name, value in items]
    return format_columns(tuple(headers), body, title)


def format_classification_report(summary: Mapping[str, Any]) -> str:
    """Texto legible de un resumen de :func:`classification_summary`.

    Args:
        summary: el diccionario devuelto por :func:`classification_summary`
            (también leído de un JSON).

    Returns:
        Exactitud, tabla por clase (precisión, exhaustividad, F1, soporte), medias
        y matriz de confusión.

    Raises:
        ArgumentError: si al resumen le faltan ``accuracy``, ``report`` o
            ``confusion_matrix``.
    """
    missing = [key for key in ("accuracy", "report", "confusion_matrix") if key not in summary]
    if missing:
        raise ArgumentError(
            f"format_classification_report: al resumen le falta «{missing[0]}»; "
            "usa el resultado de classification_summary."
        )
    report = summary["report"]
    matrix = summary["confusion_matrix"]
    class_rows, average_rows = [], []
    for name, scores in report.items():
        if not isinstance(scores, Mapping):
            continue  # «accuracy» es un número suelto
        row = [
            _AVERAGES.get(name, name),
            f"{scores['precision']:.4f}",
            f"{scores['recall']:.4f}",
            f"{scores['f1-score']:.4f}",
            str(int(scores["support"])),
        ]
        (average_rows if name in _AVERAGES else class_rows).append(row)
    total = sum(int(sum(row)) for row in matrix)
    header = ("Clase", "Precisión", "Exhaustividad", "F1", "Soporte")
    parts = [
        f"Exactitud: {float(summary['accuracy']):.4f} ({total} ejemplos)",
        "",
        format_columns(header, class_rows + average_rows, None),
    ]
    names = [row[0] for row in class_rows]
    if len(names) == len(matrix):
        body = [[name, *(str(int(count)) for count in counts)]
                for name, counts in zip(names, matrix)]
        parts += ["", format_columns(["real \\ predicha"] + names, body,
                               "Matriz de confusión (filas: clase real; columnas: predicha)")]
    return "\n".join(parts)


def _jsonable(value: Any, where: str = "data") -> Any:
    """Copia ``value`` con tipos de JSON: escalares y matrices numpy, rutas, tuplas."""
    if isinstance(value, float) and not math.isfinite(value):
        return None   # JSON estricto: null, no NaN
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, np.generic):
        return _jsonable(value.item(), where)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), where)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            key = key.item() if isinstance(key, np.generic) else key
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise TypeError(f"clave {key!r} de tipo {type(key).__name__} en {where}")
            name = key if isinstance(key, str) else json.dumps(key)
            out[name] = _jsonable(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [_jsonable(item, f"{where}[{index}]") for index, item in enumerate(items)]
    raise TypeError(f"valor de tipo {type(value).__name__} en {where}")


def write_json(path, data: Any) -> Path:
    """Escribe ``data`` como JSON UTF-8 legible (sin escapar tildes), de forma atómica.

    Convierte escalares y matrices de numpy, rutas, tuplas y conjuntos. Primero se
    serializa todo en memoria y después se escribe un temporal en la misma carpeta
    que se renombra con ``os.replace``: si algo falla, el archivo anterior queda
    intacto.

    Args:
        path: archivo de destino; se crean las carpetas que falten.
        data: datos a guardar.

    Returns:
        La ruta escrita.

    Raises:
        ArgumentError: si ``data`` contiene algo que no se puede pasar a JSON.
    """
    path = Path(path)
    try:
        text = json.dumps(_jsonable(data), ensure_ascii=False, indent=2, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(
            f"write_json: no se puede escribir «{path}» en JSON: {exc}."
        ) from None
    return atomic_write(path, lambda handle: handle.write(text + "\n"), text=True)


def read_json(path) -> Any:
    """Lee un JSON UTF-8 escrito por :func:`write_json` (:func:`nucleo.archivos.read_json`).

    Raises:
        DataError: si el archivo no existe o no es JSON válido.
    """
    from nucleo.archivos import read_json as read

    return read(path)


__all__ = [
    "classification_summary",
    "format_classification_report",
    "format_table",
    "read_json",
    "write_json",
]
