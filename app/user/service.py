"""People, logins and API tokens."""

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import record_event
from app.auth.policy import ROLE_PERMISSIONS, Principal, parse_scopes
from app.auth.secrets import hash_password, new_token, token_digest, verify_password
from app.db import pk, transaction, utcnow
from app.errors import Conflict, InvalidInput, NotFound, Unauthorized
from app.user.models import ApiToken, LoginSession, User, UserCreate


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(select(User).where(User.email == normalise_email(email)))).first()


async def create_user(
    session: AsyncSession, data: UserCreate, *, actor_id: int | None = None
) -> User:
    if data.staff_role is not None and not data.password:
        raise InvalidInput("staff users need a password of at least 10 characters")
    async with transaction(session):
        if await get_user_by_email(session, data.email):
            raise Conflict(f"a user with e-mail {data.email} already exists", code="email_taken")
        user = User(
            email=normalise_email(data.email),
            name=data.name.strip(),
            staff_role=data.staff_role.value if data.staff_role else None,
            password_hash=hash_password(data.password) if data.password else None,
        )
        session.add(user)
        await session.flush()
        record_event(
            session,
            "user.created",
            subject_type="user",
            subject_id=pk(user),
            actor_id=actor_id,
            data={"email": user.email, "staff_role": user.staff_role},
        )
    return user


def ensure_contact(session: AsyncSession, user: User | None, email: str, name: str | None) -> User:
    """Return the person with this e-mail, adding a contact row to the unit of work if new.

    Call inside a transaction; the caller flushes.
    """
    if user is not None:
        if name and name.strip() and not user.is_staff and user.name == user.email.split("@")[0]:
            user.name = name.strip()[
                :120
            ]  # we only had a placeholder; the person told us their name
        return user
    email = normalise_email(email)
    contact = User(email=email, name=(name or email.split("@")[0]).strip()[:120])
    session.add(contact)
    return contact


# --- staff sessions (browser) -------------------------------------------------------------


async def log_in(
    session: AsyncSession, email: str, password: str, *, days: int
) -> tuple[str, LoginSession]:
    """Check the password and open a login session; the same error for every failure."""
    user = await get_user_by_email(session, email)
    ok = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_staff:
        raise Unauthorized("wrong e-mail or password", code="bad_credentials")
    token = new_token("s_")
    login = LoginSession(
        id=token_digest(token),
        user_id=pk(user),
        csrf_token=new_token("c_"),
        expires_at=utcnow() + timedelta(days=days),
    )
    async with transaction(session):
        session.add(login)
    return token, login


async def log_out(session: AsyncSession, token: str) -> None:
    async with transaction(session):
        login = await session.get(LoginSession, token_digest(token))
        if login:
            await session.delete(login)


async def principal_from_session(session: AsyncSession, token: str) -> Principal | None:
    row = (
        await session.exec(
            select(LoginSession, User)
            .join(User, col(User.id) == LoginSession.user_id)
            .where(LoginSession.id == token_digest(token))
        )
    ).first()
    if row is None:
        return None
    login, user = row
    if login.expires_at <= utcnow() or not user.is_staff:
        return None
    return Principal(
        user_id=pk(user),
        name=user.name,
        email=user.email,
        staff_role=user.required_staff_role(),
        csrf_token=login.csrf_token,
    )


# --- API tokens ---------------------------------------------------------------------------


async def create_api_token(
    session: AsyncSession, *, email: str, name: str, scopes: str | list[str] | None = None
) -> tuple[str, ApiToken]:
    """Make a token for a staff user; default scopes are everything the user's role allows."""
    user = await get_user_by_email(session, email)
    if user is None:
        raise NotFound(f"no user with e-mail {email}")
    if not user.is_staff:
        raise InvalidInput("API tokens are for staff users")
    try:
        wanted = parse_scopes(scopes) if scopes else ROLE_PERMISSIONS[user.required_staff_role()]
    except ValueError as exc:
        raise InvalidInput(str(exc), code="unknown_scope") from exc
    token = new_token()
    api_token = ApiToken(
        user_id=pk(user),
        name=name,
        token_hash=token_digest(token),
        display_prefix=token[:10],
        scopes=" ".join(sorted(wanted)),
    )
    async with transaction(session):
        session.add(api_token)
        await session.flush()
        record_event(
            session,
            "token.created",
            subject_type="api_token",
            subject_id=pk(api_token),
            actor_id=user.id,
            data={"name": name, "scopes": sorted(wanted)},
        )
    return token, api_token


async def list_api_tokens(session: AsyncSession, *, user_id: int | None = None) -> list[ApiToken]:
    """Tokens of one user (or everyone's for user_id None), live ones first, newest first."""
    stmt = select(ApiToken).order_by(col(ApiToken.revoked_at).is_not(None), col(ApiToken.id).desc())
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return list((await session.exec(stmt)).all())


async def revoke_api_token(
    session: AsyncSession, token_id: int, *, by: Principal | None
) -> ApiToken:
    """Revoke a token at once (the next request with it gets 401). Staff may revoke their own
    tokens; revoking someone else's needs users:write. `by=None` is the operator's CLI.

    Someone else's token that the caller may not touch answers 404, as a missing one does, so
    ids of other people's tokens cannot be probed. Revoking twice is harmless."""
    async with transaction(session):
        token = await session.get(ApiToken, token_id)
        if token is None or (
            by is not None and token.user_id != by.user_id and not by.can("users:write")
        ):
            raise NotFound(f"no API token {token_id}", code="unknown_token")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            session.add(token)
            record_event(
                session,
                "token.revoked",
                subject_type="api_token",
                subject_id=pk(token),
                actor_id=by.user_id if by else None,
                data={"name": token.name, "owner_id": token.user_id},
            )
    return token


async def principal_from_token(session: AsyncSession, token: str) -> Principal | None:
    row = (
        await session.exec(
            select(ApiToken, User)
            .join(User, col(User.id) == ApiToken.user_id)
            .where(ApiToken.token_hash == token_digest(token))
        )
    ).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.revoked_at is not None or not user.is_staff:
        return None
    return Principal(
        user_id=pk(user),
        name=user.name,
        email=user.email,
        staff_role=user.required_staff_role(),
        scopes=frozenset(api_token.scopes.split()),
        via="token",
    )


async def touch_token(session: AsyncSession, token: str) -> None:
    """Record last use; a cheap single UPDATE outside the request's unit of work."""
    async with transaction(session):
        await session.exec(
            update(ApiToken)
            .where(col(ApiToken.token_hash) == token_digest(token))
            .values(last_used_at=utcnow())
        )


async def list_staff(session: AsyncSession) -> list[User]:
    stmt = (
        select(User)
        .where(col(User.staff_role).is_not(None), col(User.is_active).is_(True))
        .order_by(User.name)
    )
    return list((await session.exec(stmt)).all())


def principal_of(user: User) -> Principal:
    """A person acting without a sign-in: an integration's author, a reply by e-mail."""
    role = user.required_staff_role() if user.is_staff else None
    return Principal(
        user_id=pk(user), name=user.name, email=user.email, staff_role=role, via="integration"
    )
