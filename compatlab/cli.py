"""The compatlab command: a thin layer over the core. ``main(argv) -> int``.

Subcommands: ``generate``, ``match``, ``replay``, ``simulate``, ``render``, ``cost``, and the run loop's.
Exit status 0 on success, 2 on bad input (one ``compatlab: error:`` line on stderr) or bad arguments.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from rich.console import Console
from rich.table import Table

from compatlab.formats.generate import generate
from compatlab.lab.stack import load_lab
from compatlab.scheduler.interface import Denied, SchedulerError

from . import __version__
from .errors import LabError, printable
from .files import NotOurs, replace_tree

if TYPE_CHECKING:
    from rich.progress import Progress

    from compatlab.experiment.session import Target
    from compatlab.kube.access import KubeAccess

Command = Callable[[argparse.Namespace], int]  # a subcommand: its parsed arguments in, the exit status out


def _generate(args: argparse.Namespace) -> int:
    from compatlab.experiment.evidence import workloads_markdown

    lab = load_lab(args.stack)
    files = {**generate(lab), "workloads.md": workloads_markdown(lab).encode()}
    replace_tree(Path(args.out), files, f"compatlab generate --stack {lab.stack}")
    print(
        f"{lab.stack}: {len(lab.miniclusters)} miniclusters, {len(lab.workloads)} workloads, "
        f"{len(lab.levels)} levels -> {len(files)} files in {args.out}"
    )
    return 0


def _match(args: argparse.Namespace) -> int:
    from compatlab.scheduler.answers import answer_corpus
    from compatlab.scheduler.corpus import read_corpus

    corpus = read_corpus(Path(args.clusters), args.jobspecs)
    # A reason costs a walk of the cluster per rejected pair: computed only where someone reads it.
    answers = answer_corpus(corpus, args.jobspecs, reasons=args.explain or not args.json)
    if args.json:
        print(json.dumps(answers, indent=2))
        return 0
    table = Table(title=f"{len(corpus.clusters)} clusters from {args.clusters}")
    for name in ("jobspec", "matches", "rejected because"):
        table.add_column(name)
    for a in answers:
        rejected = a["rejected"]  # with reasons: the table always asks for them
        why = "\n".join(f"{c}: {reason}" for c, reason in rejected.items()) if isinstance(rejected, dict) else ""
        table.add_row(a["jobspec"], "\n".join(a["matches"]) or "(none)", why or "-")
    _console().print(table)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from compatlab.scheduler.corpus import paused_gc

    with paused_gc():  # millions of objects and no cycles: collections would only walk them again and again
        return _replay_corpus(args)


def _replay_corpus(args: argparse.Namespace) -> int:
    from compatlab.experiment.replay import replay_corpus, replay_files
    from compatlab.experiment.report import expectation_png, load_plotting, replay_table
    from compatlab.scheduler.corpus import jobspec_paths

    root = Path(args.jobspecs)
    out = Path(args.out)
    for flag, given in (("--jobspecs", root), ("--clusters", Path(args.clusters))):
        if out.absolute() == given.absolute() or given.absolute() in out.absolute().parents:
            # A second replay would read the first one's output as jobspecs, or as a cluster without nodes.json.
            raise LabError(out, "", f"is inside {flag} {given}; allowed: a directory outside it")
    paths = jobspec_paths(root)
    prefix = len(str(root / "x")) - 1  # Path(".") / "x" is "x": no "./" to cut
    names = [str(p)[prefix:] for p in paths]  # below --jobspecs, as the truth file names them
    result = replay_corpus(Path(args.clusters), paths, names, Path(args.levels) if args.levels else None,
                           Path(args.truth) if args.truth else None, repeats=args.repeats or 0, seed=args.seed,
                           while_waiting=load_plotting)
    title = (f"{len(result.clusters)} clusters, {len(result.jobspecs)} jobspecs"
             + (f", {args.repeats} submissions per job, seed {args.seed}" if args.repeats else ""))
    rows = [{"level": r.level, "expected_accuracy": r.expected_accuracy,
             "rainbow_expected_accuracy": r.rainbow["expected_accuracy"],
             "sampled": r.sampled and {"accuracy": r.sampled.accuracy, "low": r.sampled.low, "high": r.sampled.high,
                                       "repeats": r.sampled.repeats}} for r in result.levels]
    replace_tree(out, replay_files(result, expectation_png(title, rows)), f"compatlab replay --out {out}")
    if args.json:
        print(json.dumps({**result.summary(), "out": str(out)}, indent=2, sort_keys=True))
        return 0
    console = _console()
    console.print(replay_table(title, result.summary()["levels"]))
    console.print(f"results: {out}/ (replay.json, replay.csv, accuracy.png)")
    return 0


def _cost(args: argparse.Namespace) -> int:
    from .cost import check_budget

    est = check_budget(load_lab(args.stack))  # over compatlab:budget.maxHourlyUsd: one line, exit 2
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


class _Console(Console):
    """rich's console, leaving a closed pipe to ``main`` (exit 141) instead of exiting 1 itself."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


def _console() -> Console:
    # Off a terminal (CI, pipes) rich would wrap at 80 columns; tables read better wider.
    # markup off: names and values are the user's ("[bold]c1" is a cluster name, not a style).
    probe = _Console(markup=False, highlight=False)
    return probe if probe.is_terminal else _Console(width=160, markup=False, highlight=False)


def _simulate(args: argparse.Namespace) -> int:
    from compatlab.experiment.evidence import workloads_markdown
    from compatlab.experiment.report import print_summary, result_files, summary_json
    from compatlab.experiment.simulate import simulate

    lab = load_lab(args.stack)
    sim = simulate(lab, seed=args.seed, repeats=args.repeats)
    out = Path(args.out) if args.out else Path("results") / lab.stack
    what = f"compatlab simulate --stack {lab.stack} --seed {args.seed} --repeats {args.repeats}"
    replace_tree(out, {**result_files(sim), "workloads.md": workloads_markdown(lab).encode()}, what)
    if args.json:
        print(summary_json(sim, str(out)))
        return 0
    console = _console()
    print_summary(sim, console)
    console.print(f"results: {out}/ (records.csv, records.json, summary.json, outcomes.png, accuracy.png, "
                  "workloads.md, generated/)")
    return 0


# The run loop: register, submit, receive, run, report (compatlab.experiment.session does the work).

def _target(args: argparse.Namespace) -> Target:
    from compatlab.experiment.session import Target, check_target

    target = Target(args.rainbow, Path(args.tls_ca) if args.tls_ca else None, args.tls_name)
    check_target(target)
    return target


_shown_notice: list[bool] = []  # a transient notice is on the terminal's last line


def _notify(message: str) -> None:
    # A retry is progress, not a result: on a terminal it shows in place and is wiped; in a log it is left
    # out, so that a failure stays one line there.
    if sys.stderr.isatty():
        width = max(20, Console(stderr=True).width - 1)
        sys.stderr.write("\r\x1b[K" + message[:width])
        sys.stderr.flush()
        _shown_notice.append(True)


def _clear_notice() -> None:
    if _shown_notice:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()
        _shown_notice.clear()


def _secret(args: argparse.Namespace) -> str | None:
    from compatlab.experiment.session import read_secret

    return read_secret("COMPATLAB_RAINBOW_SECRET", Path(args.secret_file) if args.secret_file else None,
                       "scheduler secret")


def _token(args: argparse.Namespace) -> str | None:
    from compatlab.experiment.session import read_secret

    return read_secret("COMPATLAB_RAINBOW_TOKEN", Path(args.token_file) if args.token_file else None, "global token")


def _progress(args: argparse.Namespace) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True, markup=False, highlight=False)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


def _kube(args: argparse.Namespace) -> KubeAccess:
    from compatlab.kube.access import KubeAccess

    return KubeAccess.connect(args.kubeconfig)


def _register(args: argparse.Namespace) -> int:
    from compatlab.experiment.session import check_probes, connect, do_register

    lab = load_lab(args.stack)
    check_probes(lab, Path(args.state), args.trust_metadata)  # before connect() makes the state directory
    kube = _kube(args) if args.kubeconfig or args.write_secrets else None
    scheduler = connect(_target(args), Path(args.state), _secret(args), notify=_notify)
    try:
        with _progress(args) as progress:
            task = progress.add_task("register", total=len(lab.miniclusters))
            state, done = do_register(scheduler, lab, Path(args.state), lambda _: progress.advance(task), kube,
                                      args.trust_metadata)
    finally:
        scheduler.close()
    result = {"scheduler": state.scheduler, "state": str(state.path), "registered": list(done.registered),
              "reused": list(done.reused), "subsystems": done.subsystems, "secrets_written": kube is not None}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{state.scheduler}: {len(done.registered)} clusters registered, {len(done.reused)} already were, "
              f"{done.subsystems} subsystems sent; credentials in {state.path} (0600)"
              + (" and in each minicluster's Secret" if kube is not None else ""))
    return 0


def _submit(args: argparse.Namespace) -> int:
    from compatlab.experiment.session import bound_state, connect, do_submit

    scheduler = connect(_target(args), Path(args.state), None, notify=_notify)
    try:
        state = bound_state(Path(args.state), scheduler)
        if args.stack and load_lab(args.stack).stack != state.stack:
            raise LabError(state.path, "stack", f"this state is for stack {state.stack!r}; allowed: that stack")
        levels = None if args.all_levels else args.level
        with _progress(args) as progress:
            task = progress.add_task("submit", total=None)
            done = do_submit(scheduler, state, levels, args.repeats, args.seed, _token(args),
                             lambda _: progress.advance(task), args.resend_unanswered)
    finally:
        scheduler.close()
    result = {"scheduler": state.scheduler, "run": state.run, "planned": done.planned, "placed": done.placed,
              "rejected": done.rejected, "already": done.skipped, "unanswered": done.unanswered}
    print(json.dumps(result, indent=2) if args.json else
          f"{state.scheduler}: run {state.run}: {done.placed} placed, {done.rejected} rejected, "
          f"{done.skipped} submitted before, of {done.planned} planned"
          + (f"; {done.unanswered} sent before a crash lost the answer: receive on every cluster (they may be "
             "queued), then submit again with --resend-unanswered" if done.unanswered else ""))
    return 0


def _receive(args: argparse.Namespace) -> int:
    from compatlab.experiment.session import check_cluster, connect, do_receive, executor_for, read_secret
    from compatlab.experiment.state import load_state

    check_cluster(args.cluster)
    secret_file = Path(args.cluster_secret_file) if args.cluster_secret_file else None
    if secret_file is not None and not secret_file.exists() and not secret_file.is_symlink() and \
            secret_file.parent.is_dir():
        raise LabError(secret_file, "", "does not exist: this cluster is not registered yet; allowed: compatlab "
                       "register --write-secrets on your machine, then wait about a minute for the Secret to reach "
                       "the pod")
    secret = read_secret("COMPATLAB_CLUSTER_SECRET", secret_file, "cluster secret")
    executor = executor_for(args.executor, load_state(Path(args.state)), args.stack, args.timeout)
    scheduler = connect(_target(args), Path(args.state), None, notify=_notify)
    try:
        console = Console(stderr=True, markup=False, highlight=False)
        total = do_receive(scheduler, Path(args.state), args.cluster, secret, Path(args.results), executor,
                           None if args.loop else 1, args.interval,
                           on_record=lambda r: console.print(f"{r.name}: {r.outcome}"))
    finally:
        scheduler.close()
    result = {"cluster": args.cluster, "received": total.received, "duplicates": total.duplicates,
              "results": total.written, "out": args.results}
    print(json.dumps(result, indent=2) if args.json else
          f"{args.cluster}: {total.received} jobs received, {total.written} results written to {args.results}"
          + (f", {total.duplicates} duplicates not run" if total.duplicates else ""))
    return 0


def _run(args: argparse.Namespace) -> int:
    from compatlab.experiment.report import level_table
    from compatlab.experiment.session import check_repeats, connect, do_run, executor_for, prepare_out

    # Everything that can be refused is checked before --out is touched.
    lab = load_lab(args.stack)
    target, secret, token = _target(args), _secret(args), _token(args)
    check_repeats(args.repeats)
    executor = executor_for(args.executor, None, str(lab.source), args.timeout)
    out = Path(args.out)
    prepare_out(out, args.resume, args.force)
    scheduler = connect(target, out / "state", secret, notify=_notify)
    try:
        with _progress(args) as progress:
            tasks = {step: progress.add_task(step, total=None) for step in ("register", "submit", "receive")}
            summary, rows = do_run(scheduler, lab, out, args.repeats, args.seed, token, executor,
                                   lambda step, _: progress.advance(tasks[step]))
    finally:
        scheduler.close()
    if args.json:
        print(json.dumps({**asdict(summary), "levels": rows}, indent=2, sort_keys=True))
        return 0
    console = _console()
    console.print(level_table(f"stack {lab.stack} on {scheduler.endpoint}: {summary.results} results of "
                              f"{summary.planned} planned", rows,
                              ("placed where the embedded matcher rejects", "placed_where_embedded_rejects")))
    console.print(f"run: {out}/ (state/, results/, report/: report.json, report.csv, accuracy.png, "
                         f"outcomes.png); {summary.duplicates} duplicates")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from compatlab.experiment.verify import save_verdicts, verify

    lab = load_lab(args.stack)
    kube = _kube(args)
    verdicts = []
    with _progress(args) as progress:
        task = progress.add_task("verify", total=len(lab.miniclusters))
        for mc in lab.miniclusters:
            verdicts.append(verify(kube, mc))
            progress.advance(task)
    saved = save_verdicts(Path(args.state), verdicts)
    if args.json:
        print(json.dumps([{"cluster": v.cluster, "pod": v.pod, "agrees": v.agrees,
                           "differences": [asdict(d) for d in v.differences]} for v in verdicts], indent=2))
    else:
        table = Table(title=f"stack {lab.stack}: metadata against the pods ({saved})")
        for name in ("minicluster", "pod", "field", "registered", "observed"):
            table.add_column(name)
        for v in verdicts:
            for d in v.differences or ():
                table.add_row(*(x for x in (v.cluster, v.pod, d.field, d.claimed, d.observed)))
            if v.agrees:
                table.add_row(v.cluster, v.pod, "-", "all fields agree", "")
        _console().print(table)
    return 0 if all(v.agrees for v in verdicts) else 1


def _collect(args: argparse.Namespace) -> int:
    from compatlab.experiment.collect import collect

    lab = load_lab(args.stack)
    kube = _kube(args)
    with _progress(args) as progress:
        task = progress.add_task("collect", total=len(lab.miniclusters))
        done = collect(kube, lab, Path(args.results), args.force, lambda _: progress.advance(task))
    result = {"copied": len(done.copied), "same": len(done.same), "conflicts": done.conflicts, "bad": done.bad,
              "unreachable": done.unreachable, "duplicates": done.duplicates, "out": args.results}
    print(json.dumps(result, indent=2) if args.json else
          f"{lab.stack}: {len(done.copied)} records copied to {args.results}, {len(done.same)} already there"
          + "".join(f"\n  {m}: not collected: {why}" for m, why in sorted(done.unreachable.items()))
          + "".join(f"\n  refused {b}" for b in done.bad)
          + "".join(f"\n  duplicate: {d} (the first record is kept)" for d in done.duplicates))
    if done.conflicts:
        raise LabError(args.results, "", f"{len(done.conflicts)} local records differ from the lab's and were kept "
                       f"({', '.join(done.conflicts[:3])}{'...' if len(done.conflicts) > 3 else ''}); allowed: "
                       "--force to overwrite them")
    return 1 if done.bad or done.unreachable else 0


def _report(args: argparse.Namespace) -> int:
    from compatlab.experiment.report import confusion_table, level_table
    from compatlab.experiment.session import write_report
    from compatlab.experiment.state import load_state

    results = Path(args.results)
    if not results.is_dir():
        raise LabError(results, "", f"{'is not a directory' if results.exists() else 'does not exist'}; allowed: "
                       "--results, the directory receive or collect wrote (run --out DIR keeps it in DIR/results)")
    state_dir = Path(args.state) if args.state else results.parent / "state"
    state = load_state(state_dir)
    if state is None:
        raise LabError(state_dir, "state.json", "is missing; allowed: --state, the directory register and submit "
                       "used (run --out DIR keeps it in DIR/state)")
    lab = load_lab(args.stack or state.stack_file)
    rows, matrix = write_report(lab, state, results, Path(args.out))
    if args.json:
        print(json.dumps({"out": args.out, "levels": rows, "confusion": matrix}, indent=2, sort_keys=True))
        return 0
    console = _console()
    console.print(level_table(f"stack {lab.stack} on {state.scheduler}: run {state.run}", rows,
                              ("placed where the embedded matcher rejects", "placed_where_embedded_rejects")))
    console.print(confusion_table(matrix))
    console.print(f"report: {args.out}/ (report.json, report.csv, accuracy.png, outcomes.png)")
    return 0


def _scheduler_options(cmd: argparse.ArgumentParser, *, state: bool = True, secret: bool = False,
                       token: bool = False, env: bool = False) -> None:
    # In a MiniCluster (env=True) the lab sets RAINBOW_HOST and COMPATLAB_STATE, so receive needs no flags.
    host, state_dir = (os.environ.get("RAINBOW_HOST"), os.environ.get("COMPATLAB_STATE")) if env else (None, None)
    where = cmd.add_mutually_exclusive_group(required=not host)
    where.add_argument("--rainbow", metavar="HOST:PORT", default=host,
                       help="rainbow's address (stack output rainbowEndpoint" + ("; default $RAINBOW_HOST)" if env
                                                                                 else ")"))
    where.add_argument("--embedded", action="store_true",
                       help="the embedded scheduler: no server, its queues kept in the state directory")
    cmd.add_argument("--tls-ca", metavar="FILE", type=_path,
                     help="TLS with this CA (the stack output rainbowCaCertificate)")
    cmd.add_argument("--tls-name", metavar="NAME", help="the name the certificate is for (default rainbow)")
    if state:
        cmd.add_argument("--state", required=not state_dir, default=state_dir, metavar="DIR", type=_path,
                         help="run state: credentials (0600) and journals" + ("; default $COMPATLAB_STATE" if env
                                                                                else ""))
    if secret:
        cmd.add_argument("--secret-file", metavar="FILE", type=_path,
                         help="the scheduler secret (else $COMPATLAB_RAINBOW_SECRET); never a plain flag")
    if token:
        cmd.add_argument("--token-file", metavar="FILE", type=_path,
                         help="rainbow's global token (else $COMPATLAB_RAINBOW_TOKEN), for clusters without one")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 7 * 24 * 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; allowed: more than 0, at most a week (604800)")
    return value


def _path(text: str) -> str:
    # An empty path is the current directory to the OS: an unset variable (--out "$OUT") would write there.
    if not text:
        raise argparse.ArgumentTypeError("'' is not a path; allowed: a file or directory name")
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; allowed: 1 to 1000")
    return value


def _integer(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if abs(value) >= 2**63:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; allowed: a whole number below 2**63")
    return value


def _command(sub: argparse._SubParsersAction[_Parser], name: str, help: str, run: Command, *, stack: bool = True,
             out: str | None = None, json_help: str | None = None) -> argparse.ArgumentParser:
    # allow_abbrev off: --secret must never pass for --secret-file
    cmd: argparse.ArgumentParser = sub.add_parser(name, help=help, allow_abbrev=False)
    if stack:
        cmd.add_argument("--stack", required=True, type=_path,
                         help="a stack name, looked up as stacks/Pulumi.<name>.yaml, or a "
                         "stack file's path (with a / or ending in .yaml)")
    if out:
        what = ("the run's directory: state/, results/, report/ (kept; --resume finishes it, --force starts over)"
                if name == "run" else "output directory (replaced whole)")
        cmd.add_argument("--out", required=out == "required", type=_path, help=what + ("" if out == "required" else
                                                                            f"; default {out}"))
    if json_help:
        cmd.add_argument("--json", action="store_true", help=json_help)
    cmd.set_defaults(run=run)
    return cmd


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one ``compatlab: error:`` line (exit 2), not usage plus error."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        tail = f" (see {self.prog} --help)" if "allowed:" in text else f"; allowed: what {self.prog} --help lists"
        self.exit(2, f"compatlab: error: {text}{tail}\n")


def parser() -> argparse.ArgumentParser:
    """The ``compatlab`` argument parser; each subcommand sets ``run``, its handler (``Namespace`` -> exit status).

    Raises nothing; parsing bad arguments exits with ``SystemExit`` (2).
    """
    top = _Parser(prog="compatlab", description="The compatibility experiment.", allow_abbrev=False)
    top.add_argument("--version", action="version", version=f"compatlab {__version__}")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _command(sub, "generate", "write rainbow metadata and jobspecs per level for a stack", _generate, out="required")
    match = _command(sub, "match", "which registered clusters satisfy each jobspec, and why not", _match,
                     stack=False, json_help="print a JSON array, one object per jobspec")
    match.add_argument("--clusters", required=True, type=_path, help="directory of <cluster>/nodes.json + subsystems")
    match.add_argument("jobspecs", nargs="+", type=_path, help="nextgen jobspec files")
    match.add_argument("--explain", action="store_true", help="with --json: why each other cluster does not match")
    rep = _command(sub, "replay", "replay any rainbow experiment: per-level accuracy, exact and sampled, beside real "
                   "rainbow's", _replay, stack=False, out="required", json_help="print replay.json")
    rep.add_argument("--clusters", type=_path, required=True, metavar="DIR",
                     help="directory of <cluster>/nodes.json + subsystems")
    rep.add_argument("--jobspecs", type=_path, required=True, metavar="DIR",
                     help="directory of nextgen jobspecs (any depth)")
    rep.add_argument("--levels", type=_path, metavar="FILE",
                     help="YAML {level: [subsystems it adds]} (default: none, all)")
    rep.add_argument("--truth", type=_path, metavar="FILE", help="YAML/JSON {jobspec: [clusters that can run it]} "
                     "(default: the clusters that satisfy the whole jobspec)")
    rep.add_argument("--repeats", type=_positive, help="also submit each job this many times and show the spread")
    rep.add_argument("--seed", type=_integer, default=0, help="seed of the sampled submissions (default 0)")
    sim = _command(sub, "simulate", "run the experiment on the embedded scheduler", _simulate,
                   out="results/<stack>", json_help="print the per-level summary as JSON")
    sim.add_argument("--seed", type=_integer, default=0, help="seed of the random cluster selection (default 0)")
    sim.add_argument("--repeats", type=_positive, default=10, help="submissions of each jobspec per level (default 10)")
    _command(sub, "render", "write the lab's Kubernetes objects as YAML files", _render, out="required")
    _command(sub, "cost", "estimated cost per hour of a stack on GKE", _cost, json_help="print the estimate as JSON")

    reg = _command(sub, "register", "register every minicluster and its subsystems with a scheduler", _register,
                   json_help="print what was registered as JSON")
    _scheduler_options(reg, secret=True)
    reg.add_argument("--kubeconfig", metavar="FILE", type=_path,
                     help="also write each cluster's token and secret into its Secret in the lab (this kubeconfig)")
    reg.add_argument("--write-secrets", action="store_true",
                     help="the same with $KUBECONFIG or ~/.kube/config")
    reg.add_argument("--trust-metadata", action="store_true",
                     help="register clusters whose last verify disagreed with their metadata")
    subm = _command(sub, "submit", "submit the jobspecs of some or all levels", _submit, stack=False,
                    json_help="print the counts as JSON")
    _scheduler_options(subm, token=True)
    subm.add_argument("--stack", help="the stack (checked against the state's)")
    which = subm.add_mutually_exclusive_group(required=True)
    which.add_argument("--level", action="append", metavar="LEVEL", help="a level to submit (repeatable)")
    which.add_argument("--all-levels", action="store_true", help="every level")
    subm.add_argument("--resend-unanswered", action="store_true",
                      help="send again what a crash left unanswered (after receiving on every cluster)")
    _trials(subm)
    rec = _command(sub, "receive", "receive a cluster's jobs, run them, write a record per job", _receive,
                   stack=False, json_help="print the counts as JSON")
    _scheduler_options(rec, env=True)
    cluster, results = os.environ.get("CLUSTER_NAME"), os.environ.get("COMPATLAB_RESULTS")
    rec.add_argument("--cluster", required=not cluster, default=cluster,
                     help="the minicluster to receive for (default $CLUSTER_NAME, set in every MiniCluster)")
    rec.add_argument("--results", required=not results, default=results, metavar="DIR", type=_path,
                     help="where the result records go (default $COMPATLAB_RESULTS)")
    rec.add_argument("--cluster-secret-file", metavar="FILE", type=_path,
                     default=os.environ.get("COMPATLAB_CLUSTER_SECRET_FILE"),
                     help="the cluster's rainbow secret (default $COMPATLAB_CLUSTER_SECRET_FILE; else the state's)")
    rec.add_argument("--stack", help="the lab, for the simulated executor (default: the state's)")
    _executor(rec)
    once = rec.add_mutually_exclusive_group()
    once.add_argument("--once", action="store_true", help="receive what is queued now, run it, stop (default)")
    once.add_argument("--loop", action="store_true", help="keep receiving until Ctrl-C")
    rec.add_argument("--interval", type=_seconds, default=5.0,
                     help="seconds between receives with --loop (default 5)")
    run = _command(sub, "run", "the whole loop on one machine: register, submit all levels, receive, report", _run,
                   out="required", json_help="print the summary and per-level rows as JSON")
    _scheduler_options(run, state=False, secret=True, token=True)
    _trials(run)
    _executor(run, flux=False)
    again = run.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="finish the run already in --out")
    again.add_argument("--force", action="store_true", help="remove the run already in --out and start again")
    ver = _command(sub, "verify", "probe a pod of every minicluster and compare with its metadata (exit 1 if any "
                   "differs)", _verify, json_help="print the verdicts as JSON")
    ver.add_argument("--kubeconfig", metavar="FILE", type=_path, help="the lab's kubeconfig (default $KUBECONFIG)")
    ver.add_argument("--state", required=True, metavar="DIR", type=_path,
                     help="where probe.json is kept (register reads it)")
    col = _command(sub, "collect", "copy the result records out of every minicluster's lead broker", _collect,
                   json_help="print the counts as JSON")
    col.add_argument("--kubeconfig", metavar="FILE", type=_path, help="the lab's kubeconfig (default $KUBECONFIG)")
    col.add_argument("--results", required=True, metavar="DIR", type=_path, help="the local results directory")
    col.add_argument("--force", action="store_true", help="overwrite local records that differ")
    rep = _command(sub, "report", "join submissions, predictions and results into tables and plots", _report,
                   stack=False, out="required", json_help="print the per-level rows and confusion matrix as JSON")
    rep.add_argument("--results", required=True, metavar="DIR", type=_path, help="the result records")
    rep.add_argument("--state", metavar="DIR", type=_path, help="the run state (default: DIR/../state)")
    rep.add_argument("--stack", help="the lab (default: the state's)")
    return top


def _trials(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--repeats", type=_positive, default=10,
                     help="submissions of each jobspec per level (default 10, as simulate)")
    cmd.add_argument("--seed", type=_integer, default=0,
                     help="seed of the embedded scheduler's random pick (default 0)")


def _executor(cmd: argparse.ArgumentParser, flux: bool = True) -> None:
    cmd.add_argument("--executor", choices=("simulated", "local", "flux")[: 3 if flux else 2], default="simulated",
                     help="simulated: the outcome model's answer; local: run the task's command here"
                          + ("; flux: run it on this MiniCluster's Flux (in a Flux shell)" if flux else ""))
    cmd.add_argument("--timeout", type=_seconds, default=600.0, help="seconds a job may run (default 600)")


# What a path must be, by what the system refused (errno).
_ALLOWED_PATHS = {
    errno.ENOTDIR: "a path whose parents are directories, not files",
    errno.EEXIST: "a path whose parents are directories, not files",
    errno.EACCES: "a path you may write (check its permissions)",
    errno.EPERM: "a path you may write (check its permissions)",
    errno.EROFS: "a path on a writable filesystem",
    errno.ENAMETOOLONG: "names of at most 255 bytes",
    errno.ENOSPC: "a disk with free space",
    errno.ELOOP: "a path without a loop of symbolic links",
}


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand on ``argv`` (default ``sys.argv[1:]``); return the exit status (int).

    0 on success; 141 when the reader of stdout left (``BrokenPipeError``); 2 on ``LabError``
    or ``NotOurs``, printed as one ``compatlab: error: ...`` line on stderr. Bad arguments
    and ``--help`` raise ``SystemExit`` (2, 0) from argparse; other errors propagate.
    """
    args = parser().parse_args(argv)
    try:
        try:
            run: Command = args.run
            return run(args)
        finally:
            _clear_notice()
    except (LabError, NotOurs, Denied) as err:
        print(f"compatlab: error: {printable(str(err))}", file=sys.stderr)
        return 2
    except SchedulerError as err:  # unavailable, or refused for a reason of its own
        print(f"compatlab: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("compatlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `compatlab ... | head`: the reader left; end quietly, as cat and git do
        # Python would flush stdout again at exit and complain on stderr: point it at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell shows for a program the signal ended
    except OSError as err:  # the disk or a path the user gave: one line, the file and why
        where = f"{err.filename}: " if err.filename else ""
        allowed = _ALLOWED_PATHS.get(err.errno or 0)
        print(f"compatlab: error: {where}{err.strerror or err}" + (f"; allowed: {allowed}" if allowed else ""),
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
