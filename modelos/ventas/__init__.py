"""Los pronosticadores de ventas: los perceptrones ST1, STMV y STE del blog (``mlp``) y
las redes recurrentes LSTM, GRU y SimpleRNN con la entrada de la STE (``rnn``)."""

from modelos.ventas.mlp import build_sales_mlp
from modelos.ventas.preprocesado import SALES
from modelos.ventas.rnn import build_sales_rnn
from modelos.registro import declare_family

__all__ = ["build_sales_mlp", "build_sales_rnn"]

declare_family("ventas", "ventas_rnn", task="pronostico", preprocessor=SALES)
