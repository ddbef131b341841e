"""The state file: schema by migrations, owner-only, WAL, runs, watermarks, links and baselines."""

import stat

from b24sync.state import State


def test_state_roundtrip(tmp_path):
    path = tmp_path / "s" / "state.db"
    state = State(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert state.db.journal_mode == "wal"
    run = state.start_run("reconcile")
    state.set_watermark("bitrix24.company", "2026-11-01T12:00:00+03:00")
    state.set_onec_versions("Catalog_Контрагенты", {"a": "AAAAAAAAAAE=", "b": "AAAAAAAAAAI="})
    with state.atomic():
        state.add_link("company:1", "counterparty:abc", "company", run)
        state.set_baseline("company:1", "counterparty:abc", "phones", ["+74951234567"])
    state.finish_run(run, "ok", {"updates": 1, "имя": "Ромашка"})
    again = State(path)  # re-opening applies no migration twice
    assert again.watermark("bitrix24.company") == "2026-11-01T12:00:00+03:00"
    assert again.onec_versions("Catalog_Контрагенты") == {"a": "AAAAAAAAAAE=", "b": "AAAAAAAAAAI="}
    assert again.links()[0]["onec_key"] == "counterparty:abc"
    assert again.baselines()[0]["value"] == ["+74951234567"]
    assert again.last_runs()[0]["status"] == "ok"
