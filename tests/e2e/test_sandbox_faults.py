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
