"""Worker settings: zope.conf's <product-config collective.cron>, then the environment.

    <product-config collective.cron>
        worker on
        threads 2
        poll-interval 5
        lease 300
        heartbeat 60
        misfire-grace 60
        group-commit 0.2
        server-url http://localhost:8080
    </product-config>

Each key can be overridden by an environment variable: COLLECTIVE_CRON_WORKER,
COLLECTIVE_CRON_THREADS, COLLECTIVE_CRON_POLL_INTERVAL, COLLECTIVE_CRON_LEASE,
COLLECTIVE_CRON_HEARTBEAT, COLLECTIVE_CRON_MISFIRE_GRACE,
COLLECTIVE_CRON_GROUP_COMMIT, COLLECTIVE_CRON_SERVER_URL,
COLLECTIVE_CRON_WORKER_NAME.
"""

from dataclasses import dataclass

import os
import socket


ENV_PREFIX = "COLLECTIVE_CRON_"


class ConfigError(ValueError):
    """A worker setting has a bad value (the message names it)."""


@dataclass(frozen=True)
class WorkerConfig:
    worker: bool = False  # off unless configured: tests, scripts, zconsole
    threads: int = 1
    poll_interval: float = 5.0  # seconds between looks when nothing is due sooner
    lease: float = 300.0  # seconds a silent worker keeps its running jobs
    heartbeat: float = 60.0  # seconds between two heartbeats of a worker
    misfire_grace: float = 60.0  # a job due longer ago than this was missed
    # Seconds the runs of a batch may wait to be committed together
    # (job.GroupCommit); 0: each run commits alone.
    group_commit: float = 0.2
    server_url: str = "http://localhost:8080"  # for absolute_url() in jobs
    name: str = ""  # unique worker name; default host:pid

    @property
    def worker_name(self):
        return self.name or f"{socket.gethostname()}:{os.getpid()}"


_TRUE = {"on", "true", "yes", "1"}
_FALSE = {"off", "false", "no", "0", ""}


def _boolean(key, text):
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ConfigError(f"collective.cron setting {key} = {text!r}: use on or off")


def _number(key, text, kind, minimum):
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"collective.cron setting {key} = {text!r}: not a number")
    if value < minimum:
        raise ConfigError(
            f"collective.cron setting {key} = {text!r}: must be at least {minimum}"
        )
    return value


def _url(key, text):
    text = text.strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ConfigError(
            f"collective.cron setting {key} = {text!r}: not an http(s) URL"
        )
    return text


PARSERS = {
    "worker": _boolean,
    "threads": lambda key, text: _number(key, text, int, 1),
    "poll-interval": lambda key, text: _number(key, text, float, 0.05),
    "lease": lambda key, text: _number(key, text, float, 1.0),
    "heartbeat": lambda key, text: _number(key, text, float, 0.05),
    "misfire-grace": lambda key, text: _number(key, text, float, 0.0),
    "group-commit": lambda key, text: _number(key, text, float, 0.0),
    "server-url": _url,
    "worker-name": lambda key, text: text.strip(),
}
FIELDS = {
    "worker": "worker",
    "threads": "threads",
    "poll-interval": "poll_interval",
    "lease": "lease",
    "heartbeat": "heartbeat",
    "misfire-grace": "misfire_grace",
    "group-commit": "group_commit",
    "server-url": "server_url",
    "worker-name": "name",
}


def product_config():
    """The <product-config collective.cron> mapping of zope.conf, or {}."""
    try:
        from App.config import getConfiguration
    except ImportError:  # pragma: no cover - Zope is a dependency
        return {}
    configuration = getattr(getConfiguration(), "product_config", None) or {}
    return configuration.get("collective.cron") or {}


def load(settings=None, environ=None):
    """The worker configuration: `settings` (zope.conf), overridden by `environ`."""
    settings = product_config() if settings is None else settings
    environ = os.environ if environ is None else environ
    values = {}
    for key, parse in PARSERS.items():
        variable = ENV_PREFIX + key.upper().replace("-", "_")
        if environ.get(variable) is not None:
            label, text = variable, environ[variable]
        elif settings.get(key) is not None:
            label, text = key, settings[key]
        else:
            continue
        values[FIELDS[key]] = parse(label, text)
    unknown = set(settings) - set(PARSERS)
    if unknown:
        raise ConfigError(
            f"unknown collective.cron setting(s) {sorted(unknown)}; "
            f"known: {', '.join(PARSERS)}"
        )
    result = WorkerConfig(**values)
    _check_lease(result)
    return result


def _check_lease(settings):
    """A lease must outlast the gap between two heartbeats, with room to
    spare: heartbeats ride on the dispatcher's polls, so they come at most
    `heartbeat` + `poll-interval` apart. A shorter lease would let another
    worker take back the run of a worker that is alive: a second run."""
    floor = 2 * (settings.heartbeat + settings.poll_interval)
    if settings.lease < floor:
        raise ConfigError(
            f"collective.cron setting lease = {settings.lease:g}: must be at "
            f"least 2 x (heartbeat {settings.heartbeat:g} + poll-interval "
            f"{settings.poll_interval:g}) = {floor:g} seconds, or the runs of "
            "live workers could be taken back and run twice"
        )
