"""El esquema de muchas series: qué columnas identifican la serie y qué covariables hay.

:class:`SeriesSchema` viaja como JSON en los metadatos del modelo global; también están
aquí los nombres fijos de las columnas del formato largo en memoria. Se reexporta desde
:mod:`datos.ventas_multiples`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nucleo.errores import DataError

#: Nombre de la única serie de un CSV sin columnas de serie (el del blog).
SINGLE_SERIES = "serie"
#: Separador de los valores de las columnas de serie en la clave ``serie``.
KEY_SEPARATOR = " / "
#: Columnas fijas del formato largo en memoria.
KEY, DATE, VALUE = "serie", "fecha", "unidades"
#: Más columnas de serie o covariables que esto no se admiten (un archivo manipulado).
MAX_SCHEMA_COLUMNS = 64


def _names(value, field: str) -> tuple[str, ...]:
    """Una tupla de nombres de columna no vacíos y sin repetir (el error nombra el campo)."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise DataError(f"SeriesSchema: «{field}» debe ser una lista de nombres de columna; "
                        f"recibido {value!r}.")
    names = tuple(value)
    if len(names) > MAX_SCHEMA_COLUMNS or not all(
            isinstance(name, str) and name.strip() and len(name) <= 200 for name in names):
        raise DataError(f"SeriesSchema: «{field}» debe tener hasta {MAX_SCHEMA_COLUMNS} "
                        f"nombres de columna no vacíos; recibido {value!r}.")
    if len(set(names)) != len(names):
        raise DataError(f"SeriesSchema: «{field}» repite una columna: {list(names)}.")
    return names


@dataclasses.dataclass(frozen=True)
class SeriesSchema:
    """Qué columnas identifican la serie y qué covariables hay, y de qué clase.

    Attributes:
        series_columns: columnas que identifican la serie, p. ej. ``("tienda", "producto")``;
            ``()`` para la serie única del blog. Con más de una forman una jerarquía
            (cada una tiene su embedding en el modelo global).
        future_covariates: covariables conocidas de antemano (precio, festivo...).
        past_covariates: covariables que solo se conocen hasta el último día (temperatura...).
    """

    series_columns: tuple[str, ...]
    future_covariates: tuple[str, ...] = ()
    past_covariates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        fields = {"series_columns": self.series_columns,
                  "future_covariates": self.future_covariates,
                  "past_covariates": self.past_covariates}
        seen: dict[str, str] = {}
        for field, value in fields.items():
            names = _names(value, field)
            object.__setattr__(self, field, names)
            for name in names:
                if name in (KEY, DATE, VALUE):
                    raise DataError(f"SeriesSchema: la columna «{name}» de «{field}» choca con "
                                    f"una columna fija del formato largo ({KEY}, {DATE}, "
                                    f"{VALUE}); renómbrala.")
                if name in seen:
                    raise DataError(f"SeriesSchema: la columna «{name}» está a la vez en "
                                    f"«{seen[name]}» y en «{field}».")
                seen[name] = field

    @property
    def covariates(self) -> tuple[str, ...]:
        """Todas las covariables: primero las futuras, después las pasadas."""
        return self.future_covariates + self.past_covariates

    def to_json(self) -> dict[str, Any]:
        """Diccionario JSON (para los metadatos del modelo)."""
        return {"columnas_serie": list(self.series_columns),
                "covariables_futuras": list(self.future_covariates),
                "covariables_pasadas": list(self.past_covariates)}

    @classmethod
    def from_json(cls, data) -> SeriesSchema:
        """Reconstruye el esquema desde :meth:`to_json`.

        Raises:
            DataError: si no es un diccionario con esos tres campos de listas de nombres.
        """
        if not isinstance(data, dict):
            raise DataError(f"SeriesSchema.from_json: se esperaba un diccionario; recibido "
                            f"{type(data).__name__}.")
        try:
            return cls(tuple(data["columnas_serie"]), tuple(data["covariables_futuras"]),
                       tuple(data["covariables_pasadas"]))
        except (KeyError, TypeError):
            raise DataError("SeriesSchema.from_json: se esperaban «columnas_serie», "
                            "«covariables_futuras» y «covariables_pasadas» (listas de "
                            f"nombres); recibido {data!r}.") from None


def series_levels(key: str, schema: SeriesSchema) -> tuple[str, ...]:
    """Los valores de las columnas de serie de la clave ``key`` (``"T01 / P003"`` →
    ``("T01", "P003")``); ``()`` con una sola columna o ninguna."""
    if len(schema.series_columns) < 2:
        return ()
    parts = tuple(key.split(KEY_SEPARATOR))
    return parts if len(parts) == len(schema.series_columns) else ()
