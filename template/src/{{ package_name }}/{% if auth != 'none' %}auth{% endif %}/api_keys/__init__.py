"""API keys: long-lived credentials for scripts and services, sent as `X-API-Key`.

The routes (`router.py`, under /auth/api-keys) create, list and revoke the caller's own keys;
`principal_for_key` turns a presented key into its owner's Principal.
"""

from . import models as models  # the table, for Alembic
from .service import principal_for_key

__all__ = ["principal_for_key"]
