"""What must hold after every fault: each dossier done exactly once, in every view.

For each dossier of a scenario, once the system has settled:

- intake (the applicant's view) and routing show the expected final state, and the
  final step appears once in the applicant's history;
- the facts on the topics (deduplicated by event id, as consumers deduplicate) hold
  each once-only fact once: a second ``dossier.done.v1`` under a new id would be a
  duplicated effect;
- audit's log holds every logged event of the dossier exactly once, no more, no less,
  and the dossier's evidence bundle verifies offline;
- no notification is left pending or in ``sending``, each sent one has its
  ``notification.sent.v1``, and no email, SMS or webhook went out twice.

One second copy is the documented crash window, not a duplicate: notification killed
with ``-9`` after a channel took a message and before its attempt was stored. Its record
then holds one successful attempt (the restarted sender's) for two copies, both with the
same key (``Message-ID``, SMS reference, delivery id) for the receiver to drop. It is
told apart (``resent``) only in a scenario that killed notification, or when the record
holds one ``unknown`` attempt (a send a stop cut off, which may have gone out, sent again
by the next sender); a copy the store knew of as sent (a second successful attempt), or
a third, is a duplicate.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from audit.trust import TrustPolicy, load_trust
from audit.verify import verify_document

from chaos.journeys import Journey
from shared.auth.identities import auth_headers
from shared.envelope import Envelope, MalformedMessage
from shared.kafka.deadletter import to_dead_letter
from shared.kafka.reading import read_retained
from shared.settings import KafkaSettings
from shared.topics import DEAD_LETTERS, DOSSIER_EVENTS, NOTIFICATION_EVENTS

# Facts a dossier has once (whatever their contract version).
ONCE = ("dossier.received", "dossier.route.planned", "dossier.done", "dossier.denied")
SETTLED = {"sent", "failed", "skipped", "held"}


def base_type(event_type: str) -> str:
    """``dossier.done.v1`` -> ``dossier.done``."""
    return event_type.rsplit(".v", 1)[0]


def in_crash_window(copies: int, stored: int, *, sender_killed: bool, cut_off: int = 0) -> bool:
    """Whether a message's second copy is a documented window (see above): one of the two
    copies never reached the record as sent, because the sender was killed, or because a
    stop cut its send off (``cut_off``: ``unknown`` attempts on record)."""
    return copies == 2 and stored == 1 and (sender_killed or cut_off == 1)


@dataclass
class Outcome:
    """One dossier's verdict: why it is lost or duplicated, if it is."""

    code: str | None
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)  # in the crash window, see above


async def facts_by_dossier(kafka: KafkaSettings) -> dict[str, dict[str, Envelope]]:
    """Events of the logged topics by dossier code, then by event id (duplicates folded)."""
    facts: dict[str, dict[str, Envelope]] = defaultdict(dict)
    for spec in (DOSSIER_EVENTS, NOTIFICATION_EVENTS):
        for record in await read_retained(kafka, spec):
            try:
                envelope = Envelope.from_bytes(record.value)
            except MalformedMessage:
                continue  # the poison messages: dead-lettered, never logged
            facts[envelope.subject][envelope.id] = envelope
    return facts


DeadLetterId = tuple[str, str, int, int, str | None, str]


async def dead_letters(kafka: KafkaSettings) -> dict[DeadLetterId, str | None]:
    """The run's dead letters by identity (group, original topic, partition and offset, key,
    kind), each with its key. A message dead-lettered twice by one group (its dead letter
    written, its offset not yet committed when the store timed out) counts once."""
    letters = [to_dead_letter(r) for r in await read_retained(kafka, DEAD_LETTERS)]
    return {
        (d.consumer_group, d.original_topic, d.original_partition, d.original_offset, d.key,
         d.error_kind): d.key
        for d in letters
    }  # fmt: skip


@dataclass
class Checker:
    """Checks journeys against every service's view and what went out."""

    client: httpx.AsyncClient
    urls: dict[str, str]
    message_ids: Counter[str]
    sms_file: Path
    webhook_deliveries: list[Counter[str]]  # each receiver's 2xx answers by delivery id
    _trust: TrustPolicy | None = None

    async def trust(self) -> TrustPolicy:
        """The log's pinned trust file, as an auditor fetches it once."""
        if self._trust is None:
            self._trust = load_trust(await self._get(f"{self.urls['audit']}/v1/audit/trust"))
        return self._trust

    async def check(
        self, journey: Journey, facts: dict[str, Envelope], *, sender_killed: bool = False
    ) -> Outcome:
        outcome = Outcome(journey.code)
        if journey.code is None or journey.error:
            outcome.lost.append(journey.error or "never submitted")
            return outcome
        await self._intake(journey, outcome)
        if not journey.denied:
            await self._routing(journey, outcome)
        self._facts(journey, facts, outcome)
        await self._audit(journey, facts, outcome)
        await self._notifications(journey, facts, outcome, sender_killed)
        return outcome

    async def _get(self, url: str, **kwargs: Any) -> Any:
        if url.startswith(self.urls["audit"]):  # audit's API is the auditors'
            kwargs["headers"] = auth_headers("auditor")
        response = await self.client.get(url, timeout=15, **kwargs)
        response.raise_for_status()
        return response.json()

    async def _intake(self, j: Journey, outcome: Outcome) -> None:
        view = await self._get(
            f"{self.urls['intake']}/v1/dossiers/{j.code}", headers={"X-Lookup-Token": j.token}
        )
        if view["state"] != j.expected_state:
            outcome.lost.append(f"intake shows {view['state']}")
        final = "dossier.denied" if j.denied else "dossier.done"
        steps = Counter(base_type(step["event_type"]) for step in view["history"])
        if steps[final] > 1:
            outcome.duplicated.append(f"intake history has {final} {steps[final]} times")

    async def _routing(self, j: Journey, outcome: Outcome) -> None:
        view = await self._get(f"{self.urls['routing']}/v1/dossiers/{j.code}")
        if view["state"] != "DONE":
            outcome.lost.append(f"routing shows {view['state']}")

    def _facts(self, j: Journey, facts: dict[str, Envelope], outcome: Outcome) -> None:
        types = Counter(base_type(envelope.type) for envelope in facts.values())
        for kind in ONCE:
            if types[kind] > 1:
                outcome.duplicated.append(f"{kind} published {types[kind]} times (new ids)")
        final = "dossier.denied" if j.denied else "dossier.done"
        if types[final] == 0:
            outcome.lost.append(f"no {final} on the topic")

    async def _audit(self, j: Journey, facts: dict[str, Envelope], outcome: Outcome) -> None:
        logged: list[str] = []
        after: int | None = None
        while True:
            params: dict[str, Any] = {"dossier": j.code, "limit": 500}
            if after is not None:
                params["after"] = after
            page = await self._get(f"{self.urls['audit']}/v1/audit/entries", params=params)
            logged += [item["event_id"] for item in page["items"]]
            after = page["next_after"]
            if after is None:
                break
        twice = [event_id for event_id, n in Counter(logged).items() if n > 1]
        if twice:
            outcome.duplicated.append(f"audit logged {len(twice)} events twice")
        missing = set(facts) - set(logged)
        if missing:
            outcome.lost.append(f"audit lacks {len(missing)} of {len(facts)} events")
        bundle = await self._get(f"{self.urls['audit']}/v1/audit/dossiers/{j.code}/bundle")
        try:
            verify_document(json.loads(json.dumps(bundle)), await self.trust())
        except Exception as exc:  # the verifier's refusal is the finding
            outcome.lost.append(f"bundle does not verify: {exc}")

    async def _notifications(
        self, j: Journey, facts: dict[str, Envelope], outcome: Outcome, sender_killed: bool
    ) -> None:
        listed = await self._get(
            f"{self.urls['notification']}/v1/notifications", params={"dossier": j.code}
        )
        proven = {
            e.data.get("notification_id") for e in facts.values() if e.type.startswith("notif")
        }
        sms = self._sms_references()
        for item in listed["items"]:
            if item["status"] not in SETTLED:
                outcome.lost.append(f"notification {item['id']} still {item['status']}")
            elif item["status"] == "sent" and item["id"] not in proven:
                outcome.lost.append(f"notification {item['id']} sent without its event")
            message_id = f"<{item['id']}@notification.lienthong>"
            sent = self.message_ids[message_id] + sms[item["id"]]
            sent += sum(receiver[item["id"]] for receiver in self.webhook_deliveries)
            if sent <= 1:
                continue
            stored = sum(attempt["outcome"] == "ok" for attempt in item["attempts"])
            cut_off = sum(attempt["outcome"] == "unknown" for attempt in item["attempts"])
            if in_crash_window(sent, stored, sender_killed=sender_killed, cut_off=cut_off):
                outcome.resent.append(f"notification {item['id']}")
            else:
                outcome.duplicated.append(
                    f"notification {item['id']} went out {sent} times ({stored} on record)"
                )

    def _sms_references(self) -> Counter[str]:
        if not self.sms_file.exists():
            return Counter()
        lines = self.sms_file.read_text(encoding="utf-8").splitlines()
        return Counter(json.loads(line)["reference"] for line in lines if line.strip())
