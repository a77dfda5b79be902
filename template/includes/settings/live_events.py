
    # Event WebSockets open at once, in all and from one client address (behind a proxy, the
    # address it forwards when uvicorn trusts it: FORWARDED_ALLOW_IPS). At most half of
    # limit_concurrency, so that HTTP requests always keep room.
    events_max_connections: int = Field(default=200, ge=1)
    events_max_connections_per_client: int = Field(default=20, ge=1)
    # Each event WebSocket is pinged this often, and closed when its pong is this late.
    events_ping_seconds: float = Field(default=20, gt=0)
    # Live events queued for one WebSocket client: one that falls this far behind is closed
    # (1013) instead of holding back the writers and the other clients.
    events_queue_size: int = Field(default=100, ge=1)

    @model_validator(mode="after")
    def leave_room_for_http(self) -> "Settings":
        if self.events_max_connections > self.limit_concurrency // 2:
            raise ValueError(
                "EVENTS_MAX_CONNECTIONS must be at most half of LIMIT_CONCURRENCY, "
                "so that HTTP requests keep room"
            )
        return self
