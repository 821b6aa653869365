"""An admin request's results: a topic someone else created first is no failure; anything else is one error."""

from concurrent.futures import Future

import pytest
from confluent_kafka.cimpl import NewTopic

from atp.errors import ServiceError
from connectors.topics import await_admin, create_missing


def _done(error: Exception | None = None) -> Future[None]:
    future: Future[None] = Future()
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
    return future


def _refused(topic: str, exc: Exception) -> ServiceError:
    return ServiceError(f"kafka: could not create topic {topic}: {exc}")


def test_a_tolerated_error_is_no_failure():
    results = {"atp.availability": _done(), "atp.dlq": _done(RuntimeError("KafkaError{code=TOPIC_ALREADY_EXISTS}"))}
    await_admin(results, _refused, tolerated="TOPIC_ALREADY_EXISTS")


def test_any_other_error_names_what_failed():
    results = {"atp.dlq": _done(RuntimeError("POLICY_VIOLATION"))}
    with pytest.raises(ServiceError, match=r"^kafka: could not create topic atp.dlq: POLICY_VIOLATION$"):
        await_admin(results, _refused, tolerated="TOPIC_ALREADY_EXISTS")
    with pytest.raises(ServiceError, match="TOPIC_ALREADY_EXISTS"):
        await_admin({"atp.dlq": _done(RuntimeError("TOPIC_ALREADY_EXISTS"))}, _refused)


class _Admin:
    """An admin client over a cluster that already holds ``existing``; records what it is asked to create."""

    def __init__(self, existing: set[str], refusal: Exception | None = None) -> None:
        self.topics = dict.fromkeys(existing)
        self.refusal = refusal
        self.asked: list[tuple[list[str], dict[str, float]]] = []

    def list_topics(self, timeout: float) -> "_Admin":
        return self

    def create_topics(self, new_topics, **options):
        self.asked.append(([t.topic for t in new_topics], options))
        return {t.topic: _done(self.refusal) for t in new_topics}


def test_only_the_missing_topics_are_created_and_none_is_asked_for_twice():
    admin = _Admin({"atp.availability"})
    wanted = [NewTopic("atp.availability", 4, 1), NewTopic("atp.dlq", 4, 1)]
    create_missing(admin, wanted, _refused, request_timeout=15)
    assert admin.asked == [(["atp.dlq"], {"request_timeout": 15})]
    everything_there = _Admin({"atp.availability", "atp.dlq"})
    create_missing(everything_there, wanted, _refused, request_timeout=15)
    assert everything_there.asked == []


def test_a_topic_created_concurrently_is_fine_a_refusal_is_not():
    wanted = [NewTopic("atp.dlq", 4, 1)]
    create_missing(_Admin(set(), RuntimeError("TOPIC_ALREADY_EXISTS")), wanted, _refused)
    with pytest.raises(ServiceError, match=r"^kafka: could not create topic atp.dlq: INVALID_REPLICATION_FACTOR$"):
        create_missing(_Admin(set(), RuntimeError("INVALID_REPLICATION_FACTOR")), wanted, _refused)
