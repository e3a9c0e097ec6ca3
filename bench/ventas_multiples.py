"""Backtest de muchas series: la red global frente a statsforecast, LightGBM y el ingenuo.

Dos conjuntos, los mismos cortes para todos los métodos (origen móvil, horizonte de 28
días, intervalos del 80 y del 95 %):

1. ``make_multi_series(200, 730, seed=0)`` (tiendas × productos, precio y festivos como
   covariables futuras, un 20 % de series intermitentes). Objetivo de la issue: la red
   global gana en MASE (media de los pasos 1–28) a todos los pares.
2. El CSV del blog (``../shared/datasets/ventas/time_series.csv``, solo se lee; los días
   sin fila son 0 unidades). Objetivo: la red global no es peor que la STE con dropout
   0,3 (la mejor red de ``bench/ventas.py``), que aquí pronostica los 28 días de forma
   recursiva, como ``redes pronostico predecir``.

La red global y la STE se entrenan con varias semillas (media ± desviación).

Uso::

    .venv/bin/python bench/ventas_multiples.py [--series 200] [--dias 730] [--semillas 3]
        [--pliegues 3] [--solo sinteticos|blog] [--rapido]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CSV = ROOT.parent / "shared" / "datasets" / "ventas" / "time_series.csv"
STE_GROUP = "STE + dropout 0,3 (recursiva)"


class STEForecaster:
    """La STE con dropout 0,3 del blog como ``Forecaster`` de una sola serie.

    Se entrena como en ``redes pronostico comparar`` (7 retardos, 40 épocas, lotes de 7,
    la época de menor pérdida de entrenamiento) con los días con ventas (el blog no tiene
    fila los días sin ventas), y pronostica de forma recursiva los días de la semana en
    que suele haber ventas; los demás, 0. Sin intervalos.
    """

    def __init__(self, seed: int, epochs: int = 40):
        self.name = f"{STE_GROUP} (semilla {seed})"
        self.group = STE_GROUP
        self.seed, self.epochs = seed, epochs

    def _series(self, frame):
        from datos.ventas import SalesSeries

        open_days = frame[frame["unidades"] > 0]
        return SalesSeries(open_days["fecha"].to_numpy().astype("datetime64[D]"),
                           open_days["unidades"].to_numpy(np.float64), "blog")

    def fit(self, train, schema, horizon, levels=()):
        from datos.ventas import prepare_sales
        from entrenamiento.entrenar import train as fit_model
        from tareas.ventas.comun import model_inputs, sales_builder

        if train["serie"].nunique() != 1:
            raise SystemExit("STEForecaster es de una sola serie.")
        self.horizon, self.levels = horizon, levels
        data = prepare_sales(self._series(train), steps=7, validation=0)
        builder, kwargs = sales_builder("ste", 7, 1e-3, False, dropout=0.3)
        result = fit_model(builder, kwargs, (model_inputs("ste", data.train),
                                             data.train.target[:, None].astype(np.float32)),
                           None, run_dir=None, epochs=self.epochs, batch_size=7,
                           seed=self.seed, monitor="loss", verbose=0,
                           steps_per_execution="epoch")
        self.model, self.scaler = result.model, data.scaler

    def predict(self, history, future):
        import pandas as pd

        from tareas.ventas.backtest import forecast_frame
        from tareas.ventas.pronostico import open_weekdays, recursive_forecast

        series = self._series(history)
        last = history["fecha"].max()
        days = np.datetime64(last.date(), "D") + np.arange(1, self.horizon + 1)
        weekdays = (days.astype(np.int64) + 3) % 7                     # 0 = lunes
        is_open = np.isin(weekdays, open_weekdays(series.dates))
        mean = np.zeros(self.horizon)
        mean[is_open] = recursive_forecast(self.model, self.scaler, "ste", 7, series,
                                           days[is_open])
        nan = np.full((1, self.horizon), np.nan)
        return forecast_frame(history["serie"].iloc[:1], [pd.Timestamp(last)], mean[None, :],
                              {level: (nan, nan) for level in self.levels})


def _spread_table(summary: dict, group: str | None) -> list[str]:
    """Tabla Markdown: una fila por método y una por grupo de semillas."""
    lines = ["| método | MASE | MAE | sMAPE | cob. 80 % | cob. 95 % | s |",
             "|---|---:|---:|---:|---:|---:|---:|"]

    def pct(value):
        return "—" if value is None else f"{100 * value:.1f} %"

    for item in summary["grupos"]:
        lines.append(f"| **{item['grupo']}** ({len(item['metodos'])} semillas) | "
                     f"**{item['mase']:.3f} ± {item['mase_std']:.3f}** | "
                     f"{item['mae']:.2f} ± {item['mae_std']:.2f} | "
                     f"{item['smape']:.1f} ± {item['smape_std']:.1f} | "
                     f"{pct(item['cobertura'].get('80'))} | {pct(item['cobertura'].get('95'))} | "
                     f"{item['segundos']:.0f} |")
    for row in summary["metodos"]:
        seconds = row["segundos_ajuste"] + row["segundos_prediccion"]
        mase = "—" if row["mase"] is None else f"{row['mase']:.3f}"
        lines.append(f"| {row['metodo']} | {mase} | {row['mae']:.2f} | {row['smape']:.1f} | "
                     f"{pct(row['cobertura'].get('80'))} | {pct(row['cobertura'].get('95'))} | "
                     f"{seconds:.0f} |")
    return lines


def _wins_by_step(summary: dict, group: str, others: list[dict]) -> str:
    """En cuántos pasos del horizonte la media del grupo gana al mejor de ``others``."""
    members = [row for row in summary["metodos"] if row["grupo"] == group]
    mean = np.mean([row["por_paso"]["mase"] for row in members], axis=0)
    best = np.min([row["por_paso"]["mase"] for row in others], axis=0)
    return f"{int((mean < best).sum())} de {len(mean)} pasos"


def _report(title: str, result, group: str, rivals_group: str | None) -> None:
    from tareas.ventas.comparacion_multiple import NETWORK_GROUP

    summary = result.data
    print(f"\n=== {title} ===")
    print(result.text[0])
    print()
    print("\n".join(_spread_table(summary, group)))
    spread = {item["grupo"]: item for item in summary["grupos"]}
    network = spread.get(NETWORK_GROUP) or next(
        ({"mase": row["mase"], "mase_std": 0.0} for row in summary["metodos"]
         if row["grupo"] == NETWORK_GROUP), None)
    if network is None:
        return
    if rivals_group is None:
        rivals = [row for row in summary["metodos"] if row["grupo"] != NETWORK_GROUP]
    else:
        rivals = [row for row in summary["metodos"] if row["grupo"] == rivals_group]
    best = min(rivals, key=lambda row: row["mase"])
    rival_mase = spread[rivals_group]["mase"] if rivals_group in spread else best["mase"]
    rival_name = rivals_group or best["metodo"]
    ok = network["mase"] < rival_mase if rivals_group is None else \
        network["mase"] <= rival_mase
    print(f"\n[{'sí' if ok else 'no'}] red global {network['mase']:.3f} ± "
          f"{network['mase_std']:.3f} frente a {rival_name} {rival_mase:.3f} (MASE, pasos 1–"
          f"{summary['horizonte']}); por paso gana en "
          f"{_wins_by_step(summary, NETWORK_GROUP, rivals)}.")


def main(argv=None) -> int:
    from cli.comun import positive_int

    parser = argparse.ArgumentParser(description="Backtest de muchas series.")
    parser.add_argument("--series", type=positive_int, default=200)
    parser.add_argument("--dias", type=positive_int, default=730)
    parser.add_argument("--semillas", type=positive_int, default=3)
    parser.add_argument("--pliegues", type=positive_int, default=3)
    parser.add_argument("--epocas", type=positive_int, default=None,
                        help="épocas de la red global (por defecto las suyas)")
    parser.add_argument("--csv", default=str(DEFAULT_CSV), help="CSV del blog")
    parser.add_argument("--solo", choices=("sinteticos", "blog"))
    parser.add_argument("--rapido", action="store_true",
                        help="prueba: 12 series de 300 días, 1 semilla, 2 épocas, 1 corte")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    from datos.ventas_multiples import read_long_sales
    from datos.ventas_sinteticas import make_multi_series
    from tareas.ventas.comparacion_multiple import compare_many

    n_series, days, seeds, folds = args.series, args.dias, args.semillas, args.pliegues
    settings = {} if args.epocas is None else {"epochs": args.epocas}
    ste_epochs = 40
    if args.rapido:
        n_series, days, seeds, folds = 12, 300, 1, 1
        settings, ste_epochs = {"epochs": 2}, 2
    began = time.perf_counter()
    if args.solo != "blog":
        frame, schema = make_multi_series(n_series, days, seed=0)
        result = compare_many(frame, schema, horizon=28, folds=folds, seeds=seeds,
                              network_settings=settings, progress=True)
        _report(f"make_multi_series({n_series}, {days}, seed=0)", result, "Red global", None)
    if args.solo != "sinteticos":
        frame, schema = read_long_sales(args.csv, gaps="rellenar")
        ste = [STEForecaster(seed, ste_epochs) for seed in range(seeds)]
        result = compare_many(frame, schema, horizon=28, folds=folds, seeds=seeds,
                              network_settings=settings, extra=ste, progress=True)
        _report(f"CSV del blog ({args.csv})", result, "Red global", STE_GROUP)
    print(f"\nTotal: {time.perf_counter() - began:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
