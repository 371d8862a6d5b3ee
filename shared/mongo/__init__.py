"""MongoDB access with PyMongo's async API: client, transactions, outbox, inbox, leases."""

from shared.mongo.client import (
    Database,
    Document,
    mongo_client,
    run_in_transaction,
    service_database,
)

__all__ = ["Database", "Document", "mongo_client", "run_in_transaction", "service_database"]
