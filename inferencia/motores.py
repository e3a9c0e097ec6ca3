"""Motores de inferencia: una sola interfaz para Keras, ONNX Runtime, OpenVINO y LiteRT.

Un motor se comporta, para quien predice, como un modelo de Keras ya cargado:
``predict_on_batch(x)``, ``predict(x, batch_size=...)``, ``input_shape``,
``output_shape`` y el constructor con sus argumentos (``modelos.registro.builder_spec``
funciona con él). Así :func:`modelos.yolo.decodificacion.detect_batch`, la
clasificación, el pronóstico de ventas y la traducción usan el mismo código (la misma
decodificación y NMS) con cualquier motor.

:func:`load_engine` abre un motor desde

- un archivo de :func:`modelos.save` (``.h5``): con ``keras`` lo carga como siempre; con
  ``onnx``, ``openvino`` o ``litert`` lo exporta una vez (:mod:`inferencia.exportar`) a una
  caché (``$REDES_CACHE`` o ``~/.cache/redes-keras``, por el contenido del archivo) y
  abre la exportación;
- o una carpeta de ``redes exportar`` (o su ``modelo.json``), sin Keras ni constructores.

``predict_images`` recibe fotos ``uint8`` ya redimensionadas (lo que usa ``detect_batch``):
el motor ``openvino`` hace la división entre 255 dentro de su grafo. Una exportación de
``redes exportar --int8`` (:mod:`inferencia.cuantizar`) se abre como cualquier otra de
OpenVINO; su ``repr`` dice ``int8``.

``engine="auto"`` con un ``.h5`` elige el más rápido de los instalados **para ese
modelo**: la primera vez lo exporta a ONNX y a OpenVINO, mide una predicción con cada
uno y guarda la elección en la caché (:func:`fastest_engine`). Con una exportación, el
motor de su formato. OpenVINO calcula en bfloat16 si la CPU lo hace de forma nativa
(AVX-512 BF16 o AMX) y en float32 si no; ``precision="float32"`` lo fija.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError, ModelFileError
from inferencia.exportar import (
    ARTIFACTS,
    DESCRIPTION,
    RUNTIME_NEEDS,
    _EXPORT_NEEDS,
    check_modules,
    describe,
    export_model,
    missing_modules,
    read_description,
)
from modelos.registro import BuilderSpec
from nucleo.entorno import resolve_engine_precision
from nucleo.vocabulario import ENGINES

#: Candidatos de ``auto`` con un ``.h5``, que :func:`fastest_engine` mide con el modelo
#: (Keras, el último recurso). Con bfloat16 nativo, OpenVINO calcula en bf16: YOLOv2-416
#: a 75 img/s frente a 13 de ONNX Runtime en una CPU con AMX, pero el MLP de ventas va
#: a 139 µs por llamada frente a 17 (``bench/inferencia.py``); por eso se mide.
AUTO_CANDIDATES = ("onnx", "openvino")
#: ``auto`` con un ``.h5``: lote de la medida, y como mucho cuántas llamadas y segundos
#: por motor (:func:`fastest_engine`).
AUTO_BATCH = 8
AUTO_CALLS = 20
AUTO_SECONDS = 1.0
#: Formato de exportación que ejecuta cada motor (``tensorflow`` ejecuta un SavedModel).
ENGINE_FORMATS = {"onnx": "onnx", "openvino": "openvino", "litert": "litert",
                  "tensorflow": "saved_model"}
_FORMAT_ENGINES = {fmt: engine for engine, fmt in ENGINE_FORMATS.items()}

class Engine:
    """Interfaz común: un modelo que solo predice, descrito por su ``modelo.json``.

    Attributes:
        name: ``"keras"``, ``"onnx"``, ``"openvino"``, ``"litert"`` o ``"tensorflow"``.
        precision: ``"float32"`` o ``"bfloat16"``.
        description: la descripción (:func:`inferencia.exportar.describe`).
        metadata: los metadatos de la tarea (clases, escalador, tokenizadores...).
        input_shape: como en Keras: una tupla (``None`` = libre), o una lista de ellas.
        output_shape: la forma de la (primera) salida.
        keras_model: el modelo de Keras, solo en el motor ``keras``.
    """

    name = ""

    def __init__(self, description: dict[str, Any], precision: str = "float32"):
        self.description = description
        self.precision = precision
        self.metadata = description.get("metadata", {})
        self._inputs_spec = description["inputs"]
        shapes = [tuple(item["shape"]) for item in self._inputs_spec]
        self.input_shape = shapes[0] if len(shapes) == 1 else shapes
        self.output_shape = tuple(description["outputs"][0]["shape"])
        self.input_names = [item["name"] for item in self._inputs_spec]
        self.keras_model = None
        # builder_spec(motor) funciona como con un modelo de Keras.
        self._redes_spec = BuilderSpec(description["builder"], dict(description["kwargs"]))

    def __repr__(self) -> str:
        precision = "int8" if self.quantized else self.precision
        return f"<motor {self.name} ({precision}) de «{self.description['builder']}»>"

    @property
    def quantized(self) -> bool:
        """Si los pesos y activaciones van en int8 (una exportación de ``--int8``)."""
        return self.description.get("precision") == "int8"

    def _as_list(self, inputs) -> list[np.ndarray]:
        """Las entradas en el orden del modelo, con su tipo, desde arreglo, lista o dict."""
        if isinstance(inputs, dict):
            try:
                inputs = [inputs[name] for name in self.input_names]
            except KeyError as exc:
                raise ArgumentError(f"Falta la entrada «{exc.args[0]}»; el modelo espera "
                                    f"{', '.join(self.input_names)}.") from None
        elif not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        if len(inputs) != len(self._inputs_spec):
            raise ArgumentError(f"El modelo espera {len(self._inputs_spec)} entradas "
                                f"({', '.join(self.input_names)}); recibidas {len(inputs)}.")
        arrays = []
        for value, spec in zip(inputs, self._inputs_spec, strict=True):
            array = np.ascontiguousarray(np.asarray(value), dtype=spec["dtype"])
            if not _fits(spec, array):
                raise ArgumentError(f"La entrada «{spec['name']}» debe tener forma "
                                    f"{tuple(spec['shape'])}; recibida {array.shape}.")
            arrays.append(array)
        return arrays

    def _run(self, arrays: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def _check_artifact(self, inputs, output) -> None:
        """Comprueba que el artefacto es el que describe ``modelo.json``.

        Args:
            inputs: ``[(forma, dtype)]`` de las entradas del artefacto, en el orden de la
                descripción (``None`` en las dimensiones libres; dtype ``None`` si no se
                sabe).
            output: la forma de su (primera) salida.

        Raises:
            ModelFileError: si el número de entradas, una forma o un tipo no coinciden
                (nombra los dos archivos y el campo).
        """
        where = Path(self.description["directory"]) / DESCRIPTION

        def mismatch(what: str, declared, actual) -> ModelFileError:
            return ModelFileError(
                f"«{where}» no corresponde a «{self.description['artifact']}»: {what} es "
                f"{actual} en el artefacto y {declared} en la descripción. ¿Se mezclaron "
                f"archivos de dos exportaciones? Vuelva a exportar con «redes exportar».")

        if len(inputs) != len(self._inputs_spec):
            raise mismatch("el número de entradas", len(self._inputs_spec), len(inputs))
        for spec, (shape, dtype) in zip(self._inputs_spec, inputs, strict=True):
            if not _same_shape(spec["shape"], shape):
                raise mismatch(f"la forma de la entrada «{spec['name']}»",
                               _shape_text(spec["shape"]), _shape_text(shape))
            if dtype is not None and dtype != spec["dtype"]:
                raise mismatch(f"el tipo de la entrada «{spec['name']}»", spec["dtype"], dtype)
        declared = self.description["outputs"][0]["shape"]
        if not _same_shape(declared, output):
            raise mismatch("la forma de la salida", _shape_text(declared), _shape_text(output))

    def predict_on_batch(self, inputs) -> np.ndarray:
        """La salida (float32 numpy) de un lote, en una sola pasada."""
        return np.asarray(self._run(self._as_list(inputs)), dtype=np.float32)

    def predict_images(self, images) -> np.ndarray:
        """La salida de un lote de imágenes ``uint8`` (B, alto, ancho, 3) sin normalizar.

        El modelo recibe ``píxeles / 255`` (como al entrenar). Aquí se divide en numpy;
        el motor ``openvino`` lo hace dentro de su grafo y se ahorra la copia en float32.
        """
        from modelos.yolo.preprocesado import to_input

        return self.predict_on_batch(to_input(self._as_images(images)))

    def _as_images(self, images) -> np.ndarray:
        array = np.ascontiguousarray(images)
        spec = self._inputs_spec[0]
        if len(self._inputs_spec) != 1 or array.dtype != np.uint8 or not _fits(spec, array):
            raise ArgumentError(f"predict_images: se esperaba un lote uint8 de forma "
                                f"{tuple(spec['shape'])}; recibido {array.dtype} "
                                f"{array.shape}.")
        return array

    def __call__(self, inputs, training: bool = False) -> np.ndarray:
        return self.predict_on_batch(inputs)

    def predict(self, inputs, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        """Como ``keras.Model.predict``: en tandas de ``batch_size`` (``verbose`` se ignora)."""
        arrays = self._as_list(inputs)
        total = len(arrays[0])
        if total <= batch_size:
            return self.predict_on_batch(arrays)
        parts = [self.predict_on_batch([array[start:start + batch_size] for array in arrays])
                 for start in range(0, total, batch_size)]
        return np.concatenate(parts, axis=0)


class KerasEngine(Engine):
    """El modelo de Keras, tal cual (``predict_on_batch`` compilado)."""

    name = "keras"

    def __init__(self, model, metadata: dict[str, Any] | None = None,
                 precision: str = "float32"):
        super().__init__(describe(model, None, metadata), precision)
        self.keras_model = model

    def _run(self, arrays):
        from nucleo.keras_listo import keras

        output = self.keras_model.predict_on_batch(arrays if len(arrays) > 1 else arrays[0])
        return keras.ops.convert_to_numpy(output)


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
        except (RuntimeError, ValueError, OSError) as exc:  # clases de onnxruntime
            raise ModelFileError(f"ONNX Runtime no pudo abrir «{path}»: {exc}") from None
        self._names = [item.name for item in self.session.get_inputs()]
        types = {"tensor(float)": "float32", "tensor(int32)": "int32",
                 "tensor(int64)": "int64", "tensor(double)": "float64"}
        self._check_artifact(
            [(_dims(item.shape), types.get(item.type, item.type))
             for item in self.session.get_inputs()],
            _dims(self.session.get_outputs()[0].shape))

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
            [(_partial_dims(port), port.get_element_type().to_dtype().name)
             for port in self.compiled.inputs], _partial_dims(self.compiled.outputs[0]))
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
                    .scale(255.0)
                model = steps.build()
            return self._core.compile_model(model, "CPU", config)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelFileError(f"OpenVINO no pudo abrir «{self._path}»: {exc}") from None

    def _run(self, arrays):
        self.request.infer(arrays)
        return self.request.get_output_tensor(0).data.copy()

    def predict_images(self, images) -> np.ndarray:
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
            [(_dims(d["shape_signature"]), np.dtype(d["dtype"]).name) for d in self._details],
            _dims(self.interpreter.get_output_details()[0]["shape_signature"]))
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
                                 "exportación de «redes exportar».") from None
        self._check_artifact([(_dims(spec.shape), spec.dtype.name) for spec in inputs],
                             _dims(outputs[sorted(outputs)[0]].shape))

    def _run(self, arrays):
        output = self.loaded.serve(arrays if len(arrays) > 1 else arrays[0])
        return output.numpy()


_ENGINE_CLASSES = {"onnx": OnnxEngine, "openvino": OpenVinoEngine, "litert": LiteRtEngine,
                   "tensorflow": SavedModelEngine}


def example_inputs(engine, *, batch: int = 2, length: int = 6, seed: int = 0
                   ) -> list[np.ndarray]:
    """Entradas válidas de ejemplo para ``engine``: reales en [0, 1) o ids de su vocabulario.

    Las dimensiones libres (la longitud de una frase) toman ``length``.
    """
    rng = np.random.default_rng(seed)
    kwargs = engine.description["kwargs"]
    vocabularies = [value for key, value in kwargs.items()
                    if "vocab" in key and isinstance(value, int) and value > 1]
    high = min(vocabularies) if vocabularies else 2
    arrays = []
    for spec in engine.description["inputs"]:
        shape = [batch] + [length if size is None else size for size in spec["shape"][1:]]
        if spec["dtype"].startswith("int"):
            arrays.append(rng.integers(1, high, shape).astype(spec["dtype"]))
        else:
            arrays.append(rng.random(shape, dtype=np.float32).astype(spec["dtype"]))
    return arrays


def _dims(shape) -> list[int | None]:
    """Una forma con ``None`` en las dimensiones libres (-1, ``None`` o un nombre)."""
    return [int(size) if isinstance(size, (int, np.integer)) and size >= 0 else None
            for size in shape]


def _partial_dims(port) -> list[int | None]:
    return [None if size.is_dynamic else size.get_length()
            for size in port.get_partial_shape()]


def _same_shape(declared, actual) -> bool:
    """Mismo rango y las mismas dimensiones donde las dos son fijas."""
    return len(declared) == len(actual) and all(
        a is None or b is None or a == b for a, b in zip(declared, actual, strict=True))


def _fits(spec: dict[str, Any], array: np.ndarray) -> bool:
    """Si ``array`` tiene la forma de la entrada ``spec`` (el lote, libre)."""
    return _same_shape(spec["shape"], (None, *array.shape[1:]))


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if size is None else str(size) for size in shape) + ")"


# === Elegir y abrir ===

def engine_installed(name: str, *, export: bool = True) -> bool:
    """Si el motor ``name`` puede usarse aquí (y exportar a su formato, con ``export``)."""
    if name == "keras":
        return True
    fmt = ENGINE_FORMATS[name]
    needs = RUNTIME_NEEDS[fmt] + (_EXPORT_NEEDS[fmt] if export else ())
    return not missing_modules(needs)


def _time_call(engine: Engine, inputs) -> float:
    """Segundos por llamada de ``engine`` con ``inputs``: la mejor de hasta
    :data:`AUTO_CALLS` llamadas, sin pasar de :data:`AUTO_SECONDS` (tras una de
    calentamiento)."""
    import time

    engine.predict_on_batch(inputs)
    best, spent = float("inf"), 0.0
    for _ in range(AUTO_CALLS):
        start = time.perf_counter()
        engine.predict_on_batch(inputs)
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
        if spent > AUTO_SECONDS:
            break
    return best


def auto_choice_path(weights, precision: str | None = None) -> Path:
    """Dónde guarda :func:`fastest_engine` su elección para ``weights`` (en la caché,
    junto a sus exportaciones): ``{"motor", "bf16", "lote", "microsegundos", "fallos"}``."""
    return (cache_root() / "exportados" / _file_digest(Path(weights))
            / f"auto-{precision or 'defecto'}.json")


def fastest_engine(weights, precision: str | None = None) -> Engine:
    """El motor más rápido para **este** modelo, medido aquí la primera vez.

    Exporta el ``.h5`` a cada motor instalado de :data:`AUTO_CANDIDATES` (a la caché), mide
    una predicción de un lote de :data:`AUTO_BATCH` con cada uno y se queda con el más
    rápido; un formato al que el modelo no se puede exportar (OpenVINO no convierte las
    LSTM de ``ventas_rnn`` y ``seq2seq``) se salta. La elección se guarda en la caché,
    junto a las exportaciones (:func:`auto_choice_path`, con los tiempos medidos): las
    siguientes veces solo se abre ese motor. Keras queda como último recurso.

    Por qué medir: el orden depende del modelo. En una CPU con AMX, OpenVINO en bf16 gana
    con las redes convolucionales grandes (YOLOv2, la CNN de CIFAR) y ONNX Runtime con las
    pequeñas (el MLP de ventas: 17 µs frente a 139), donde pesa el coste fijo de cada
    llamada (``bench/inferencia.py``).
    """
    import json

    from nucleo.archivos import atomic_write
    from nucleo.entorno import native_bfloat16

    weights = Path(weights)
    bf16 = native_bfloat16()
    candidates = [name for name in AUTO_CANDIDATES if engine_installed(name)]
    choice_path = auto_choice_path(weights, precision)
    try:
        choice = json.loads(choice_path.read_text(encoding="utf-8"))
        if choice.get("bf16") == bf16 and choice.get("motor") in candidates + ["keras"]:
            return load_engine(weights, choice["motor"], precision=precision)
    except (OSError, ValueError, AttributeError, ModelFileError):
        pass   # sin elección guardada (o rota, o su exportación ya no vale): se mide
    engines: dict[str, Engine] = {}
    failures: dict[str, str] = {}
    for name in candidates:
        try:
            engines[name] = load_engine(weights, name, precision=precision)
        except (ModelFileError, ArgumentError) as exc:
            failures[name] = str(exc).splitlines()[0][:300]
    if engines:
        inputs = example_inputs(next(iter(engines.values())), batch=AUTO_BATCH, seed=0)
        seconds = {name: _time_call(engine, inputs) for name, engine in engines.items()}
        best = min(seconds, key=seconds.get)
        chosen = engines[best]
    else:
        seconds, best = {}, "keras"
        chosen = load_engine(weights, "keras", precision=precision)
    record = {"motor": best, "bf16": bf16, "lote": AUTO_BATCH,
              "microsegundos": {name: round(value * 1e6, 1) for name, value in seconds.items()},
              "fallos": failures}
    try:
        atomic_write(choice_path, lambda handle: handle.write(
            json.dumps(record, ensure_ascii=False, indent=2) + "\n"), text=True)
    except OSError:
        pass   # una caché de solo lectura: se medirá otra vez la próxima
    return chosen


def cache_root() -> Path:
    """Carpeta de la caché de exportaciones: ``$REDES_CACHE`` o ``~/.cache/redes-keras``."""
    if os.environ.get("REDES_CACHE"):
        return Path(os.environ["REDES_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "redes-keras"


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:24]


def cached_export(weights, fmt: str) -> dict[str, Any]:
    """La exportación de ``weights`` a ``fmt`` en la caché; la crea si falta.

    La clave es el contenido del archivo: otro entrenamiento en la misma ruta exporta
    de nuevo. Se exporta en una carpeta temporal y se renombra al final.
    """
    weights = Path(weights)
    folder = cache_root() / "exportados" / _file_digest(weights) / fmt
    if (folder / DESCRIPTION).is_file():
        try:
            return read_description(folder)
        except ModelFileError:
            shutil.rmtree(folder, ignore_errors=True)  # una caché rota se rehace
    staging = folder.with_name(f".{fmt}-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        export_model(weights, fmt, staging)
        try:
            os.replace(staging, folder)
        except OSError:  # otro proceso la creó a la vez: vale la suya
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return read_description(folder)


def _check_choice(engine: str) -> str:
    if engine not in ENGINES:
        raise ArgumentError(f"«motor» debe ser uno de {', '.join(ENGINES)}; "
                            f"recibido {engine!r}.")
    return engine


def open_export(description: dict[str, Any], engine: str = "auto",
                precision: str | None = None) -> Engine:
    """Abre una exportación ya leída con el motor de su formato."""
    runtime = _FORMAT_ENGINES[description["format"]]
    if engine not in ("auto", runtime):
        raise ArgumentError(
            f"«{description['directory']}» es una exportación {description['format']}, que "
            f"ejecuta el motor {runtime}; use --motor {runtime} o auto (o los pesos .h5 "
            f"para --motor {engine}).")
    check_modules(RUNTIME_NEEDS[description["format"]], f"El motor {runtime}")
    return _ENGINE_CLASSES[runtime](description, resolve_engine_precision(runtime, precision))


def is_export(source) -> bool:
    """Si ``source`` es una exportación (carpeta o ``modelo.json``) y no un ``.h5``."""
    source = Path(source)
    return source.is_dir() or source.suffix == ".json"


def source_info(source) -> dict[str, Any]:
    """``{"builder", "kwargs", "metadata"}`` de un ``.h5`` o una exportación, sin abrir
    el modelo (los argumentos, completos con los valores por defecto).

    Raises:
        ModelFileError: si no es ni lo uno ni lo otro, o no se puede leer.
    """
    if is_export(source):
        info = read_description(source)
    else:
        import modelos

        info = modelos.load_metadata(source)
    return {key: info[key] for key in ("builder", "kwargs", "metadata")}


def source_metadata(source) -> dict[str, Any]:
    """Los metadatos de la tarea de un ``.h5`` o de una exportación (ver :func:`source_info`)."""
    return source_info(source)["metadata"]


def load_engine(source, engine: str = "auto", *, precision: str | None = None) -> Engine:
    """Abre ``source`` (``.h5`` de :func:`modelos.save` o exportación) con ``engine``.

    Args:
        source: ruta de los pesos ``.h5``, o carpeta (o ``modelo.json``) de
            ``redes exportar``.
        engine: ``"keras"``, ``"onnx"``, ``"openvino"``, ``"litert"`` o ``"auto"``.
        precision: ``None`` (la más rápida que no pierde exactitud aquí), ``"float32"``
            o ``"bfloat16"``.

    Raises:
        ArgumentError: motor desconocido, o que no ejecuta esa exportación.
        EnvironmentSetupError: el motor no está instalado (nombra el extra de pip).
        ModelFileError: el archivo o la exportación no valen.

    Example:
        >>> motor = load_engine("pesos/yolo/modelo.h5", "openvino")  # doctest: +SKIP
        >>> detect(motor, "foto.jpg")                                 # doctest: +SKIP
    """
    _check_choice(engine)
    source = Path(source)
    if is_export(source):
        return open_export(read_description(source), engine, precision)
    import modelos

    info = modelos.load_metadata(source)  # comprueba el archivo antes de exportar
    if engine == "auto":
        return fastest_engine(source, precision)
    if engine == "keras":
        precision = resolve_engine_precision("keras", precision)
        model = _load_keras(source, precision)
        return KerasEngine(model, info["metadata"], precision)
    fmt = ENGINE_FORMATS[engine]
    check_modules(RUNTIME_NEEDS[fmt] + _EXPORT_NEEDS[fmt], f"El motor {engine}")
    return open_export(cached_export(source, fmt), engine, precision)


def _load_keras(path: Path, precision: str):
    from nucleo.keras_listo import keras

    import modelos

    if precision == "float32":
        return modelos.load(path, compile=False)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        return modelos.load(path, compile=False)
    finally:
        keras.config.set_dtype_policy(previous)


def as_engine(model, metadata: dict[str, Any] | None = None) -> Engine:
    """Un motor tal cual, o un modelo de Keras envuelto en :class:`KerasEngine`."""
    return model if isinstance(model, Engine) else KerasEngine(model, metadata)


__all__ = ["ARTIFACTS", "AUTO_CANDIDATES", "ENGINES", "Engine", "KerasEngine",
           "LiteRtEngine", "OnnxEngine", "OpenVinoEngine", "SavedModelEngine", "as_engine",
           "auto_choice_path", "cached_export", "example_inputs", "fastest_engine",
           "load_engine", "open_export"]
