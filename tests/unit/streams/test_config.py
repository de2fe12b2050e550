"""Queue configuration: the example file, policy resolution, and errors that name the
file, the field path and the value."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from ccmon.streams.config import (
    BUILTIN_DEFAULTS,
    LEGACY_VARIANTS,
    PROFILES,
    QueueConfig,
    QueueConfigError,
    QueuePolicy,
    load_queue_config,
)
from tests.support.paths import ROOT

EXAMPLE = ROOT / "deploy" / "queues.example.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "queues.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_builtin_defaults() -> None:
    config = load_queue_config(None)
    assert config.policy("call", "anything") == BUILTIN_DEFAULTS
    assert (BUILTIN_DEFAULTS.threshold_seconds, BUILTIN_DEFAULTS.target_ratio) == (90.0, 0.8)
    assert BUILTIN_DEFAULTS.comparison == "<" and BUILTIN_DEFAULTS.timezone == "UTC"
    assert config.configured_queues == frozenset()
    assert config.max_queues == 500
    assert config.all_thresholds() == {(90.0, "<")}


def test_an_empty_mapping_means_builtin_defaults(tmp_path: Path) -> None:
    config = load_queue_config(write(tmp_path, "{}  # nothing yet\n"))
    assert config.policy("chat", "q") == BUILTIN_DEFAULTS


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    """A truncated file or a mount gone wrong, more likely than a wish for the defaults
    (issue 20): those are `{}`, or no CCMON_QUEUE_CONFIG at all."""
    with pytest.raises(QueueConfigError, match=r"queues\.yaml: is empty"):
        load_queue_config(write(tmp_path, "# nothing yet\n"))


def test_example_file() -> None:
    config = load_queue_config(EXAMPLE)
    assert config.configured_queues == {"billing", "support", "sales-export", "after-sales"}
    assert config.max_queues == 500
    billing_call = config.policy("call", "billing")
    assert (billing_call.threshold_seconds, billing_call.comparison) == (60.0, "<=")
    assert billing_call.timezone == "Europe/Paris"  # inherited from defaults
    assert config.policy("chat", "billing").threshold_seconds == 120.0  # per-channel override
    assert config.policy("chat", "billing").comparison == "<="  # the rest of the queue stays
    # billing takes no tickets: a ticket event on it gets the defaults.
    assert config.policy("ticket", "billing") is config.defaults
    support = config.policy("ticket", "support")
    assert (support.profile, support.exclude_short_abandons) == ("answered_abandoned", True)
    assert support.short_abandon_seconds == 6
    assert support.first_response_target_seconds == 14400
    assert config.policy("call", "support").first_response_target_seconds == 86400
    sales = config.policy("call", "sales-export")
    assert (sales.timezone, sales.profile, sales.max_wait_seconds) == (
        "America/New_York",
        "all_exits",
        1800,
    )
    assert sales.profiles == ("all_exits", "answered_abandoned")
    assert config.policy("call", "billing").profiles == ("answered_abandoned",)
    assert (sales.min_volume, sales.blocking_ratio, sales.abandon_ratio) == (20, 0.01, 0.10)
    assert config.policy("call", "unknown-queue") is config.defaults
    assert config.channels_of("billing") == {"call", "chat"}
    assert config.all_thresholds() == {(90.0, "<"), (60.0, "<="), (120.0, "<="), (20.0, "<")}


def test_policies_are_resolved_once() -> None:
    config = load_queue_config(EXAMPLE)
    assert config.policy("chat", "billing") is config.policy("chat", "billing")


def test_the_example_calendar() -> None:
    config = load_queue_config(EXAMPLE)
    after_sales = config.policy("ticket", "after-sales")
    assert after_sales.calendar == "office" and not after_sales.hours.always
    assert after_sales.hours.timezone == "Europe/Paris"
    assert (12, 25) in after_sales.hours.yearly
    assert config.policy("call", "billing").hours.always
    assert after_sales.interval_minutes == 30 and not after_sales.closed_in_service_level
    assert after_sales.version != config.policy("ticket", "support").version
    assert after_sales.version == load_queue_config(EXAMPLE).policy("ticket", "after-sales").version


def test_a_holiday_file_is_relative_to_the_queue_file(tmp_path: Path) -> None:
    (tmp_path / "days").mkdir()
    (tmp_path / "days" / "fr.ics").write_text(
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261225\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    path = write(
        tmp_path,
        "calendars: {office: {hours: {mon-fri: ['09:00-17:00']}, holidays_file: days/fr.ics}}\n"
        "defaults: {calendar: office}\n",
    )
    hours = load_queue_config(path).defaults.hours
    assert hours.is_holiday(date(2026, 12, 25)) and not hours.is_holiday(date(2026, 12, 24))


@pytest.mark.parametrize(
    ("text", "place", "words"),
    [
        ("calendars: {o: {hours: {mon: ['09:00-12:00', '11:00-13:00']}}}", "calendars.o.hours.mon",
         "overlap"),
        ("calendars: {o: {hours: {mon: ['12:00-09:00']}}}", "calendars.o.hours.mon[0]",
         "starts at or after its end"),
        ("calendars: {o: {hours: {mon: []}}}", "calendars.o.hours", "never open"),
        ("calendars: {o: {hours: {mon-fri: ['09:00-17:00'], fri: ['18:00-19:00']}}}",
         "calendars.o.hours.fri", "already given by 'mon-fri'"),
        ("calendars: {always: {hours: {mon: ['09:00-17:00']}}}", "calendars.always", "reserved"),
        ("calendars: {o: {hours: {mon: ['09:00-17:00']}, holidays_file: none.ics}}",
         "calendars.o.holidays_file", "cannot read"),
        ("defaults: {calendar: office}", "defaults.calendar", "no such calendar"),
        ("queues: {q: {overrides: {ticket: {calendar: x}}}}", "queues.q.overrides.ticket.calendar",
         "no such calendar"),
        ("defaults: {reporting: {interval_minutes: 20}}", "defaults.reporting.interval_minutes",
         "15 or 30"),
    ],
)  # fmt: skip
def test_calendar_mistakes_name_their_place(
    tmp_path: Path, text: str, place: str, words: str
) -> None:
    with pytest.raises(QueueConfigError) as caught:
        load_queue_config(write(tmp_path, text + "\n"))
    (line,) = caught.value.lines
    assert line.startswith(f"{tmp_path / 'queues.yaml'}: {place}: "), line
    assert words in line, line


def test_unknown_channel_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="sms"):
        load_queue_config(EXAMPLE).policy("sms", "billing")


@pytest.mark.parametrize(
    ("comparison", "at_threshold"),
    [("<", False), ("<=", True)],
)
def test_within_honours_the_comparison(comparison: str, at_threshold: bool) -> None:
    policy = QueuePolicy(threshold_seconds=20, comparison=comparison)
    assert policy.within(19.999)
    assert policy.within(20) is at_threshold
    assert not policy.within(20.001)


def test_short_abandon_is_strictly_below() -> None:
    policy = QueuePolicy(short_abandon_seconds=5)
    assert policy.is_short_abandon(4.99)
    assert not policy.is_short_abandon(5)
    assert not QueuePolicy(short_abandon_seconds=0).is_short_abandon(0)


def test_policy_tzinfo() -> None:
    assert str(load_queue_config(EXAMPLE).policy("call", "billing").tzinfo) == "Europe/Paris"


def test_every_profile_is_accepted(tmp_path: Path) -> None:
    for profile in PROFILES:
        path = write(tmp_path, f"defaults: {{service_level: {{profile: {profile}}}}}\n")
        assert load_queue_config(path).defaults.profile == profile


@pytest.mark.parametrize(
    ("variant", "profile", "short_out"),
    [
        ("answered_abandoned", "answered_abandoned", False),
        ("answered_abandoned_excl_short", "answered_abandoned", True),
        ("answered", "answered", False),
        ("offered_within", "all_exits", False),
    ],
)
def test_the_old_variant_names_still_load(
    tmp_path: Path, variant: str, profile: str, short_out: bool
) -> None:
    """ccmon 0.2's `variant` is read as the profile it became (docs/configuration.md)."""
    assert set(LEGACY_VARIANTS) == {"answered_abandoned", "answered_abandoned_excl_short",
                                    "answered", "offered_within"}  # fmt: skip
    text = f"queues: {{q: {{service_level: {{variant: {variant}, threshold_seconds: 20}}}}}}\n"
    policy = load_queue_config(write(tmp_path, text)).policy("call", "q")
    assert (policy.profile, policy.exclude_short_abandons) == (profile, short_out)
    assert policy.threshold_seconds == 20


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    text = """
queues:
  a: &base
    service_level: {threshold_seconds: 30}
    max_wait_seconds: 600
  b:
    <<: *base
    max_wait_seconds: 900
"""
    config = load_queue_config(write(tmp_path, text))
    assert config.policy("call", "b").threshold_seconds == 30
    assert config.policy("call", "b").max_wait_seconds == 900


ERRORS = [
    # (yaml, field path in the message, value shown in the message)
    ("defaults: {timezone: Europe/Pariss}", "defaults.timezone", "'Europe/Pariss'"),
    ("defaults: {timezone: 2}", "defaults.timezone", "2"),
    ("defaults: {service_level: {threshold_seconds: 0}}", "defaults.service_level", "0"),
    ("defaults: {service_level: {threshold_seconds: -5}}", "threshold_seconds", "-5"),
    ("defaults: {service_level: {threshold_seconds: '90'}}", "threshold_seconds", "'90'"),
    ("defaults: {service_level: {threshold_seconds: yes}}", "threshold_seconds", "True"),
    ("defaults: {service_level: {threshold_seconds: .nan}}", "threshold_seconds", "nan"),
    ("defaults: {service_level: {comparison: '=<'}}", "service_level.comparison", "'=<'"),
    ("defaults: {service_level: {target_ratio: 80}}", "service_level.target_ratio", "80"),
    ("defaults: {service_level: {target_ratio: -0.1}}", "target_ratio", "-0.1"),
    ("defaults: {service_level: {variant: genesys}}", "service_level.variant", "'genesys'"),
    ("defaults: {service_level: {profile: connect}}", "service_level.profile", "'connect'"),
    (
        "defaults: {service_level: {variant: answered, profile: answered}}",
        "service_level.variant",
        "'answered'",
    ),
    (
        "defaults: {service_level: {export_profiles: [answered, answered]}}",
        "service_level.export_profiles",
        "['answered', 'answered']",
    ),
    ("defaults: {service_level: {include_flow_outs: 1}}", "include_flow_outs", "1"),
    ("defaults: {service_level: {treshold_seconds: 60}}", "treshold_seconds", "'treshold"),
    ("defaults: {service_level: 90}", "defaults.service_level", "90"),
    ("defaults: {short_abandon_seconds: -1}", "defaults.short_abandon_seconds", "-1"),
    ("defaults: {max_wait_seconds: 0}", "defaults.max_wait_seconds", "0"),
    ("defaults: {tickets: {first_response_target_seconds: 0}}", "first_response_target", "0"),
    ("defaults: {tickets: {resolution_target: 5}}", "tickets.resolution_target", "'resolution"),
    ("defaults: {alerts: {min_volume: 2.5}}", "defaults.alerts.min_volume", "2.5"),
    ("defaults: {alerts: {waiting_contacts: 0}}", "alerts.waiting_contacts", "0"),
    ("defaults: {alerts: {abandon_ratio: 1.5}}", "alerts.abandon_ratio", "1.5"),
    ("defaults: {alerts: {blocking_ratio: '2%'}}", "alerts.blocking_ratio", "'2%'"),
    ("defaults: {channels: [call]}", "defaults.channels", "'channels'"),
    ("defaults: [1]", "defaults", "[1]"),
    ("default: {}", "default", "'default'"),
    ("limits: {max_queues: 0}", "limits.max_queues", "0"),
    ("limits: {max_queue: 10}", "limits.max_queue", "'max_queue'"),
    ("limits: {max_queues: 1}\nqueues: {a: {}, b: {}}", "limits.max_queues", "1"),
    ("queues: [billing]", "queues", "['billing']"),
    ("queues: {billing: {service_level: {threshold_seconds: 0}}}", "queues.billing.", "0"),
    ("queues: {billing: {chanels: [call]}}", "queues.billing.chanels", "'chanels'"),
    ("queues: {billing: {channels: []}}", "queues.billing.channels", "[]"),
    ("queues: {billing: {channels: call}}", "queues.billing.channels", "'call'"),
    ("queues: {billing: {channels: [calls]}}", "queues.billing.channels[0]", "'calls'"),
    ("queues: {billing: {channels: [call, call]}}", "queues.billing.channels", "['call'"),
    ("queues: {billing: {overrides: {sms: {}}}}", "queues.billing.overrides.sms", "'sms'"),
    (
        "queues: {billing: {channels: [call], overrides: {chat: {}}}}",
        "queues.billing.overrides.chat",
        "",
    ),
    (
        "queues: {billing: {overrides: {chat: {channels: [chat]}}}}",
        "queues.billing.overrides.chat.channels",
        "'channels'",
    ),
    (
        "queues: {billing: {overrides: {chat: {alerts: {abandon_ratio: 2}}}}}",
        "queues.billing.overrides.chat.alerts.abandon_ratio",
        "2",
    ),
    ("queues: {'billing eu': {max_wait_seconds: -1}}", "queues['billing eu']", "-1"),
    ("queues: {1001: {}}", "queues[1001]", "1001"),
    ("queues: {other: {}}", "queues.other", "'other'"),
    ("queues: {'': {}}", "queues['']", "''"),
    ("queues: {' billing': {}}", "queues[' billing']", "' billing'"),
    (f"queues: {{{'q' * 101}: {{}}}}", "queues.qqq", "'qqq"),
    ("- just a list", "(top level)", "['just a list']"),
    ("queues: {billing: {max_concurrent: 0}}", "queues.billing.max_concurrent", "0"),
    ("queues: {billing: {overrides: {chat: {max_concurrent: 50}}}}", "max_concurrent", "50"),
    ("defaults: {max_concurrent: 2.5}", "defaults.max_concurrent", "2.5"),
]


@pytest.mark.parametrize(("text", "path", "value"), ERRORS, ids=[e[1] for e in ERRORS])
def test_errors_name_file_field_and_value(tmp_path: Path, text: str, path: str, value: str) -> None:
    file = write(tmp_path, text + "\n")
    with pytest.raises(QueueConfigError) as caught:
        load_queue_config(file)
    message = str(caught.value)
    assert message.startswith(f"{file}: ")
    assert path in message
    if value:
        assert f"(got {value}" in message


def test_max_concurrent_out_of_range_says_the_range(tmp_path: Path) -> None:
    file = write(tmp_path, "queues: {billing: {max_concurrent: 50}}\n")
    with pytest.raises(QueueConfigError) as caught:
        load_queue_config(file)
    assert str(caught.value) == (
        f"{file}: queues.billing.max_concurrent: must be between 1 and 20 contacts per agent "
        "at once (calls: 1; chats 2-4) (got 50)"
    )
    ok = load_queue_config(
        write(tmp_path, "queues: {billing: {overrides: {chat: {max_concurrent: 3}}}}\n")
    )
    assert ok.policy("chat", "billing").max_concurrent == 3
    assert ok.policy("call", "billing").max_concurrent == 1


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    file = write(tmp_path, "queues:\n  billing: {}\n  sales: {}\n  billing: {}\n")
    with pytest.raises(QueueConfigError, match=r"duplicate key 'billing' \(first on line 2\)"):
        load_queue_config(file)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"queues: {billing: [\n", "not valid YAML"),
        (b"queues: \xff\n", "not UTF-8 text"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    file = tmp_path / "queues.yaml"
    file.write_bytes(content)
    with pytest.raises(QueueConfigError, match=fragment) as caught:
        load_queue_config(file)
    assert str(file) in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(QueueConfigError, match=r"missing\.yaml: cannot read"):
        load_queue_config(tmp_path / "missing.yaml")


def test_error_is_a_value_error_with_parts(tmp_path: Path) -> None:
    file = write(tmp_path, "defaults: {service_level: {target_ratio: 80}}\n")
    with pytest.raises(ValueError) as caught:
        load_queue_config(str(file))
    error = caught.value
    assert isinstance(error, QueueConfigError)
    assert (error.source, error.path, error.value) == (
        str(file),
        "defaults.service_level.target_ratio",
        80,
    )


def test_queue_config_can_be_built_in_code() -> None:
    policy = QueuePolicy(threshold_seconds=30)
    config = QueueConfig(policies={("call", "q"): policy}, channels={"q": frozenset({"call"})})
    assert config.policy("call", "q") is policy
    assert config.all_thresholds() == {(90.0, "<"), (30.0, "<")}


def _section(markdown: str, heading: str) -> str:
    start = markdown.index(heading)
    following = markdown.find("\n## ", start + len(heading))
    return markdown[start : following if following != -1 else None]


def test_yaml_blocks_of_the_documentation_load(tmp_path: Path) -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", _section(docs, "## Queue configuration"), re.S)
    assert blocks
    for block in blocks:
        load_queue_config(write(tmp_path, block))
