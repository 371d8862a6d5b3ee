"""The operations console: flows, on-time results, dossiers, health and dead letters."""
