"""Excepciones propias de redes-keras, todas en este módulo.

Cada error dice en castellano qué archivo, línea o campo falló y qué se esperaba.
Todas derivan de :class:`RedesError`, así la CLI puede mostrarlas sin traza y
terminar con un código distinto de cero.
"""

from __future__ import annotations


class RedesError(Exception):
    """Base de todos los errores de redes-keras."""


class ArgumentError(RedesError, ValueError):
    """Un argumento de un constructor o de la CLI no es válido."""


class DataError(RedesError, ValueError):
    """Datos de entrada inválidos (carpeta, imagen, CSV, anotación...)."""


class FieldError(DataError):
    """Un campo de una entrada estructurada (una petición JSON) no es válido.

    Attributes:
        field: el campo, con su posición (``series[2].futuras.precio``); ``redes servir``
            lo devuelve en «campo».
    """

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


class EmptyDataError(DataError):
    """Una carpeta o clase no contiene ningún dato utilizable."""


class ModelFileError(RedesError, OSError):
    """Un archivo de modelo no se puede leer o no corresponde al modelo."""


class UnknownBuilderError(ModelFileError, KeyError):
    """El archivo nombra un constructor que no está registrado."""

    def __str__(self) -> str:  # KeyError pondría el mensaje entre comillas
        return str(self.args[0]) if self.args else ""


class WeightsMismatchError(ModelFileError):
    """Los pesos guardados no encajan con la arquitectura reconstruida."""


class EnvironmentSetupError(RedesError, RuntimeError):
    """El entorno instalado no es el esperado (p. ej. dos paquetes de OpenCV)."""


class DownloadError(RedesError, OSError):
    """Una descarga pedida por el usuario no se pudo completar (sin conexión, HTTP...)."""


class TooLargeError(DataError):
    """Una entrada supera un límite de tamaño (bytes, píxeles): ``redes servir`` da 413."""
