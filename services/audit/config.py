"""Settings of the audit service, composed from the shared settings classes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from audit.keys import parse_public_key
from shared.runtime import CommonSettings
from shared.settings import HttpSettings


class AuditHttp(HttpSettings):
    """Where the audit API listens (LT_AUDIT_HOST, LT_AUDIT_PORT)."""

    model_config = SettingsConfigDict(env_prefix="LT_AUDIT_", extra="ignore")

    port: int = Field(8004, description="Bind port of the audit API.")


class RetiredKey(BaseModel):
    """A public key that signed checkpoints in the past and must stay verifiable."""

    public_key: str = Field(
        description="Ed25519 public key: base64 of the raw 32 bytes, or a PEM block."
    )
    valid_from: datetime | None = Field(None, description="When it started signing, if known.")
    valid_until: datetime | None = Field(None, description="When it stopped signing, if known.")

    @field_validator("public_key")
    @classmethod
    def _an_ed25519_key(cls, value: str) -> str:
        parse_public_key(value)  # refuse a bad key at start-up, not at the first request
        return value


class AuditLogSettings(BaseSettings):
    """The log itself: identity, signing key and checkpoint cadence (LT_AUDIT_*)."""

    model_config = SettingsConfigDict(env_prefix="LT_AUDIT_", extra="ignore")

    log_id: str = Field(
        "lienthong-audit-log",
        description="The log's name, part of every signed checkpoint; never change it.",
    )
    signing_key_path: Path = Field(
        Path(".local/audit/signing-key.pem"),
        description="PKCS#8 PEM Ed25519 private key; generated here on first start if absent.",
    )
    retired_keys: list[RetiredKey] = Field(
        default_factory=list,
        description="Public keys of earlier signing keys (JSON list), served and verifiable.",
    )
    checkpoint_every: int = Field(
        100, ge=1, description="Sign a checkpoint once this many entries are unsigned."
    )
    checkpoint_seconds: float = Field(
        30.0, gt=0, description="Sign a checkpoint once the oldest unsigned entry is this old."
    )
    checkpoint_poll_seconds: float = Field(
        0.5, gt=0, description="How often the checkpoint task looks at the log."
    )


class AuditSettings(CommonSettings):
    """Everything the audit service reads from the environment."""

    http: AuditHttp = Field(default_factory=AuditHttp, description="HTTP API.")
    audit: AuditLogSettings = Field(
        default_factory=AuditLogSettings, description="Log, signing key and checkpoints."
    )
