"""What each (workload, MiniCluster) pair should show when it runs: the predicted mode and its evidence.

The outcome model predicts a mode from the lab's declared properties; each
workload's file says what that mode looks like when it happens (its ``evidence``:
exit code and message); the classifier (``observe.classify``) must read that
evidence as the same mode. ``expectations`` puts the three side by side, so a
reviewer (``compatlab generate`` writes ``workloads.md``) and the tests see every
pair before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from compatlab.errors import LabError, brief
from compatlab.formats.flux import flux_commands
from compatlab.formats.jobspecs import jobspec
from compatlab.lab.model import Evidence, Lab, MiniCluster, Workload

from .observe import classify
from .outcomes import OK, outcome

# Flux's answer to more nodes or cores than the instance has: the job is accepted, then fails with an alloc
# exception, returncode 1 (flux-core 0.88, measured). The note is Fluxion's, the lab's scheduler (flux-sched 0.54,
# qmanager_callbacks.cpp, read from source); sched-simple says "unsatisfiable request: need 4 node(s) ...".
UNSATISFIABLE = Evidence(1, 'job.exception type=alloc severity=0 alloc denied due to type="unsatisfiable"')


@dataclass(frozen=True)
class Expectation:
    """One pair: the predicted ``mode``, why (``detail``), the ``evidence`` that shows it (None: none documented).

    ``classified`` is what ``observe.classify`` makes of that evidence; ``agrees``
    says the model, the workload's documentation and the classifier agree.
    """

    workload: str
    cluster: str
    mode: str
    detail: str
    evidence: Evidence | None
    classified: str | None

    @property
    def agrees(self) -> bool:
        """True when the evidence exists and the classifier reads it as the predicted mode."""
        return self.evidence is not None and self.classified == self.mode


def expect(workload: Workload, mc: MiniCluster) -> Expectation:
    """The expectation for ``workload`` on ``mc`` (see ``Expectation``). Raises nothing."""
    fate = outcome(workload, mc)
    if fate.mode == OK:
        said: Evidence | None = Evidence(0, "")
    else:
        said = workload.evidence.get(fate.mode) or (UNSATISFIABLE if fate.mode == "unsatisfiable" else None)
    classified = None
    if said is not None:
        classified = classify(said.exit_code, said.message).outcome
    return Expectation(workload.name, mc.name, fate.mode, fate.detail, said, classified)


def check_evidence(lab: Lab) -> None:
    """Refuse a workload whose documented evidence the classifier reads as another mode.

    Raises ``LabError`` naming the workload's file, ``evidence.<mode>`` and what the
    classifier makes of it, so ``workloads.md`` never claims what compatlab would
    not see.
    """
    for workload in lab.workloads:
        for mode, said in workload.evidence.items():
            seen = classify(said.exit_code, said.message).outcome
            if seen != mode:
                raise LabError(workload.source, f"evidence.{mode}", f"exit {said.exit_code} with "
                               f"{brief(said.message)} reads as {seen!r}, not {mode!r}; allowed: a failing exit "
                               "code (or null) and a message that names the failure")


def expectations(lab: Lab) -> list[Expectation]:
    """Every (workload, MiniCluster) pair of the lab, workloads in the stack's order, then clusters."""
    return [expect(w, mc) for w in lab.workloads for mc in lab.miniclusters]


def workloads_markdown(lab: Lab) -> str:
    """``workloads.md``: per workload, its Flux command and, per MiniCluster, predicted mode, exit code and message.

    Raises ``LabError`` for evidence the classifier misreads (``check_evidence``) and
    ``ValueError`` when the jobspec library cannot turn a jobspec into a Flux command
    (the generator validated it, so that is a library change).
    """
    check_evidence(lab)
    most = lab.levels[-1]  # the Flux command is the same at every level; the jobspec's slot is not
    out = [f"# What each workload does on each MiniCluster of stack {lab.stack}", "",
           "Predicted by compatlab's outcome model from the lab's declared properties; the exit code and "
           "message are the workload's own documented evidence (`jobspecs/<workload>.yaml`), which compatlab's "
           "classifier reads as that mode. `-` means it runs (exit 0).", ""]
    for workload in lab.workloads:
        argv = flux_commands(jobspec(workload, most))[0]
        shown = " ".join(argv[: len(argv) - len(workload.command)] + [workload.command[0], "..."])
        out += [f"## {workload.name}", "", workload.description, "", f"Flux: `{shown}` "
                f"({workload.nodes} node(s), {workload.tasks} task(s))", "",
                "| MiniCluster | predicted | exit code | message |", "|---|---|---|---|"]
        for mc in lab.miniclusters:
            seen = expect(workload, mc)
            said = seen.evidence
            code = "-" if said is None or said.exit_code is None else str(said.exit_code)
            message = said.message if said and said.message else ("-" if said else "**not documented**")
            why = f"{seen.mode} ({seen.detail})" if seen.detail else seen.mode
            out.append(f"| {mc.name} | {why} | {code} | {message.replace('|', '/')} |")
        out.append("")
    return "\n".join(out)
