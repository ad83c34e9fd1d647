"""One training at a time promotes versions of a registered model.

The lock is a registered model named `<name>_promotion_lock`: creating a name
that exists fails in every registry, so two trainings cannot both create it.
Its tags say who holds it (`owner`, a token of this process) and that the
holder is alive (`heartbeat`, a counter the holder raises every
RENEW_SECONDS from a thread of its own).

A waiting training watches the heartbeat on its own monotonic clock: a lock
whose heartbeat has not moved for STALE_SECONDS belongs to a training that
died, and is taken over. No two machines' clocks are compared, and a
holder that keeps renewing, however long it works, is not overtaken. One
whose renewals stopped for STALE_SECONDS (the machine slept, the network was
cut) may have been: before it moves an alias it checks `still_held`, and a
holder releases only the lock that carries its own token.

Taking over renames the dead holder's lock to a tombstone named after the
dead holder's token before creating a new one: of two trainings that saw the
same dead lock, only one can rename it (the second finds the name taken), so
they cannot delete each other's locks. The holder deletes the tombstones of
its lock on release.
"""

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..errors import first_line

logger = logging.getLogger(__name__)

SUFFIX = "_promotion_lock"
STALE_INFIX = "_stale_"
#: Longest registered model name MLflow's SQL stores hold.
MAX_NAME_LENGTH = 256
#: How often the holder raises its heartbeat; how long a heartbeat that does
#: not move means the holder died; how often a waiting training looks.
RENEW_SECONDS = 5.0
STALE_SECONDS = 60.0
POLL_SECONDS = 1.0
OWNER_TAG = "owner"
HEARTBEAT_TAG = "heartbeat"


def lock_name(name: str) -> str:
    """Return the registered model name of the lock on promotions of `name`.

    A name too long to take the suffix is shortened, keeping a digest of it.
    """
    longest = MAX_NAME_LENGTH - len(SUFFIX) - len(STALE_INFIX) - 16
    if len(name) > longest:
        name = f"{name[: longest - 13]}_{digest(name)[:12]}"
    return f"{name}{SUFFIX}"


def tombstone_name(lock: str, owner: str) -> str:
    """Return the name a dead holder's lock is moved to: one per holder."""
    return f"{lock}{STALE_INFIX}{digest(owner)[:16]}"


def digest(text: str) -> str:
    """Return a hex digest of `text`, for names of a bounded length."""
    return hashlib.sha256(text.encode()).hexdigest()


@contextmanager
def promotion_lock(client: MlflowClient, name: str) -> Iterator[str]:
    """Hold the lock on promotions of `name`; yield this holder's token."""
    lock = lock_name(name)
    token = uuid.uuid4().hex
    acquire(client, lock, token)
    stop = threading.Event()
    beating = threading.Thread(
        target=heartbeat, args=(client, lock, stop), name=f"{lock} heartbeat"
    )
    beating.daemon = True
    beating.start()
    try:
        yield token
    finally:
        stop.set()
        beating.join()
        release(client, lock, token)


def still_held(client: MlflowClient, name: str, token: str) -> bool:
    """Whether the lock on promotions of `name` still carries `token`."""
    state = holder(client, lock_name(name))
    return state is not None and state[0] == token


def acquire(client: MlflowClient, lock: str, token: str) -> None:
    """Create `lock` with `token` as its owner; wait while a live training holds it."""
    seen: tuple[str, str] | None = None
    since = time.monotonic()
    while True:
        try:
            client.create_registered_model(
                lock,
                tags={OWNER_TAG: token, HEARTBEAT_TAG: "0"},
                description="Held while a training promotes a version.",
            )
            return
        except MlflowException as error:
            # MLflow's SQL store, refused the name, looks the holder up to say
            # so: one that released it meanwhile is "not found". Try again.
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                continue
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        state = holder(client, lock)
        if state is None:
            continue  # released meanwhile
        if state != seen:
            seen, since = state, time.monotonic()
        elif time.monotonic() - since > STALE_SECONDS:
            if take_over(client, lock, state[0]):
                continue
            seen = None
        time.sleep(POLL_SECONDS)


def holder(client: MlflowClient, lock: str) -> tuple[str, str] | None:
    """Return the lock's owner token and heartbeat; None when it is gone."""
    try:
        tags = client.get_registered_model(lock).tags or {}
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    return tags.get(OWNER_TAG, ""), tags.get(HEARTBEAT_TAG, "")


def take_over(client: MlflowClient, lock: str, owner: str) -> bool:
    """Move a dead holder's lock aside; False when another training did.

    The tombstone's name comes from the dead owner's token, so only one
    waiting training can move that lock: the rename of a second finds the
    name taken.
    """
    try:
        client.rename_registered_model(lock, tombstone_name(lock, owner))
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "RESOURCE_ALREADY_EXISTS"):
            return False
        raise
    logger.warning(
        "took over %s: its holder's heartbeat did not move for %d s",
        lock,
        STALE_SECONDS,
    )
    return True


def heartbeat(client: MlflowClient, lock: str, stop: threading.Event) -> None:
    """Raise the lock's heartbeat every RENEW_SECONDS until `stop` is set.

    A lock taken over meanwhile is another's: `still_held` tells the holder.
    """
    beats = 0
    while not stop.wait(RENEW_SECONDS):
        beats += 1
        try:
            client.set_registered_model_tag(lock, HEARTBEAT_TAG, str(beats))
        except MlflowException as error:
            logger.warning("cannot renew %s: %s", lock, first_line(error))


def release(client: MlflowClient, lock: str, token: str) -> None:
    """Delete `lock` if it still carries `token`, and the lock's tombstones."""
    try:
        state = holder(client, lock)
        if state is not None and state[0] == token:
            client.delete_registered_model(lock)
        elif state is not None:
            logger.warning("%s is held by another training: left in place", lock)
        for tombstone in client.search_registered_models(
            filter_string=f"name LIKE '{lock}{STALE_INFIX}%'"
        ):
            if tombstone.name.startswith(f"{lock}{STALE_INFIX}"):
                client.delete_registered_model(tombstone.name)
    except MlflowException as error:
        logger.warning(
            "cannot release %s (%s): the next training takes it over once its "
            "heartbeat has not moved for %d s",
            lock,
            first_line(error),
            STALE_SECONDS,
        )
