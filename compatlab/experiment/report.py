"""The simulation's results for people: a table, per-job CSV and JSON, and a plot."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict

from rich.console import Console
from rich.table import Table

from compatlab.files import dump_json

from .outcomes import FAILURES
from .simulate import REJECTED, Simulation

COLUMNS = ("level", "workload", "trial", "jobspec", "cluster", "outcome", "detail",
           "matches", "runnable_on", "rainbow_also")
COLOURS = {"ok": "#2e7d32", "unsatisfiable": "#6a1b9a", "exec-format-error": "#c62828",
           "missing-software": "#ef6c00", "compile-error": "#f9a825", "no-gpu": "#4e342e",
           "oom-killed": "#1565c0", "disk-full": "#00838f", REJECTED: "#9e9e9e"}


def records_csv(sim: Simulation) -> bytes:
    """``records.csv``: one row per submitted job, columns ``COLUMNS``; tuples joined with ``;``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in sim.records:
        row = asdict(r)
        writer.writerow([";".join(row[c]) if isinstance(row[c], tuple) else row[c] for c in COLUMNS])
    return buffer.getvalue().encode()


def records_json(sim: Simulation) -> bytes:
    """``records.json``: a JSON array of every ``JobRecord`` as a dict."""
    return dump_json([asdict(r) for r in sim.records])


def plot_png(sim: Simulation) -> bytes:
    """``outcomes.png``: jobs per level stacked by outcome, with the accuracy per level (0..1) on a second axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = [s.level for s in sim.levels]
    fig, ax = plt.subplots(figsize=(9, 5), dpi=100)
    bottom = [0] * len(levels)
    for mode in ("ok", *FAILURES, REJECTED):
        counts = [sum(1 for r in sim.records if r.level == lv and r.outcome == mode) for lv in levels]
        if any(counts):
            ax.bar(levels, counts, bottom=bottom, color=COLOURS[mode], label=mode)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    ax.set_ylabel("jobs")
    ax.set_xlabel("compatibility level (cumulative metadata)")
    ax.set_title(f"stack {sim.stack}: {len(sim.clusters)} clusters, seed {sim.seed}, {sim.repeats} submissions per job")
    acc = ax.twinx()
    acc.plot(levels, [s.accuracy for s in sim.levels], color="black", marker="o", label="accuracy")
    acc.set_ylim(0, 1.05)
    acc.set_ylabel("accuracy")
    handles, labels = ax.get_legend_handles_labels()
    h2, l2 = acc.get_legend_handles_labels()
    ax.legend(handles + h2, labels + l2, loc="upper left", bbox_to_anchor=(1.08, 1), fontsize="small")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def result_files(sim: Simulation) -> dict[str, bytes]:
    """What ``simulate`` writes: ``{relative path: bytes}`` for the records, summary, plot and ``generated/``."""
    return {
        "records.csv": records_csv(sim),
        "records.json": records_json(sim),
        "summary.json": dump_json(sim.summary()),
        "outcomes.png": plot_png(sim),
        **{f"generated/{rel}": data for rel, data in sim.files.items()},
    }


def print_summary(sim: Simulation, console: Console) -> None:
    """Print the per-level table: jobs, placed ok, failures by mode, rejected, accuracy, precision, rainbow's extras."""
    table = Table(title=f"stack {sim.stack}: {len(sim.clusters)} clusters, seed {sim.seed}, "
                        f"{sim.repeats} submissions of each jobspec per level")
    numbers = ("jobs", "placed ok", "rejected", "accuracy", "match precision")
    for name in ("level", "jobs", "placed ok", "placed, failed", "rejected", "accuracy", "match precision",
                 "real rainbow would also place"):
        table.add_column(name, justify="right" if name in numbers else "left")
    for s in sim.levels:
        failed = ", ".join(f"{n} {mode}" for mode, n in s.placed_failed.items() if n) or "-"
        rejected = f"{s.rejected}" + (f" ({s.rejected_runnable} runnable!)" if s.rejected_runnable else "")
        precision = "-" if s.match_precision is None else f"{s.match_precision:.0%}"
        extra = _rainbow_text(s.rainbow_would_also_place)
        table.add_row(s.level, str(s.jobs), str(s.placed_ok), failed, rejected, f"{s.accuracy:.0%}", precision, extra)
    console.print(table)


def _rainbow_text(differs: list[dict]) -> str:
    # Placements real rainbow's defects would allow and the embedded matcher rejects.
    return "\n".join(f"{d['workload']} on {d['cluster']}: {d['outcome']}" for d in differs) or "-"


def summary_json(sim: Simulation, out: str) -> str:
    """The ``simulate --json`` document: ``Simulation.summary()`` plus ``out``, as indented JSON text."""
    return json.dumps({**sim.summary(), "out": out}, indent=2, sort_keys=True)
