"""crawler.jobs.metrics without a database: the process's own counters, read back through the
exposition text exactly as a Prometheus server would parse it."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from crawler.jobs.metrics import Metrics


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition by (name, sorted labels)."""
    text = metrics.render().decode("utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, tuple(sorted(labels.items())))]


def test_record_run_counts_the_run_and_what_it_stored() -> None:
    metrics = Metrics()
    metrics.record_run("telegram", "ok", items_new=5, items_updated=2, versions=3)
    metrics.record_run("telegram", "ok", items_new=1, items_updated=0, versions=1)
    metrics.record_run("web_page", "failed", items_new=0, items_updated=0, versions=0)
    assert value(metrics, "chanwatch_runs_total", kind="telegram", status="ok") == 2
    assert value(metrics, "chanwatch_runs_total", kind="web_page", status="failed") == 1
    assert value(metrics, "chanwatch_items_ingested_total", kind="telegram", change="new") == 6
    assert value(metrics, "chanwatch_items_ingested_total", kind="telegram", change="updated") == 2
    assert value(metrics, "chanwatch_versions_total", kind="telegram") == 4
    assert value(metrics, "chanwatch_versions_total", kind="web_page") == 0


def test_record_flood_counts_waits_and_their_seconds() -> None:
    metrics = Metrics()
    metrics.record_flood(30)
    metrics.record_flood(2.5)
    assert value(metrics, "chanwatch_flood_waits_total") == 2
    assert value(metrics, "chanwatch_flood_wait_seconds_total") == 32.5


def test_queue_depth_is_a_gauge_that_follows_the_last_value() -> None:
    metrics = Metrics()
    metrics.set_queue_depth(7)
    metrics.set_queue_depth(3)
    assert value(metrics, "chanwatch_queue_depth") == 3


@pytest.mark.parametrize(
    "counts", [(-1, 0, 0), (0, -1, 0), (0, 0, -1)], ids=["new", "updated", "versions"]
)
def test_a_negative_run_count_is_refused_and_moves_nothing(counts: tuple[int, int, int]) -> None:
    metrics = Metrics()
    metrics.record_run("telegram", "ok", 1, 1, 1)
    before = samples(metrics)
    with pytest.raises(ValueError, match="negative"):
        metrics.record_run("telegram", "ok", *counts)
    assert samples(metrics) == before


def test_a_negative_flood_wait_is_refused() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError, match="negative"):
        metrics.record_flood(-1)
    assert value(metrics, "chanwatch_flood_waits_total") == 0


def test_each_instance_has_its_own_registry_and_the_global_one_is_untouched() -> None:
    first, second = Metrics(), Metrics()
    first.record_run("telegram", "ok", 1, 0, 1)
    assert value(first, "chanwatch_runs_total", kind="telegram", status="ok") == 1
    assert ("chanwatch_runs_total", (("kind", "telegram"), ("status", "ok"))) not in samples(second)
    assert REGISTRY.get_sample_value("chanwatch_flood_waits_total") is None


def test_without_an_engine_no_database_family_is_exported() -> None:
    names = {family.name for family in text_string_to_metric_families(Metrics().render().decode())}
    assert "chanwatch_queue_depth" in names
    assert not names & {
        "chanwatch_database_up",
        "chanwatch_alerts_raised",
        "chanwatch_telegram_accounts",
        "chanwatch_targets_overdue",
    }
