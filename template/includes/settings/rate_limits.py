
    # Requests a minute per caller (a user, whom an API key counts as, or else a client
    # address) on every route but health and docs, unless the route sets its own
    # (rate_limits.rate_limit).
    rate_limit_per_minute: int = Field(default=600, ge=1)
{% if auth_profile.users %}
    # Login attempts a minute per account (forgotten when one succeeds), and logins and
    # refreshes per client address (many users may share one behind a NAT): the next is
    # answered 429 until the oldest is a minute old.
    login_limit_per_minute: int = Field(default=5, ge=1)
    login_address_limit_per_minute: int = Field(default=30, ge=1)
{% endif %}
    # The proxies whose X-Forwarded-For names the client (addresses or networks); a request
    # from any other peer is that peer's. Empty: nobody's, the client is the socket's peer.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = []

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [proxy.strip() for proxy in value.split(",") if proxy.strip()]
        return value
