"""The dossier index (``audit.dossier_index``) brought up to a tree size from the store.

The index is fed in log order, so bringing it from size M to N reads only the subjects of
entries M .. N-1; a process keeps its index between checkpoints and bundles.
"""

from __future__ import annotations

from audit.dossier_index import DossierIndex
from audit.store import AuditStore
from shared.mongo.client import Session


async def index_at(
    index: DossierIndex, store: AuditStore, size: int, session: Session | None = None
) -> DossierIndex:
    """The index of the first ``size`` entries: ``index`` advanced, or a fresh one if
    ``index`` is already beyond ``size``. LookupError(message, index) if an entry is missing."""
    if index.tree_size > size:
        index = DossierIndex()
    if index.tree_size == size:
        return index  # nothing to read
    for position, subject in await store.entry_subjects(index.tree_size, size, session):
        index.add(position, subject)
    return index
