"""Queue monitoring: early release (排队早释), service level and waiting callers, live and
historical, for Prometheus, the JSON API, the logs, the wallboard and the HTML report.

Modules: ``tracker`` (AMI events -> caller outcomes), ``figures`` (in-memory windows),
``history`` (Redis per-minute buckets), ``callbacks`` (回拨 list), ``monitor`` (the
component), ``collector`` (Prometheus), ``views``/``routes`` (HTTP), ``report`` (HTML report),
``wiring`` (puts it all into the service). See docs/monitoring.md.
"""
