"""Intake's pure rules. No I/O here (a test enforces it).

``admission``: who may receive what (the catalogue's procedures, units, areas and required
documents); ``codes_and_dates``: dossier codes and the appointment date; ``state_checks``:
which state lets the applicant withdraw or supplement at intake, or a desk decide;
``public_view``: how dossier facts update the applicant's public view; ``retention``: when
a closed dossier's personal data are due for erasure.
"""
