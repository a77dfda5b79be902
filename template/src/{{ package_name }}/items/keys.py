"""Where items live on shared services: their cache keys."""

import hashlib
import json

from .schemas import ItemRead

# Changes whenever ItemRead's shape changes, so cached JSON of an older shape is never served.
ITEM_SCHEMA_VERSION = hashlib.sha256(
    json.dumps(ItemRead.model_json_schema(), sort_keys=True).encode()
).hexdigest()[:12]


def item_cache_key(item_id: int) -> str:
    return f"items:{ITEM_SCHEMA_VERSION}:{item_id}"
