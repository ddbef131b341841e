"""``plan_pick``: the write that settles a ``field_undecided`` conflict, from the frames as read now."""

from __future__ import annotations

import pandas as pd
import pytest

from b24sync.conflicts import OpenConflict, ResolutionRefused, plan_pick

REF = "counterparty:5f0c3e1a-8d2b-4c6e-9a71-0b3d2e4f6a88"


def _conflict(field: str, reason: str = "no_timestamps", **detail) -> OpenConflict:
    return OpenConflict("abc123def456", "field_undecided", "company", reason, ("company:7", REF),
                        {"field": field, **detail}, {}, "2026-11-20T10:00:00", "2026-11-20T10:00:00")


def _frames(b24_phones=("+74951234567",), onec_phones=("+74957654321",), b24_name="ООО «Ромашка»",
            onec_name="Ромашка ООО"):
    b24 = pd.DataFrame([{"key": "company:7", "version": "2026-11-20T10:00:00+03:00", "name": b24_name,
                         "phones": tuple(b24_phones), "raw_phones": [(11, p) for p in b24_phones],
                         "raw_emails": []}])
    onec = pd.DataFrame([{"key": REF, "version": "AAAAAQAAAAA=", "name": onec_name, "phones": tuple(onec_phones),
                          "raw_phones": [(None, p) for p in onec_phones], "raw_emails": []}])
    return b24, onec


def test_the_picked_value_goes_to_the_other_side_with_its_precondition():
    picked = plan_pick(_conflict("name"), "1c", *_frames())
    (op,) = picked.plan.operations
    assert (op.target, op.entity, op.target_id, op.action) == ("bitrix24", "company", "7", "update")
    assert op.fields["name"] == {"before": "ООО «Ромашка»", "after": "Ромашка ООО", "reason": "picked"}
    assert op.precondition == {"DATE_MODIFY": "2026-11-20T10:00:00+03:00"}

    back = plan_pick(_conflict("name"), "bitrix24", *_frames())
    (op,) = back.plan.operations
    assert (op.target, op.entity, op.target_id) == ("onec", "counterparty", REF.partition(":")[2])
    assert op.precondition == {"DataVersion": "AAAAAQAAAAA="}


def test_1c_phones_picked_carry_the_multifield_patch_and_equal_values_need_no_write():
    (op,) = plan_pick(_conflict("phones"), "1c", *_frames()).plan.operations
    assert op.fields["phones"] == {"before": ["+74951234567"], "after": ["+74957654321"], "reason": "picked"}
    assert op.patch["PHONE"] == [{"ID": 11, "DELETE": "Y"}, {"VALUE": "+7 495 765-43-21", "VALUE_TYPE": "WORK"}]
    same = plan_pick(_conflict("name"), "1c", *_frames(b24_name="Ромашка ООО"))
    assert same.plan.operations == ()


def test_a_side_holding_the_value_that_fails_its_checks_cannot_be_picked():
    conflict = _conflict("phones", "invalid_value", value=["+7495"])
    with pytest.raises(ResolutionRefused, match="fails its checks"):
        plan_pick(conflict, "bitrix24", *_frames(b24_phones=("+7495",)))
    (op,) = plan_pick(conflict, "1c", *_frames(b24_phones=("+7495",))).plan.operations
    assert op.fields["phones"]["after"] == ["+74957654321"]


def test_who_is_who_conflicts_and_unknown_sides_are_refused():
    dup = OpenConflict("abc123def456", "duplicate_inn", "company", "same_kpp", ("company:7", REF), {}, {}, "", "")
    with pytest.raises(ResolutionRefused, match="conflicts link"):
        plan_pick(dup, "1c", *_frames())
    with pytest.raises(ResolutionRefused, match="not a side"):
        plan_pick(_conflict("name"), "excel", *_frames())
    b24, onec = _frames()
    with pytest.raises(ResolutionRefused, match="does not exist"):
        plan_pick(_conflict("name"), "1c", b24, onec.iloc[0:0])
