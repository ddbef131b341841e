"""Scale: 100,000 contacts loaded in bulk and exported with the documented ``>ID`` keyset walk.

No wall-clock assertion: the test only has to finish inside the suite's normal timeout, which it
can only do if the keyset path is O(log N + page) rather than a scan per page.
"""

from __future__ import annotations

from b24sync.sandbox.bitrix24.api import PortalSeed

from .b24_methods_support import make_b24

COUNT = 100_000


def _seed() -> PortalSeed:
    first = ["Анна", "Иван", "Пётр", "Мария", "Ольга"]
    return PortalSeed(contacts=[{"NAME": first[i % 5], "LAST_NAME": f"Клиент {i}",
                                 "EMAIL": [{"VALUE": f"k{i}@почта.рф"}]} for i in range(1, COUNT + 1)])


def test_keyset_export_of_100k_contacts() -> None:
    for b24 in make_b24(_seed(), rng_seed=5):
        assert b24.call("crm.contact.list", {"select": ["ID"]}).body["total"] == COUNT
        seen: list[int] = []
        last = 0
        while True:
            cmd = {f"c{n}": f"crm.contact.list?order[ID]=ASC&filter[>ID]="
                            f"{last if n == 0 else f'$result[c{n - 1}][49][ID]'}&select[]=ID&select[]=NAME&start=-1"
                   for n in range(50)}
            reply = b24.call("batch", {"halt": 0, "cmd": cmd})
            sections = reply.result["result"]
            pages = [sections[f"c{n}"] for n in range(50) if f"c{n}" in sections]
            done = False
            for page in pages:
                seen += [int(r["ID"]) for r in page]
                if len(page) < 50:
                    done = True
                    break
            if done:
                break
            last = seen[-1]
        assert len(seen) == COUNT and seen == sorted(set(seen)) and seen[-1] == COUNT
