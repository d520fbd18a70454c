from hypothesis import given
from hypothesis import strategies as st

from app.ticket.canned import PLACEHOLDERS, fill, safe_fill


def test_fills_known_placeholders():
    assert fill(
        "Hi {requester_first_name}, re {ticket_key}",
        {"requester_first_name": "Ada", "ticket_key": "SUP-1"},
    ) == ("Hi Ada, re SUP-1")


def test_unknown_placeholders_stay_visible():
    assert (
        fill("Hi {nobody} and {requester_name}", {"requester_name": "Ada"}) == "Hi {nobody} and Ada"
    )


def test_format_specs_are_not_evaluated():
    assert fill("{requester_name!r:>10}", {"requester_name": "x"}) == "{requester_name!r:>10}"


def test_broken_braces_fall_back_to_the_template():
    assert safe_fill("oops { not closed", {"a": "b"}) == "oops { not closed"


@given(
    st.text(max_size=200),
    st.dictionaries(st.sampled_from(sorted(PLACEHOLDERS)), st.text(max_size=20)),
)
def test_safe_fill_never_raises_and_keeps_text_without_braces(template, values):
    out = safe_fill(template, values)
    if "{" not in template and "}" not in template:
        assert out == template
