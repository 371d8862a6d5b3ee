"""Settings of a witness (LT_WITNESS_*): its name, key, state file and the logs it follows."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth import AuthSettings
from shared.settings import HttpSettings, TelemetrySettings
from shared.transparency.note import ED25519, parse_vkey, valid_key_name


class WitnessHttp(HttpSettings):
    """Where the witness listens (LT_WITNESS_HOST, LT_WITNESS_PORT)."""

    model_config = SettingsConfigDict(env_prefix="LT_WITNESS_", extra="ignore")

    port: int = Field(8011, description="Bind port of the witness.")


class WitnessSettings(BaseSettings):
    """One witness: its own identity, key and state, independent of the log it watches."""

    model_config = SettingsConfigDict(env_prefix="LT_WITNESS_", extra="ignore")

    name: str = Field(
        "lienthong.local/witness-1",
        description="Key name of the witness (a schema-less URL), in its cosignature lines.",
    )
    key_path: Path = Field(
        Path(".local/witness-1/key.pem"),
        description="PKCS#8 PEM Ed25519 private key; generated here on first start if absent.",
    )
    state_path: Path = Field(
        Path(".local/witness-1/state.json"),
        description="The latest checkpoint cosigned per log, and refused ones (evidence).",
    )
    log_vkeys: list[str] = Field(
        default_factory=list,
        description="Vkeys of the logs this witness follows (JSON list); origin = key name.",
    )
    time_origins: list[str] = Field(
        default_factory=lambda: ["lienthong-audit-log"],
        description="Logs whose checkpoints carry the platform's `time` line (the audit "
        "log's LT_AUDIT_LOG_ID; JSON list): one of theirs is cosigned only with a time in "
        "the log's form, not before the last one cosigned, and at most "
        "max_time_ahead_seconds past the witness's clock. []: no log's time is checked.",
    )
    max_time_ahead_seconds: float = Field(
        300,
        ge=0,
        description="How far past the witness's clock a checkpoint's time may be "
        "(the clocks' drift; the time_origins only).",
    )
    require_token: bool = Field(
        True,
        description="Admit checkpoints only with a bearer token holding the role "
        "witness-submitter (the audit service's client); false: anyone may submit, as the "
        "tlog-witness protocol allows (only log-signed, consistent checkpoints are cosigned).",
    )
    http: WitnessHttp = Field(default_factory=WitnessHttp, description="HTTP API.")
    auth: AuthSettings = Field(
        default_factory=AuthSettings, description="Which bearer tokens it accepts (LT_AUTH_*)."
    )
    telemetry: TelemetrySettings = Field(
        default_factory=TelemetrySettings, description="Logs and traces."
    )

    @field_validator("name")
    @classmethod
    def _a_key_name(cls, value: str) -> str:
        if not valid_key_name(value):
            raise ValueError("a key name has no spaces and no '+'")
        return value

    @field_validator("log_vkeys")
    @classmethod
    def _log_keys(cls, value: list[str]) -> list[str]:
        for vkey in value:
            if parse_vkey(vkey).signature_type != ED25519:
                raise ValueError(f"a log vkey has signature type 0x01: {vkey}")
        return value
