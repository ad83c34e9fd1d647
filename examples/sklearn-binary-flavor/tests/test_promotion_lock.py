"""The promotion lock: one training at a time, a live holder never overtaken."""

import threading
import time

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from churn_risk.registry import promotion_lock

pytestmark = pytest.mark.registry

HEARTBEAT_TAG = promotion_lock.HEARTBEAT_TAG
OWNER_TAG = promotion_lock.OWNER_TAG
lock_name = promotion_lock.lock_name
hold = promotion_lock.promotion_lock


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seconds instead of minutes: renew often, call a lock dead soon."""
    monkeypatch.setattr(promotion_lock, "RENEW_SECONDS", 0.2)
    monkeypatch.setattr(promotion_lock, "STALE_SECONDS", 1.5)
    monkeypatch.setattr(promotion_lock, "POLL_SECONDS", 0.05)


def exists(name: str) -> bool:
    try:
        MlflowClient().get_registered_model(name)
    except MlflowException:
        return False
    return True


def in_thread(name: str, entered: list[float]) -> threading.Thread:
    """Take the lock of `name` in a thread; note when it got in."""

    def take() -> None:
        with hold(MlflowClient(), name):
            entered.append(time.monotonic())

    thread = threading.Thread(target=take)
    thread.start()
    return thread


def test_a_live_holder_is_never_overtaken() -> None:
    # The holder works far longer than a dead lock's STALE_SECONDS; its
    # heartbeat keeps the second training waiting until it releases.
    entered: list[float] = []
    with hold(MlflowClient(), "lock-live"):
        waiting = in_thread("lock-live", entered)
        time.sleep(3 * promotion_lock.STALE_SECONDS)
        assert not entered, "a second training entered beside a live holder"
        released = time.monotonic()
    waiting.join(30)
    assert entered and entered[0] >= released


def test_a_dead_holders_lock_is_taken_over_whatever_its_age() -> None:
    # A training killed while holding the lock: its heartbeat never moves.
    # The registry's timestamps are not read: a lock made just now by a dead
    # holder is taken over once its heartbeat stood still for STALE_SECONDS.
    client = MlflowClient()
    lock = lock_name("lock-dead")
    client.create_registered_model(lock, tags={OWNER_TAG: "dead", HEARTBEAT_TAG: "7"})
    started = time.monotonic()
    with hold(client, "lock-dead") as token:
        waited = time.monotonic() - started
        assert client.get_registered_model(lock).tags[OWNER_TAG] == token
    assert promotion_lock.STALE_SECONDS <= waited < 10 * promotion_lock.STALE_SECONDS
    assert not exists(lock)
    assert not exists(f"{lock}_stale_dead"), "the tombstone is gone after release"


def test_a_holder_releases_only_its_own_lock() -> None:
    # Had its lock been taken over (it was thought dead), the holder's exit
    # leaves the new holder's lock in place.
    client = MlflowClient()
    lock = lock_name("lock-own")
    with hold(client, "lock-own"):
        client.set_registered_model_tag(lock, OWNER_TAG, "another training")
    assert client.get_registered_model(lock).tags[OWNER_TAG] == "another training"
    client.delete_registered_model(lock)


def test_two_waiters_of_one_dead_lock_enter_one_at_a_time() -> None:
    client = MlflowClient()
    client.create_registered_model(
        lock_name("lock-race"), tags={OWNER_TAG: "dead", HEARTBEAT_TAG: "0"}
    )
    inside = threading.Lock()
    overlaps: list[str] = []

    def take() -> None:
        with hold(MlflowClient(), "lock-race"):
            if not inside.acquire(blocking=False):
                overlaps.append("two holders at once")
                return
            time.sleep(0.5)
            inside.release()

    threads = [threading.Thread(target=take) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not overlaps
    assert not exists(lock_name("lock-race"))


def test_a_long_model_names_lock_and_tombstone_fit_the_registry() -> None:
    # MLflow's SQL stores hold names of 256 characters.
    name = "m" * 250
    lock = lock_name(name)
    assert len(lock) <= 256
    assert len(promotion_lock.tombstone_name(lock, "x" * 32)) <= 256
    assert lock != lock_name("m" * 249), "names stay apart"
    client = MlflowClient()
    client.create_registered_model(lock, tags={OWNER_TAG: "dead", HEARTBEAT_TAG: "1"})
    with hold(client, name) as token:
        assert client.get_registered_model(lock).tags[OWNER_TAG] == token
    assert not exists(lock)


def test_release_removes_tombstones_left_by_holders_that_died() -> None:
    # A training took a dead lock over and died in turn: its tombstone stays
    # until the next holder releases.
    client = MlflowClient()
    lock = lock_name("lock-tombs")
    left = promotion_lock.tombstone_name(lock, "died long ago")
    client.create_registered_model(left)
    with hold(client, "lock-tombs"):
        pass
    assert not exists(left)
    assert not exists(lock)
