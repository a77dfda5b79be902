
    # OpenID Connect (auth/verifier.py). The provider whose tokens are accepted: its issuer URL
    # exactly as tokens' `iss` spells it (its keys are found through
    # <issuer>/.well-known/openid-configuration), and the `aud` a token must carry, this API's
    # identifier at the provider. Both are required in production; unset, no token is valid.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    # The signing algorithms accepted: asymmetric ones only, so never `none`, and never HS256,
    # which would let anyone holding the provider's public key sign tokens.
    oidc_algorithms: Annotated[list[str], NoDecode] = ["RS256"]
    # The claim holding a caller's scopes, dotted into nested objects: a space-separated string
    # (`scope`) or a list (Keycloak's `realm_access.roles`). A caller with oidc_admin_role among
    # them is an admin; unset, none is.
    oidc_scopes_claim: str = "scope"
    oidc_admin_role: str | None = None
    # Seconds the provider's keys are kept. A token naming a key the app lacks (the provider
    # rotated its keys) fetches them again, but not sooner than the floor after the last fetch.
    oidc_jwks_ttl_seconds: float = Field(default=3600, gt=0)
    oidc_jwks_refetch_floor_seconds: float = Field(default=30, ge=0)
    # Clock skew allowed between the provider and this host on `exp`, `nbf` and `iat`.
    oidc_leeway_seconds: float = Field(default=30, ge=0, le=300)

    @field_validator("oidc_algorithms", mode="before")
    @classmethod
    def split_algorithms(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("oidc_algorithms")
    @classmethod
    def pin_asymmetric_algorithms(cls, value: list[str]) -> list[str]:
        # RSA, RSA-PSS, then elliptic curves: each verified with the provider's public key.
        asymmetric = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
        asymmetric += ["ES256", "ES384", "ES512", "EdDSA"]
        if not value or not set(value) <= set(asymmetric):
            raise ValueError(f"OIDC_ALGORITHMS must be some of {', '.join(asymmetric)}")
        return value

    @field_validator("oidc_issuer")
    @classmethod
    def issuer_is_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("OIDC_ISSUER must be the provider's http(s) URL")
        return value

    @model_validator(mode="after")
    def require_provider_in_production(self) -> "Settings":
        if self.environment == "production":
            if self.oidc_issuer is None or self.oidc_audience is None:
                raise ValueError("OIDC_ISSUER and OIDC_AUDIENCE are required in production")
            if not self.oidc_issuer.startswith("https://"):
                raise ValueError("OIDC_ISSUER must be an https:// URL in production")
        return self
