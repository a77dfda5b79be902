"""What a resource brings to the app. Its models come with its package, for Alembic."""

from dataclasses import dataclass

from fastapi import APIRouter

from .jobs import Job


@dataclass(frozen=True)
class Resource:
    name: str
    router: APIRouter
    jobs: tuple[Job, ...] = ()
