"""What routing's HTTP API says in words readers can translate: a trail entry's detail as
a code with params beside its English sentence, the overdue list's step in both
languages; dossiers stored before either still answer."""

from __future__ import annotations

from routing.upgrade import MARKER, MARKER_STEP_NAME_EN, upgrade_earlier_documents

from shared.runtime import CommonSettings
from tests.integration.routing.helpers import quiet_routing, receive
from tests.unit.routing.builders import DISTRICT_COMMITTEE, MONDAY_9AM, TAN_HOA_DESK

CODE = "001.21.31.H59-260302-0001"
REASON = "Thiếu trích lục bản đồ địa chính"


async def test_trail_entries_carry_a_code_and_params_and_the_overdue_list_both_step_names(
    common_settings: CommonSettings,
) -> None:
    async with quiet_routing(common_settings) as (client, app, pub):
        await receive(pub, client, CODE)
        body = {"unit": TAN_HOA_DESK, "outcome": "approve"}
        completed = await client.post(f"/v1/dossiers/{CODE}/step/complete", json=body)
        due = completed.json()["dossier"]["transfer"]["step_due_date"]
        refuse = {"unit": DISTRICT_COMMITTEE, "reason": REASON}
        assert (await client.post(f"/v1/dossiers/{CODE}/transfer/refuse", json=refuse)).is_success

        trail = (await client.get(f"/v1/dossiers/{CODE}/trail")).json()
        said = [
            (e["event"], e["detail_code"], e["detail_params"], e["detail"]) for e in trail["events"]
        ]
        assert said[-3:] == [
            (
                "dossier.step.completed.v1",
                "step_completed",
                {"step_index": 0, "outcome": "approve"},
                "step 0: approve",
            ),
            (
                "dossier.transfer.requested.v1",
                "transfer_requested",
                {
                    "step_index": 1,
                    "from_unit": TAN_HOA_DESK,
                    "to_unit": DISTRICT_COMMITTEE,
                    "step_due_date": due,
                },
                f"step 1: {TAN_HOA_DESK} -> {DISTRICT_COMMITTEE}, due {due}",
            ),
            ("dossier.transfer.refused.v1", "transfer_refused", {"reason": REASON}, REASON),
        ]
        # The reception has nothing to add, in any form.
        assert said[0] == ("dossier.received.v2", None, None, None)

        # The refusal sent it back: the desk's step runs again, due Tuesday (nearly late).
        overdue = (await client.get("/v1/overdue", params={"within_days": 1})).json()
        [item] = [d for u in overdue["units"] for d in u["dossiers"]]
        assert (item["dossier_code"], item["step_name_en"]) == (
            CODE,
            trail["steps"][0]["name_en"],
        )
        assert item["step_name"] == trail["steps"][0]["name"] != item["step_name_en"]
        inbox = (await client.get(f"/v1/units/{TAN_HOA_DESK}/inbox")).json()
        assert inbox["items"][0]["step_name_en"] == item["step_name_en"]

        schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
        code_schema = schema["HistoryEntry"]["properties"]["detail_code"]
        assert "transfer_refused" in code_schema["anyOf"][0]["enum"]
        assert "step_name_en" in schema["InboxItem"]["properties"]

        # As stored by the previous version: entries without codes, a summary without the
        # English step name. The trail still answers (the sentence alone), and the start's
        # upgrade gives the summary its English name from the dossier's record.
        store, db = app.state.routing.store, app.state.runtime.db
        stored = await store.dossiers.find_one({"_id": CODE})
        assert stored is not None
        for entry in stored["model"]["history"]:
            del entry["detail_code"], entry["detail_params"]
        await store.dossiers.update_one(
            {"_id": CODE},
            {"$set": {"model": stored["model"]}, "$unset": {"summary.step_name_en": 1}},
        )
        old = (await client.get(f"/v1/dossiers/{CODE}/trail")).json()
        assert [(e["detail_code"], e["detail_params"], e["detail"]) for e in old["events"]][-1] == (
            None,
            None,
            REASON,
        )
        before = (await client.get("/v1/overdue", params={"within_days": 1})).json()
        assert before["units"][0]["dossiers"][0]["step_name_en"] is None
        # A store upgraded before (its first marker kept), not yet for the English name.
        assert await db["upgrades"].find_one({"_id": MARKER}) is not None
        await db["upgrades"].delete_one({"_id": MARKER_STEP_NAME_EN})
        assert await upgrade_earlier_documents(db, store, MONDAY_9AM) == 1
        after = (await client.get("/v1/overdue", params={"within_days": 1})).json()
        assert after["units"][0]["dossiers"][0]["step_name_en"] == item["step_name_en"]
