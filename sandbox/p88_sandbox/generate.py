"""Deterministic generation: partners, races, events and the base record of each participant.

Nothing here stores participants. A base record is a pure function of (seed, event, index), so the
seed world (407,053 registrations) costs a few kilobytes until someone reads it.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from p88_sandbox.fakes.provider import WorldShape

UTC = UTC
MASK = (1 << 64) - 1

TIMEZONES = (
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Pacific/Honolulu",
    "America/Phoenix",
    "America/Anchorage",
)
CITIES = (
    ("Springfield", "IL"),
    ("Boulder", "CO"),
    ("Eugene", "OR"),
    ("Burlington", "VT"),
    ("Asheville", "NC"),
    ("Madison", "WI"),
    ("Duluth", "MN"),
    ("Santa Fe", "NM"),
    ("Hilo", "HI"),
    ("Bend", "OR"),
    ("Savannah", "GA"),
    ("Missoula", "MT"),
)
THEMES = (
    "Turkey Trot",
    "Spring Classic",
    "River Run",
    "Harbor Half",
    "Moonlight Dash",
    "Trail Challenge",
    "Marathon",
    "Resolution Run",
    "Firecracker 5K",
    "Summit Series",
)
DISTANCES = (
    ("5K", 1.0),
    ("10K", 1.5),
    ("Half Marathon", 3.0),
    ("Marathon", 6.0),
    ("1 Mile Kids Fun Run", 0.5),
)
FIRST = (
    "James",
    "María",
    "Zoë",
    "José",
    "Chloé",
    "Siobhán",
    "Łukasz",
    "Anaïs",
    "Björn",
    "Mei",
    "Aarav",
    "Olivia",
    "Liam",
    "Noah",
    "Emma",
    "Ava",
    "Mateo",
    "Amélie",
    "Søren",
    "Fatima",
    "Kwame",
    "Yuki",
    "Sean",
    "Ngozi",
    "Chen",
    "Dmitri",
    "Émile",
    "Ingrid",
    "Raúl",
    "Priya",
)
LAST = (
    "Smith",
    "O'Brien",
    "García",
    "Müller",
    "D'Angelo",
    "Nguyễn",
    "Johnson",
    "Kowalski",
    "Østergaard",
    "Brown",
    "O'Neill",
    "López",
    "Williams",
    "Martínez",
    "Dubois",
    "Fernández-Ruiz",
    "McDonald",
    "Şahin",
    "Yamamoto",
    "Jones",
    "Okafor",
    "Van-Dyke",
    "Nakamura",
    "Schröder",
    "Ó'Súilleabháin",
    "Lee",
    "Patel",
    "Kim",
    "Rossi",
    "Ivanova",
)
TEAMS = (
    "Road Runners",
    "Trail Dogs",
    "Sole Sisters",
    "Pacers Club",
    "Team Hoyt Fans",
    "Mile High Milers",
    "Couch to 5K Crew",
    "Über Läufer",
)
NATO = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliett",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
)
PARTNER_KINDS = ("Timing", "Racing Co.", "Race Services", "Sports Timing")


def mix(*parts: int) -> int:
    """splitmix64 over a tuple of ints: a cheap, stable hash (Python's hash() is salted)."""
    x = 0x9E3779B97F4A7C15
    for p in parts:
        x = (x ^ (p & MASK)) & MASK
        x = (x + 0x9E3779B97F4A7C15) & MASK
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
        x ^= x >> 31
    return x


def unit(*parts: int) -> float:
    """A deterministic float in [0, 1)."""
    return (mix(*parts) >> 11) / float(1 << 53)


@dataclass(frozen=True)
class Scale:
    partners: int
    events: int
    participants: int
    future_ratio: float
    big_events: int


SCALES = {
    "tiny": Scale(partners=2, events=12, participants=360, future_ratio=0.5, big_events=0),
    "small": Scale(partners=4, events=100, participants=20_000, future_ratio=0.3, big_events=2),
    "seed": Scale(partners=13, events=1616, participants=407_053, future_ratio=0.155, big_events=4),
    # A platform ten times the seed: same mix per partner, ten times the partners and rows.
    "10x": Scale(
        partners=130, events=16_160, participants=4_070_530, future_ratio=0.155, big_events=40
    ),
}


def scale_named(name: str) -> Scale:
    """A named scale, or `partners-N`: N partners of the tiny world's size each (6 events, 180
    registrations), for measuring orchestration where the sync work itself is small."""
    if name in SCALES:
        return SCALES[name]
    count = name.removeprefix("partners-")
    if name.startswith("partners-") and count.isdigit() and int(count) >= 1:
        n = int(count)
        return Scale(partners=n, events=6 * n, participants=180 * n, future_ratio=0.5, big_events=0)
    known = ", ".join([*SCALES, "partners-N"])
    raise ValueError(f"unknown scale {name!r} (known: {known})")


@dataclass
class Partner:
    """A timing partner and its credentials on each platform it uses (provider -> name -> value)."""

    id: int
    slug: str
    name: str
    providers: tuple[str, ...]
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class EventState:
    """One event: generation parameters plus overlays of everything that changed since."""

    provider: str
    partner_slug: str
    event_id: int
    race_id: int
    race_name: str
    name: str
    distance: str
    start: datetime
    end: datetime | None
    timezone: str
    city: str
    state: str
    created: datetime
    registration_opens: datetime
    base_count: int
    id_base: int
    fee_cents: int
    # pid -> {"modified_at": datetime, "fields": {...}, "index": virtual index for added ones}
    overlay: dict[int, dict[str, Any]] = field(default_factory=dict)
    added: list[int] = field(default_factory=list)
    # pid -> {"removed_at": datetime, "reason": str, "new_registration_id": int | None}
    removed: dict[int, dict[str, Any]] = field(default_factory=dict)

    def base_ids(self) -> range:
        return range(self.id_base, self.id_base + self.base_count)

    def all_ids(self) -> list[int]:
        return [*self.base_ids(), *self.added]

    def index_of(self, pid: int) -> int | None:
        if self.id_base <= pid < self.id_base + self.base_count:
            return pid - self.id_base
        entry = self.overlay.get(pid)
        return entry.get("index") if entry else None


def partner_secrets(seed: int, slug: str, provider: str, names: Iterable[str]) -> dict[str, str]:
    rng = random.Random(mix(seed, 7, *slug.encode(), *provider.encode()))
    return {name: "".join(rng.choice("0123456789abcdef") for _ in range(32)) for name in names}


def partner_slug(index: int) -> str:
    """alpha..papa, then alpha-1..papa-1, ...: the first 16 keep the names tests know."""
    name = NATO[index % len(NATO)]
    return name if index < len(NATO) else f"{name}-{index // len(NATO)}"


def make_partners(seed: int, scale: Scale, shapes: Mapping[str, WorldShape]) -> list[Partner]:
    """Partner i uses every provider whose shape says so (the first partner uses them all)."""
    partners = []
    for i in range(scale.partners):
        slug = partner_slug(i)
        providers = tuple(name for name, shape in shapes.items() if i == 0 or shape.uses(i))
        partners.append(
            Partner(
                id=101 + i,
                slug=slug,
                name=f"{slug.capitalize()} {PARTNER_KINDS[i % 4]}",
                providers=providers,
                secrets={
                    name: partner_secrets(seed, slug, name, shapes[name].secrets)
                    for name in providers
                },
            )
        )
    return partners


def event_sizes(rng: random.Random, scale: Scale) -> list[int]:
    """Skewed sizes summing exactly to the scale's participant count."""
    n = scale.events
    if scale.big_events == 0:
        raw = [rng.randint(10, 50) for _ in range(n)]
    else:
        raw = []
        for _ in range(n):
            r = rng.random()
            if r < 0.70:
                raw.append(rng.randint(40, 130))
            elif r < 0.95:
                raw.append(rng.randint(150, 550))
            else:
                raw.append(rng.randint(500, 1500))
        for i in rng.sample(range(n), scale.big_events):
            raw[i] = rng.randint(15_000, 30_000) if scale.events > 500 else rng.randint(3000, 5000)
    total = sum(raw)
    sizes = [max(3, round(s * scale.participants / total)) for s in raw]
    biggest = max(range(n), key=sizes.__getitem__)
    sizes[biggest] += scale.participants - sum(sizes)
    return sizes


def local_start(rng: random.Random, now: datetime, tz: ZoneInfo, future: bool) -> datetime:
    """A race start in its own zone: some tomorrow-ish, some late at night, most ordinary days."""
    if future:
        kind = rng.random()
        if kind < 0.15:  # within the next day
            start = now + timedelta(hours=rng.uniform(2, 22))
            return start.replace(second=0, microsecond=0).astimezone(tz)
        day = now.astimezone(tz).date() + timedelta(days=rng.randint(1, 200))
        at = (
            time(23, rng.choice((0, 15, 30, 45)))
            if kind < 0.25
            else time(rng.randint(6, 9), rng.choice((0, 15, 30, 45)))
        )
    else:
        day = now.astimezone(tz).date() - timedelta(
            days=rng.choice((1, 2, 3)) if rng.random() < 0.05 else rng.randint(4, 700)
        )
        at = time(rng.randint(6, 9), rng.choice((0, 30)))
    return datetime.combine(day, at, tzinfo=tz)


def dob_for(rng: random.Random, on: date) -> tuple[str, int]:
    age = rng.randint(8, 78)
    born = date(on.year - age, rng.randint(1, 12), rng.randint(1, 28))
    real_age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return born.isoformat(), real_age


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def person(seed: int, event: EventState, index: int) -> dict[str, Any]:
    """The base record of registration number `index` of `event` (names, contact, bib, money)."""
    rng = random.Random(mix(seed, event.event_id, index, 3))
    first, last = rng.choice(FIRST), rng.choice(LAST)
    dob, age = dob_for(rng, event.start.date())
    r = rng.random()
    bib: int | str | None = (
        None if r < 0.08 else (f"A{rng.randint(1, 999)}" if r < 0.15 else 1000 + index)
    )
    team = rng.choice(TEAMS) if rng.random() < 0.3 else None
    city, state = rng.choice(CITIES)
    return {
        "first_name": first,
        "middle_name": rng.choice(("", "", "", "J.", "Ann", "Lee")),
        "last_name": last,
        "email": f"{ascii_slug(first)}.{ascii_slug(last)}{rng.randint(1, 9999)}@example.com",
        "dob": dob,
        "age": age,
        "gender": rng.choices(("M", "F", "X"), weights=(48, 48, 4))[0],
        "phone": f"{rng.randint(200, 989)}-555-{rng.randint(0, 9999):04d}",
        "street": f"{rng.randint(1, 9999)} {rng.choice(('Oak', 'Elm', 'Main', 'Pine'))} St",
        "city": city,
        "state": state,
        "zipcode": f"{rng.randint(10000, 99999)}",
        "bib": bib,
        "chip": None if rng.random() < 0.2 else f"{rng.randint(0, 0xFFFFFF):06X}",
        "team_id": None if team is None else 500 + TEAMS.index(team),
        "team_name": team,
        "fee_cents": event.fee_cents,
        "processing_cents": round(event.fee_cents * 0.06) + 100,
        "user_id": mix(seed, event.event_id, index, 4) % 90_000_000 + 10_000_000,
        "imported": rng.random() < 0.05,
    }


def base_times(
    seed: int, event: EventState, index: int, cutoff: datetime
) -> tuple[datetime, datetime]:
    """(registered_at, modified_at) of a base record: both before `cutoff` (world creation)."""
    close = min(event.start, cutoff)
    span = max(1, int((close - event.registration_opens).total_seconds()) - 2)
    registered = event.registration_opens + timedelta(
        seconds=int(span * unit(seed, event.event_id, index, 1))
    )
    rest = max(0, int((close - registered).total_seconds()) - 1)
    modified = registered + timedelta(seconds=int(rest * unit(seed, event.event_id, index, 2) ** 3))
    return registered, modified
