"""Tracing configuration from the standard variables, and the console exporter's readable lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace import sampling

from core import telemetry
from core.telemetry import TracingConfig
from settings import Settings
from tests.conftest import make_settings


def test_tracing_is_off_unless_a_variable_is_set() -> None:
    assert not TracingConfig().enabled
    assert TracingConfig(service_name="douyin").enabled
    assert TracingConfig(endpoint="http://collector:4318").enabled
    assert not TracingConfig(exporter="none", service_name="douyin").enabled
    assert TracingConfig().exporters == ("otlp",)
    assert TracingConfig(exporter="console, otlp").exporters == ("console", "otlp")


def test_settings_read_the_standard_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "douyin-east")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging")
    config = make_settings(tmp_path).tracing_config
    assert config == TracingConfig(
        service_name="douyin-east",
        exporter="console",
        sampler="traceidratio",
        sampler_arg="0.25",
        resource_attributes="deployment.environment=staging",
    )


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"otel_exporter_otlp_protocol": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ({"otel_traces_exporter": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        ({"otel_traces_sampler": "sometimes"}, "OTEL_TRACES_SAMPLER"),
        ({"otel_traces_sampler_arg": "2"}, "OTEL_TRACES_SAMPLER_ARG"),
        ({"metrics_access": "token", "metrics_token": "short"}, "METRICS_TOKEN"),
    ],
)
def test_unusable_settings_are_refused_at_start(
    tmp_path: Path, overrides: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        make_settings(tmp_path, **overrides)


def test_the_provider_follows_sampler_resource_and_service_name() -> None:
    config = TracingConfig(
        service_name="douyin-test",
        exporter="console",
        sampler="parentbased_traceidratio",
        sampler_arg="0.5",
        resource_attributes="team=video,region=eu%2Dwest",
    )
    provider = telemetry.configure(config)
    assert provider is not None
    try:
        assert telemetry.tracing_on()
        attributes = provider.resource.attributes
        assert attributes["service.name"] == "douyin-test"
        assert attributes["team"] == "video"
        assert attributes["region"] == "eu-west"
        assert isinstance(provider.sampler, sampling.ParentBased)
    finally:
        telemetry.shutdown(provider)
    assert not telemetry.tracing_on()
    assert telemetry.configure(TracingConfig()) is None


def test_console_spans_are_one_readable_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    provider = telemetry.configure(TracingConfig(exporter="console"))
    assert provider is not None
    try:
        with (
            telemetry.span("query Feed", {"graphql.operation.name": "Feed"}),
            telemetry.span("loader UserByIdLoader"),
        ):
            pass
    finally:
        telemetry.shutdown(provider)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "loader UserByIdLoader" in lines[0]
    assert "query Feed" in lines[1]
    assert "graphql.operation.name=Feed" in lines[1]
    assert " ms " in lines[1]
    assert "parent=-" in lines[1]


def test_the_default_settings_leave_tracing_off(tmp_path: Path) -> None:
    assert not make_settings(tmp_path).tracing_config.enabled
    assert Settings.model_fields["metrics_access"].default == "loopback"


def test_the_resource_hashes_once_and_still_equals_the_sdks() -> None:
    """The OTLP encoder groups spans by resource: ours must hash and compare as the SDK's would."""
    from opentelemetry.sdk.resources import Resource

    provider = telemetry.configure(TracingConfig(service_name="douyin-test", exporter="console"))
    assert provider is not None
    try:
        resource = provider.resource
        same = Resource(dict(resource.attributes), resource.schema_url)
        assert hash(resource) == hash(same)
        assert resource == same
        assert len({resource: 1, same: 2}) == 1
    finally:
        telemetry.shutdown(provider)
