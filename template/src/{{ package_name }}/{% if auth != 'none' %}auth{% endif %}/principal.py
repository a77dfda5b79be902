"""The caller a request was authenticated as, whatever the credential."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    # What an owned row stores: a local user's id, an OIDC token's `sub`, an API key's owner.
    subject: str
    scopes: frozenset[str]
    is_admin: bool


class InvalidCredentials(Exception):
    """A token or key that was presented and refused: expired, forged, revoked or unknown."""
