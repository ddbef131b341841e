"""Process exit codes: the contract with cron, systemd and scripts (see docs/exit-codes.md)."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Every code b24sync exits with. Values follow sysexits where one fits, so that
    ``SuccessExitStatus=75`` and ``flock -E 75`` work as administrators expect."""

    OK = 0
    ERROR = 1
    USAGE = 2  # Click's own code for a bad command line
    STALE_PLAN = 5
    UNAVAILABLE = 69  # EX_UNAVAILABLE: a remote system is down or keeps failing
    LOCKED = 75  # EX_TEMPFAIL: another run holds the lock
    CONFIG = 78  # EX_CONFIG: the configuration or a secret is missing or wrong
    INTERRUPTED = 130  # SIGINT
