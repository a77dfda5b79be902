
    # GET /metrics, in Prometheus' format. With METRICS_PORT set it moves to that port, on
    # HOST; a worker serves its own metrics there, and none without it. Production serves them
    # on 9100 unless told otherwise: the app's own port is the public one.
    metrics_enabled: bool = True
    metrics_port: int | None = Field(
        default_factory=lambda data: 9100 if data["environment"] == "production" else None,
        ge=1,
        le=65535,
    )
