"""Canned replies: templates with {placeholders}, filled from a ticket. Pure, no I/O."""

import string
from collections.abc import Mapping

PLACEHOLDERS = {
    "requester_name": "the requester's name",
    "requester_first_name": "the requester's first name",
    "ticket_key": "e.g. SUP-42",
    "ticket_title": "the ticket's title",
    "agent_name": "the person replying",
    "community_name": "the requester's community",
    "representatives": "names of the community's representatives",
}


def fill(template: str, values: Mapping[str, str]) -> str:
    """Fill known placeholders; leave unknown ones and stray braces as they are."""
    out: list[str] = []
    for literal, name, spec, conv in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        if name in values and not spec and not conv:
            out.append(str(values[name]))
        else:
            out.append(
                "{" + name + ("!" + conv if conv else "") + (":" + spec if spec else "") + "}"
            )
    return "".join(out)


def safe_fill(template: str, values: Mapping[str, str]) -> str:
    try:
        return fill(template, values)
    except ValueError:  # unbalanced braces in a template: show it unfilled rather than fail
        return template
