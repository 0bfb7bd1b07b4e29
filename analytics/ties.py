"""How well one of our staff knows a customer contact, derived from their interactions.

    strength = reciprocity × (0.40·recency + 0.35·frequency + 0.25·longevity)    ∈ [0, 1]

- recency    = 2^(−d / 90), d = days since the latest interaction: the half-life is
               RECENCY_HALF_LIFE_DAYS = 90 days (a tie not touched for a quarter counts half).
- frequency  = D / (D + 4), D = Σ 2^(−age / 180) over every interaction (a decayed count: four
               recent interactions give 0.5, many give nearly 1).
- longevity  = s / (s + 180), s = days between the first and the latest interaction.
- reciprocity = 0.25 + 0.75 · 2·min(in, out) / (in + out), with `in` the inbound and `out`
               the outbound interactions: contact in one direction only counts a quarter,
               balanced contact counts fully.

Interactions after `today` do not count. No interaction: strength 0. Pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

RECENCY_HALF_LIFE_DAYS = 90.0
FREQUENCY_HALF_LIFE_DAYS = 180.0
FREQUENCY_HALF_POINT = 4.0
LONGEVITY_HALF_POINT_DAYS = 180.0
WEIGHTS = (0.40, 0.35, 0.25)  # recency, frequency, longevity


@dataclass(frozen=True)
class Touch:
    """One interaction between the staff member and the contact."""

    day: date
    inbound: bool


def strength(touches: Sequence[Touch], today: date) -> float:
    past = [touch for touch in touches if touch.day <= today]
    if not past:
        return 0.0
    first = min(touch.day for touch in past)
    last = max(touch.day for touch in past)
    recency = 2.0 ** (-(today - last).days / RECENCY_HALF_LIFE_DAYS)
    decayed = sum(2.0 ** (-(today - touch.day).days / FREQUENCY_HALF_LIFE_DAYS)
                  for touch in past)
    frequency = decayed / (decayed + FREQUENCY_HALF_POINT)
    span = (last - first).days
    longevity = span / (span + LONGEVITY_HALF_POINT_DAYS)
    inbound = sum(1 for touch in past if touch.inbound)
    outbound = len(past) - inbound
    reciprocity = 0.25 + 0.75 * (2 * min(inbound, outbound) / len(past))
    recency_w, frequency_w, longevity_w = WEIGHTS
    value = reciprocity * (recency_w * recency + frequency_w * frequency
                           + longevity_w * longevity)
    return float(round(min(1.0, max(0.0, value)), 4))
