"""The ingestion benchmark's machinery on a small stream: both clients see every event."""

from __future__ import annotations

from benchmarks import ami_ingest
from telephony.ami.parser import AMIParser


def test_the_stream_is_cycled_trace_events_ending_with_the_marker() -> None:
    stream = ami_ingest.build_stream(500)
    parser = AMIParser()
    parser.banner = ""  # the stream starts after the banner
    messages = parser.feed(stream)
    assert len(messages) == 501
    assert all(m.event for m in messages)
    assert messages[-1].event == "BenchEnd"


def test_both_clients_receive_every_event() -> None:
    stream = ami_ingest.build_stream(300)
    for runner in (ami_ingest.run_ours, ami_ingest.run_ours_catch_all, ami_ingest.run_panoramisk):
        result = ami_ingest.measure(runner, stream)
        assert result.count == 301, runner.__name__
        assert result.wall_rate > 0 and result.cpu_rate > 0
