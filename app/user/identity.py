"""One person, many channels: the identities (addresses, GitHub login, Slack id) that find them.

A user's sign-up address stays on `User.email`; further addresses, the GitHub login and the
Slack user id are `Identity` rows, each owned by exactly one person. `User.github_login` and
`User.slack_user_id` mirror the current ones for the code that reads them off the user.
"""

import re
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import record_event
from app.auth.policy import Principal
from app.config import get_settings
from app.db import pk, transaction, utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.outbox.service import enqueue
from app.user.models import Identity, IdentityKind, ProfileUpdate, User
from app.user.service import get_user_by_email, normalise_email

# GitHub: 1-39 letters, digits and single inner hyphens. Slack: user ids start U (or W on Enterprise Grid).
GITHUB_LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
SLACK_USER_RE = re.compile(r"^[UW][A-Z0-9]{2,31}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_identity(kind: IdentityKind, value: str) -> str:
    """The stored form of an identity; InvalidInput (422) saying why when it cannot be one."""
    value = value.strip()
    if kind == IdentityKind.github:
        login = value.removeprefix("@")
        if not GITHUB_LOGIN_RE.match(login):
            raise InvalidInput(
                f"{value!r} is not a GitHub login (1-39 letters, digits or inner single hyphens)",
                code="bad_github_login",
            )
        return login.lower()  # GitHub logins are case-insensitive
    if kind == IdentityKind.slack:
        if not SLACK_USER_RE.match(value):
            raise InvalidInput(
                f"{value!r} is not a Slack user id (U or W followed by capital letters and digits)",
                code="bad_slack_id",
            )
        return value
    if not EMAIL_RE.match(value) or len(value) > 254:
        raise InvalidInput(f"{value!r} is not an e-mail address", code="bad_email")
    return normalise_email(value)


async def find_identity(session: AsyncSession, kind: IdentityKind, value: str) -> Identity | None:
    return (
        await session.exec(
            select(Identity).where(Identity.kind == kind.value, Identity.value == value)
        )
    ).first()


async def user_by_identity(session: AsyncSession, kind: IdentityKind, value: str) -> User | None:
    """The person an outside identity belongs to; e-mail also matches the sign-up address."""
    try:
        value = normalise_identity(kind, value)
    except InvalidInput:
        return None
    found = await find_identity(session, kind, value)
    if found is not None:
        return await session.get(User, found.user_id)
    if kind == IdentityKind.email:
        return await get_user_by_email(session, value)
    # A handle written straight onto the user row (before identities, or by an operator) still counts.
    column = (
        func.lower(col(User.github_login))
        if kind == IdentityKind.github
        else col(User.slack_user_id)
    )
    return (await session.exec(select(User).where(column == value).order_by(col(User.id)))).first()


async def list_identities(session: AsyncSession, user_id: int) -> list[Identity]:
    stmt = (
        select(Identity)
        .where(Identity.user_id == user_id)
        .order_by(col(Identity.kind), col(Identity.value))
    )
    return list((await session.exec(stmt)).all())


async def _check_free(session: AsyncSession, kind: IdentityKind, value: str, user_id: int) -> None:
    owner = await find_identity(session, kind, value)
    owner_id = owner.user_id if owner else None
    if owner_id is None and kind == IdentityKind.email:
        primary = await get_user_by_email(session, value)
        owner_id = primary.id if primary else None
    if owner_id is not None and owner_id != user_id:
        raise Conflict(
            f"{kind.value} identity {value!r} already belongs to another person",
            code="identity_taken",
        )


def _mirror(user: User, kind: IdentityKind, value: str | None) -> None:
    if kind == IdentityKind.github:
        user.github_login = value
    elif kind == IdentityKind.slack:
        user.slack_user_id = value


def remember_identity(
    session: AsyncSession,
    user: User,
    kind: IdentityKind,
    value: str,
    *,
    verified: bool,
    shown_as: str | None = None,
) -> None:
    """Inside the caller's transaction, for a flushed user: an identity an intake path has just
    seen. `shown_as`: the handle as the channel spells it, kept on the user row for display."""
    now = utcnow()
    session.add(
        Identity(
            user_id=pk(user),
            kind=kind.value,
            value=value,
            verified=verified,
            verified_at=now if verified else None,
            created_at=now,
        )
    )
    _mirror(user, kind, shown_as or value)


async def add_identity(
    session: AsyncSession,
    user_id: int,
    kind: IdentityKind,
    value: str,
    *,
    verified: bool,
    actor_id: int | None,
) -> Identity:
    """Give a person one more identity: 422 if malformed, 409 if it is someone else's; nothing written then."""
    value = normalise_identity(kind, value)
    async with transaction(session):
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}", code="unknown_user")
        await _check_free(session, kind, value, user_id)
        existing = await find_identity(session, kind, value)
        if existing is not None:
            return existing
        if (
            kind != IdentityKind.email
        ):  # one GitHub login and one Slack id per person: the new one replaces
            for old in await list_identities(session, user_id):
                if old.kind == kind.value:
                    await session.delete(old)
            await session.flush()
        now = utcnow()
        identity = Identity(
            user_id=user_id,
            kind=kind.value,
            value=value,
            verified=verified,
            verified_at=now if verified else None,
            created_at=now,
        )
        session.add(identity)
        _mirror(user, kind, value)
        await session.flush()
        record_event(
            session,
            "user.identity_added",
            subject_type="user",
            subject_id=user_id,
            actor_id=actor_id,
            data={"kind": kind.value, "value": value, "verified": verified},
        )
    return identity


async def remove_identity(
    session: AsyncSession, identity_id: int, *, user_id: int, actor_id: int | None
) -> None:
    async with transaction(session):
        identity = await session.get(Identity, identity_id)
        if identity is None or identity.user_id != user_id:
            raise NotFound(f"no identity {identity_id}", code="unknown_identity")
        user = await session.get(User, user_id)
        if user is not None:
            _mirror(user, IdentityKind(identity.kind), None)
        await session.delete(identity)
        record_event(
            session,
            "user.identity_removed",
            subject_type="user",
            subject_id=user_id,
            actor_id=actor_id,
            data={"kind": identity.kind, "value": identity.value},
        )


async def set_profile(
    session: AsyncSession, user_id: int, patch: ProfileUpdate, *, by: Principal | None
) -> User:
    """Set (or clear, with "") a person's GitHub login and Slack id. Staff set their own; anyone
    else's needs users:write (others' profiles answer 404 otherwise). Every value is checked
    before anything is written: one bad or taken value leaves both unchanged."""
    if by is not None and by.user_id != user_id and not by.can("users:write"):
        raise NotFound(f"no user {user_id}", code="unknown_user")
    fields = patch.model_dump(exclude_unset=True)
    wanted: dict[IdentityKind, str | None] = {}
    for name, kind in (
        ("github_login", IdentityKind.github),
        ("slack_user_id", IdentityKind.slack),
    ):
        if name in fields:
            raw = (fields[name] or "").strip()
            wanted[kind] = normalise_identity(kind, raw) if raw else None
    async with transaction(session):
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}", code="unknown_user")
        for kind, value in wanted.items():
            if value is not None:
                await _check_free(session, kind, value, user_id)
        current = {
            IdentityKind(i.kind): i
            for i in await list_identities(session, user_id)
            if i.kind != IdentityKind.email
        }
        changed: dict[str, str | None] = {}
        for kind, value in wanted.items():
            old = current.get(kind)
            if (old.value if old else None) == value:
                continue
            if old is not None:
                await session.delete(old)
                await session.flush()
            if value is not None:
                now = utcnow()
                # Set by the person themselves or an admin: trusted, as a signed webhook is.
                session.add(
                    Identity(
                        user_id=user_id,
                        kind=kind.value,
                        value=value,
                        verified=True,
                        verified_at=now,
                        created_at=now,
                    )
                )
            _mirror(user, kind, value)
            changed[kind.value] = value
        if changed:
            session.add(user)
            await session.flush()
            record_event(
                session,
                "user.profile_updated",
                subject_type="user",
                subject_id=user_id,
                actor_id=by.user_id if by else None,
                data=changed,
            )
    return user


# --- adding an e-mail address of your own ------------------------------------------------------

VERIFY_DAYS = 7
_BAD_VERIFY_LINK = "this verification link has expired or is not valid"


def _verify_serializer() -> URLSafeTimedSerializer:
    # Salted apart from every other signed value made with the same secret key.
    return URLSafeTimedSerializer(get_settings().secret_key, salt="firstline.identity.email")


def email_verification_email(user: User, address: str, url: str) -> dict[str, Any]:
    text = (
        f"Hello {user.name},\n\n"
        f"Someone asked to add {address} to {user.name}'s Firstline account, so that mail from "
        f"this address counts as theirs. If that was you, confirm it here (the link works for "
        f"{VERIFY_DAYS} days):\n\n{url}\n\n"
        "If it was not you, ignore this e-mail: nothing changes."
    )
    return {"to": [address], "subject": "Confirm your e-mail address for Firstline", "text": text}


async def request_email_identity(session: AsyncSession, user_id: int, value: str) -> str:
    """A person adds an address of their own: nothing is stored until a link mailed to that
    address is followed, so nobody can claim a mailbox (and the rights mail from it carries)
    by typing it. 422 if malformed, 409 if it is someone else's. Returns the address."""
    address = normalise_identity(IdentityKind.email, value)
    async with transaction(session):
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}", code="unknown_user")
        if address == normalise_email(user.email):
            raise Conflict(f"{address} is already your sign-in address", code="identity_exists")
        await _check_free(session, IdentityKind.email, address, user_id)
        token = _verify_serializer().dumps([user_id, address])
        url = f"{get_settings().base_url.rstrip('/')}/identities/verify/{token}"
        enqueue(
            session,
            "email.send",
            email_verification_email(user, address, url),
            idempotency_key=f"identity-verify-{user_id}-{address}-{token[-16:]}",
        )
    return address


def read_verification_token(token: str) -> tuple[int, str]:
    """(user id, address) of a link we signed and that has not expired; 404 otherwise."""
    try:
        user_id, address = _verify_serializer().loads(token, max_age=VERIFY_DAYS * 86400)
    except (BadSignature, ValueError, TypeError):
        raise NotFound(_BAD_VERIFY_LINK, code="bad_link") from None
    if not isinstance(user_id, int) or not isinstance(address, str):
        raise NotFound(_BAD_VERIFY_LINK, code="bad_link")
    return user_id, address


async def verify_email_identity(session: AsyncSession, token: str) -> Identity:
    """Follow a verification link: the address becomes the person's verified identity (again
    is harmless; 409 if someone else verified it meanwhile)."""
    user_id, address = read_verification_token(token)
    return await add_identity(
        session, user_id, IdentityKind.email, address, verified=True, actor_id=user_id
    )
