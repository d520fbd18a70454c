"""Outgoing webhook signatures: what a receiver's `verify()` accepts, and every way it refuses."""

import hashlib
import hmac

import pytest

from app.webhooks.signing import signature, signature_header, verify

SECRET = "whsec_test"
BODY = b'{"event":"ticket.created","id":42}'
T = 1795424400  # 2026-11-23 09:00 UTC


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(b"whsec_test", b"1795424400." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, T, BODY) == expected
    assert signature_header(SECRET, T, BODY) == f"t=1795424400,v1={expected}"


@pytest.mark.parametrize("now", [T, T + 300, T - 300, T + 1])
def test_a_fresh_signature_is_accepted(now):
    assert verify(SECRET, signature_header(SECRET, T, BODY), BODY, now=now)


def test_the_tolerance_is_a_parameter():
    header = signature_header(SECRET, T, BODY)
    assert verify(SECRET, header, BODY, now=T + 3600, tolerance=3600)
    assert not verify(SECRET, header, BODY, now=T + 3601, tolerance=3600)


GOOD = signature(SECRET, T, BODY)
REFUSALS = [
    # header, body, now: why it is refused
    (f"t={T},v1={GOOD}", BODY, T + 301),  # stale: older than five minutes (a replay)
    (f"t={T},v1={GOOD}", BODY, T - 301),  # from the future beyond the skew allowed
    (f"t={T},v1={GOOD}", BODY + b" ", T),  # body changed
    (f"t={T + 1},v1={GOOD}", BODY, T),  # timestamp changed under the signature
    (f"t={T},v1={signature('whsec_other', T, BODY)}", BODY, T),  # signed with another secret
    (f"t={T},v1={GOOD.upper()}", BODY, T),  # not the hex digest as sent
    (f"t={T},v1=", BODY, T),  # empty signature
    (f"t={T}", BODY, T),  # no signature at all
    (f"v1={GOOD}", BODY, T),  # no timestamp (malformed)
    (f"t=soon,v1={GOOD}", BODY, T),  # a timestamp that is not a number (malformed)
    (f"t=,v1={GOOD}", BODY, T),
    ("", BODY, T),
    ("garbage", BODY, T),
    (f"{T},{GOOD}", BODY, T),  # the values without their names
]


@pytest.mark.parametrize("header,body,now", REFUSALS)
def test_every_refusal(header, body, now):
    assert verify(SECRET, header, body, now=now) is False


def test_extra_parts_and_order_do_not_matter():
    assert verify(SECRET, f"v1={GOOD},t={T}", BODY, now=T)
    assert verify(SECRET, f"t={T},v0=old,v1={GOOD}", BODY, now=T)
