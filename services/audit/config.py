"""Settings of the audit service, composed from the shared settings classes."""

from __future__ import annotations

from pathlib import Path

from pydantic import AwareDatetime, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from audit.key_wrapping import (
    DEV_KEY_WRAPPING_KEY,
    WrappingKeys,
    parse_previous_wrapping_keys,
    parse_wrapping_key,
)
from shared.auth.identities import client_secret
from shared.runtime import CommonSettings
from shared.settings import HttpSettings
from shared.transparency.note import COSIGNATURE_V1, parse_vkey


class AuditHttp(HttpSettings):
    """Where the audit API listens (LT_AUDIT_HOST, LT_AUDIT_PORT)."""

    model_config = SettingsConfigDict(env_prefix="LT_AUDIT_", extra="ignore")

    port: int = Field(8004, description="Bind port of the audit API.")


class WitnessEndpoint(BaseModel):
    """A witness the log asks to cosign its checkpoints (c2sp.org/tlog-witness)."""

    url: str = Field(description="Submission prefix, e.g. http://127.0.0.1:8011.")
    vkey: str = Field(description="The witness's cosignature (0x04) vkey, as it publishes it.")
    valid_from: AwareDatetime | None = Field(
        None, description="From when this key cosigns for the witness (trust file window)."
    )
    valid_until: AwareDatetime | None = Field(
        None, description="Until when (exclusive) this key cosigns for the witness."
    )

    @field_validator("vkey")
    @classmethod
    def _a_cosigner_vkey(cls, value: str) -> str:
        if parse_vkey(value).signature_type != COSIGNATURE_V1:
            raise ValueError("a witness vkey has signature type 0x04 (cosignature/v1)")
        return value


class AuditLogKey(BaseSettings):
    """The log's name and signing key (LT_AUDIT_*): all ``python -m audit.keys`` reads.

    Apart from the rest, so printing the log's vkey works before the witnesses' vkeys
    are known (the deployment's first step, when they are still empty and do not parse).
    """

    model_config = SettingsConfigDict(env_prefix="LT_AUDIT_", extra="ignore")

    log_id: str = Field(
        "lienthong-audit-log",
        description="The log's name, part of every signed checkpoint; never change it.",
    )
    signing_key_path: Path = Field(
        Path(".local/audit/signing-key.pem"),
        description="PKCS#8 PEM Ed25519 private key; generated here on first start if absent.",
    )


class AuditKeyWrapping(BaseSettings):
    """The key the dossier keys are stored wrapped under (LT_AUDIT_KEY_WRAPPING_KEY), and
    while it is rotated the previous ones (LT_AUDIT_PREVIOUS_KEY_WRAPPING_KEYS): all
    ``python -m audit.wrap_keys`` reads of the audit settings, besides the store's."""

    model_config = SettingsConfigDict(env_prefix="LT_AUDIT_", extra="ignore")

    key_wrapping_key: SecretStr = Field(
        SecretStr(DEV_KEY_WRAPPING_KEY),
        description="Key (64 hex digits) under which every dossier key is stored wrapped "
        "(AES-256-GCM), so a copy of the store reads no sealed field; never stored. Keys "
        "wrapped under another one do not open. DEV DEFAULT: set it.",
    )
    previous_key_wrapping_keys: SecretStr = Field(
        SecretStr(""),
        description="To rotate the wrapping key: the previous one(s), comma-separated, "
        "still accepted to unwrap keys wrapped under them (never to wrap) until "
        "python -m audit.wrap_keys --rotate re-wraps those under the current one.",
    )

    @field_validator("key_wrapping_key")
    @classmethod
    def _a_wrapping_key(cls, value: SecretStr) -> SecretStr:
        parse_wrapping_key(value.get_secret_value())  # the message says the form, not the value
        return value

    @field_validator("previous_key_wrapping_keys")
    @classmethod
    def _previous_wrapping_keys(cls, value: SecretStr) -> SecretStr:
        parse_previous_wrapping_keys(value.get_secret_value())  # the form, not the values
        return value

    def wrapping(self) -> WrappingKeys:
        """The wrapping of dossier keys: under the current key; unwrapped under it or a
        previous one."""
        return WrappingKeys.from_keys(
            parse_wrapping_key(self.key_wrapping_key.get_secret_value()),
            parse_previous_wrapping_keys(self.previous_key_wrapping_keys.get_secret_value()),
        )

    @property
    def development_key(self) -> bool:
        """Whether the key is the development default (to be warned about)."""
        return self.key_wrapping_key.get_secret_value() == DEV_KEY_WRAPPING_KEY


class AuditLogSettings(AuditLogKey, AuditKeyWrapping):
    """The log itself: identity, signing key and checkpoint cadence (LT_AUDIT_*)."""

    previous_signing_key_path: Path | None = Field(
        None,
        description="To rotate: the key that signed until now; it signs the logged rotation.",
    )
    witnesses: list[WitnessEndpoint] = Field(
        default_factory=list,
        description="Witnesses asked to cosign every checkpoint (JSON list of url and vkey).",
    )
    witness_quorum: int | None = Field(
        None, ge=0, description="Cosignatures a checkpoint needs to be served (default: all)."
    )
    personal_fields: list[str] = Field(
        default_factory=list,
        description="Further paths sealed under the dossier key (JSON list, `*` for each item "
        "of a list), besides every field the event contracts mark personal.",
    )
    personal_data_retention_days: float = Field(
        1825,
        gt=0,
        description="Days after a dossier's last entry until its personal fields are erased.",
    )
    erasure_poll_seconds: float = Field(
        60.0, gt=0, description="How often the erasure task looks for dossiers past retention."
    )
    witness_timeout_seconds: float = Field(
        5.0, gt=0, description="How long to wait for one witness's answer."
    )
    witness_client_id: str = Field(
        "audit",
        description="The realm client whose token (role witness-submitter) submits checkpoints.",
    )
    witness_client_secret: SecretStr = Field(
        default_factory=lambda: SecretStr(client_secret("audit")),
        description="Its secret; default: LT_KEYCLOAK_SECRET_AUDIT, else the development one.",
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

    def quorum(self) -> int:
        """Cosignatures required: the setting, or every configured witness."""
        wanted = len(self.witnesses) if self.witness_quorum is None else self.witness_quorum
        return min(wanted, len(self.witnesses))


class AuditSettings(CommonSettings):
    """Everything the audit service reads from the environment."""

    http: AuditHttp = Field(default_factory=AuditHttp, description="HTTP API.")
    audit: AuditLogSettings = Field(
        default_factory=AuditLogSettings, description="Log, signing key and checkpoints."
    )
