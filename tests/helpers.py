"""Ayudas compartidas por las pruebas (al estilo de keras-hub ``TestCase``)."""

from __future__ import annotations

import numpy as np

import modelos


def run_model_saving_test(model, inputs, path, atol=1e-6):
    """Guarda con ``modelos.save``, recarga con ``modelos.load`` y compara salidas.

    Returns:
        El modelo recargado.
    """
    expected = model.predict(inputs, verbose=0)
    modelos.save(model, path)
    restored = modelos.load(path)
    got = restored.predict(inputs, verbose=0)
    np.testing.assert_allclose(got, expected, atol=atol, rtol=0)
    assert restored.count_params() == model.count_params()
    return restored
