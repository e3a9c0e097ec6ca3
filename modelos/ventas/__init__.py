"""Los pronosticadores de ventas: los perceptrones ST1, STMV y STE del blog (``mlp``),
las redes recurrentes LSTM, GRU y SimpleRNN con la entrada de la STE (``rnn``) y el
modelo global de muchas series con intervalos (``global_red``)."""

from modelos.ventas.global_red import build_sales_global
from modelos.ventas.mlp import build_sales_mlp
from modelos.ventas.preprocesado import SALES
from modelos.ventas.preprocesado import SALES_GLOBAL
from modelos.ventas.rnn import build_sales_rnn
from modelos.registro import declare_family

__all__ = ["build_sales_global", "build_sales_mlp", "build_sales_rnn"]

declare_family("ventas", "ventas_rnn", task="pronostico", preprocessor=SALES)
declare_family("ventas_global", task="pronostico", preprocessor=SALES_GLOBAL)
