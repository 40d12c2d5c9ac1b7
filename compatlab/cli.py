"""The compatlab command: a thin layer over the core. ``main(argv) -> int``.

Subcommands: ``generate``, ``match``, ``simulate``, ``render``, ``cost``. Exit status 0 on
success, 2 on bad input (one ``compatlab: error:`` line on stderr) or bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from compatlab.formats.generate import generate
from compatlab.lab.stack import load_lab
from compatlab.scheduler.clusters import read_clusters
from compatlab.scheduler.index import Index
from compatlab.scheduler.match import explain
from compatlab.scheduler.request import read_request

from .errors import LabError
from .files import NotOurs, replace_tree
from .inputs import load_yaml


def _generate(args: argparse.Namespace) -> int:
    lab = load_lab(args.stack)
    files = generate(lab)
    replace_tree(Path(args.out), files, f"compatlab generate --stack {lab.stack}")
    print(
        f"{lab.stack}: {len(lab.miniclusters)} miniclusters, {len(lab.workloads)} workloads, "
        f"{len(lab.levels)} levels -> {len(files)} files in {args.out}"
    )
    return 0


def _match(args: argparse.Namespace) -> int:
    clusters = read_clusters(Path(args.clusters))
    requests = [read_request(load_yaml(Path(p)), p) for p in args.jobspecs]
    index = Index(clusters)
    answers = []
    for path, request in zip(args.jobspecs, requests, strict=True):
        matches = index.matches(request)
        rejected = {c.name: explain(c, request) for c in clusters if c.name not in matches}
        answers.append({"jobspec": path, "matches": matches, "rejected": dict(sorted(rejected.items()))})
    if args.json:
        print(json.dumps(answers, indent=2))
        return 0
    table = Table(title=f"{len(clusters)} clusters from {args.clusters}")
    for name in ("jobspec", "matches", "rejected because"):
        table.add_column(name)
    for a in answers:
        reasons = "\n".join(f"{c}: {why}" for c, why in a["rejected"].items())
        table.add_row(a["jobspec"], "\n".join(a["matches"]) or "(none)", reasons or "-")
    _console().print(table)
    return 0


def _cost(args: argparse.Namespace) -> int:
    from .cost import estimate

    est = estimate(load_lab(args.stack))
    if args.json:
        print(json.dumps(est.as_json(), indent=2))
        return 0
    table = Table(title=f"stack {est.stack}: estimated USD per hour ({est.region}, prices of {est.price_table_date})")
    for name in ("pool", "machine", "nodes", "on-demand", "spot", "of which disk", "as configured"):
        table.add_column(name, justify="left" if name in ("pool", "machine") else "right")
    for p in est.pools:
        table.add_row(p.pool, p.machine_type, str(p.nodes), f"{p.on_demand_usd_per_hour:.4f}",
                      f"{p.spot_usd_per_hour:.4f}", f"{p.disk_usd_per_hour:.4f}",
                      f"{p.usd_per_hour:.4f}" + (" (spot)" if p.spot else ""))
    fee = f"{est.cluster_fee_usd_per_hour:.4f}"
    table.add_row("GKE cluster fee", "", "", fee, fee, "", fee)
    table.add_row("total", "", "", f"{est.on_demand_usd_per_hour:.4f}", f"{est.spot_usd_per_hour:.4f}", "",
                  f"{est.configured_usd_per_hour:.4f}", style="bold")
    console = _console()
    console.print(table)
    console.print(f"prices: {est.price_table_source}, {est.price_table_date}; spot prices move, check before use")
    return 0


def _render(args: argparse.Namespace) -> int:
    from compatlab.kube.render import render

    lab = load_lab(args.stack)
    files = render(lab)
    replace_tree(Path(args.out), files, f"compatlab render --stack {lab.stack}")
    print(f"{lab.stack}: {len(files)} files in {args.out} (kubectl apply -k {args.out})")
    return 0


def _console() -> Console:
    # Off a terminal (CI, pipes) rich would wrap at 80 columns; tables read better wider.
    probe = Console()
    return probe if probe.is_terminal else Console(width=160)


def _simulate(args: argparse.Namespace) -> int:
    from compatlab.experiment.report import print_summary, result_files, summary_json
    from compatlab.experiment.simulate import simulate

    lab = load_lab(args.stack)
    sim = simulate(lab, seed=args.seed, repeats=args.repeats)
    out = Path(args.out) if args.out else Path("results") / lab.stack
    what = f"compatlab simulate --stack {lab.stack} --seed {args.seed} --repeats {args.repeats}"
    replace_tree(out, result_files(sim), what)
    if args.json:
        print(summary_json(sim, str(out)))
        return 0
    console = _console()
    print_summary(sim, console)
    console.print(f"results: {out}/ (records.csv, records.json, summary.json, outcomes.png, generated/)")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; allowed: an integer >= 1")
    return value


def _command(sub, name: str, help: str, run, *, stack: bool = True, out: str | None = None,
             json_help: str | None = None) -> argparse.ArgumentParser:
    cmd = sub.add_parser(name, help=help)
    if stack:
        cmd.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.<name>.yaml) or file")
    if out:
        cmd.add_argument("--out", required=out == "required", help="output directory (replaced whole)"
                         + ("" if out == "required" else f"; default {out}"))
    if json_help:
        cmd.add_argument("--json", action="store_true", help=json_help)
    cmd.set_defaults(run=run)
    return cmd


def parser() -> argparse.ArgumentParser:
    """The ``compatlab`` argument parser; each subcommand sets ``run``, its handler (``Namespace`` -> exit status).

    Raises nothing; parsing bad arguments exits with ``SystemExit`` (2).
    """
    top = argparse.ArgumentParser(prog="compatlab", description="The compatibility experiment.")
    sub = top.add_subparsers(dest="command", required=True)
    _command(sub, "generate", "write rainbow metadata and jobspecs per level for a stack", _generate, out="required")
    match = _command(sub, "match", "which registered clusters satisfy each jobspec, and why not", _match,
                     stack=False, json_help="print a JSON array, one object per jobspec")
    match.add_argument("--clusters", required=True, help="directory of <cluster>/nodes.json + subsystems")
    match.add_argument("jobspecs", nargs="+", help="nextgen jobspec files")
    sim = _command(sub, "simulate", "run the experiment on the embedded scheduler", _simulate,
                   out="results/<stack>", json_help="print the per-level summary as JSON")
    sim.add_argument("--seed", type=int, default=0, help="seed of the random cluster selection (default 0)")
    sim.add_argument("--repeats", type=_positive, default=10, help="submissions of each jobspec per level (default 10)")
    _command(sub, "render", "write the lab's Kubernetes objects as YAML files", _render, out="required")
    _command(sub, "cost", "estimated cost per hour of a stack on GKE", _cost, json_help="print the estimate as JSON")
    return top


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand on ``argv`` (default ``sys.argv[1:]``); return the exit status (int).

    0 on success or when the reader of stdout left (``BrokenPipeError``); 2 on ``LabError``
    or ``NotOurs``, printed as one ``compatlab: error: ...`` line on stderr. Bad arguments
    and ``--help`` raise ``SystemExit`` (2, 0) from argparse; other errors propagate.
    """
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (LabError, NotOurs) as err:
        print(f"compatlab: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `compatlab ... | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
