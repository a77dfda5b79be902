"""What a resource brings to the app. Its models come with its package, for Alembic."""

from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import APIRouter

from .jobs import Job


@dataclass(frozen=True)
class Resource:
    name: str
    router: APIRouter
    jobs: tuple[Job, ...] = ()


def jobs_of(resources: Iterable[Resource]) -> tuple[Job, ...]:
    return tuple(job for resource in resources for job in resource.jobs)
