"""Settings of the routing service, composed from the shared settings classes."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth.identities import dev_client_secret
from shared.runtime import CommonSettings
from shared.settings import HttpSettings, ReferenceDataSettings


class RoutingHttp(HttpSettings):
    """Where the routing API listens (LT_ROUTING_HOST, LT_ROUTING_PORT)."""

    model_config = SettingsConfigDict(env_prefix="LT_ROUTING_", extra="ignore")

    port: int = Field(8002, description="Bind port of the routing API.")


class RoutingOptions(BaseSettings):
    """Deadline scheduler and read-view settings (LT_ROUTING_*)."""

    model_config = SettingsConfigDict(env_prefix="LT_ROUTING_", extra="ignore")

    overdue_scan_seconds: float = Field(
        60.0, gt=0, description="Interval between scans for overdue steps and dossiers."
    )
    overdue_scan_batch: int = Field(
        500, ge=1, description="Dossiers claimed per scan (the rest wait for the next scan)."
    )
    due_soon_working_days: int = Field(
        1,
        ge=0,
        description="Remind the unit once when its step is due within this many working days "
        "(0: no reminders).",
    )
    nearly_late_days: int = Field(
        2, ge=0, description="A step or dossier due within this many working days is nearly late."
    )
    max_page_size: int = Field(200, ge=1, description="Largest page of the inbox view.")
    intake_url: str | None = Field(
        None,
        description="intake's API, asked for the applicant's name when a form addressed to "
        "the applicant is printed (routing.applicants); unset: the name line is left blank.",
    )
    client_id: str = Field(
        "routing", description="routing's confidential client in the realm, to call intake."
    )
    client_secret: SecretStr = Field(
        SecretStr(dev_client_secret("routing")),
        description="Its secret (Keycloak's LT_KEYCLOAK_SECRET_ROUTING). DEV DEFAULT: set it.",
    )
    recent_dossiers: int = Field(
        1000,
        ge=0,
        description="Dossiers whose last write an HTTP action keeps in memory, so that the "
        "next action on one skips its read (its write still checks the version); 0: none.",
    )
    intake_timeout_s: float = Field(
        3.0, gt=0, description="Timeout of the applicant-name call (the form waits for it)."
    )


class RoutingSettings(CommonSettings, ReferenceDataSettings):
    """Everything the routing service reads from the environment (the catalogue and the
    calendar are the same settings intake reads)."""

    http: RoutingHttp = Field(default_factory=RoutingHttp, description="HTTP API.")
    routing: RoutingOptions = Field(
        default_factory=RoutingOptions, description="Deadlines and read views."
    )
