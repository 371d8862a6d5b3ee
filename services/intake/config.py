"""Settings of the intake service, composed from the shared settings classes."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.runtime import CommonSettings
from shared.settings import HttpSettings, ReferenceDataSettings

# Development defaults only: start-up logs a warning when either is in use.
DEV_IDENTITY_HASH_KEY = "dev-only-identity-hash-key-change-me"
DEV_RECEIPT_KEY = "dev-only-receipt-key-change-me"


class IntakeHttp(HttpSettings):
    """Where the intake API listens (LT_INTAKE_HOST, LT_INTAKE_PORT)."""

    model_config = SettingsConfigDict(env_prefix="LT_INTAKE_", extra="ignore")

    port: int = Field(8001, description="Bind port of the intake API.")


class IntakeOptions(BaseSettings):
    """Intake's own knobs and secrets (LT_INTAKE_*)."""

    model_config = SettingsConfigDict(env_prefix="LT_INTAKE_", extra="ignore")

    identity_hash_key: SecretStr = Field(
        SecretStr(DEV_IDENTITY_HASH_KEY),
        description="Key of the HMAC-SHA256 that replaces identity numbers in events and in "
        "the store. Rotating it breaks matching with earlier hashes. DEV DEFAULT: set it.",
    )
    receipt_key: SecretStr = Field(
        SecretStr(DEV_RECEIPT_KEY),
        description="Key that seals the look-up token kept for idempotent replays of a "
        "receipt (AES-GCM, per Idempotency-Key). DEV DEFAULT: set it.",
    )
    lookup_token_bytes: int = Field(
        24, ge=16, le=64, description="Random bytes in an applicant's look-up token."
    )
    idempotency_ttl_hours: int = Field(
        24, ge=1, le=24 * 30, description="How long an Idempotency-Key is remembered."
    )
    personal_data_retention_days: int = Field(
        1825,
        ge=1,
        le=36500,
        description="Days after a dossier closed (DENIED, WITHDRAWN, STOPPED, DONE) until "
        "its personal fields are erased from intake's store; running dossiers are kept.",
    )
    erasure_poll_seconds: float = Field(
        3600.0, gt=0, description="How often the erasure task looks for dossiers past retention."
    )


class IntakeSettings(CommonSettings, ReferenceDataSettings):
    """Everything the intake service reads from the environment (the catalogue and the
    calendar are the same settings routing reads)."""

    http: IntakeHttp = Field(default_factory=IntakeHttp, description="HTTP API.")
    intake: IntakeOptions = Field(default_factory=IntakeOptions, description="Intake options.")
