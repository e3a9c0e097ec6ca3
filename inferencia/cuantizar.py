"""Cuantización int8 después de entrenar: un YOLOv2 de OpenVINO calibrado con fotos.

``redes deteccion exportar --pesos modelo.h5 --formato openvino --int8 --calibracion FOTOS``
(o :func:`quantize_export`) escribe una exportación de OpenVINO cuyas convoluciones
calculan en int8. NNCF (el extra ``openvino``) pasa por la red unas fotos de
calibración (las de entrenamiento sirven: no hacen falta anotaciones), mide el rango
de cada activación y pone en el IR los nodos ``FakeQuantize`` que OpenVINO ejecuta con
instrucciones de 8 bits (AMX-INT8 o AVX-512 VNNI donde las hay).

La carpeta de salida es una exportación normal (``modelo.xml``, ``modelo.bin`` y
``modelo.json``, con ``"precision": "int8"`` y cómo se calibró): ``--pesos`` de
``redes deteccion predecir|evaluar`` y ``redes servir`` la aceptan como cualquier otra.

Por qué solo YOLO: la calibración necesita entradas reales, y para YOLO son fotos de
cualquier tamaño que se preparan igual que al detectar. El efecto en la calidad se mide
con ``redes deteccion evaluar`` sobre fotos anotadas (``bench/int8.py`` lo hace con el
conjunto de figuras).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError, DataError, EmptyDataError, ModelFileError
from nucleo.validacion import check_int
from inferencia.exportar import (
    ARTIFACTS,
    DESCRIPTION,
    check_modules,
    check_output,
    decline_openvino_telemetry,
    export_model,
    read_description,
    staged_export,
)

#: Fotos de calibración por defecto (el ``subset_size`` por defecto de NNCF).
CALIBRATION_SAMPLES = 300
#: Módulos que necesita cuantizar (los dos van en el extra ``openvino``).
QUANTIZE_NEEDS = ("openvino", "nncf")


def calibration_files(folder, samples: int = CALIBRATION_SAMPLES, seed: int = 0
                      ) -> list[Path]:
    """Las fotos de calibración: las de ``folder`` (o de ``folder/images``).

    Con más de ``samples`` se toma una muestra fija para cada ``seed``.

    Raises:
        DataError: si la carpeta no existe o no tiene imágenes (la nombra).
    """
    from datos.imagenes import IMAGE_EXTENSIONS, is_image_file

    samples = check_int(samples, "muestras (--muestras)", minimum=1, where="calibración")
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"--calibracion: «{folder}» no es una carpeta de fotos.")
    if (folder / "images").is_dir():   # una carpeta VOC (annotations/ + images/)
        folder = folder / "images"
    found = sorted(path for path in folder.iterdir() if is_image_file(path))
    if not found:
        raise EmptyDataError(f"--calibracion: «{folder}» no tiene fotos "
                             f"({', '.join(sorted(IMAGE_EXTENSIONS))}).")
    if len(found) > samples:
        chosen = np.random.default_rng(seed).choice(len(found), samples, replace=False)
        found = [found[index] for index in sorted(chosen)]
    return found


def calibration_inputs(files, description: dict[str, Any]) -> list[np.ndarray]:
    """Cada foto como la entrada de la red al predecir, (1, alto, ancho, 3), preparada
    como declara la familia del modelo."""
    from datos.imagenes import read_rgb, resize_image
    from modelos.registro import preprocessor_of

    preprocessor = preprocessor_of(description["builder"])
    image_size = tuple(description["inputs"][0]["shape"][1:3])
    return [preprocessor.to_input(resize_image(read_rgb(path), image_size)[None])
            for path in files]


def quantize_export(source, calibration, output, *, samples: int = CALIBRATION_SAMPLES,
                    seed: int = 0) -> Path:
    """Exporta un YOLOv2 a OpenVINO con int8, calibrado con las fotos de ``calibration``.

    Args:
        source: el ``.h5`` de :func:`modelos.save`, o una exportación de OpenVINO (la
            carpeta o su ``modelo.json``) en float32.
        calibration: carpeta de fotos (o una carpeta VOC con ``images/``).
        output: carpeta de la exportación int8; se sustituye si ya había una.
        samples: cuántas fotos usar como mucho.
        seed: qué muestra tomar si hay más fotos que ``samples``.

    Returns:
        La ruta del ``modelo.json`` escrito.

    Raises:
        ArgumentError: el modelo no es YOLO, ya está en int8, o la salida es un archivo.
        DataError: la carpeta de calibración no vale (la nombra) o una foto no se lee.
        EnvironmentSetupError: falta OpenVINO o NNCF (nombra el extra ``openvino``).
        ModelFileError: el ``.h5`` o la exportación no valen, o NNCF falla.

    Example:
        >>> quantize_export("pesos/yolo/modelo.h5", "fotos/", "yolo_int8")  # doctest: +SKIP
        PosixPath('yolo_int8/modelo.json')
    """
    check_modules(QUANTIZE_NEEDS, "Cuantizar a int8")
    decline_openvino_telemetry()   # antes de importar NNCF
    output = check_output(output, "openvino")
    source = Path(source)
    with tempfile.TemporaryDirectory(prefix="redes_int8_") as scratch:
        if source.is_dir() or source.suffix == ".json":
            description = read_description(source)
        else:
            description = read_description(export_model(source, "openvino",
                                                         Path(scratch) / "openvino"))
        _check_quantizable(description, source)
        files = calibration_files(calibration, samples, seed)
        inputs = calibration_inputs(files, description)
        quantized = _quantize(Path(description["directory"]) / description["artifact"],
                              inputs)
        # Dentro del «with»: el IR cuantizado puede leer aún los pesos del temporal.
        _write(quantized, description, output, {
            "calibracion": str(Path(calibration)), "fotos": len(inputs), "semilla": seed})
    return output / DESCRIPTION


def _check_quantizable(description: dict[str, Any], source: Path) -> None:
    if description["format"] != "openvino":
        raise ArgumentError(f"«{source}» es una exportación {description['format']}; int8 "
                            "se hace sobre OpenVINO (los pesos .h5 o --formato openvino).")
    if description.get("precision") == "int8":
        raise ArgumentError(f"«{source}» ya está cuantizado a int8; parta de los pesos .h5 "
                            "o de la exportación en float32.")
    from modelos.registro import preprocessor_of

    preprocessor = preprocessor_of(description["builder"])
    if preprocessor is None or not preprocessor.calibrates_int8:
        raise ArgumentError(f"int8 solo está disponible para YOLO (se calibra con fotos); "
                            f"«{source}» es «{description['builder']}».")


def _quantize(path: Path, inputs: list[np.ndarray]):
    import nncf
    import openvino

    model = openvino.Core().read_model(str(path))
    try:
        return nncf.quantize(model, nncf.Dataset(inputs), subset_size=len(inputs),
                             preset=nncf.QuantizationPreset.MIXED)
    except Exception as exc:  # NNCF puede fallar de muchas formas según el grafo
        raise ModelFileError(f"NNCF no pudo cuantizar «{path}»: {type(exc).__name__}: "
                             f"{exc}") from exc


def _write(quantized, description: dict[str, Any], output: Path,
           details: dict[str, Any]) -> None:
    """Escribe el IR cuantizado y su descripción (``"precision": "int8"``) en ``output``,
    de forma atómica (:func:`inferencia.exportar.staged_export`)."""
    import nncf
    import openvino

    new = {key: value for key, value in description.items() if key != "directory"}
    new.update(precision="int8",
               cuantizacion={**details, "herramienta": f"nncf {nncf.__version__}"})
    with staged_export(output, "openvino", new) as staging:
        openvino.save_model(quantized, str(staging / ARTIFACTS["openvino"]),
                            compress_to_fp16=False)


__all__ = ["CALIBRATION_SAMPLES", "calibration_files", "calibration_inputs",
           "quantize_export"]
