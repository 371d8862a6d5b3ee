"""Mechanisms shared by the four services: settings, event envelope and contracts,
Kafka publisher and consumer runner, MongoDB outbox and inbox, telemetry, HTTP basics.

Business rules never live here; event contracts do, because producers and
consumers must agree on them without importing each other.
"""
