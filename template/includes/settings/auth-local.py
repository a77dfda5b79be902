
    # Local accounts (auth/). Access tokens are JWTs that live access_token_minutes and are
    # checked without the database; refresh tokens are rotated on every use and expire after
    # refresh_token_days.
    access_token_minutes: int = Field(default=15, ge=1, le=60)
    refresh_token_days: int = Field(default=30, ge=1)
    # POST /auth/register lets anyone create an account; off, accounts come from `make admin`.
    open_registration: bool = False
