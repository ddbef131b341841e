"""Field ownership rules from the ``[fields]`` table: defaults, overrides, errors that name the key."""

from __future__ import annotations

import pytest

from b24sync.errors import ConfigError
from b24sync.recon.rules import DEFAULT_POLICIES, FieldRules


def test_defaults_follow_the_business_rule():
    rules = FieldRules.from_dict({})
    assert rules.owner("phones") == rules.owner("emails") == rules.owner("manager") == "bitrix24"
    assert {rules.owner(f) for f in ("inn", "kpp", "full_name", "legal_address")} == {"onec"}
    assert rules.policy("name") == "none" and rules.owner("name") is None and "name" not in rules.synced()
    assert rules.allow_clear == frozenset()
    assert dict(rules.policies) == dict(DEFAULT_POLICIES)


def test_overrides_and_allow_clear():
    rules = FieldRules.from_dict({"name": "onec", "legal_address": "none", "allow_clear": ["emails"]})
    assert rules.policy("name") == "onec" and "legal_address" not in rules.synced()
    assert rules.may_clear("emails") and not rules.may_clear("phones")
    assert FieldRules.from_dict({"allow_clear": True}).may_clear("inn")
    assert FieldRules.from_dict(rules.to_dict()) == rules
    with pytest.raises(AttributeError):
        rules.allow_clear = frozenset()  # frozen


@pytest.mark.parametrize(("data", "key"), [
    ({"телефон": "bitrix24"}, "fields.телефон"),
    ({"phones": "crm"}, "fields.phones"),
    ({"allow_clear": "yes"}, "fields.allow_clear"),
    ({"allow_clear": ["phones", "адрес"]}, "адрес"),
])
def test_errors_name_the_key(data, key):
    with pytest.raises(ConfigError, match=key):
        FieldRules.from_dict(data)
