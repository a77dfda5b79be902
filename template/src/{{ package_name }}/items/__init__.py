"""Items: the example resource."""

from ..registry import Resource
from . import jobs
from . import models as models  # the tables, for Alembic
from .router import router

resource = Resource(
    name="items", router=router, jobs=(jobs.process_item,), unfinished=(jobs.UNPROCESSED,)
)
