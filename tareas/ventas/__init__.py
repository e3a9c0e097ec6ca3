"""Pronóstico de ventas diarias: entrenar, pronosticar varios días y comparar con referencias.

Son las tareas de ``redes pronostico entrenar|predecir|comparar``; cada una devuelve un
:class:`~informes.resultado.TaskResult`. Un módulo por trabajo:

- :mod:`~tareas.ventas.comun`: constantes, la serie y los errores.
- :mod:`~tareas.ventas.configuracion`: :class:`SalesConfig`, la configuración de
  :func:`train_sales`.
- :mod:`~tareas.ventas.entrenamiento`: :func:`train_sales`.
- :mod:`~tareas.ventas.pronostico`: :func:`forecast` (recursivo).
- :mod:`~tareas.ventas.referencias`: último valor, ingenuo estacional, mediana por
  día de la semana y suavizado exponencial.
- :mod:`~tareas.ventas.comparacion`: :func:`compare` y :func:`format_comparison`.
- :mod:`~tareas.ventas.demo`: :func:`run_sales_demo` (la parte de ``redes demo``).
- Muchas series en una red global con intervalos (``--columna-serie``):
  :mod:`~tareas.ventas.global_entrenamiento` (:func:`train_sales_global`, con
  :class:`GlobalSalesConfig`), :mod:`~tareas.ventas.global_prediccion`
  (:func:`forecast_global`), :mod:`~tareas.ventas.global_red`
  (:class:`GlobalNetworkForecaster`, para los *backtests*),
  :mod:`~tareas.ventas.global_evaluacion` (``evaluate_global``: ``evaluar``) y
  :mod:`~tareas.ventas.global_predictor` (el predictor de ``redes servir``, que
  :func:`load` elige para un modelo global).
- Backtests de muchas series frente a statsforecast y LightGBM (``comparar
  --columna-serie``): :mod:`~tareas.ventas.backtest` (el protocolo ``Forecaster`` y
  ``run_backtest``), :mod:`~tareas.ventas.pares` (ingenuo estacional, statsforecast,
  LightGBM) y :mod:`~tareas.ventas.comparacion_multiple` (``compare_many``).

Protocolo (igual para todos los modelos y referencias): los últimos ``validation`` días
son la validación; nunca se usan para entrenar ni para ajustar el escalador. Cada día de
validación se predice **a un paso**, con los días reales anteriores como retardos (lo
que ve el perceptrón en el blog). El modelo que se guarda es el de menor pérdida de
*entrenamiento*: elegir la época por la pérdida de validación sería ajustar sobre la
validación.

Ejemplo::

    r = train_sales(csv="time_series.csv", variant="ste", run_dir="pesos/ventas")
    p = forecast(r.file("pesos"), "time_series.csv", days=7)
    c = compare("time_series.csv", seeds=5)
    print(format_comparison(c))

Referencia: «Pronóstico de Series Temporales con Redes Neuronales en Python» y
«Pronóstico de Ventas con Redes Neuronales – Parte 2», Aprende Machine Learning.
"""

from tareas.ventas.comparacion import MODEL_CASES
from tareas.ventas.comparacion import compare
from tareas.ventas.comparacion import format_comparison
from tareas.ventas.comparacion import plot_comparison
from tareas.ventas.comun import BLOG_EPOCHS
from tareas.ventas.comun import BLOG_STEPS
from tareas.ventas.comun import BLOG_VALIDATION
from tareas.ventas.comun import plot_series
from tareas.ventas.comun import predict_part
from tareas.ventas.configuracion import SalesConfig
from tareas.ventas.demo import run_sales_demo
from tareas.ventas.entrenamiento import default_run_dir
from tareas.ventas.entrenamiento import train_sales
from tareas.ventas.pronostico import MAX_FORECAST_DAYS
from tareas.ventas.pronostico import ForecastPredictor
from tareas.ventas.pronostico import forecast
from tareas.ventas.pronostico import load
from tareas.ventas.pronostico import load_sales_model
from tareas.ventas.pronostico import next_dates
from tareas.ventas.pronostico import open_weekdays
from tareas.ventas.pronostico import recursive_forecast
from tareas.ventas.referencias import BASELINES

from tareas.ventas.evaluacion import evaluate_sales
from tareas.ventas.global_configuracion import GlobalSalesConfig
from tareas.ventas.global_entrenamiento import train_sales_global
from tareas.ventas.global_prediccion import forecast_global
from tareas.ventas.global_red import GlobalNetworkForecaster

__all__ = [
    "BASELINES", "BLOG_EPOCHS", "BLOG_STEPS", "BLOG_VALIDATION", "compare", "default_run_dir",
    "evaluate", "forecast", "forecast_global", "ForecastPredictor", "format_comparison",
    "GlobalNetworkForecaster", "GlobalSalesConfig", "load", "load_sales_model",
    "MAX_FORECAST_DAYS", "MODEL_CASES", "next_dates", "open_weekdays", "plot_comparison",
    "plot_series", "predict", "predict_part", "recursive_forecast", "run_sales_demo",
    "SalesConfig", "train", "train_sales", "train_sales_global",
]

# La interfaz común de las tareas (ver tareas.base): entrenar con su configuración,
# evaluar, cargar un predictor (load) y predecir sobre entradas en bruto.
train = train_sales
evaluate = evaluate_sales
predict = forecast
