"""Contact-information rows written by b24sync are complete, and merging keeps what it must."""

from b24sync.sandbox.onec.contactinfo import row_problems
from b24sync.sources.onec.contactinfo import address_row, email_row, merge_rows, phone_row

PHONE_KIND, EMAIL_KIND, ADDR_KIND, FAX_KIND = "p" * 8, "e" * 8, "a" * 8, "f" * 8


def test_rows_carry_every_representation_consistently():
    phone = phone_row(PHONE_KIND, "+74951234567")
    assert phone["Представление"] == "+7 (495) 123-45-67"
    assert phone["НомерТелефона"] == "+74951234567" and phone["НомерТелефонаБезКодов"] == "1234567"
    email = email_row(EMAIL_KIND, "info@ромашка.рф")
    assert email["ДоменноеИмяСервера"] == "ромашка.рф"
    addr = address_row(ADDR_KIND, "123456, г. Москва, ул. Тверская, д. 1", city="Москва", region="Москва")
    for row in (phone, email, addr):
        row["LineNumber"] = 1
        assert row_problems(row) == [], row


def test_merge_keeps_foreign_kinds_and_typed_formats_and_never_duplicates():
    existing = [
        {"LineNumber": 1, "Вид_Key": PHONE_KIND, "Тип": "Телефон", "Представление": "8 (495) 123-45-67",
         "НомерТелефона": ""},
        {"LineNumber": 2, "Вид_Key": FAX_KIND, "Тип": "Факс", "Представление": "+7 495 000-00-00"},
        {"LineNumber": 3, "Вид_Key": PHONE_KIND, "Тип": "Телефон", "Представление": "+7 916 111-22-33",
         "НомерТелефона": "+79161112233"},
        {"LineNumber": 4, "Вид_Key": EMAIL_KIND, "Тип": "АдресЭлектроннойПочты", "Представление": "Info@Romashka.RU",
         "АдресЭП": "Info@Romashka.RU"},
    ]
    merged = merge_rows(existing, phone_kind=PHONE_KIND, email_kind=EMAIL_KIND,
                        phones=["+74951234567", "+78121234567"], emails=["info@romashka.ru"])
    shown = [(r["Вид_Key"], r["Представление"]) for r in merged]
    assert shown == [(PHONE_KIND, "8 (495) 123-45-67"), (FAX_KIND, "+7 495 000-00-00"),
                     (EMAIL_KIND, "Info@Romashka.RU"), (PHONE_KIND, "+7 (812) 123-45-67")]
    assert [r["LineNumber"] for r in merged] == [1, 2, 3, 4]
    again = merge_rows(merged, phone_kind=PHONE_KIND, email_kind=EMAIL_KIND, phones=["+74951234567", "+78121234567"],
                       emails=["info@romashka.ru"])
    assert [(r["Вид_Key"], r["Представление"]) for r in again] == shown
    untouched = merge_rows(existing, phone_kind=PHONE_KIND, email_kind=EMAIL_KIND)
    assert len(untouched) == 4
