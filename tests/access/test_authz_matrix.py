"""The authorization matrix, generated from the app's route table.

Every route × every kind of caller, with the expected outcome derived from the rule the
route declares (`api_permission`, `page_permission`, `portal_access` or `public`). A route
added later is covered automatically; a route that declares no rule (or two) fails here.

Callers: anonymous; admin, triager, agent and viewer (browser session and API token);
a token with exactly the route's scope and one with every scope but it; representative
and member of community A; representative of community B.
"""

import itertools
import re
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from app.auth.policy import ROLE_PERMISSIONS, SCOPES
from app.auth.secrets import new_token, token_digest
from app.db import transaction, utcnow
from app.deps import PORTAL_COOKIE, SESSION_COOKIE, declared_rules
from app.portal.models import PortalSession
from app.ticket.models import LinkCreate, TicketCreate
from app.ticket.service import UploadedFile, add_link, add_vote, submit_ticket
from app.user.models import LoginSession, StaffRole
from app.user.service import create_api_token, get_user_by_email
from tests.factories import make_community, make_token, make_user, principal_for

_seq = itertools.count(1)

# Routes FastAPI itself adds; they read no data of ours.
FRAMEWORK_PUBLIC = {"/openapi.json", "/docs", "/docs/oauth2-redirect"}
# Public routes that check the caller themselves (and why they are not a page_permission).
SELF_CHECKING = {
    "/live": "an event stream answers 401 itself instead of redirecting to a login page"
}
# Streams never end, so only their refusals are requested here.
STREAMS = {"/live"}


@dataclass(frozen=True)
class Rule:
    kind: str  # api | page | portal | public
    permission: str | None = None
    signed: bool = False  # public, but the handler verifies a signature itself


def rules_of(dependant) -> list[Rule]:
    rules = []
    for call in declared_rules(dependant):
        if getattr(call, "permission", None):
            # api_permission/page_permission say their surface; a hand-written check
            # carrying `.permission` (e.g. the alert receivers') is an API one.
            surface = getattr(call, "surface", None) or (
                "page" if call.__name__.startswith("page_") else "api"
            )
            rules.append(Rule(surface, call.permission))
        elif getattr(call, "portal", False):
            rules.append(Rule("portal"))
        else:
            rules.append(Rule("public", signed=getattr(call, "signed", False)))
    return rules


def route_table(app) -> list[tuple[str, str, Rule | None, list[Rule]]]:
    out = []
    for ctx in iter_route_contexts(app.routes):
        if not ctx.methods:  # mounts (static files)
            assert ctx.path == "/static", f"unexpected mount {ctx.path}"
            continue
        dependant = getattr(ctx, "dependant", None)
        rules = rules_of(dependant) if dependant is not None else []
        for method in sorted(ctx.methods - {"HEAD"}):
            out.append((method, ctx.path, rules[0] if len(rules) == 1 else None, rules))
    return out


@dataclass
class Caller:
    name: str
    headers: dict
    staff_role: StaffRole | None = None
    via: str = "anonymous"  # anonymous | session | token | portal
    scopes: frozenset | None = None
    community: str | None = None
    representative: bool = False


async def _staff_session(session, user) -> tuple[str, str]:
    cookie, csrf = new_token("s_"), new_token("c_")
    async with transaction(session):
        session.add(
            LoginSession(
                id=token_digest(cookie),
                user_id=user.id,
                csrf_token=csrf,
                expires_at=utcnow() + timedelta(days=1),
            )
        )
    return cookie, csrf


async def _portal_session(session, email) -> tuple[str, str]:
    user = await get_user_by_email(session, email)
    cookie, csrf = new_token("ps_"), new_token("c_")
    async with transaction(session):
        session.add(
            PortalSession(
                id=token_digest(cookie),
                user_id=user.id,
                csrf_token=csrf,
                expires_at=utcnow() + timedelta(days=1),
            )
        )
    return cookie, csrf


@pytest.fixture
async def matrix_world(session):
    a = await make_community(
        session, "alpha", reps=("rep@a.example",), members=("member@a.example",)
    )
    await make_community(session, "beta", reps=("rep@b.example",))
    ticket = await submit_ticket(
        session,
        TicketCreate(title="Alpha request", requester_email="rep@a.example", community="alpha"),
        files=[UploadedFile("log.txt", "text/plain", b"log")],
    )
    callers = [Caller("anonymous", {})]
    admin = None
    for role in StaffRole:
        user = await make_user(session, role)
        admin = user if role == StaffRole.admin else admin
        cookie, csrf = await _staff_session(session, user)
        callers.append(
            Caller(
                f"{role.value} session",
                {"Cookie": f"{SESSION_COOKIE}={cookie}", "X-CSRF-Token": csrf},
                role,
                "session",
            )
        )
        token = await make_token(session, user)
        callers.append(
            Caller(
                f"{role.value} token",
                {"Authorization": f"Bearer {token}"},
                role,
                "token",
                ROLE_PERMISSIONS[role],
            )
        )
    scoped = {s: await make_token(session, admin, s) for s in SCOPES}
    unscoped = {
        s: await make_token(session, admin, " ".join(sorted(set(SCOPES) - {s}))) for s in SCOPES
    }
    for email, community, rep in (
        ("rep@a.example", "alpha", True),
        ("member@a.example", "alpha", False),
        ("rep@b.example", "beta", True),
    ):
        cookie, csrf = await _portal_session(session, email)
        callers.append(
            Caller(
                f"{'representative' if rep else 'member'} of {community}",
                {"Cookie": f"{PORTAL_COOKIE}={cookie}", "X-CSRF-Token": csrf},
                None,
                "portal",
                community=community,
                representative=rep,
            )
        )
    from sqlmodel import select

    from app.ticket.models import Attachment

    attachment = (await session.exec(select(Attachment))).one()
    params = {
        "ref": str(ticket.id),
        "slug": a.slug,
        "attachment_id": str(attachment.id),
        "link_id": "999",
        "user_id": "999",
        "status": "open",
        "token": "pl_not-a-real-link",
    }
    return {"callers": callers, "params": params, "scoped": scoped, "unscoped": unscoped}


def fill(path: str, params: dict) -> str:
    if "/canned-replies/{slug}" in path:  # this {slug} names a canned reply, not a community
        path = path.replace("{slug}", "acknowledge")
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    # Other domains' ids (schedules, incidents, ...): this test does not create those rows.
    return PARAM.sub("1", path)


PARAM = re.compile(r"\{[^}]+\}")


def names_unknown_rows(path: str) -> bool:
    """Whether the path names a row of another domain that this test does not create; an
    allowed caller may then get that row's 404, but never a 401 or 403."""
    if "{ref}" in path and "tickets/{ref}" not in path:
        return True  # an incident's ref, say, not our ticket's
    return any(name not in KNOWN_PARAMS for name in PARAM.findall(path))


KNOWN_PARAMS = {
    "{ref}",
    "{slug}",
    "{attachment_id}",
    "{link_id}",
    "{user_id}",
    "{status}",
    "{token}",
}


def outcome(res: httpx.Response) -> str:
    if res.status_code in (301, 302, 303, 307):
        location = res.headers.get("location", "")
        if location.startswith("/login"):
            return "staff-login"
        if location.startswith("/portal/sign-in"):
            return "portal-login"
        return "ok"
    if res.status_code in (401, 403, 404):
        return str(res.status_code)
    assert res.status_code < 500, f"{res.status_code}: {res.text[:300]}"
    return "ok"


def expected(rule: Rule, caller: Caller, path: str) -> str:
    """What this caller must get from a route with this rule."""
    if rule.kind == "api":
        if caller.via != "token":
            return "401"  # the API takes bearer tokens only; cookies authorise nothing there
        return (
            "ok"
            if rule.permission in (caller.scopes or ())
            and rule.permission in ROLE_PERMISSIONS[caller.staff_role]
            else "403"
        )
    if rule.kind == "page":
        if caller.via != "session":
            return "staff-login"
        return "ok" if rule.permission in ROLE_PERMISSIONS[caller.staff_role] else "403"
    if rule.kind == "portal":
        if caller.via != "portal":
            return "portal-login"
        if "{ref}" in path:  # the ticket is community A's, asked by its representative
            return "ok" if caller.community == "alpha" and caller.representative else "404"
        return "ok"
    raise AssertionError(rule)


async def _call(client, method: str, url: str, headers: dict) -> httpx.Response:
    body = {"json": {}} if url.startswith("/api/") and method in ("POST", "PUT", "PATCH") else {}
    return await client.request(method, url, headers=headers, follow_redirects=False, **body)


async def test_every_route_declares_exactly_one_rule(app):
    problems = []
    for method, path, rule, rules in route_table(app):
        if path in FRAMEWORK_PUBLIC:
            continue
        if rule is None:
            problems.append(f"{method} {path}: {len(rules)} rules {rules}")
    assert not problems, "routes without exactly one access rule:\n" + "\n".join(problems)


async def fresh_subresources(session, path: str, ref: str) -> dict:
    """A link or vote to delete, new for each call, so an allowed caller finds one."""
    if "{link_id}" in path:
        n = next(_seq)
        link = await add_link(
            session,
            ref,
            LinkCreate(url=f"https://tracker.example/{n}"),
            actor=principal_for(await make_user(session, StaffRole.agent)),
        )
        return {"link_id": str(link.id)}
    if "{user_id}" in path:
        voter = await make_user(session, None)
        await add_vote(session, ref, voter_email=voter.email, actor=principal_for(voter))
        return {"user_id": str(voter.id)}
    if "{token_id}" in path:
        # Someone else's throwaway token: "1" could be a matrix caller's own, and revoking it
        # would turn that caller's later checks into 401s.
        owner = await make_user(session, StaffRole.agent)
        _, token = await create_api_token(session, email=owner.email, name="throwaway")
        return {"token_id": str(token.id)}
    return {}


async def test_authorization_matrix(app, client, session, matrix_world):
    params = matrix_world["params"]
    table = [
        row for row in route_table(app) if row[1] not in FRAMEWORK_PUBLIC and row[2] is not None
    ]
    # Signing out ends the caller's session: do those last.
    table.sort(key=lambda row: row[1] in ("/logout", "/portal/sign-out"))
    failures, checked = [], 0
    for method, path, rule, _ in table:
        url = fill(path, params)
        if rule.kind == "public":
            if path in STREAMS:
                continue
            res = await _call(client, method, url, {})
            got = outcome(res)
            if rule.signed:
                # Anyone may call a signed receiver; a call without the signature is refused 401.
                if got != "401":
                    failures.append(
                        f"{method} {path} signed receiver but an unsigned call got {got}"
                    )
                checked += 1
                continue
            # A public form may refuse a missing form token (CSRF), never an anonymous caller as such.
            if got == "401" or (got == "403" and "csrf_failed" not in res.text):
                failures.append(f"{method} {path} public but anonymous got {got}")
            checked += 1
            continue
        for caller in matrix_world["callers"]:
            if path in STREAMS and expected(rule, caller, path) == "ok":
                continue
            url = fill(path, {**params, **await fresh_subresources(session, path, params["ref"])})
            got = outcome(await _call(client, method, url, caller.headers))
            want = expected(rule, caller, path)
            if want == "ok" and got == "404" and names_unknown_rows(path):
                got = "ok"
            if got != want:
                failures.append(f"{method} {path} as {caller.name}: expected {want}, got {got}")
            checked += 1
        if rule.kind == "api":
            for label, tokens, want in (
                ("token with the scope", matrix_world["scoped"], "ok"),
                ("token without the scope", matrix_world["unscoped"], "403"),
            ):
                url = fill(
                    path, {**params, **await fresh_subresources(session, path, params["ref"])}
                )
                got = outcome(
                    await _call(
                        client, method, url, {"Authorization": f"Bearer {tokens[rule.permission]}"}
                    )
                )
                if want == "ok" and got == "404" and names_unknown_rows(path):
                    got = "ok"
                if got != want:
                    failures.append(f"{method} {path} as {label}: expected {want}, got {got}")
                checked += 1
    assert not failures, f"{len(failures)} of {checked} checks failed:\n" + "\n".join(failures)
    assert checked > 500


async def test_anonymous_callers_cannot_tell_which_ids_exist(app, client, matrix_world):
    """401 / login redirect for a real and a made-up ticket or community alike: no existence oracle."""
    bogus = {**matrix_world["params"], "ref": "987654", "slug": "no-such-community"}
    for method, path, rule, _ in route_table(app):
        if rule is None or rule.kind == "public" or ("{ref}" not in path and "{slug}" not in path):
            continue
        real = outcome(await _call(client, method, fill(path, matrix_world["params"]), {}))
        made_up = outcome(await _call(client, method, fill(path, bogus), {}))
        assert real == made_up, (
            f"{method} {path}: {real} for a real id, {made_up} for a made-up one"
        )


async def test_self_checking_public_routes_refuse_everyone_but_staff(client, matrix_world):
    for path in SELF_CHECKING:
        for caller in matrix_world["callers"]:
            if caller.via == "session":
                continue  # staff get the stream
            res = await client.get(path, headers=caller.headers)
            assert res.status_code == 401, f"{path} as {caller.name}: {res.status_code}"


async def test_every_cookie_form_post_needs_its_csrf_token(app, client, matrix_world):
    """Generated from the route table: each state-changing page or portal route refuses a
    signed-in caller who does not send the session's CSRF token."""
    params = matrix_world["params"]
    staff = next(c for c in matrix_world["callers"] if c.name == "admin session")
    contact = next(c for c in matrix_world["callers"] if c.name == "representative of alpha")
    checked = 0
    for method, path, rule, _ in route_table(app):
        if rule is None or rule.kind not in ("page", "portal") or method == "GET":
            continue
        caller = staff if rule.kind == "page" else contact
        headers = {"Cookie": caller.headers["Cookie"]}
        for extra in ({}, {"X-CSRF-Token": "forged"}):
            res = await client.request(
                method,
                fill(path, params),
                headers={**headers, **extra},
                data={"csrf_token": "forged"} if extra else {},
                follow_redirects=False,
            )
            assert res.status_code == 403 and "csrf_failed" in res.text, (
                f"{method} {path}: {res.status_code}"
            )
        checked += 1
    assert checked >= 15
