"""Transparency-log mechanisms shared by the audit log, its witnesses and the verifier.

RFC 6962/9162 Merkle trees and proofs (``merkle``), C2SP signed notes (``note``),
checkpoints (``checkpoint``), cosignatures (``cosignature``) and the witness protocol's
request body (``witness_protocol``). Pure: the standard library and ``cryptography``
only, so the offline verifier can use them without the services' runtime.
"""
