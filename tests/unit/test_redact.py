"""Redaction: the webhook token in URL paths, registered secrets, tokens in forms and headers."""

from b24sync.redact import Redactor
from b24sync.secrets import Secret


def test_webhook_path_token_is_masked():
    r = Redactor()
    text = "HTTPConnectionPool: Max retries exceeded with url: /rest/12/abc123xyz/crm.contact.list.json"
    assert r(text) == "HTTPConnectionPool: Max retries exceeded with url: /rest/12/***/crm.contact.list.json"


def test_registered_values_and_form_tokens_are_masked():
    r = Redactor()
    r.add("Пароль-секрет")
    out = r("user=Администратор password=Пароль-секрет auth[application_token]=deadbeef&x=1 "
            "Authorization: Basic QWxhZGRpbjpvcGVu")
    assert "Пароль-секрет" not in out and "deadbeef" not in out and "QWxhZGRpbjpvcGVu" not in out
    assert "Администратор" in out and "x=1" in out


def test_secret_never_prints_itself():
    secret = Secret("https://p.example.ru/rest/1/tok3n/", "test")
    assert "tok3n" not in repr(secret) and "tok3n" not in str(secret) and "tok3n" not in f"{secret}"
    assert secret.reveal().endswith("tok3n/")
