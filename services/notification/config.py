"""Settings of the notification service, composed from the shared settings classes."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime import CommonSettings
from shared.settings import HttpSettings


class NotificationHttp(HttpSettings):
    """Where the notification API listens (LT_NOTIFICATION_HOST, LT_NOTIFICATION_PORT)."""

    model_config = SettingsConfigDict(env_prefix="LT_NOTIFICATION_", extra="ignore")

    port: int = Field(8003, description="Bind port of the notification API.")


class NotificationSettings(CommonSettings):
    """Everything the notification service reads from the environment."""

    http: NotificationHttp = Field(default_factory=NotificationHttp, description="HTTP API.")
