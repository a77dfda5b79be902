"""Baseline: bare FastAPI. No middleware, no logging configuration, served without access log.

The endpoint declares its return type, as the generated /health/live does, so the ratio
measures the generated app's stack (middleware, logging, access log), not serialisation.

    uvicorn hello:app --loop uvloop --http httptools --no-access-log
"""

from typing import Literal

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Hello(BaseModel):
    status: Literal["ok"] = "ok"


@app.get("/")
async def hello() -> Hello:
    return Hello()
