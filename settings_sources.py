"""Settings sources beyond the environment: Consul's KV store (on when CONSUL_HTTP_ADDR is set).

Each key under CONSUL_KV_PREFIX (default `douyin-graphql/config/`) is named like the environment variable
it stands for (`douyin-graphql/config/FEED_PAGE_SIZE` = `10`). The environment and explicit arguments win
over Consul; Consul wins over the built-in defaults. The Consul settings themselves (CONSUL_*) come from
the environment only: they say where Consul is.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from core.consul import ConsulError, read_kv

log = logging.getLogger("douyin")

_BOOTSTRAP_PREFIX = "consul_"
_TRUE = {"1", "true", "yes", "on"}


class ConsulStartupError(ValueError):
    """CONSUL_REQUIRED=true and Consul's KV could not be read."""


class ConsulKVSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)

    def _bootstrap(self, name: str) -> str:
        """A CONSUL_* setting as the sources before this one (arguments, environment) give it."""
        value = self.current_state.get(name)
        if value is None:
            default = self.settings_cls.model_fields[name].default
            value = "" if default is None else default
        return str(value)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Values are produced all at once by __call__.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        address = self._bootstrap("consul_http_addr")
        if not address:
            return {}
        prefix = self._bootstrap("consul_kv_prefix")
        required = self._bootstrap("consul_required").strip().lower() in _TRUE
        try:
            entries = read_kv(address, prefix, token=self._bootstrap("consul_http_token"))
        except ConsulError as error:
            if required:
                raise ConsulStartupError(f"CONSUL_REQUIRED=true and {error}") from error
            log.warning("settings from the environment only (CONSUL_REQUIRED=false): %s", error)
            return {}
        fields = self.settings_cls.model_fields
        values: dict[str, Any] = {}
        for key, value in entries.items():
            name = key.lower()
            if name in fields and not name.startswith(_BOOTSTRAP_PREFIX):
                values[name] = value
            else:
                log.warning("Consul KV key %s%s is not a setting; ignored", prefix, key)
        return values
