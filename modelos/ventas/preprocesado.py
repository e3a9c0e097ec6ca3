"""Lo que reciben las redes de ventas: retardos escalados y, según la variante, el
calendario del día objetivo. El escalador viaja en los metadatos del modelo."""

from modelos.preprocesado import Preprocessor

SALES = Preprocessor(
    input="float32: retardos escalados con metadata.escalador (y, según la variante, día "
          "de la semana y mes)",
    output="float32 (B, 1): el valor del día siguiente, escalado a [-1, 1]")

SALES_GLOBAL = Preprocessor(
    input="float32 (B, ancho): retardos divididos por la escala de su serie, covariables "
          "escaladas, calendario, índices de serie y jerarquía y log de la escala "
          "(modelos.ventas.global_red.GlobalLayout; escalas en metadata.global)",
    output="float32 (B, horizonte, 1 + 2·niveles): mediana y extremos de cada intervalo, "
           "en la escala de la serie")
