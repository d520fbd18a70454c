"""Pure escalation rules: who is paged at each step, and when escalation gives up."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    number: int  # 1-based count of pages for this subject
    level: int  # index into the chain of roles
    round: int  # 0 for the first walk along the chain


def next_step(steps_done: int, chain_length: int, max_rounds: int) -> Step | None:
    """The page after `steps_done` pages: along the chain, then round again, at most
    `max_rounds` times; None when the bound is reached (it stops; it never pages forever)."""
    if chain_length <= 0 or max_rounds <= 0 or steps_done >= chain_length * max_rounds:
        return None
    return Step(
        number=steps_done + 1, level=steps_done % chain_length, round=steps_done // chain_length
    )


@dataclass(frozen=True)
class TierPolicy:
    """How long a ticket of one urgency tier may wait unanswered, and which rota roles are paged."""

    minutes: int
    chain: tuple[str, ...]


def parse_policy(raw: str) -> TierPolicy:
    """ "20:triager,lead" → 20 minutes, then the triager on call, then the lead."""
    minutes, _, roles = raw.partition(":")
    try:
        wait = int(minutes.strip())
    except ValueError:
        raise ValueError(f"an escalation policy looks like 20:triager,lead, not {raw!r}") from None
    chain = tuple(r.strip() for r in roles.split(",") if r.strip())
    if wait < 0 or not chain:
        raise ValueError(f"an escalation policy needs minutes >= 0 and at least one role: {raw!r}")
    return TierPolicy(wait, chain)
