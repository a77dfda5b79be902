
    # GET /metrics, in Prometheus' format. With METRICS_PORT set it moves to that port, on
    # HOST; a worker serves its own metrics there, and none without it. Production never serves
    # them on the app's port, which is the public one: there they need METRICS_PORT.
    metrics_enabled: bool = True
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
