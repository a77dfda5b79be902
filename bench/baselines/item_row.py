"""The generated app's item, as the raw baselines read it: the same row, the same JSON shape."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

QUERY = "SELECT id, name, description, status, created_at, updated_at FROM items WHERE id = $1"


class ItemRead(BaseModel):
    id: int
    name: str
    description: str | None
    status: Literal["pending", "processed"]
    created_at: datetime
    updated_at: datetime
