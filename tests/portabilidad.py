"""Pesos portables entre backends: guarda con uno, carga con otro (lo usa test_backends).

Con el backend de ``KERAS_BACKEND``::

    python -m tests.portabilidad --guardar CARPETA [--comprobar OTRA ...] [--esperar S]

``--guardar`` construye cada constructor de :data:`tests.helpers.TINY_BUILDS` con pesos
perturbados (semilla fija), lo guarda con ``modelos.save`` en ``CARPETA/<nombre>.h5`` y
deja al lado sus entradas y predicciones (``.npz``, sin pickle). ``--comprobar`` carga
los modelos de otra carpeta con ``modelos.load`` y predice con las mismas entradas.
Al terminar de guardar deja ``CARPETA/listo``; con ``--esperar S``, antes de comprobar
una carpeta se espera hasta S segundos a que tenga su ``listo`` (dos backends que guardan
y se comprueban uno a otro a la vez).

Escribe en la salida estándar un JSON: el backend, la diferencia máxima por carpeta
comprobada y constructor (absoluta, o relativa al mayor valor de la salida si pasa de
1), y si TensorFlow llegó a importarse.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from nucleo.entorno import prepare_backend, set_random_seed

prepare_backend()

import keras  # noqa: E402

import modelos  # noqa: E402
from tests.helpers import TINY_BUILDS  # noqa: E402
from tests.helpers import tiny_batch  # noqa: E402


def _predict(model, inputs) -> list[np.ndarray]:
    outputs = model.predict(inputs, verbose=0)
    return [np.asarray(keras.ops.convert_to_numpy(o), "float32")
            for o in keras.tree.flatten(outputs)]


def save_all(folder: Path) -> None:
    """Guarda cada modelo pequeño con sus entradas y predicciones."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name, kwargs in TINY_BUILDS.items():
        set_random_seed(0)
        model = modelos.get_builder(name)(**kwargs)
        model.set_weights([w + rng.normal(0, 0.1, w.shape).astype(w.dtype)
                           for w in model.get_weights()])
        inputs, _ = tiny_batch(model, rng)
        listed = inputs if isinstance(inputs, list) else [inputs]
        outputs = _predict(model, inputs)
        modelos.save(model, folder / f"{name}.h5")
        np.savez(folder / f"{name}.npz", **{f"x{i}": a for i, a in enumerate(listed)},
                 **{f"y{i}": a for i, a in enumerate(outputs)})
    (folder / "listo").touch()


def wait_ready(folder: Path, seconds: float) -> None:
    """Espera a que otro proceso termine de guardar en ``folder`` (su ``listo``)."""
    deadline = time.monotonic() + seconds
    while not (folder / "listo").is_file():
        if time.monotonic() > deadline:
            raise SystemExit(f"«{folder}» no terminó de guardarse en {seconds:g} s")
        time.sleep(0.1)


def check_all(folder: Path) -> dict[str, float]:
    """Carga cada modelo de ``folder`` y da la diferencia máxima con lo guardado.

    Es la absoluta, dividida por el mayor valor absoluto de la salida cuando pasa de 1.
    """
    differences = {}
    for name in TINY_BUILDS:
        model = modelos.load(folder / f"{name}.h5")
        with np.load(folder / f"{name}.npz", allow_pickle=False) as saved:
            inputs = [saved[f"x{i}"] for i in range(sum(k.startswith("x") for k in saved))]
            expected = [saved[f"y{i}"] for i in range(sum(k.startswith("y") for k in saved))]
        got = _predict(model, inputs if len(inputs) > 1 else inputs[0])
        # Diferencia relativa a la escala de la salida (la de YOLO pasa de 100).
        differences[name] = max(float(np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(b))))
                                for a, b in zip(got, expected, strict=True))
    return differences


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guardar", type=Path)
    parser.add_argument("--comprobar", type=Path, nargs="*", default=[])
    parser.add_argument("--esperar", type=float, default=0.0)
    args = parser.parse_args(argv)
    if args.guardar:
        save_all(args.guardar)
    for folder in args.comprobar:
        wait_ready(folder, args.esperar)
    report = {"backend": keras.backend.backend(),
              "diferencias": {str(f): check_all(f) for f in args.comprobar},
              "tensorflow_importado": "tensorflow" in sys.modules}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
