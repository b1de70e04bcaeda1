"""One PNG of the latest results: each scenario side by side with its plain-Spark baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.report import Records, _keys, _med

COLORS = {"library": "#1f77b4", "handwritten": "#ff7f0e", "plain_load": "#2ca02c"}
LABELS = {
    "library": "lakehouse",
    "handwritten": "hand-written medallion",
    "plain_load": "plain one-table load",
}


def _bars(
    ax: Any, groups: Records, scenario: str, variants: tuple[str, ...], title: str, fmt: Any = str
) -> None:
    keys = _keys(groups, scenario)
    width = 0.8 / len(variants)
    for i, variant in enumerate(variants):
        values = [_med(groups, scenario, k, variant) or 0 for k in keys]
        xs = [x + i * width for x in range(len(keys))]
        ax.bar(xs, values, width, color=COLORS[variant], label=LABELS[variant])
    ax.set_xticks([x + width * (len(variants) - 1) / 2 for x in range(len(keys))], [fmt(k) for k in keys])
    ax.set_title(title, fontsize=9)
    ax.set_ylabel("seconds (median)", fontsize=8)


def _session(ax: Any, groups: Records) -> None:
    names = ("pyspark", "lakehouse", "lakehouse_no_jar_list")
    labels = ("JVM only", "lakehouse\n(jar list)", "lakehouse\n(Ivy)")
    starts = [_med(groups, "session", "", n, "session_start_s") or 0 for n in names]
    ax.bar(range(3), starts, color=["#7f7f7f", COLORS["library"], "#9467bd"])
    ax.set_xticks(range(3), labels, fontsize=7)
    ax.set_title("Spark session start", fontsize=9)
    ax.set_ylabel("seconds (median)", fontsize=8)


def plot(groups: Records, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    both = ("library", "handwritten")
    fig, axes = plt.subplots(2, 4, figsize=(15, 7.5))
    _session(axes[0][0], groups)
    _bars(
        axes[0][1],
        groups,
        "a",
        ("library", "handwritten", "plain_load"),
        "(a) first run, by usage rows",
        "{:,}".format,
    )
    _bars(axes[0][2], groups, "b", both, "(b) no-op rerun", "{:,}".format)
    _bars(axes[0][3], groups, "c", both, "(c) 1 new file of 21", "{:,}".format)
    _bars(axes[1][0], groups, "d", both, "(d) 10 new files, by files already ingested", "{:,}".format)
    _bars(axes[1][1], groups, "e", both, "(e) silver, by number of rules")
    _bars(axes[1][2], groups, "f", both, "(f) 1% changed keys: merge / SCD2")
    axes[1][3].axis("off")
    handles = [Rectangle((0, 0), 1, 1, color=COLORS[v]) for v in COLORS]
    axes[1][3].legend(handles, [LABELS[v] for v in COLORS], loc="center", fontsize=10)
    for ax in axes.flat:
        ax.tick_params(labelsize=7)
    fig.suptitle(
        "lakehouse benchmarks: job seconds (session start excluded), median of repetitions", fontsize=11
    )
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110)
    plt.close(fig)
