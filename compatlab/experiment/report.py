"""Results for people: per-level tables, per-job CSV and JSON, plots; for a simulation and for a run.

Both speak in level rows of one shape (``LevelSummary`` as a dict: jobs,
placed_ok, placed_failed by mode, rejected, accuracy, match precision), so the
same table and plots serve ``simulate``, ``run`` and ``report``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from rich.console import Console
from rich.table import Table

from compatlab.files import dump_json

from .outcomes import OK
from .results import PENDING, Joined, ReportJson
from .simulate import REJECTED, JobRecordJson, Simulation

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COLUMNS = ("level", "workload", "trial", "jobspec", "cluster", "outcome", "detail",
           "matches", "runnable_on", "rainbow_also")
RUN_COLUMNS = ("name", "level", "workload", "trial", "cluster", "predicted", "observed", "exit_code", "evidence",
               "matches", "runnable_on", "embedded_rejects")
COLOURS = {OK: "#2e7d32", "unsatisfiable": "#6a1b9a", "exec-format-error": "#c62828",
           "missing-software": "#ef6c00", "compile-error": "#f9a825", "no-gpu": "#4e342e",
           "oom-killed": "#1565c0", "disk-full": "#00838f", "failed-other": "#424242", REJECTED: "#9e9e9e",
           PENDING: "#e0e0e0"}
# A level's row: a simulation's LevelSummaryJson, a run's level (with pending, decided...) or a replay's.
Row = Mapping[str, Any]


def _csv(header: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([";".join(row[c]) if isinstance(row[c], tuple | list) else row[c] for c in header])
    return buffer.getvalue().encode()


def records_csv(sim: Simulation) -> bytes:
    """``records.csv``: one row per submitted job, columns ``COLUMNS``; tuples joined with ``;``."""
    return _csv(COLUMNS, [asdict(r) for r in sim.records])


def records_json(sim: Simulation) -> bytes:
    """``records.json``: a JSON array of every ``JobRecord`` as a ``JobRecordJson``."""
    records: list[JobRecordJson] = [cast(JobRecordJson, asdict(r)) for r in sim.records]
    return dump_json(records)


def load_plotting() -> None:
    """Import matplotlib now (about 0.4 s), e.g. while another process finishes its share. Raises nothing new."""
    _pyplot()


def _pyplot() -> ModuleType:  # matplotlib's pyplot, with the file-only backend
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    _pyplot().close(fig)
    return buffer.getvalue()


def outcomes_png(title: str, rows: Sequence[Row]) -> bytes:
    """Jobs per level stacked by outcome (ok, each failure, rejected, pending), accuracy (0..1) on a second axis."""
    plt = _pyplot()
    levels = [r["level"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 5), dpi=100)
    bottom = [0] * len(levels)
    failures = list(dict.fromkeys(m for r in rows for m in r["placed_failed"]))
    for mode in (OK, *failures, REJECTED, PENDING):
        if mode == OK:
            counts = [r["placed_ok"] for r in rows]
        elif mode == REJECTED:
            counts = [r["rejected"] for r in rows]
        elif mode == PENDING:
            counts = [r.get("pending", 0) for r in rows]
        else:
            counts = [r["placed_failed"].get(mode, 0) for r in rows]
        if any(counts):
            ax.bar(levels, counts, bottom=bottom, color=COLOURS.get(mode, "#757575"), label=mode)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    ax.set_ylabel("jobs")
    ax.set_xlabel("compatibility level (cumulative metadata)")
    ax.set_title(title, fontsize="medium")
    acc = ax.twinx()
    acc.plot(levels, [r["accuracy"] for r in rows], color="black", marker="o", label="accuracy")
    acc.set_ylim(0, 1.05)
    acc.set_ylabel("accuracy")
    handles, labels = ax.get_legend_handles_labels()
    h2, l2 = acc.get_legend_handles_labels()
    ax.legend(handles + h2, labels + l2, loc="upper left", bbox_to_anchor=(1.08, 1), fontsize="small")
    fig.tight_layout()
    return _png(fig)


def _share_per_level_png(fig: Figure, ax: Axes, title: str, ylabel: str) -> bytes:
    # The frame every per-level plot shares: shares 0..1 over the levels, titled, legend at the lower right.
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("compatibility level (cumulative metadata)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize="medium")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return _png(fig)


def accuracy_png(title: str, rows: Sequence[Row]) -> bytes:
    """Accuracy (0..1) and match precision per level, as lines."""
    plt = _pyplot()
    levels = [r["level"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    ax.plot(levels, [r["accuracy"] for r in rows], marker="o", color="black", label="accuracy")
    precision = [r["match_precision"] if r["match_precision"] is not None else float("nan") for r in rows]
    ax.plot(levels, precision, marker="s", color="#1565c0", linestyle="--", label="match precision")
    return _share_per_level_png(fig, ax, title, "share of jobs / of matching pairs")


def expectation_png(title: str, rows: Sequence[Row]) -> bytes:
    """Per level: exact expected accuracy (ours and real rainbow's), and the sampled one with its 95% interval.

    ``rows``: ``{level, expected_accuracy, rainbow_expected_accuracy, sampled: {accuracy, low, high} | None}``.
    """
    plt = _pyplot()
    levels = [r["level"] for r in rows]
    x = list(range(len(levels)))
    fig, ax = plt.subplots(figsize=(max(8, 0.5 * len(levels)), 4.5), dpi=100)
    ax.plot(x, [r["expected_accuracy"] for r in rows], marker="o", color="black", label="expected (exact)")
    ax.plot(x, [r["rainbow_expected_accuracy"] for r in rows], marker="s", color="#c62828", linestyle="--",
            label="real rainbow, expected (emulated)")
    sampled = [(i, r["sampled"]) for i, r in enumerate(rows) if r.get("sampled")]
    if sampled:
        # Clipped at 0: at an accuracy of exactly 0 or 1 the interval's bound equals it up to rounding (-1e-17).
        below = [max(0.0, s["accuracy"] - s["low"]) for _, s in sampled]
        above = [max(0.0, s["high"] - s["accuracy"]) for _, s in sampled]
        ax.errorbar([i + 0.1 for i, _ in sampled], [s["accuracy"] for _, s in sampled], yerr=[below, above],
                    fmt="D", color="#1565c0", capsize=4,
                    label=f"sampled ({sampled[0][1]['repeats']} per job), 95% Wilson interval")
    ax.set_xticks(x, levels, rotation=30 if len(levels) > 6 else 0, ha="right" if len(levels) > 6 else "center")
    return _share_per_level_png(fig, ax, title, "accuracy")


def result_files(sim: Simulation) -> dict[str, bytes]:
    """What ``simulate`` writes: ``{relative path: bytes}`` for the records, summary, plot and ``generated/``."""
    rows = [asdict(level) for level in sim.levels]
    title = f"stack {sim.stack}: {len(sim.clusters)} clusters, seed {sim.seed}, {sim.repeats} submissions per job"
    return {
        "records.csv": records_csv(sim),
        "records.json": records_json(sim),
        "summary.json": dump_json(sim.summary()),
        "outcomes.png": outcomes_png(title, rows),
        "accuracy.png": expectation_png(title, [
            {"level": r["level"], "expected_accuracy": r["expected_accuracy"],
             "rainbow_expected_accuracy": r["rainbow_expected_accuracy"],
             "sampled": {"accuracy": r["accuracy"], "low": r["accuracy_low"], "high": r["accuracy_high"],
                         "repeats": sim.repeats}} for r in rows]),
        **{f"generated/{rel}": data for rel, data in sim.files.items()},
    }


def level_table(title: str, rows: Sequence[Row], extra: tuple[str, str] | None = None) -> Table:
    """The per-level table; ``extra`` is (column title, row key) of a list of dicts shown one per line.

    Print it with a console whose markup is off, so names like ``[bold]c1`` print as written.
    """
    table = Table(title=title)
    numbers = ("jobs", "placed ok", "rejected", "accuracy", "match precision")
    names = ["level", "jobs", "placed ok", "placed, failed", "rejected", "accuracy", "match precision"]
    if extra:
        names.append(extra[0])
    for name in names:
        table.add_column(name, justify="right" if name in numbers else "left")
    for r in rows:
        failed = ", ".join(f"{n} {mode}" for mode, n in r["placed_failed"].items() if n) or "-"
        rejected = f"{r['rejected']}" + (f" ({r['rejected_runnable']} runnable!)" if r["rejected_runnable"] else "")
        open_jobs = r.get("pending", 0) + r.get("not_submitted", 0)
        jobs = f"{r['jobs']} ({open_jobs} open)" if open_jobs else str(r["jobs"])
        precision = "-" if r["match_precision"] is None else f"{r['match_precision']:.0%}"
        accuracy = f"{r['accuracy']:.0%}" if r.get("decided", r["jobs"]) else "-"
        if r.get("expected_accuracy") is not None:  # a simulation: the exact value, the interval, rainbow's
            accuracy = (f"{r['expected_accuracy']:.1%} exact; sampled {r['accuracy']:.1%} "
                        f"[{r['accuracy_low']:.1%}, {r['accuracy_high']:.1%}]; "
                        f"real rainbow {r['rainbow_expected_accuracy']:.1%}")
        cells = [r["level"], jobs, str(r["placed_ok"]), failed, rejected, accuracy, precision]
        if extra:
            cells.append("\n".join(_describe(d) for d in r[extra[1]]) or "-")
        table.add_row(*cells)
    return table


def _describe(d: dict[str, Any]) -> str:
    what = d.get("outcome") or d.get("reason") or ""
    times = f" ({d['jobs']} jobs)" if d.get("jobs", 1) > 1 else ""
    return f"{d['workload']} on {d['cluster']}{times}: {what}"


def print_summary(sim: Simulation, console: Console) -> None:
    """Print the simulation's per-level table, with the placements real rainbow's deviations would add."""
    title = (f"stack {sim.stack}: {len(sim.clusters)} clusters, seed {sim.seed}, "
             f"{sim.repeats} submissions of each jobspec per level")
    rows = [asdict(level) for level in sim.levels]
    console.print(level_table(title, rows, ("real rainbow would also place", "rainbow_would_also_place")))


def summary_json(sim: Simulation, out: str) -> str:
    """The ``simulate --json`` document: ``Simulation.summary()`` plus ``out``, as indented JSON text."""
    return json.dumps({**sim.summary(), "out": out}, indent=2, sort_keys=True)


def run_report_files(title: str, doc: ReportJson, joined: list[Joined]) -> dict[str, bytes]:
    """What ``report`` writes: ``report.json`` (``doc``), ``report.csv`` (a row per job), plots."""
    rows = doc["levels"]
    return {
        "report.json": dump_json(doc),
        "report.csv": _csv(RUN_COLUMNS, [asdict(j) for j in joined]),
        "accuracy.png": accuracy_png(title, rows),
        "outcomes.png": outcomes_png(title, rows),
    }


def confusion_table(confusion: dict[str, dict[str, int]]) -> Table:
    """Predicted mode (rows) against observed mode (columns), counts of placed jobs with a record."""
    observed = sorted({o for row in confusion.values() for o in row})
    table = Table(title="predicted (rows) vs observed (columns)" if confusion else
                  "predicted vs observed: no placed job has a record yet")
    table.add_column("predicted")
    for o in observed:
        table.add_column(o, justify="right")
    for predicted, row in confusion.items():
        table.add_row(predicted, *(str(row.get(o, 0)) for o in observed))
    return table



def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def replay_table(title: str, levels: Sequence[Row]) -> Table:
    """The per-level table of a replay: exact, sampled with its interval, real rainbow's, rejections."""
    table = Table(title=title)
    for name in ("level", "jobs", "expected accuracy", "sampled [95% interval]", "match precision", "rejected",
                 "real rainbow: expected", "rainbow differs (pairs)"):
        table.add_column(name, justify="left" if name == "level" else "right")
    for r in levels:
        s, rb = r["sampled"], r["rainbow"]
        sampled = f"{s['accuracy']:.1%} [{s['low']:.1%}, {s['high']:.1%}]" if s else "-"
        rejected = f"{r['rejected']}" + (f" ({r['rejected_runnable']} runnable!)" if r["rejected_runnable"] else "")
        unsettled = rb.get("unsettled_pairs", 0)
        differs = f"+{rb['also_place_pairs']} -{rb['refuses_pairs']}" + (
            f" ~{rb['varies_pairs']}" if rb["varies_pairs"] else "") + (f" ?{unsettled}" if unsettled else "")
        theirs = _pct(rb["expected_accuracy"]) + (f" ({_pct(rb['expected_accuracy_certain'])} if varying pairs miss)"
                                                   if rb["varies_pairs"] or unsettled else "")
        table.add_row(r["level"], str(r["jobs"]), _pct(r["expected_accuracy"]), sampled, _pct(r["match_precision"]),
                      rejected, theirs, differs)
    return table
