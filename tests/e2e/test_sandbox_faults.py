"""``b24sync sandbox --b24-fault / --onec-fault``: seeded transport faults for soak runs by hand."""

from __future__ import annotations

import subprocess
import sys
import time

import requests

from b24sync.sandbox.bitrix24.faults import Faults as B24Faults
from b24sync.sandbox.onec.faults import Faults as OneCFaults


def _start(*flags: str) -> tuple[subprocess.Popen, dict[str, str]]:
    proc = subprocess.Popen([sys.executable, "-m", "b24sync", "sandbox", "--size", "20", "--no-limits", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    info: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while "READY" not in info and time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        key, _, value = line.strip().partition("=")
        if key:
            info[key] = value
    return proc, info


def test_faults_from_the_command_line_hit_both_emulators():
    proc, info = _start("--b24-fault", "internal500=1", "--onec-fault", "html500=1", "--fault-seed", "7")
    try:
        portal = requests.post(info["BITRIX24_WEBHOOK"] + "crm.company.list.json", json={}, timeout=10)
        assert portal.status_code == 500
        onec = requests.get(info["ONEC_ODATA"] + "Catalog_%D0%9A%D0%BE%D0%BD%D1%82%D1%80%D0%B0%D0%B3%D0%B5%D0%BD%D1%82"
                            "%D1%8B?$format=json", auth=(info["ONEC_USER"].encode(), info["ONEC_PASSWORD"].encode()),
                            timeout=10)
        assert onec.status_code == 500 and "<html" in onec.text.lower()
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_bad_fault_spec_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "b24sync", "sandbox", "--b24-fault", "meteor=0.5"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "meteor=0.5" in result.stderr


def test_the_same_seed_fails_the_same_requests():
    import random

    def pattern(faults) -> list[bool]:
        faults.probabilities = {"truncated": 0.3}
        faults.rng = random.Random("42/x")
        return [(faults.take(["crm.company.list"]) if isinstance(faults, B24Faults)
                 else faults.take("GET", "Catalog_Контрагенты")) is not None for _ in range(200)]

    assert pattern(B24Faults()) == pattern(B24Faults())
    assert pattern(OneCFaults()) == pattern(OneCFaults())
    assert 30 < sum(pattern(OneCFaults())) < 90


def test_query_limit_bursts_and_a_429_on_one_method():
    """``query_limit503`` answers the bucket's own refusal (not executed); ``operating429``, aimed at one
    method with ``faults.add(method, …)``, blocks that method while the others answer."""
    from b24sync.sandbox.run import start_sandbox

    with start_sandbox(size=20, seed=0, limits=False) as sandbox:
        url = sandbox.bitrix24.webhook_url
        sandbox.bitrix24.faults.add(None, "query_limit503", count=2)
        burst = [requests.post(url + "crm.company.list.json", json={}, timeout=10) for _ in range(3)]
        assert [r.status_code for r in burst] == [503, 503, 200]
        assert burst[0].json()["error"] == "QUERY_LIMIT_EXCEEDED"
        sandbox.bitrix24.faults.add("crm.contact.list", "operating429", count=1)
        blocked = requests.post(url + "crm.contact.list.json", json={}, timeout=10)
        other = requests.post(url + "crm.company.list.json", json={}, timeout=10)
        assert blocked.status_code == 429 and blocked.json()["error"] == "OPERATION_TIME_LIMIT"
        assert other.status_code == 200
    proc, info = _start("--b24-fault", "query_limit503=1", "--b24-fault", "operating429=0")  # known on the CLI
    try:
        assert requests.post(info["BITRIX24_WEBHOOK"] + "crm.company.list.json", json={}, timeout=10).status_code == 503
    finally:
        proc.terminate()
        proc.wait(10)
