"""MiraklClient transport settings, seen through a recording requests.Session (no network)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from pydantic import SecretStr

from bridge.config import PlatformConfig
from bridge.errors import ConfigError
from bridge.logging import scrub
from bridge.mirakl import MiraklClient


class RecordingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.calls.append({"method": method, "url": url, **kwargs})
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"shop_id": 1}'
        return response


def _platform(**overrides: Any) -> PlatformConfig:
    fields: dict[str, Any] = {
        "code": "shopfr",
        "api_url": "https://shop.mirakl.example",
        "api_key": "key-abcdef",
    }
    fields.update(overrides)
    return PlatformConfig(**fields)


def test_every_call_has_explicit_timeouts_verified_tls_and_no_redirects() -> None:
    session = RecordingSession()
    MiraklClient(_platform(connect_timeout_s=3, read_timeout_s=40), session=session).account()
    [call] = session.calls
    assert call["timeout"] == (3.0, 40.0)
    assert call["verify"] is True
    assert call["allow_redirects"] is False
    assert call["headers"]["Authorization"] == "key-abcdef"
    assert call["url"] == "https://shop.mirakl.example/api/account"


def test_a_private_ca_bundle_is_used_for_verification() -> None:
    session = RecordingSession()
    MiraklClient(_platform(ca_bundle="/etc/ssl/private-ca.pem"), session=session).account()
    assert session.calls[0]["verify"] == "/etc/ssl/private-ca.pem"


def test_plain_http_to_a_remote_host_is_refused_even_if_config_validation_was_bypassed() -> None:
    platform = PlatformConfig.model_construct(
        code="bad", api_url="http://shop.example", api_key=SecretStr("key-abcdef"), shop_id=None
    )
    with pytest.raises(ConfigError):
        MiraklClient(platform)


def test_the_key_is_registered_for_scrubbing() -> None:
    MiraklClient(_platform(api_key="very-secret-key-42"), session=RecordingSession())
    assert "very-secret-key-42" not in scrub("oops very-secret-key-42 leaked")


def test_order_ids_are_quoted_in_paths() -> None:
    session = RecordingSession()
    client = MiraklClient(_platform(), session=session)
    session.calls.clear()
    response_204 = requests.Response()
    response_204.status_code = 204
    response_204._content = b""
    session.request = lambda method, url, **kw: (session.calls.append({"url": url}), response_204)[1]  # type: ignore[method-assign]
    assert client.ship_order("A/B 1") == "done"
    assert session.calls[0]["url"] == "https://shop.mirakl.example/api/orders/A%2FB%201/ship"
