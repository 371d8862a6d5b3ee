"""Settings of the notification service, composed from the shared settings classes.

Every group reads its own ``LT_NOTIFICATION_*`` prefix; see docs/notification.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from notification.domain import UnitDirectory
from notification.portal_sync import PortalSyncSettings
from shared.runtime import CommonSettings
from shared.settings import HttpSettings

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_UNIT_CHANNELS = ROOT / "data" / "notification" / "unit-channels.json"
DEFAULT_SMS_FILE = ROOT / ".local" / "sms.log"


DEV_PRIVACY_KEY = "lienthong-local-privacy-key-change-me"  # make run only; warned about


class NotificationHttp(HttpSettings):
    """Where the notification API listens (LT_NOTIFICATION_HOST, LT_NOTIFICATION_PORT)."""

    model_config = SettingsConfigDict(env_prefix="LT_NOTIFICATION_", extra="ignore")

    port: int = Field(8003, description="Bind port of the notification API.")


class NotificationOptions(BaseSettings):
    """What messages say and whom units are reached at (LT_NOTIFICATION_*)."""

    model_config = SettingsConfigDict(env_prefix="LT_NOTIFICATION_", extra="ignore")

    lookup_base_url: str = Field(
        "http://127.0.0.1:8001/v1/dossiers/",
        description="Applicant look-up link prefix; the dossier code is appended.",
    )
    unit_channels_file: Path = Field(
        DEFAULT_UNIT_CHANNELS, description="Versioned JSON mapping unit codes to their channels."
    )
    privacy_key: SecretStr = Field(
        SecretStr(DEV_PRIVACY_KEY),
        description="Key of the HMAC that stands for contact data in logs and events.",
    )
    personal_data_retention_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="Days an applicant's contact and the deliveries addressed to them are kept "
        "after they are stored; then the store deletes them (TTL).",
    )
    delivery_record_retention_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="Days a unit's or an agency subscriber's delivery record (which keeps the "
        "event it delivered, as it travelled on Kafka) is kept after it is stored; then the "
        "store deletes it (TTL). Records stored before this setting existed expire this many "
        "days after the service's first start with it.",
    )


class SmtpSettings(BaseSettings):
    """The SMTP relay emails go through (LT_NOTIFICATION_SMTP_*).

    A variable set empty counts as unset (its default): compose always hands over the
    login, empty when the relay wants none, and an empty user name would be a login."""

    model_config = SettingsConfigDict(
        env_prefix="LT_NOTIFICATION_SMTP_", extra="ignore", env_ignore_empty=True
    )

    host: str = Field("127.0.0.1", description="SMTP server host.")
    port: int = Field(1025, description="SMTP server port.")
    sender: str = Field(
        "Một cửa liên thông <no-reply@lienthong.example>", description="From address."
    )
    username: str | None = Field(None, description="SMTP login, if the relay needs one.")
    password: SecretStr | None = Field(None, description="SMTP password.")
    use_tls: bool = Field(False, description="Connect with implicit TLS (port 465 style).")
    start_tls: bool = Field(False, description="Upgrade with STARTTLS after connecting.")
    timeout_s: float = Field(10.0, gt=0, description="Connect and command timeout in seconds.")
    connections: int = Field(
        4,
        ge=1,
        description="Connections to the relay kept open and reused (one message at a time "
        "on each): a message costs its mail transaction, not a connection and EHLO.",
    )

    @model_validator(mode="after")
    def _one_kind_of_tls(self) -> SmtpSettings:
        """Implicit TLS and STARTTLS exclude each other: set both, every send would fail."""
        if self.use_tls and self.start_tls:
            raise ValueError(
                "LT_NOTIFICATION_SMTP_USE_TLS and LT_NOTIFICATION_SMTP_START_TLS are both "
                "true: choose implicit TLS (port 465) or STARTTLS (port 587), not both"
            )
        return self


class SmsSettings(BaseSettings):
    """The SMS provider adapter (LT_NOTIFICATION_SMS_*)."""

    model_config = SettingsConfigDict(env_prefix="LT_NOTIFICATION_SMS_", extra="ignore")

    provider: Literal["none", "file"] = Field(
        "none",
        description="Adapter name. 'none' (the default): no SMS provider, every SMS delivery "
        "fails at once as 'SMS channel disabled', never recorded as sent. 'file': LOCAL "
        "DEVELOPMENT ONLY, appends each SMS (phone number and text) as a JSON line to `file`; "
        "nothing reaches a phone, yet the delivery is recorded as sent.",
    )
    file: Path = Field(DEFAULT_SMS_FILE, description="Where the file adapter writes messages.")
    sender_id: str = Field("LIENTHONG", description="Brand name shown as the SMS sender.")


class WebhookSettings(BaseSettings):
    """Deliveries to agency systems (LT_NOTIFICATION_WEBHOOK_*)."""

    model_config = SettingsConfigDict(env_prefix="LT_NOTIFICATION_WEBHOOK_", extra="ignore")

    timeout_s: float = Field(
        10.0,
        gt=0,
        description="Whole-request timeout of one attempt: connecting, sending and the "
        "answer's status and headers (its body is never read).",
    )
    pause_after_failures: int = Field(
        3, ge=1, description="Consecutive failed deliveries (retries spent) that pause one."
    )
    user_agent: str = Field("lienthong-notification/1", description="User-Agent of deliveries.")
    allow_http: bool = Field(
        False,
        description="Accept plain-http webhook URLs. LOCAL DEVELOPMENT ONLY: deliveries and "
        "their signatures then travel unencrypted.",
    )
    allowed_networks: list[str] = Field(
        default_factory=list,
        description="CIDRs webhooks may reach although loopback, private, link-local, "
        'multicast or reserved (JSON list, e.g. ["10.20.0.0/16"]); every other such address '
        "is refused when subscribing and again on every delivery.",
    )


class RetrySettings(BaseSettings):
    """Attempts per delivery, every channel (LT_NOTIFICATION_RETRY_*)."""

    model_config = SettingsConfigDict(env_prefix="LT_NOTIFICATION_RETRY_", extra="ignore")

    max_attempts: int = Field(5, ge=1, description="Attempts before a delivery is failed.")
    initial_s: float = Field(1.0, ge=0, description="First backoff delay in seconds.")
    max_s: float = Field(60.0, ge=0, description="Upper bound of one backoff delay.")
    jitter_s: float = Field(1.0, ge=0, description="Random extra delay, up to this, per retry.")


class DispatchSettings(BaseSettings):
    """The dispatcher that sends recorded notifications (LT_NOTIFICATION_DISPATCH_*)."""

    model_config = SettingsConfigDict(env_prefix="LT_NOTIFICATION_DISPATCH_", extra="ignore")

    enabled: bool = Field(True, description="Run the dispatcher in this instance.")
    poll_interval_s: float = Field(1.0, gt=0, description="Idle wait between scans.")
    batch_size: int = Field(20, ge=1, description="Notifications claimed and sent concurrently.")
    lease_s: float = Field(
        30.0,
        gt=0,
        description="A claim lapses this long after its sender's last sign of life "
        "(renewed every third of it while the delivery is in hand).",
    )
    instance: str = Field(
        "",
        description="This instance's name, stable across restarts (default: host name and "
        "HTTP port); on start it takes back the claims its earlier life left behind.",
    )
    shutdown_grace_s: float = Field(
        10.0,
        ge=0,
        description="On stop, how long a send in flight may go on; then it is cut off and "
        "recorded as unknown (it may have gone out). At least the SMTP and webhook timeouts.",
    )
    stop_budget_s: float = Field(
        15.0,
        gt=0,
        description="On stop, how long the dispatcher may take in all: the grace, then "
        "storing the attempts and outcomes of the deliveries in hand, retried while the "
        "store is unavailable. Counted from the end of the HTTP drain; the service must "
        "still stop before its supervisor's SIGKILL (30 s after SIGTERM).",
    )
    held_check_interval_s: float = Field(
        10.0,
        gt=0,
        description="How often the dispatcher releases deliveries still held for "
        "subscriptions that are active (held from a reading taken before a resume that "
        "had already released the others).",
    )
    settle_linger_s: float = Field(
        0.02,
        ge=0,
        description="How long ended deliveries wait for those still in hand, so that their "
        "outcomes are stored together (one transaction for the group).",
    )


class NotificationSettings(CommonSettings):
    """Everything the notification service reads from the environment."""

    http: NotificationHttp = Field(default_factory=NotificationHttp, description="HTTP API.")
    options: NotificationOptions = Field(
        default_factory=NotificationOptions, description="Messages and unit channels."
    )
    smtp: SmtpSettings = Field(default_factory=SmtpSettings, description="Email.")
    sms: SmsSettings = Field(default_factory=SmsSettings, description="SMS.")
    webhook: WebhookSettings = Field(default_factory=WebhookSettings, description="Webhooks.")
    retry: RetrySettings = Field(default_factory=RetrySettings, description="Delivery retries.")
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings, description="Dispatcher.")
    portal: PortalSyncSettings = Field(
        default_factory=PortalSyncSettings, description="National portal connector."
    )

    @model_validator(mode="after")
    def _stop_lets_sends_end(self) -> NotificationSettings:
        """A send cut short by a stop may have gone out: the grace covers the channels'
        timeouts, and the budget the grace and the writes after it."""
        timeout = max(self.smtp.timeout_s, self.webhook.timeout_s)
        grace, budget = self.dispatch.shutdown_grace_s, self.dispatch.stop_budget_s
        if self.dispatch.enabled and grace < timeout:
            raise ValueError(
                f"LT_NOTIFICATION_DISPATCH_SHUTDOWN_GRACE_S ({grace}) is shorter than the "
                f"channels' timeout ({timeout}): a stop would cut off sends that may go out"
            )
        if self.dispatch.enabled and budget <= grace:
            raise ValueError(
                f"LT_NOTIFICATION_DISPATCH_STOP_BUDGET_S ({budget}) leaves no time after the "
                f"grace ({grace}) to store what the sends in flight did"
            )
        return self


def load_unit_directory(path: Path) -> UnitDirectory:
    """Read and check the unit-channel file (a bad file stops the service at start)."""
    return UnitDirectory.model_validate_json(path.read_text(encoding="utf-8"))
