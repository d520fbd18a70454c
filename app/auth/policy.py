"""Who may do what: one table used by the API, the pages and the CLI alike.

Staff and contacts are both `Principal`s. A permission is a scope name `<resource>:<read|write>`.
A staff role grants a set of them; an API token carries scopes too, and what it may do is the intersection of its
scopes and its owner's role, so a token can never do more than the person who made it.

Contacts (community representatives and members) have no staff role and so no
permission at all here: they reach tickets only through the portal, where
`app/auth/visibility.py` decides which ones they see.
"""

from dataclasses import dataclass, field

from app.errors import Forbidden, Unauthorized
from app.user.models import StaffRole

RESOURCES = (
    "tickets",
    "communities",
    "users",
    "sla",
    "schedules",
    "incidents",
    "alerts",
    "webhooks",
    "reports",
)
SCOPES: tuple[str, ...] = tuple(f"{r}:{a}" for r in RESOURCES for a in ("read", "write"))

_READ_ALL = frozenset(s for s in SCOPES if s.endswith(":read"))

ROLE_PERMISSIONS: dict[StaffRole, frozenset[str]] = {
    StaffRole.admin: frozenset(SCOPES),
    # Triagers run the front line: tickets, the rota, incidents and incoming alerts.
    StaffRole.triager: _READ_ALL
    | {"tickets:write", "schedules:write", "incidents:write", "alerts:write"},
    StaffRole.agent: _READ_ALL | {"tickets:write", "incidents:write"},
    StaffRole.viewer: _READ_ALL,
}


@dataclass(frozen=True)
class Principal:
    user_id: int
    name: str
    email: str
    staff_role: StaffRole | None
    # None for a browser session: the role alone decides. A set for an API token.
    scopes: frozenset[str] | None = None
    via: str = "session"
    csrf_token: str | None = field(default=None, repr=False)
    # Community contacts only (staff_role None, signed in to the portal): community id → role.
    memberships: dict[int, str] = field(default_factory=dict, compare=False)

    @property
    def is_staff(self) -> bool:
        return self.staff_role is not None

    @property
    def is_contact(self) -> bool:
        return self.staff_role is None

    @property
    def permissions(self) -> frozenset[str]:
        granted = (
            ROLE_PERMISSIONS.get(self.staff_role, frozenset()) if self.staff_role else frozenset()
        )
        return granted if self.scopes is None else granted & self.scopes

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def require(principal: Principal | None, permission: str) -> Principal:
    """The one gate every protected action passes through."""
    if principal is None:
        raise Unauthorized("sign in or send a bearer token")
    if not principal.can(permission):
        role_grants = ROLE_PERMISSIONS.get(principal.staff_role, ())  # type: ignore[arg-type]
        if principal.scopes is not None and permission in role_grants:
            raise Forbidden(f"this token lacks the {permission} scope")
        raise Forbidden(f"your role does not allow {permission}")
    return principal


def parse_scopes(raw: str | list[str] | None) -> frozenset[str]:
    """Validate scope names; an unknown scope is an error, not silently dropped."""
    if raw is None:
        return frozenset()
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw)
    unknown = sorted(set(items) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}; known: {' '.join(SCOPES)}")
    return frozenset(items)
