"""The race-week figures and start lists as the sandbox's world says they must be, computed in
plain Python from its registrations (independently of the pandas code under test)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from p88_pipeline.providers.registry import names
from p88_sandbox.truth import future_truth_events

DAY = timedelta(days=1)
AGES = (("under 20", 0, 20), ("20-29", 20, 30), ("30-39", 30, 40), ("40-49", 40, 50))
AGES += (("50-59", 50, 60), ("60+", 60, 1000))


def registered_as_reported(provider: str, moment: datetime) -> datetime:
    """RunSignUp reports registration dates to the minute (`M/D/YYYY HH:MM`)."""
    return moment.replace(second=0) if provider == "runsignup" else moment


def no_bib(bib: object) -> bool:
    return bib is None or str(bib).strip() == ""


def future_events(world, slug: str, now: datetime) -> list[tuple[str, object]]:
    """(provider, EventState) of the partner's future events, every provider."""
    out = []
    for provider in names():
        if provider not in world.partner(slug).providers:
            continue
        for event_id in future_truth_events(world, provider, slug, now, DAY):
            out.append((provider, world.event_state(provider, event_id)))
    return out


def event_figures(world, provider: str, event, now: datetime) -> dict:
    since = now - DAY
    regs = list(world.registrations(event))
    active = [r for r in regs if r.removal is None]
    new = [r for r in active if registered_as_reported(provider, r.registered_at) >= since]
    new_ids = {r.pid for r in new}
    tz = ZoneInfo(event.timezone)
    ages = {label: 0 for label, _, _ in AGES}
    for r in active:
        for label, low, high in AGES:
            if low <= r.fields["age"] < high:
                ages[label] += 1
    ages["unknown"] = 0
    genders = [r.fields["gender"] for r in active]
    return {
        "event_name": event.name,
        "days_to_start": (event.start.astimezone(tz).date() - now.astimezone(tz).date()).days,
        "active": len(active),
        "new_24h": len(new),
        "modified_24h": sum(1 for r in active if r.modified_at >= since and r.pid not in new_ids),
        "removed_24h": sum(
            1 for r in regs if r.removal is not None and r.removal["removed_at"] >= since
        ),
        "without_bib": sum(1 for r in active if no_bib(r.fields["bib"])),
        "gender_f": genders.count("F"),
        "gender_m": genders.count("M"),
        "gender_x": genders.count("X"),
        "gender_unknown": sum(1 for g in genders if g not in ("F", "M", "X")),
        "age_groups": ages,
    }


def _bib_key(bib: str) -> tuple:
    if bib == "":
        return (2, 0, "")
    if bib.isascii() and bib.isdigit():
        return (0, int(bib), bib)
    return (1, 0, bib.casefold())


def start_list(world, provider: str, event) -> list[dict[str, str]]:
    """The CSV rows the event's start list must have, in order, every value as text."""
    rows = []
    for r in world.registrations(event):
        if r.removal is not None:
            continue
        f = r.fields
        rows.append(
            {
                "bib": "" if no_bib(f["bib"]) else str(f["bib"]).strip(),
                "first_name": f["first_name"] or "",
                "last_name": f["last_name"] or "",
                "gender": f["gender"] or "",
                "age": "" if f["age"] is None else str(f["age"]),
                "dob": f["dob"] or "",
                "team": f["team_name"] or "",
                "registration_id": str(r.pid),
                "provider": provider,
            }
        )
    return sorted(
        rows,
        key=lambda row: (
            _bib_key(row["bib"]),
            row["last_name"].casefold(),
            row["first_name"].casefold(),
            len(row["registration_id"]),
            row["registration_id"],
        ),
    )


def duplicate_bibs(world, provider: str, slug: str, now: datetime) -> dict[str, int]:
    """Event id -> how many bibs are held by more than one of its active registrations."""
    out = {}
    for p, event in future_events(world, slug, now):
        if p != provider:
            continue
        holders: dict[str, int] = {}
        for r in world.registrations(event):
            if r.removal is None and not no_bib(r.fields["bib"]):
                bib = str(r.fields["bib"]).strip()
                holders[bib] = holders.get(bib, 0) + 1
        if dupes := sum(1 for n in holders.values() if n > 1):
            out[str(event.event_id)] = dupes
    return out


def missing_bibs(
    world, provider: str, slug: str, now: datetime, within: timedelta
) -> dict[str, int]:
    """Event id -> active registrations without a bib, for events starting in (now, now+within]."""
    out = {}
    for p, event in future_events(world, slug, now):
        if p != provider or not now < event.start <= now + within:
            continue
        if n := sum(
            1 for r in world.registrations(event) if r.removal is None and no_bib(r.fields["bib"])
        ):
            out[str(event.event_id)] = n
    return out
