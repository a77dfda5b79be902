from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from ...validation import storable

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(storable),
]
# OAuth2's scope-token: printable ASCII but space, `"` and `\`.
Scope = Annotated[str, StringConstraints(pattern=r"^[!#-\[\]-~]{1,60}$")]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    # At most the caller's own scopes.
    scopes: list[Scope] = Field(default=[], max_length=16)
    # Every key expires: a forgotten one stops working on its own.
    expires_in_days: int = Field(default=90, ge=1, le=365)


class ApiKeyRead(BaseModel):
    """A key as listed: never the key itself, which only its creation shows."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    # What the key starts with, to tell keys apart.
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @field_validator("scopes", mode="before")
    @classmethod
    def split_scopes(cls, value: object) -> object:
        return value.split() if isinstance(value, str) else value

    @field_validator("created_at", "expires_at", "last_used_at", "revoked_at")
    @classmethod
    def as_utc(cls, value: datetime | None) -> datetime | None:
        # Some backends hand back naive datetimes; they were stored in UTC.
        if value is None or value.tzinfo:
            return value
        return value.replace(tzinfo=UTC)


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key itself: shown in this response only, never again")
