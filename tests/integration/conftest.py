"""The real stack for integration tests: Kafka, Connect + Debezium, the registry, PostgreSQL, MariaDB, chdb.

It runs on its own ports and under its own home (``.atp/test``), so a developer's
demo stack is never touched. If a service cannot start, every test that needs it
fails with the service's name and its log file: nothing skips.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from atp.errors import AtpError
from atp.settings import PROJECT_ROOT, Settings, load_settings
from connectors.output_watch import TopicWatcher
from tests.partner_server import Partner, partner_server

TEST_ENVIRONMENT = {
    "ATP_HOME": str(PROJECT_ROOT / ".atp" / "test"),
    "ATP_KAFKA_PORT": "29092",
    "ATP_KAFKA_CONTROLLER_PORT": "29093",
    "ATP_KAFKA_SASL_PORT": "29094",
    "ATP_KAFKA_SSL_PORT": "29095",
    "ATP_CONNECT_PORT": "28083",
    "ATP_REGISTRY_PORT": "28081",
    "ATP_REGISTRY_MANAGEMENT_PORT": "28091",
    "ATP_POSTGRES_PORT": "25432",
    "ATP_MARIADB_PORT": "23306",
    "ATP_STORE_PORT": "28124",
    "ATP_API_PORT": "28180",
    "ATP_FLOW_METRICS_PORT": "28100",
    "ATP_CLUSTER_PORT": "28110",
    "ATP_PIPELINE_METRICS_PORT": "28099",
    # The promotions gate waits 3 s (not 10 min) before a listing is promotable: test_promotable_live.py.
    "ATP_PROMOTABLE_MIN_AVAILABLE": "5",
    "ATP_PROMOTABLE_STABLE_S": "3",
    # Shopify's availability is pushed to a partner the suite plays itself (the `partner` fixture).
    "ATP_WEBHOOKS": '{"SHOPIFY": {"url": "http://127.0.0.1:28990/admin/api/graphql.json", "shape": "shopify", '
    '"rate_per_s": 20, "burst": 10, "options": {"location_id": "7001"}}}',
}
PARTNER_PORT = 28990

_failures: dict[str, str] = {}


def _once(step: str, action) -> None:  # type: ignore[no-untyped-def]
    """Run a set-up step once per session; if it failed before, fail again with the same message."""
    if step in _failures:
        pytest.fail(_failures[step], pytrace=False)
    try:
        action()
    except (AtpError, TimeoutError, OSError) as exc:
        _failures[step] = f"{step} failed: {exc}"
        pytest.fail(_failures[step], pytrace=False)


@pytest.fixture(scope="session")
def settings() -> Settings:
    # Subprocesses (the pipeline) read the same environment.
    os.environ.update(TEST_ENVIRONMENT)
    return load_settings()


def _fresh_home(settings: Settings) -> None:
    """Every session starts the suite's own home from nothing (the jars under ATP_LIB_DIR stay).

    A home reused from an earlier run resumes that run's recovery state, topics and database rows: a
    run that changed the state's shape without a new format number crash-loops there, and tests that
    count what a re-read publishes see what the earlier run left pending. A fresh home is what CI
    and a fresh clone get, so the suite behaves the same on every run.
    """
    from infra import stack as services

    if settings.stack.home.exists():
        services.down(settings.stack, settings.kafka)
        # The last run's service and pipeline logs outlive its home, for a failure to be read after the next run.
        kept = settings.stack.home.with_name(settings.stack.home.name + "-last-logs")
        shutil.rmtree(kept, ignore_errors=True)
        if settings.stack.logs_dir.is_dir():
            shutil.copytree(settings.stack.logs_dir, kept)
        shutil.rmtree(settings.stack.home)


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Settings]:
    from atp import bootstrap
    from atp.pipeline import stop_pipeline
    from infra import stack as services

    _fresh_home(settings)
    _once("install", lambda: services.install(settings.stack, print))
    _once("stack up", lambda: bootstrap.bring_up(settings, print))
    yield settings
    stop_pipeline(settings.stack)
    services.down(settings.stack, settings.kafka)


@pytest.fixture(scope="session")
def cdc(stack: Settings) -> Settings:
    from atp.demo.generator import DemoSize
    from atp.demo.seed import seed
    from connectors.cdc_connectors import register_cdc

    _once("seed", lambda: seed(stack.stack, DemoSize(items=60, dcs=2, stores=3), print))
    _once("register CDC", lambda: register_cdc(stack.stack, stack.kafka, print))
    return stack


@pytest.fixture(scope="session")
def partner() -> Iterator[Partner]:
    """A real HTTP server playing the Shopify partner for the whole session."""
    played = Partner()
    with partner_server(played, PARTNER_PORT):
        yield played


@pytest.fixture(scope="session")
def pipeline(cdc: Settings, partner: Partner) -> Settings:
    from atp.pipeline import start_detached

    _once("start pipeline", lambda: start_detached(cdc, print))
    return cdc


@pytest.fixture
def availability(pipeline: Settings) -> Iterator[TopicWatcher]:
    """``atp.availability`` from its end now on: what the pipeline publishes during the test."""
    from connectors import topics

    watcher = TopicWatcher(pipeline.kafka, topics.AVAILABILITY)
    yield watcher
    watcher.close()


@pytest.fixture
def shopify(pipeline: Settings) -> Iterator[TopicWatcher]:
    """``atp.channel.shopify`` from its end now on: the SHOPIFY feed's records during the test."""
    from connectors import topics

    watcher = TopicWatcher(pipeline.kafka, topics.channel_topic("SHOPIFY"))
    yield watcher
    watcher.close()
