"""Routing's pure rules: the routed dossier, its state machine, route resolution, deadlines.

No I/O here (a test enforces it): handlers load a dossier, call a ``decide_*`` function
that returns the new dossier and the facts it implies (or raises ``ActionRefused``),
then store both in one transaction.
"""
