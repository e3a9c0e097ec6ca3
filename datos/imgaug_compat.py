"""Único punto del proyecto donde se importa imgaug.

imgaug 0.4.0 (la versión que usan los artículos del blog, ya sin mantenimiento) no
funciona tal cual con numpy 2 ni convive bien con el OpenCV que instalamos. Este
módulo arregla ambas cosas una sola vez y exporta ``ia`` (``imgaug``) e ``iaa``
(``imgaug.augmenters``). El resto del código importa de aquí::

    from datos.imgaug_compat import iaa

Nadie más debe hacer ``import imgaug`` directamente.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging

import numpy as np

from nucleo.errores import EnvironmentSetupError

logger = logging.getLogger("redes")

_OPENCV_FIX = (
    'pip uninstall -y opencv-python opencv-python-headless && pip install '
    '"opencv-python>=4.10,<5"'
)


def _check_opencv() -> None:
    """Comprueba que ``cv2`` es OpenCV 4.x y que solo hay un paquete de OpenCV.

    imgaug declara ``opencv-python`` sin versión; el proyecto pide la misma
    distribución con ``<5``, así que pip instala un único ``cv2`` 4.x (4.x conserva
    ``cv2.dnn.readNetFromDarknet``, que 5.0 quitó). ``opencv-python-headless`` escribe
    en el mismo directorio ``cv2``: tener los dos a la vez deja una mezcla imprevisible.

    Raises:
        EnvironmentSetupError: si ``cv2`` no se puede importar o no es la versión 4.
    """
    try:
        import cv2
    except ImportError as exc:
        raise EnvironmentSetupError(
            f"No se puede importar OpenCV (cv2), que necesita imgaug: {exc}. "
            f"Solución: {_OPENCV_FIX}"
        ) from exc
    version = str(getattr(cv2, "__version__", "desconocida"))
    if version.split(".")[0] != "4":
        raise EnvironmentSetupError(
            f"Se esperaba OpenCV 4.x pero cv2 es la versión {version}. "
            f"Solución: {_OPENCV_FIX}"
        )
    installed = set()
    for dist in ("opencv-python", "opencv-python-headless"):
        try:
            importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        installed.add(dist)
    if len(installed) == 2:
        logger.warning(
            "Están instalados a la vez opencv-python y opencv-python-headless; "
            "ambos escriben en el paquete cv2 y pueden mezclarse. Solución: %s",
            _OPENCV_FIX,
        )


def _restore_numpy_sctypes() -> None:
    """Restaura ``numpy.sctypes``, que numpy 2.0 eliminó.

    ``imgaug/imgaug.py`` ejecuta al importarse ``set(np.sctypes["float"])`` (y lo
    mismo con ``"int"`` y ``"uint"``); sin este atributo el ``import imgaug`` falla
    con ``AttributeError``. Reponemos el mismo diccionario que tenía numpy 1.x.
    Solo se añade si falta, así que con numpy 1.x no cambia nada.
    """
    if hasattr(np, "sctypes"):
        return
    np.sctypes = {
        "int": [np.int8, np.int16, np.int32, np.int64],
        "uint": [np.uint8, np.uint16, np.uint32, np.uint64],
        "float": [np.float16, np.float32, np.float64, np.longdouble],
        "complex": [np.complex64, np.complex128, np.clongdouble],
        "others": [bool, object, bytes, str, np.void],
    }


_check_opencv()
# Debe ir antes del primer `import imgaug` (ver la docstring de la función).
_restore_numpy_sctypes()

ia = importlib.import_module("imgaug")
iaa = importlib.import_module("imgaug.augmenters")

__all__ = ["ia", "iaa"]
