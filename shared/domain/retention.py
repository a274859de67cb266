"""Retention policies: how long an artifact and its payload live. The sweep enforces them (documents and payloads
expire per policy and leave a tombstone that lineage still resolves)."""

from __future__ import annotations

from datetime import datetime, timedelta

WORKING_MATERIAL = "working_material"
# Policies a save may choose, with how long the record of fact lives after the save (None: until deleted).
RECORD_POLICIES: dict[str, timedelta | None] = {
    "standard": None,
    "permanent": None,
    "ephemeral_30d": timedelta(days=30),
    "regulatory_7y": None,  # calendar years, from `retain_until` (not a fixed number of days)
}
REGULATORY_POLICY = "regulatory_7y"
REGULATORY_YEARS = 7
# The sweep expires a regulatory record a day after its storage retention ends, so clock skew between us and Cloud
# Storage never makes the deletion of a still-locked object fail.
EXPIRY_AFTER_RETENTION = timedelta(days=1)
TOMBSTONE_DAYS = 30  # how long an expired artifact's tombstone document is kept before Firestore TTL removes it


def record_expiry(policy: str, saved_at: datetime) -> datetime | None:
    """When a saved record of fact expires under `policy`; None when it does not."""
    if policy not in RECORD_POLICIES:
        raise ValueError(f"unknown retention policy {policy!r}")
    if policy == REGULATORY_POLICY:
        return retain_until(saved_at) + EXPIRY_AFTER_RETENTION
    keep = RECORD_POLICIES[policy]
    return saved_at + keep if keep is not None else None


def add_years(moment: datetime, years: int) -> datetime:
    """The same calendar moment `years` later; 29 February becomes 1 March in a year without it."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, month=3, day=1)


def retain_until(saved_at: datetime) -> datetime:
    """Object Retention Lock's `retainUntilTime` for a regulatory record: the save plus seven calendar years."""
    return add_years(saved_at, REGULATORY_YEARS)


def working_expiry(created_at: datetime, ttl_days: int) -> datetime:
    """Working material expires unless saved; the bucket lifecycle rule removes its bytes on the same schedule."""
    return created_at + timedelta(days=ttl_days)


def tombstone_purge_at(expired_at: datetime) -> datetime:
    return expired_at + timedelta(days=TOMBSTONE_DAYS)


# An ended journey stays readable this long (its history, its outcome), then Firestore's TTL removes it; the
# artifacts, intents and executions it made keep their own lifetimes.
JOURNEY_DAYS = 30


def journey_purge_at(ended_at: datetime) -> datetime:
    return ended_at + timedelta(days=JOURNEY_DAYS)
