"""La tabla y los gráficos de un backtest (:mod:`tareas.ventas.backtest`).

- :func:`format_backtest`: una fila por método, ordenada por MASE, con MAE, sMAPE,
  cobertura y anchura de cada nivel y el tiempo; debajo, la media ± desviación de los
  grupos (las semillas de una red) y los avisos.
- :func:`plot_horizon_errors`: MASE frente al paso del horizonte, una línea por método.
- :func:`plot_coverage`: barras de la cobertura empírica de cada nivel frente a la nominal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Archivos que escribe la comparación de muchas series.
HORIZON_PLOT = "error_por_horizonte.png"
COVERAGE_PLOT = "cobertura.png"


def _number(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _percent(value) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def format_backtest(summary: dict) -> str:
    """La tabla de texto del resumen de :func:`~tareas.ventas.backtest.run_backtest`."""
    from informes.tablas import format_columns

    levels = summary["niveles"]
    header = ["Método", "MASE", "MAE (unid.)", "sMAPE (%)"]
    header += [f"cob. {level} %" for level in levels]
    header += [f"anchura {level} % (unid.)" for level in levels] + ["segundos"]
    body = []
    for row in summary["metodos"]:
        cells = [row["metodo"], _number(row["mase"]), _number(row["mae"], 2),
                 _number(row["smape"], 1)]
        cells += [_percent(row["cobertura"][str(level)]) for level in levels]
        cells += [_number(row["anchura"][str(level)], 1) for level in levels]
        seconds = row.get("segundos_ajuste", 0.0) + row.get("segundos_prediccion", 0.0)
        body.append(cells + [f"{seconds:.1f}"])
    title = (f"Backtest de {summary['series']} series: media de los pasos 1–"
             f"{summary['horizonte']} y de {summary['pliegues']} cortes "
             f"({', '.join(summary['cortes'])})")
    lines = [format_columns(header, body, title),
             f"Protocolo: {summary['protocolo']}.",
             f"MASE: error absoluto / MAE dentro de la muestra del ingenuo estacional "
             f"(t−{summary['estacionalidad']}) de cada serie; sMAPE de 0 a 200."]
    for group in summary.get("grupos", ()):
        coverage = ", ".join(f"{level} %: {_percent(value)}"
                             for level, value in group["cobertura"].items())
        lines.append(f"{group['grupo']}, {len(group['metodos'])} semillas: MASE "
                     f"{group['mase']:.3f} ± {group['mase_std']:.3f}, MAE {group['mae']:.2f} ± "
                     f"{group['mae_std']:.2f}, sMAPE {group['smape']:.1f} ± "
                     f"{group['smape_std']:.1f}; cobertura {coverage}; {group['segundos']:.1f} s.")
    without_scale = max((row["series_sin_escala"] for row in summary["metodos"]), default=0)
    if without_scale:
        lines.append(f"{without_scale} series sin escala (su ingenuo estacional no falla nunca "
                     "en la muestra) quedan fuera del MASE; cuentan en MAE y sMAPE.")
    if any(summary.get("series_excluidas", ())):
        lines.append("Series fuera de cada corte (poca historia o días que faltan después): "
                     f"{', '.join(map(str, summary['series_excluidas']))}.")
    lines += [f"Aviso: {note}" for note in summary.get("avisos", ())]
    lines += [f"Omitido: {item['metodo']}: {item['motivo']}"
              for item in summary.get("omitidos", ())]
    return "\n".join(lines)


def plot_horizon_errors(summary: dict, path, metric: str = "mase") -> Path:
    """MASE (o ``metric``) frente al paso del horizonte, una línea por método."""
    from informes.graficos import new_figure, save_figure

    fig = new_figure(9, 5)
    ax = fig.add_subplot()
    for row in summary["metodos"]:
        values = np.array([np.nan if v is None else v for v in row["por_paso"][metric]])
        ax.plot(row["por_paso"]["paso"], values, marker=".", label=row["metodo"])
    ax.set_xlabel("Días desde el corte (paso del horizonte)")
    ax.set_ylabel(metric.upper() if metric != "mae" else "MAE (unidades)")
    ax.set_title(f"{metric.upper()} por paso del horizonte: {summary['series']} series, "
                 f"{summary['pliegues']} cortes")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return save_figure(fig, path)


def plot_coverage(summary: dict, path) -> Path:
    """Cobertura empírica de cada nivel por método (barras) y la nominal (línea)."""
    from informes.graficos import new_figure, save_figure

    levels = summary["niveles"]
    rows = summary["metodos"]
    fig = new_figure(9, 0.45 * len(rows) * max(1, len(levels)) + 2)
    ax = fig.add_subplot()
    height = 0.8 / max(1, len(levels))
    positions = np.arange(len(rows))
    for index, level in enumerate(levels):
        values = [100 * (row["cobertura"][str(level)] or 0.0) for row in rows]
        bars = ax.barh(positions + index * height, values, height=height,
                       label=f"intervalo del {level} %")
        ax.axvline(level, color=bars.patches[0].get_facecolor() if bars.patches else "k",
                   linestyle="--", linewidth=1)
    ax.set_yticks(positions + height * (len(levels) - 1) / 2,
                  labels=[row["metodo"] for row in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("Cobertura empírica (%); línea discontinua: la nominal")
    ax.set_title("¿Cuántos días reales caen dentro del intervalo?")
    ax.grid(True, axis="x", alpha=0.3)
    if levels:
        ax.legend(fontsize="small", loc="lower right")
    return save_figure(fig, path)
