"""La interfaz de un motor de inferencia (:class:`Engine`) y el motor de Keras.

Un motor se comporta, para quien predice, como un modelo de Keras ya cargado:
``predict_on_batch(x)``, ``predict(x, batch_size=...)``, ``input_shape``,
``output_shape`` y el constructor con sus argumentos (``modelos.registro.builder_spec``
funciona con él)."""

from __future__ import annotations


from pathlib import Path
from typing import Any

import numpy as np

from nucleo.errores import ArgumentError, ModelFileError
from inferencia.exportar import (
    DESCRIPTION,
    describe,
)
from modelos.registro import BuilderSpec
from modelos.registro import preprocessor_of


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
            if not fits(spec, array):
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
                f"archivos de dos exportaciones? Vuelva a exportar con «redes TAREA exportar».")

        if len(inputs) != len(self._inputs_spec):
            raise mismatch("el número de entradas", len(self._inputs_spec), len(inputs))
        for spec, (shape, dtype) in zip(self._inputs_spec, inputs, strict=True):
            if not same_shape(spec["shape"], shape):
                raise mismatch(f"la forma de la entrada «{spec['name']}»",
                               shape_text(spec["shape"]), shape_text(shape))
            if dtype is not None and dtype != spec["dtype"]:
                raise mismatch(f"el tipo de la entrada «{spec['name']}»", spec["dtype"], dtype)
        declared = self.description["outputs"][0]["shape"]
        if not same_shape(declared, output):
            raise mismatch("la forma de la salida", shape_text(declared), shape_text(output))

    def predict_on_batch(self, inputs) -> np.ndarray:
        """La salida (float32 numpy) de un lote, en una sola pasada."""
        return np.asarray(self._run(self._as_list(inputs)), dtype=np.float32)

    def predict_images(self, images) -> np.ndarray:
        """La salida de un lote de imágenes ``uint8`` (B, alto, ancho, canales) sin normalizar.

        La familia del modelo dice cómo se preparan (:func:`modelos.registro.preprocessor_of`:
        ``píxeles / 255`` en YOLO y en los clasificadores, como al entrenar). Aquí se hace en
        numpy; el motor ``openvino`` divide dentro de su grafo y se ahorra la copia en float32.
        """
        preprocessor = self.image_preprocessor()
        return self.predict_on_batch(preprocessor.to_input(self._as_images(images)))

    def image_preprocessor(self):
        """El preprocesado de imágenes que declara la familia del modelo.

        Raises:
            ArgumentError: si el modelo no recibe imágenes.
        """
        preprocessor = preprocessor_of(self)
        if preprocessor is None or not preprocessor.takes_images:
            raise ArgumentError(f"predict_images: el modelo «{self.description['builder']}» "
                                "no recibe imágenes.")
        return preprocessor

    def _as_images(self, images) -> np.ndarray:
        array = np.ascontiguousarray(images)
        spec = self._inputs_spec[0]
        if self.image_preprocessor().flatten:   # (B, alto, ancho, canales) → (B, D)
            shape_ok = array.ndim == 4 and int(np.prod(array.shape[1:])) == spec["shape"][-1]
        else:
            shape_ok = fits(spec, array)
        if len(self._inputs_spec) != 1 or array.dtype != np.uint8 or not shape_ok:
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


def dims(shape) -> list[int | None]:
    """Una forma con ``None`` en las dimensiones libres (-1, ``None`` o un nombre)."""
    return [int(size) if isinstance(size, (int, np.integer)) and size >= 0 else None
            for size in shape]


def partial_dims(port) -> list[int | None]:
    return [None if size.is_dynamic else size.get_length()
            for size in port.get_partial_shape()]


def same_shape(declared, actual) -> bool:
    """Mismo rango y las mismas dimensiones donde las dos son fijas."""
    return len(declared) == len(actual) and all(
        a is None or b is None or a == b for a, b in zip(declared, actual, strict=True))


def fits(spec: dict[str, Any], array: np.ndarray) -> bool:
    """Si ``array`` tiene la forma de la entrada ``spec`` (el lote, libre)."""
    return same_shape(spec["shape"], (None, *array.shape[1:]))


def shape_text(shape) -> str:
    return "(" + ", ".join("None" if size is None else str(size) for size in shape) + ")"
