"""Prometheus metrics of one server process (``GET /metrics``).

Counters live in this process; ``tarash_jobs`` (jobs by state and provider) is read from
the database at scrape time, so it is the same on every instance sharing one database.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

__all__ = ["Metrics"]


class Metrics:
    """The registry and the instruments the routes and workers update."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.steps = Counter(
            "tarash_job_steps", "Job steps run (one per claim)", ["step"], registry=self.registry
        )
        self.step_seconds = Histogram(
            "tarash_job_step_seconds", "Seconds per job step", ["step"], registry=self.registry
        )
        self.fallbacks = Counter(
            "tarash_fallbacks",
            "Jobs moved to the next config of their chain",
            ["to_provider"],
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "tarash_upstream_errors",
            "Errors from providers",
            ["provider", "type"],
            registry=self.registry,
        )
        self.job_seconds = Histogram(
            "tarash_job_seconds",
            "Seconds from acceptance to a final state",
            ["operation", "provider", "state"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=self.registry,
        )
        self.requests = Counter(
            "tarash_http_requests", "HTTP requests", ["route", "status"], registry=self.registry
        )
        self.request_seconds = Histogram(
            "tarash_http_request_seconds",
            "HTTP request latency",
            ["route"],
            registry=self.registry,
        )
        self._counts: list[tuple[str, str, int]] = []
        self.registry.register(_JobsCollector(self))

    def finished(self, row: dict[str, Any], at: float) -> None:
        self.job_seconds.labels(row["operation"], row["provider"] or "", row["state"]).observe(
            max(0.0, at - row["created_at"])
        )

    def set_job_counts(self, counts: list[tuple[str, str, int]]) -> None:
        self._counts = counts

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _JobsCollector:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> list[Any]:
        family = GaugeMetricFamily(
            "tarash_jobs",
            "Jobs in the database by state and provider",
            labels=["state", "provider"],
        )
        for state, provider, count in self.metrics._counts:
            family.add_metric([state, provider], count)
        return [family]
