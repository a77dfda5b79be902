"""Making, listing, revoking and checking API keys.

A key is `ak_<prefix>_<secret>`: a random 12-hex-digit prefix, stored as is and indexed, and a
256-bit random secret. The table holds the SHA-256 of the whole key, never the key. A fast hash
is right here, where a password needs a slow one (argon2): a slow hash only helps against
guessing a secret of low entropy, and nobody guesses 256 random bits from their hash, however
fast it is. A slow one would instead cost tens of milliseconds of CPU on every request.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import RowMapping, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import HTTPConnection

from ...db import Connections, read
from ..principal import Principal
from .models import ApiKey
from .schemas import ApiKeyCreate

KEY_FORMAT = re.compile(r"ak_(?P<prefix>[0-9a-f]{12})_[A-Za-z0-9_-]{43}")
# last_used_at is written at most this often per key: a busy key costs a write a minute, not
# one a request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

COLUMNS = tuple(column for column in ApiKey.__table__.columns if column.name != "key_hash")
# Built once, values bound at execution: a key is checked on every request that carries one.
FIND = select(
    ApiKey.id,
    ApiKey.key_hash,
    ApiKey.owner,
    ApiKey.scopes,
    or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < bindparam("stale_before")).label(
        "stale"
    ),
).where(
    ApiKey.prefix == bindparam("prefix"),
    ApiKey.revoked_at.is_(None),
    ApiKey.expires_at > bindparam("now"),
)
TOUCH = (
    update(ApiKey)
    .where(
        ApiKey.id == bindparam("key_id"),
        # Another request, or replica, may have written it meanwhile.
        or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < bindparam("stale_before")),
    )
    .values(last_used_at=bindparam("now"))
)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def create_key(
    connections: Connections, caller: Principal, data: ApiKeyCreate
) -> tuple[RowMapping, str]:
    """The new key's row and the key itself, which is not stored and never shown again."""
    prefix = secrets.token_hex(6)
    key = f"ak_{prefix}_{secrets.token_urlsafe(32)}"
    now = _utcnow()
    statement = (
        insert(ApiKey)
        .values(
            prefix=prefix,
            key_hash=hash_key(key),
            name=data.name,
            owner=caller.subject,
            scopes=" ".join(sorted(set(data.scopes))),
            created_at=now,
            expires_at=now + timedelta(days=data.expires_in_days),
        )
        .returning(*COLUMNS)
    )
    async with connections() as connection:
        row = (await connection.execute(statement)).mappings().one()
    return row, key


async def list_keys(connections: Connections, owner: str) -> Sequence[RowMapping]:
    query = select(*COLUMNS).where(ApiKey.owner == owner).order_by(ApiKey.id)

    async def rows(connection: AsyncConnection) -> Sequence[RowMapping]:
        return (await connection.execute(query)).mappings().all()

    return await read(connections, rows)


async def revoke_key(connections: Connections, key_id: int, caller: Principal) -> bool:
    """Revoke a key of the caller's (any key, for an admin); whether there was one. Revoking a
    revoked key changes nothing: its revocation time stays the first."""
    found = select(ApiKey.id).where(ApiKey.id == key_id)
    if not caller.is_admin:
        found = found.where(ApiKey.owner == caller.subject)
    revoke = (
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=_utcnow())
    )
    async with connections() as connection:
        if await connection.scalar(found) is None:
            return False
        await connection.execute(revoke)
    return True


async def principal_for_key(connection: HTTPConnection, key: str) -> Principal | None:
    """The owner of `key` as a Principal with the key's scopes; None for a key that is
    malformed, unknown, revoked or expired.

    A key never acts as an admin, whoever made it: admin work needs a signed-in admin.
    """
    match = KEY_FORMAT.fullmatch(key)
    if match is None:
        return None
    connections: Connections = connection.state.connections
    now = _utcnow()
    times = {"now": now, "stale_before": now - LAST_USED_RESOLUTION}

    async def find(connection: AsyncConnection) -> RowMapping | None:
        found = await connection.execute(FIND, {"prefix": match["prefix"], **times})
        return found.mappings().first()

    row = await read(connections, find)
    # Compared in constant time: the prefix is public, the hash must not leak by timing.
    if row is None or not hmac.compare_digest(row["key_hash"], hash_key(key)):
        return None
    if row["stale"]:
        async with connections() as writer:
            await writer.execute(TOUCH, {"key_id": row["id"], **times})
    return Principal(subject=row["owner"], scopes=frozenset(row["scopes"].split()), is_admin=False)
