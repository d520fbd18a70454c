"""Signing outgoing webhooks: HMAC-SHA256 over "<timestamp>.<body>" (the scheme receivers verify).

Header: `X-Firstline-Signature: t=<unix seconds>,v1=<hex digest>`. Putting the timestamp
under the signature lets a receiver refuse replays older than a few minutes.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Firstline-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: parse, check the age, compare in constant time."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, timestamp, body))
