"""Hypothesis settings shared by the pure-rule property tests.

Under `make mutation` (FIRSTLINE_MUTATION=1) each property runs a fixed, smaller sample: the
known-answer tables do most of the killing there, and a mutant that survives must survive the
same examples on every run, or the score would wander.
"""

import os

from hypothesis import HealthCheck, Phase, settings

UNDER_MUTATION = bool(os.environ.get("FIRSTLINE_MUTATION"))


def examples(n: int) -> settings:
    if UNDER_MUTATION:
        # No shrinking: a failing example kills the mutant as it is; shrinking it only costs time.
        return settings(
            max_examples=max(8, n // 10),
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow])
