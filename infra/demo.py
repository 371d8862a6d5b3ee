"""Demo data for ``make run``: a few dossiers submitted through the public APIs."""

from __future__ import annotations


def load_demo_data(urls: dict[str, str]) -> None:
    """Submit demo dossiers (filled in as the services gain their features)."""
    print("[demo] no demo data yet", flush=True)
