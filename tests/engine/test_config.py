"""Worker settings from zope.conf's product-config and the environment."""

from collective.cron import config

import pytest


def test_defaults_keep_the_dispatcher_off():
    settings = config.load({}, environ={})
    assert settings.worker is False
    assert (settings.threads, settings.poll_interval, settings.lease) == (1, 5.0, 300.0)
    assert settings.heartbeat == 60.0


def test_product_config_read():
    settings = config.load(
        {
            "worker": "on",
            "threads": "4",
            "poll-interval": "0.5",
            "lease": "120",
            "heartbeat": "30",
            "misfire-grace": "10",
            "group-commit": "0",
            "server-url": "https://cms.example.org/",
            "worker-name": "blue",
        },
        environ={},
    )
    assert settings == config.WorkerConfig(
        worker=True,
        threads=4,
        poll_interval=0.5,
        lease=120.0,
        heartbeat=30.0,
        misfire_grace=10.0,
        group_commit=0.0,
        server_url="https://cms.example.org",
        name="blue",
    )
    assert settings.worker_name == "blue"


def test_environment_overrides_product_config():
    settings = config.load(
        {"worker": "on", "threads": "2"},
        environ={"COLLECTIVE_CRON_WORKER": "off", "COLLECTIVE_CRON_THREADS": "3"},
    )
    assert (settings.worker, settings.threads) == (False, 3)


def test_default_worker_name_is_host_and_pid():
    import os

    assert config.load({}, environ={}).worker_name.endswith(f":{os.getpid()}")


@pytest.mark.parametrize(
    "settings,environ,message",
    [
        ({"threads": "many"}, {}, "threads = 'many': not a number"),
        ({"threads": "0"}, {}, "threads = '0': must be at least 1"),
        ({"group-commit": "-1"}, {}, "group-commit = '-1': must be at least 0.0"),
        (
            {},
            {"COLLECTIVE_CRON_GROUP_COMMIT": "soon"},
            "COLLECTIVE_CRON_GROUP_COMMIT = 'soon': not a number",
        ),
        ({}, {"COLLECTIVE_CRON_WORKER": "maybe"}, "COLLECTIVE_CRON_WORKER = 'maybe'"),
        ({"server-url": "localhost:8080"}, {}, "not an http(s) URL"),
        ({"colour": "red"}, {}, "unknown collective.cron setting(s) ['colour']"),
    ],
)
def test_bad_settings_named(settings, environ, message):
    with pytest.raises(config.ConfigError) as info:
        config.load(settings, environ=environ)
    assert message in str(info.value)


def test_lease_shorter_than_two_heartbeats_is_refused():
    with pytest.raises(config.ConfigError) as error:
        config.load({"lease": "100", "heartbeat": "60"}, environ={})
    message = str(error.value)
    assert "lease = 100" in message
    assert "heartbeat 60 + poll-interval 5" in message
    assert "= 130 seconds" in message


def test_lease_from_environment_is_checked_against_zope_conf_heartbeat():
    with pytest.raises(config.ConfigError, match="lease = 10"):
        config.load({"heartbeat": "30"}, environ={"COLLECTIVE_CRON_LEASE": "10"})
