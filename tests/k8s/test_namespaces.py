"""Run namespaces: naming, labelling, and which ones the sweeper removes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from kubernetes import client

from harness.errors import BadInputError
from harness.k8s.namespaces import (
    CREATED_AT,
    MANAGED_BY,
    RUN_ID_LABEL,
    created_at_annotation,
    parse_age,
    run_labels,
    run_namespace,
    stale,
)

DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
NOW = datetime(2026, 5, 1, 18, 0, tzinfo=UTC)


# --- naming ------------------------------------------------------------------------------------


def test_a_short_run_id_is_kept_as_it_is() -> None:
    assert run_namespace("mlc", "20261126-171500-defaults-1a2b", "mlflow") == \
        "mlc-20261126-171500-defaults-1a2b-mlflow"


@pytest.mark.parametrize("run_id", [
    "20261126-171500-defaults-1a2b",
    "20261126-171500-external-postgres-and-a-very-long-scenario-label-ffff",
    "Run_ID.With:Odd/Characters",
    "-leading-and-trailing-",
    "___",
    "x" * 300,
])
@pytest.mark.parametrize("tool", ["mlflow", "jupyterhub", "seldon_core", "a" * 24])
def test_every_name_is_a_dns_label(run_id: str, tool: str) -> None:
    name = run_namespace("mlops-conformance", run_id, tool)

    assert DNS_LABEL.match(name), name
    assert len(name) <= 63
    assert name.startswith("mlops-conformance-")
    assert name.endswith("-" + tool.replace("_", "-"))


def test_names_are_deterministic() -> None:
    run_id = "20261126-171500-a-scenario-name-long-enough-to-be-shortened-0000"
    assert run_namespace("mlc", run_id, "prefect") == run_namespace("mlc", run_id, "prefect")


def test_long_run_ids_with_a_common_start_do_not_collide() -> None:
    start = "20261126-171500-external-postgres-private-registry-oauth-"
    first = run_namespace("mlc", start + "1a2b", "jupyterhub")
    second = run_namespace("mlc", start + "3c4d", "jupyterhub")

    assert first != second
    assert len(first) == len(second) == 63
    # The start stays readable: the digest replaces only the end.
    assert first.startswith("mlc-20261126-171500-external-postgres")


def test_run_ids_rewritten_to_fit_do_not_collide() -> None:
    # Both become "run-1" in a DNS label's alphabet; the digest of each keeps them apart.
    names = {run_namespace("mlc", run_id, "dask") for run_id in ("Run_1", "run.1", "run-1")}
    assert len(names) == 3
    assert "mlc-run-1-dask" in names  # the one that needed no rewriting is kept as it is


def test_tools_of_one_run_get_their_own_namespaces() -> None:
    run_id = "20261126-171500-defaults-1a2b" * 3
    names = {run_namespace("mlc", run_id, tool) for tool in ("mlflow", "feast", "dask")}
    assert len(names) == 3


@pytest.mark.parametrize("prefix", ["", "MLC", "mlc-", "-mlc", "mlc_x", "ml c", "a" * 21])
def test_a_bad_prefix_names_the_option_and_the_fix(prefix: str) -> None:
    with pytest.raises(BadInputError) as caught:
        run_namespace(prefix, "run", "mlflow")

    message = str(caught.value)
    assert "namespace_prefix" in message
    assert repr(prefix) in message
    assert "lowercase letters, digits and '-'" in message
    assert "at most 20 characters" in message


def test_a_tool_name_that_cannot_fit_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="tool name"):
        run_namespace("mlc", "run", "a" * 25)
    with pytest.raises(ValueError, match="tool name"):
        run_namespace("mlc", "run", "__")


# --- labelling ---------------------------------------------------------------------------------


def test_run_labels_say_ours_and_which_run() -> None:
    assert run_labels("20261126-171500-defaults-1a2b") == {
        "app.kubernetes.io/managed-by": "mlops-conformance",
        "mlops-conformance/run-id": "20261126-171500-defaults-1a2b",
    }
    assert MANAGED_BY == "app.kubernetes.io/managed-by"
    assert RUN_ID_LABEL == "mlops-conformance/run-id"


@pytest.mark.parametrize("run_id", ["x" * 64, "with spaces/and:colons", "-dash-", "", "é-run"])
def test_a_run_id_label_is_always_a_valid_label_value(run_id: str) -> None:
    value = run_labels(run_id)[RUN_ID_LABEL]

    assert LABEL_VALUE.match(value), value
    assert len(value) <= 63


def test_run_id_labels_of_different_runs_differ() -> None:
    start = "y" * 60
    assert run_labels(start + "-one")[RUN_ID_LABEL] != run_labels(start + "-two")[RUN_ID_LABEL]
    assert run_labels("a b")[RUN_ID_LABEL] != run_labels("a:b")[RUN_ID_LABEL]


def test_the_created_at_annotation_is_rfc3339_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert created_at_annotation(datetime(2026, 5, 1, 14, 30, 5, 999, tzinfo=plus_two)) == {
        "mlops-conformance/created-at": "2026-05-01T12:30:05Z"}
    made = datetime.fromisoformat(created_at_annotation()[CREATED_AT])
    assert made.tzinfo is not None
    assert abs(datetime.now(UTC) - made) < timedelta(minutes=1)
    with pytest.raises(ValueError, match="time zone"):
        created_at_annotation(datetime(2026, 5, 1))  # naive on purpose


# --- --older-than ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "age"), [
    ("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)),
    ("6h", timedelta(hours=6)), ("2d", timedelta(days=2)), (" 6h ", timedelta(hours=6)),
])
def test_ages(text: str, age: timedelta) -> None:
    assert parse_age(text) == age


@pytest.mark.parametrize("text", ["", "6", "h", "6 h", "6H", "1h30m", "-1h", "1.5h", "6w", "0h",
                                  "\u0666h"])  # an Arabic-Indic six
def test_a_bad_age_names_the_option_and_the_form(text: str) -> None:
    with pytest.raises(BadInputError) as caught:
        parse_age(text)

    message = str(caught.value)
    assert message.startswith(f"--older-than {text!r} is not an age")
    assert "90s, 30m, 6h, 2d" in message


# --- the sweeper's selection -------------------------------------------------------------------


def namespace(name: str, *, labels: dict[str, str] | None = None, age: timedelta | None = None,
              annotated_age: timedelta | str | None = None, phase: str = "Active",
              deleting: bool = False) -> client.V1Namespace:
    annotations = None
    if isinstance(annotated_age, timedelta):
        annotations = created_at_annotation(NOW - annotated_age)
    elif isinstance(annotated_age, str):
        annotations = {CREATED_AT: annotated_age}
    return client.V1Namespace(
        metadata=client.V1ObjectMeta(
            name=name, labels=labels, annotations=annotations,
            creation_timestamp=None if age is None else NOW - age,
            deletion_timestamp=NOW if deleting else None),
        status=client.V1NamespaceStatus(phase=phase))


OURS = run_labels("20261126-171500-defaults-1a2b")


def test_only_our_namespaces_older_than_the_age_are_chosen() -> None:
    found = [
        namespace("mlc-old-mlflow", labels=OURS, age=timedelta(hours=7)),
        namespace("mlc-old-dask", labels=OURS, age=timedelta(days=3)),
        namespace("mlc-new-mlflow", labels=OURS, age=timedelta(hours=1)),
        namespace("mlc-exactly-six", labels=OURS, age=timedelta(hours=6)),
        # Not ours: whatever its age or name, never.
        namespace("kube-system", age=timedelta(days=400)),
        namespace("mlc-lookalike", labels={"app": "mlflow"}, age=timedelta(days=9)),
        namespace("mlc-other-manager", labels={MANAGED_BY: "Helm"}, age=timedelta(days=9)),
        namespace("mlc-run-id-only", labels={RUN_ID_LABEL: "x"}, age=timedelta(days=9)),
    ]

    assert stale(found, timedelta(hours=6), NOW) == ["mlc-old-dask", "mlc-old-mlflow"]


def test_namespaces_already_going_away_are_left_alone() -> None:
    found = [
        namespace("mlc-terminating", labels=OURS, age=timedelta(days=1), phase="Terminating"),
        namespace("mlc-deleting", labels=OURS, age=timedelta(days=1), deleting=True),
        namespace("mlc-active", labels=OURS, age=timedelta(days=1)),
    ]

    assert stale(found, timedelta(hours=6), NOW) == ["mlc-active"]


def test_the_created_at_annotation_wins_over_the_servers_timestamp() -> None:
    found = [
        # Recreated by a retry an hour ago in a namespace the server has known for a day.
        namespace("mlc-annotated-new", labels=OURS, age=timedelta(days=1),
                  annotated_age=timedelta(hours=1)),
        namespace("mlc-annotated-old", labels=OURS, age=timedelta(minutes=5),
                  annotated_age=timedelta(hours=8)),
        # An annotation that cannot be read falls back to the server's timestamp.
        namespace("mlc-garbled", labels=OURS, age=timedelta(hours=8), annotated_age="yesterday"),
        namespace("mlc-naive", labels=OURS, age=timedelta(hours=1),
                  annotated_age="2020-01-01T00:00:00"),
    ]

    assert stale(found, timedelta(hours=6), NOW) == ["mlc-annotated-old", "mlc-garbled"]


def test_a_namespace_whose_age_cannot_be_told_is_never_chosen() -> None:
    found = [namespace("mlc-no-time", labels=OURS),
             namespace("mlc-bad-time", labels=OURS, annotated_age="soon")]

    assert stale(found, timedelta(seconds=1), NOW) == []


def test_stale_wants_an_aware_now() -> None:
    with pytest.raises(ValueError, match="time zone"):
        stale([], timedelta(hours=6), datetime(2026, 5, 1))  # naive on purpose
