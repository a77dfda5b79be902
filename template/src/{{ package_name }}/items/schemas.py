from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ..validation import StoredText
from .models import ItemStatus

Name = Annotated[StoredText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[StoredText, Field(max_length=10_000)]


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description | None = None


class ItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    status: ItemStatus | None = None

    @field_validator("name", "status")
    @classmethod
    def not_null(cls, value: object) -> object:
        # Omit a field to keep it; only the description can be cleared with null.
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    status: ItemStatus
    created_at: datetime
    updated_at: datetime

    @field_validator("created_at", "updated_at")
    @classmethod
    def as_utc(cls, value: datetime) -> datetime:
        # Some backends hand back naive datetimes; they were stored in UTC.
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class ItemPage(BaseModel):
    items: list[ItemRead]
    total: int
    limit: int
    offset: int
