"""Settings of the audit service, composed from the shared settings classes."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime import CommonSettings
from shared.settings import HttpSettings


class AuditHttp(HttpSettings):
    """Where the audit API listens (LT_AUDIT_HOST, LT_AUDIT_PORT)."""

    model_config = SettingsConfigDict(env_prefix="LT_AUDIT_", extra="ignore")

    port: int = Field(8004, description="Bind port of the audit API.")


class AuditSettings(CommonSettings):
    """Everything the audit service reads from the environment."""

    http: AuditHttp = Field(default_factory=AuditHttp, description="HTTP API.")
