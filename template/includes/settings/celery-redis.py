    # Where jobs are published: empty means the same Redis as REDIS_URL.
    celery_broker_url: str = Field(default_factory=lambda data: data["redis_url"])
    # A job its worker did not finish (the worker died) is delivered again after this long;
    # longer than any job plus its retry delay, or a slow job runs twice.
    celery_visibility_timeout_seconds: float = Field(default=3600, gt=0)
