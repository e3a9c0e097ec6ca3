"""Los motores que ejecutan una exportación: ONNX Runtime, OpenVINO, LiteRT y SavedModel.

Cada uno abre el artefacto que describe ``modelo.json`` (:mod:`inferencia.exportar`) y
comprueba al abrirlo que sus entradas y su salida son las descritas."""

from __future__ import annotations


import os
from pathlib import Path
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError, ModelFileError
from inferencia.exportar import (
    RUNTIME_NEEDS,
    check_modules,
    missing_modules,
)
from nucleo.entorno import resolve_engine_precision
from inferencia.motor_base import Engine
from inferencia.motor_base import dims
from inferencia.motor_base import partial_dims


#: Formato de exportación que ejecuta cada motor (``tensorflow`` ejecuta un SavedModel).
ENGINE_FORMATS = {"onnx": "onnx", "openvino": "openvino", "litert": "litert",
                  "tensorflow": "saved_model"}


FORMAT_ENGINES = {fmt: engine for engine, fmt in ENGINE_FORMATS.items()}


class OnnxEngine(Engine):
    """ONNX Runtime (CPU) sobre ``modelo.onnx``."""

    name = "onnx"

    def __init__(self, description, precision: str = "float32"):
        if precision != "float32":
            raise ArgumentError("El motor onnx calcula en float32; use openvino o keras "
                                "para bfloat16.")
        super().__init__(description, precision)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.log_severity_level = 3
        path = Path(description["directory"]) / description["artifact"]
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 (InvalidProtobuf y las demás de onnxruntime)
            message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else \
                type(exc).__name__
            raise ModelFileError(f"ONNX Runtime no pudo abrir «{path}»: {message}") from None
        self._names = [item.name for item in self.session.get_inputs()]
        types = {"tensor(float)": "float32", "tensor(int32)": "int32",
                 "tensor(int64)": "int64", "tensor(double)": "float64"}
        self._check_artifact(
            [(dims(item.shape), types.get(item.type, item.type))
             for item in self.session.get_inputs()],
            dims(self.session.get_outputs()[0].shape))

    def _run(self, arrays):
        feed = dict(zip(self._names, arrays, strict=True))
        return self.session.run(None, feed)[0]


class OpenVinoEngine(Engine):
    """OpenVINO (CPU) sobre el IR ``modelo.xml`` + ``modelo.bin``."""

    name = "openvino"

    def __init__(self, description, precision: str = "float32"):
        super().__init__(description, precision)
        import openvino

        self._path = Path(description["directory"]) / description["artifact"]
        self._core = openvino.Core()
        self.compiled = self._compile()
        self._check_artifact(
            [(partial_dims(port), port.get_element_type().to_dtype().name)
             for port in self.compiled.inputs], partial_dims(self.compiled.outputs[0]))
        self.request = self.compiled.create_infer_request()
        self._pixels_request = None  # el grafo con la entrada uint8, al primer uso

    def _compile(self, pixels: bool = False):
        """Compila el IR para la CPU; con ``pixels``, con entrada ``uint8`` y la división
        entre 255 dentro del grafo (OpenVINO la funde con la primera convolución)."""
        import openvino

        config = {"INFERENCE_PRECISION_HINT": "bf16" if self.precision == "bfloat16"
                  else "f32", "PERFORMANCE_HINT": "LATENCY"}
        try:
            model = self._core.read_model(str(self._path))
            if pixels:
                from openvino.preprocess import PrePostProcessor

                steps = PrePostProcessor(model)
                steps.input().tensor().set_element_type(openvino.Type.u8)
                steps.input().preprocess().convert_element_type(openvino.Type.f32) \
                    .scale(float(self.image_preprocessor().pixel_scale))
                model = steps.build()
            return self._core.compile_model(model, "CPU", config)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelFileError(f"OpenVINO no pudo abrir «{self._path}»: {exc}") from None

    def _run(self, arrays):
        self.request.infer(arrays)
        return self.request.get_output_tensor(0).data.copy()

    def predict_images(self, images) -> np.ndarray:
        if self.image_preprocessor().flatten:   # aplanar no se hace en el grafo
            return super().predict_images(images)
        images = self._as_images(images)
        if self._pixels_request is None:
            self._pixels_request = self._compile(pixels=True).create_infer_request()
        self._pixels_request.infer([images])
        return self._pixels_request.get_output_tensor(0).data.astype(np.float32)


class LiteRtEngine(Engine):
    """El intérprete de LiteRT: el de ``ai_edge_litert`` (extra ``litert``) o, si no
    está, el de TensorFlow (``tf.lite``, que TensorFlow da por obsoleto)."""

    name = "litert"

    def __init__(self, description, precision: str = "float32"):
        if precision != "float32":
            raise ArgumentError("El motor litert calcula en float32.")
        super().__init__(description, precision)
        import warnings

        if missing_modules(["ai_edge_litert"]):
            from nucleo.entorno import import_tensorflow

            Interpreter = import_tensorflow().lite.Interpreter
        else:
            from ai_edge_litert.interpreter import Interpreter
        path = Path(description["directory"]) / description["artifact"]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # «tf.lite is deprecated»
                self.interpreter = Interpreter(model_path=str(path),
                                               num_threads=os.cpu_count() or 1)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelFileError(f"LiteRT no pudo abrir «{path}»: {exc}") from None
        details = self.interpreter.get_input_details()
        # Las entradas se llaman «serving_default_<nombre>:0»; se ordenan por el nuestro.
        self._details = [next((d for d in details if name in d["name"]), details[i])
                         for i, name in enumerate(self.input_names)] \
            if len(details) == len(self.input_names) else details
        self._check_artifact(
            [(dims(d["shape_signature"]), np.dtype(d["dtype"]).name) for d in self._details],
            dims(self.interpreter.get_output_details()[0]["shape_signature"]))
        self._shapes = None

    def _run(self, arrays):
        shapes = [array.shape for array in arrays]
        if shapes != self._shapes:
            for detail, shape in zip(self._details, shapes, strict=True):
                self.interpreter.resize_tensor_input(detail["index"], shape, strict=False)
            self.interpreter.allocate_tensors()
            self._shapes = shapes
        for detail, array in zip(self._details, arrays, strict=True):
            self.interpreter.set_tensor(detail["index"], array)
        self.interpreter.invoke()
        output = self.interpreter.get_output_details()[0]["index"]
        return self.interpreter.get_tensor(output).copy()


class SavedModelEngine(Engine):
    """Un SavedModel de TensorFlow (``tf.saved_model.load``, la firma ``serve``)."""

    name = "tensorflow"

    def __init__(self, description, precision: str = "float32"):
        super().__init__(description, precision)
        from nucleo.entorno import import_tensorflow

        tf = import_tensorflow()
        path = Path(description["directory"]) / description["artifact"]
        try:
            self.loaded = tf.saved_model.load(str(path))
        except (RuntimeError, ValueError, OSError, tf.errors.OpError) as exc:
            raise ModelFileError(f"TensorFlow no pudo abrir «{path}»: {exc}") from None
        try:
            inputs = tf.nest.flatten(self.loaded.serve.input_signature)
            outputs = self.loaded.signatures["serving_default"].structured_outputs
        except (AttributeError, KeyError):
            raise ModelFileError(f"«{path}» no tiene la firma «serve» de Keras: no es una "
                                 "exportación de «redes TAREA exportar».") from None
        self._check_artifact([(dims(spec.shape), spec.dtype.name) for spec in inputs],
                             dims(outputs[sorted(outputs)[0]].shape))

    def _run(self, arrays):
        output = self.loaded.serve(arrays if len(arrays) > 1 else arrays[0])
        return output.numpy()


ENGINE_CLASSES = {"onnx": OnnxEngine, "openvino": OpenVinoEngine, "litert": LiteRtEngine,
                   "tensorflow": SavedModelEngine}


def open_export(description: dict[str, Any], engine: str = "auto",
                precision: str | None = None) -> Engine:
    """Abre una exportación ya leída con el motor de su formato."""
    runtime = FORMAT_ENGINES[description["format"]]
    if engine not in ("auto", runtime):
        raise ArgumentError(
            f"«{description['directory']}» es una exportación {description['format']}, que "
            f"ejecuta el motor {runtime}; use --motor {runtime} o auto (o los pesos .h5 "
            f"para --motor {engine}).")
    check_modules(RUNTIME_NEEDS[description["format"]], f"El motor {runtime}")
    return ENGINE_CLASSES[runtime](description, resolve_engine_precision(runtime, precision))
