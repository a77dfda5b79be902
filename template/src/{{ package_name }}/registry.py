"""What a resource brings to the app. Its models come with its package, for Alembic."""

from dataclasses import dataclass

from fastapi import APIRouter

from .jobs import Job, Unfinished


@dataclass(frozen=True)
class Resource:
    name: str
    router: APIRouter
    jobs: tuple[Job, ...] = ()
    # Where its jobs' work is recorded, so that a job lost on the way is run again.
    unfinished: tuple[Unfinished, ...] = ()
