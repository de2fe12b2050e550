"""The wall server's own settings, ``CCMON_WALL_*`` (docs/configuration.md, "The wall").

The read model's location and timing are the workers' settings (``CCMON_REDIS``,
``CCMON_REDIS_PREFIX``, ``CCMON_SNAPSHOT_*``), read from the same environment, so that one
ConfigMap or env file configures both. ``ccmon wall`` flags override either.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WallSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CCMON_WALL_", extra="ignore")

    host: str = Field("0.0.0.0", description="Bind address of the wall server.")
    port: int = Field(8080, ge=0, le=65535, description="Port of the wall page and its feed.")
    alertmanager: str = Field(
        "", description="Alertmanager base URL whose firing page alerts make the red banner."
    )
    alert_matcher: str = Field(
        'severity="page"', description="Alertmanager matcher of the alerts the banner lists."
    )
    token: str = Field(
        "", description="If set, every request needs ?token=... or 'Authorization: Bearer'."
    )
    basic_auth: str = Field(
        "", description="If set (user:password), every request needs these HTTP Basic credentials."
    )
    timezone: str = Field(
        "", description="IANA zone of the header clock; empty: the queues' own zone."
    )
    config: str = Field(
        "", description="The wall's configuration file: screens, rotations, teams (optional)."
    )
    language: Literal["", "en", "fr"] = Field(
        "", description="Language of the screens (en, fr); empty: the file's, else en."
    )
