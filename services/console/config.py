"""Settings of the console service, composed from the shared settings classes."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth.identities import client_secret, dev_client_secret
from shared.healthcheck import service_port
from shared.runtime import CommonSettings
from shared.settings import HttpSettings

WATCHED = ("intake", "routing", "notification", "audit")


class ConsoleHttp(HttpSettings):
    """Where the console listens (LT_CONSOLE_HOST, LT_CONSOLE_PORT)."""

    model_config = SettingsConfigDict(env_prefix="LT_CONSOLE_", extra="ignore")

    port: int = Field(8005, description="Bind port of the console.")


def _local(service: str) -> str:
    return f"http://127.0.0.1:{service_port(service)}"


class ConsoleOptions(BaseSettings):
    """What the console reads and may do (LT_CONSOLE_*)."""

    model_config = SettingsConfigDict(env_prefix="LT_CONSOLE_", extra="ignore")

    intake_url: str = Field(default_factory=lambda: _local("intake"), description="intake API.")
    routing_url: str = Field(default_factory=lambda: _local("routing"), description="routing API.")
    notification_url: str = Field(
        default_factory=lambda: _local("notification"), description="notification API."
    )
    audit_url: str = Field(default_factory=lambda: _local("audit"), description="audit API.")
    client_id: str = Field(
        "console",
        description="The console's confidential client in the realm (client credentials).",
    )
    client_secret: SecretStr = Field(
        SecretStr(dev_client_secret("console")),
        description="Its secret (Keycloak's LT_KEYCLOAK_SECRET_CONSOLE). DEV DEFAULT: set it.",
    )
    jaeger_url: str | None = Field(
        None, description="Jaeger UI base URL: dossiers link to their trace there; off if unset."
    )
    actions_enabled: bool = Field(
        True,
        description="Allow replays and redeliveries from the console (recorded as the "
        "signed-in operator); false keeps the console read-only.",
    )
    finish_actions_interval_s: float = Field(
        60.0,
        gt=0,
        description="How often actions recorded but never carried out (the console stopped "
        "between the two) are finished; also at start.",
    )
    refresh_seconds: float = Field(5.0, gt=0, description="Health refresh interval (SSE).")
    timeout_s: float = Field(5.0, gt=0, description="Timeout of one call to a service.")

    def url_of(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")


class SignInOptions(BaseSettings):
    """How operators sign in (LT_CONSOLE_SIGNIN_*): the realm's client ``console-web``."""

    model_config = SettingsConfigDict(env_prefix="LT_CONSOLE_SIGNIN_", extra="ignore")

    client_id: str = Field(
        "console-web", description="Confidential client of the sign-in (code flow + PKCE)."
    )
    client_secret: SecretStr = Field(
        default_factory=lambda: SecretStr(client_secret("console-web")),
        description="Its secret; default: LT_KEYCLOAK_SECRET_CONSOLE_WEB, else the development "
        "one (set it in a deployment).",
    )
    public_url: str | None = Field(
        None,
        description="The console's URL as browsers reach it (https in a deployment), for the "
        "redirect back from Keycloak; default: the URL of the request.",
    )
    refresh_margin_s: float = Field(
        60.0, ge=0, description="Refresh an access token this long before it expires."
    )


class ConsoleSettings(CommonSettings):
    """Everything the console reads from the environment."""

    http: ConsoleHttp = Field(default_factory=ConsoleHttp, description="HTTP.")
    console: ConsoleOptions = Field(default_factory=ConsoleOptions, description="Console.")
    signin: SignInOptions = Field(default_factory=SignInOptions, description="Sign-in.")
