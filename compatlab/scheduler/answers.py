"""``compatlab match``'s answers: per jobspec, the clusters that satisfy it and why each other one does not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np

from .corpus import Corpus
from .index import Index
from .match import explain


class MatchAnswer(TypedDict):
    """One jobspec's answer (``match --json`` prints a list of them, in the jobspecs' order).

    ``matches``: the names of the clusters that satisfy every requirement, sorted.
    ``rejected``: each other cluster's name, sorted, with the reason the reference
    matcher gives (``explain``; None would mean the two matchers disagree, which the property tests
    rule out) when reasons were asked for, else the names alone.
    """

    jobspec: str
    matches: list[str]
    rejected: dict[str, str | None] | list[str]


def answer_corpus(corpus: Corpus, jobspecs: Sequence[str], reasons: bool) -> list[MatchAnswer]:
    """Answer every request of ``corpus`` (read from ``jobspecs``, the same order) on its clusters.

    The vectorised index decides; a reason costs a walk of the cluster per
    rejected pair, so it is computed only with ``reasons``. Raises nothing.
    """
    index = Index(corpus.clusters)
    fits = index.fits_all(corpus.requests)
    answers = []
    for path, request, row in zip(jobspecs, corpus.requests, fits, strict=True):
        matches = sorted(index.names[i] for i in np.flatnonzero(row))
        rejected = sorted((c for c, fits_here in zip(corpus.clusters, row, strict=True) if not fits_here),
                          key=lambda c: c.name)
        answers.append(MatchAnswer(
            jobspec=path, matches=matches,
            rejected={c.name: explain(c, request) for c in rejected} if reasons else [c.name for c in rejected]))
    return answers
