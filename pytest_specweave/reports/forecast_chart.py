"""forecast_chart: a forecast with its prediction intervals against the history and the actuals, as a PNG.

Drawn on matplotlib's Agg canvas (no pyplot) and saved without the Software tag: the same inputs
give the same bytes. matplotlib and pandas are imported inside the function.
"""

from __future__ import annotations

from pathlib import Path

from .charts import _Canvas


def forecast_chart(path, history, forecast, *, intervals=None, actual=None, lines=None, title: str | None = None,
                   since=None, ylabel: str = "value") -> Path:
    """Write `path` (PNG): the history, the forecast, its intervals, and optionally the actuals and other lines.

    history, forecast, actual: pandas Series indexed by time (forecast and actual on the same index).
    intervals: {label: (lower, upper)}, widest first ("95%": (lo95, hi95), "80%": ...), shaded.
    lines: {label: Series} drawn dotted (a baseline's forecast, a trend). since: the first time of the
    history shown (default: all of it).
    """
    import pandas as pd

    if not isinstance(forecast, pd.Series) or not isinstance(history, pd.Series):
        raise TypeError("forecast_chart: history and forecast must be pandas Series indexed by time")
    shown = history if since is None else history[history.index >= pd.Timestamp(since)]
    canvas = _Canvas()
    fig = canvas.figure(9.0, 4.2)
    ax = fig.add_subplot()
    ax.plot(shown.index, shown.to_numpy(), color="#202020", linewidth=1.2, label="history")
    for alpha, (label, (low, high)) in zip((0.15, 0.3, 0.45), (intervals or {}).items()):
        ax.fill_between(forecast.index, low, high, color="C0", alpha=alpha, label=f"{label} interval")
    if actual is not None:
        ax.plot(actual.index, actual.to_numpy(), color="#202020", linewidth=1.2, marker="o", markersize=3,
                label="actual")
    ax.plot(forecast.index, forecast.to_numpy(), color="C0", linewidth=1.6, linestyle="--", marker="o",
            markersize=3, label="forecast")
    for number, (label, series) in enumerate((lines or {}).items(), 1):
        ax.plot(series.index, series.to_numpy(), color=f"C{number}", linewidth=1, linestyle=":", label=label)
    ax.axvline(forecast.index[0], color="grey", linewidth=0.8)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="lower left", fontsize=7, ncol=2, framealpha=0.9)
    ax.tick_params(labelsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canvas.png(fig))
    return path
