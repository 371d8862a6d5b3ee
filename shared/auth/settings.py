"""Settings of bearer-token validation (``LT_AUTH_*``), shared by every service."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_ISSUER = "http://127.0.0.1:8180/realms/lienthong"


class AuthSettings(BaseSettings):
    """Where tokens come from and what they must say to be accepted."""

    model_config = SettingsConfigDict(env_prefix="LT_AUTH_", extra="ignore")

    issuer: str = Field(
        LOCAL_ISSUER,
        description="Issuer URL of the realm: the `iss` every access token must carry.",
    )
    jwks_url: str | None = Field(
        None,
        description="Where the realm's signing keys are fetched (default: the issuer's "
        "/protocol/openid-connect/certs; set it when the services reach Keycloak by "
        "another address than the public issuer).",
    )
    token_endpoint: str | None = Field(
        None,
        description="Where the services themselves fetch tokens (client credentials, the "
        "console's code exchange and refresh); default: the issuer's "
        "/protocol/openid-connect/token. Set it like jwks_url when the services reach "
        "Keycloak by another address than the public issuer.",
    )
    audience: str = Field(
        "lienthong", description="Audience (`aud`) every access token must include."
    )
    algorithms: list[str] = Field(
        ["RS256", "ES256", "PS256"], description="Signature algorithms accepted."
    )
    leeway_s: float = Field(
        30.0, ge=0, le=300, description="Clock skew tolerated on exp, nbf and iat, in seconds."
    )
    jwks_refresh_min_s: float = Field(
        10.0,
        ge=0,
        description="Shortest interval between two key-set fetches triggered by an "
        "unknown key id (a flood of forged key ids cannot hammer Keycloak), and after a "
        "failed fetch before the next is tried.",
    )
    jwks_max_age_s: float = Field(
        3600.0, gt=0, description="A cached key set older than this is fetched again."
    )
    jwks_stale_if_error_s: float = Field(
        86400.0,
        ge=0,
        description="While the key set cannot be fetched, cached keys keep verifying tokens "
        "with a key id they know for this long past jwks_max_age_s (stale-if-error); "
        "0: not at all (503 once they are jwks_max_age_s old).",
    )
    jwks_timeout_s: float = Field(5.0, gt=0, description="Timeout of one key-set fetch.")

    @property
    def keys_url(self) -> str:
        return self.jwks_url or f"{self.issuer.rstrip('/')}/protocol/openid-connect/certs"

    @property
    def token_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/protocol/openid-connect/token"

    @property
    def backchannel_token_url(self) -> str:
        """The token endpoint as the services reach it (``token_url`` is the public one)."""
        return self.token_endpoint or self.token_url

    @property
    def end_session_url(self) -> str:
        """Where a browser is sent to end its single sign-on session (public)."""
        return f"{self.issuer.rstrip('/')}/protocol/openid-connect/logout"

    @property
    def authorization_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/protocol/openid-connect/auth"
