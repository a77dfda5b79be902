from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status

from ...db import ConnectionsDep
from ...errors import BODY_ERRORS, UNAVAILABLE, Responses
from ..dependencies import AUTH_ERRORS, FORBIDDEN, CallerDep
from . import service
from .schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead

router = APIRouter(prefix="/auth/api-keys", tags=["api keys"], responses=AUTH_ERRORS | UNAVAILABLE)

NOT_FOUND: Responses = {404: {"description": "None of the caller's keys has that id"}}
# Ids beyond the column's range would reach the database as an error, not a 404.
ApiKeyId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=BODY_ERRORS | FORBIDDEN)
async def create_api_key(
    data: ApiKeyCreate, caller: CallerDep, connections: ConnectionsDep, request: Request
) -> ApiKeyCreated:
    """A new key for the caller, with at most the caller's scopes. The response holds the key:
    it is shown this once and cannot be read again."""
    if "Authorization" not in request.headers:
        # A leaked key must not mint others that outlive its revocation.
        raise HTTPException(status.HTTP_403_FORBIDDEN, "API keys are created by a signed-in user")
    # Admins too: a key never acts as an admin, so an admin's key may not claim what its
    # creator's scopes do not grant either.
    if not caller.scopes.issuperset(data.scopes):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "A key cannot have scopes its creator lacks")
    row, key = await service.create_key(connections, caller, data)
    return ApiKeyCreated.model_validate({**row, "key": key})


@router.get("")
async def list_api_keys(caller: CallerDep, connections: ConnectionsDep) -> list[ApiKeyRead]:
    """The caller's keys, revoked and expired ones included; never the keys themselves."""
    rows = await service.list_keys(connections, caller.subject)
    return [ApiKeyRead.model_validate(row) for row in rows]


# A plain Response: a 204 has no body, so no content type either.
@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND,
)
async def revoke_api_key(key_id: ApiKeyId, caller: CallerDep, connections: ConnectionsDep) -> None:
    """Revoke one of the caller's keys (an admin: anyone's); it is refused from then on."""
    if not await service.revoke_key(connections, key_id, caller):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"API key {key_id} not found")
