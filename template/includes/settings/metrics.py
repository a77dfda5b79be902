
    # GET /metrics, in Prometheus' format. With METRICS_PORT set it moves to that port, on
    # HOST; a worker serves its own metrics there, and none without it.
    metrics_enabled: bool = True
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
