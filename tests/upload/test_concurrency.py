"""The default concurrency adapts: it grows while the service keeps up and backs off when
it says it is overloaded (429/503) or its latency climbs, instead of hammering it."""

from __future__ import annotations

import time

from reportgen import write_report

from junit2af import ReadSettings, ReportSet, Secret, Uploader, UploadSettings
from junit2af.localserver import FaultConfig, LocalServer
from junit2af.uploader import ConcurrencyLimit


def upload(server, report, journal, jobs):
    settings = UploadSettings(
        api_url=server.base_url,
        api_key=Secret(server.api_key),
        project_id=server.project_id,
        journal_path=journal,
        label=f"concurrency {jobs}",
        jobs=jobs,
        backoff_factor=0.01,
    )
    with ReportSet([str(report)], ReadSettings()) as reports, Uploader(settings) as uploader:
        summary = uploader.upload(reports)
        return summary, uploader.limit


def test_adaptive_concurrency_backs_off_where_a_fixed_one_hammers(tmp_path):
    report = write_report(tmp_path / "report.xml", 160, output_every=1000)
    faults = FaultConfig(latency_ms=10, capacity=6)
    with LocalServer(tmp_path / "server", faults=faults) as server:
        fixed, _ = upload(server, report, tmp_path / "j1", 48)
        fixed_429 = sum(1 for r in server.request_log if r.status == 429)
        server.request_log.clear() if hasattr(server.request_log, "clear") else None
        before = len(server.request_log)
        adaptive, limit = upload(server, report, tmp_path / "j2", None)
        adaptive_429 = sum(1 for r in server.request_log[before:] if r.status == 429)
    assert fixed.results_uploaded == adaptive.results_uploaded == 160
    assert fixed_429 > 60  # 48 at once against room for 6
    assert adaptive_429 * 4 < fixed_429, (adaptive_429, fixed_429)
    # It oscillates around the service's room for 6 (halved on 429s, +1 a round), far from
    # the 48 that hammered; where it ends depends on the machine's pace (seen: 3.5-8.5).
    assert limit.limit <= 2 * 6, limit.limit


def test_adaptive_concurrency_grows_while_the_service_keeps_up():
    now = [0.0]
    limit = ConcurrencyLimit(None, clock=lambda: now[0])
    stop = __import__("threading").Event()
    for _ in range(200):
        assert limit.acquire(stop)
        limit.latency(0.02)
        limit.release()
    assert limit.limit == limit.maximum  # slow start doubled it to the top
    limit.congested()
    assert limit.limit == limit.maximum / 2
    limit.congested()  # the same round: the requests in flight were sent before the cut
    assert limit.limit == limit.maximum / 2
    now[0] += 1.0
    for _ in range(40):
        limit.latency(0.2)  # ten times the best seen: a queue is building
    assert limit.limit < limit.maximum / 2
    fixed = ConcurrencyLimit(8)
    fixed.congested()
    fixed.latency(5)
    assert fixed.limit == 8  # --jobs N fixes it


def test_rising_latency_alone_slows_it_down(tmp_path):
    report = write_report(tmp_path / "report.xml", 400, output_every=1000)
    with LocalServer(
        tmp_path / "server", faults=FaultConfig(latency_ms=5, queue_latency_ms=4)
    ) as server:
        started = time.monotonic()
        summary, limit = upload(server, report, tmp_path / "j", None)
        assert summary.results_uploaded == 400
        assert time.monotonic() - started < 60
    assert limit.limit < 32  # each request in flight made all of them slower


def test_a_worker_keeps_its_place_and_an_unused_place_does_not_grow_the_limit():
    stop = __import__("threading").Event()
    limit = ConcurrencyLimit(None)
    start = limit.limit
    taken = [limit.acquire(stop) for _ in range(int(start))]
    assert all(taken) and limit.in_flight == int(start)
    # A worker going on to its next job keeps its place: no slot is freed for others.
    assert limit.next_turn(stop)
    assert limit.in_flight == int(start)
    # Places given back without a job (nothing left to do) do not count toward a round:
    # the limit does not grow while the workers wind down.
    for _ in range(int(start)):
        limit.give_back()
    assert limit.in_flight == 0
    assert limit.limit == start
    # Finished jobs do: a round of them doubles it in slow start.
    for _ in range(int(start)):
        assert limit.acquire(stop)
        limit.release()
    assert limit.limit == 2 * start
