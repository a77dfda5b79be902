"""The caller a request was authenticated as, whatever the credential."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Principal:
    # What an owned row stores: a local user's id, an OIDC token's `sub`, an API key's owner.
    subject: str
    scopes: frozenset[str]
    is_admin: bool
    # When its token expires (a WebSocket closes then); None for credentials that do not. Not
    # compared: two tokens of one caller make the same Principal.
    expires_at: datetime | None = field(default=None, compare=False)


class InvalidCredentials(Exception):
    """A token or key that was presented and refused: expired, forged, revoked or unknown."""
