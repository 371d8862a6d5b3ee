"""Intake's HTTP request and response models, with the bounds and examples OpenAPI shows.

Pure pydantic (no I/O): format and size rules live here and surface as 422
``invalid_request``; rules that need the catalogue live in ``domain.admission``.

``requests``: what a desk or an applicant sends about a dossier, and its bounds;
``responses``: receipts, the applicant's view, notices and problems; ``catalogue``: the
pages of units and procedures; ``subject_access``: a data subject's request and answer.
"""
