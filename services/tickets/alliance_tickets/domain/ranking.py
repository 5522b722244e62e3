"""Units ranked (排名) by how they handle demands: response, on-time resolution, rating, reopened
demands and supervision — the figures a 12345-style desk publishes.

Each unit's figures become parts between 0 and 1, higher better: the share of demands accepted
within the first-response target, the share resolved on time, the average rating on 1–5 scaled
to 0–1, one minus the share reopened, one minus the share put under supervision. The score is
their weighted mean (weights from ``RANKING_WEIGHTS``) over the parts a unit has figures for: a
unit that resolved nothing yet is not scored on timeliness it could not show. Ties go by name.
"""

from dataclasses import dataclass

PARTS = ("response", "on_time", "rating", "reopen", "supervision")
DEFAULT_WEIGHTS = dict.fromkeys(PARTS, 1.0)


@dataclass(frozen=True)
class Weights:
    response: float = 1.0
    on_time: float = 1.0
    rating: float = 1.0
    reopen: float = 1.0
    supervision: float = 1.0

    @classmethod
    def from_config(cls, config):
        unknown = set(config or {}) - set(PARTS)
        if unknown:
            raise ValueError(f"RANKING_WEIGHTS has unknown parts {sorted(unknown)}; known: {list(PARTS)}")
        weights = cls(**{k: float(v) for k, v in (config or {}).items()})
        if any(getattr(weights, part) < 0 for part in PARTS) or not any(getattr(weights, p) for p in PARTS):
            raise ValueError("RANKING_WEIGHTS must be non-negative and not all zero")
        return weights


def parts(figures):
    """A unit's parts (None where it has no figure) from its row of figures."""
    submitted = figures["submitted"]

    def inverse(rate):
        return None if rate is None else 1 - float(rate)

    rating = figures["average_rating"]
    return {
        "response": None if figures["response_rate"] is None else float(figures["response_rate"]),
        "on_time": None if figures["on_time_rate"] is None else float(figures["on_time_rate"]),
        "rating": None if rating is None else (float(rating) - 1) / 4,
        "reopen": inverse(figures["reopen_rate"]),
        "supervision": inverse(figures["supervised"] / submitted) if submitted else None,
    }


def score(figures, weights):
    present = {part: value for part, value in parts(figures).items() if value is not None}
    total = sum(getattr(weights, part) for part in present)
    if not total:
        return None
    return sum(getattr(weights, part) * value for part, value in present.items()) / total


def rank(units, weights):
    """``units`` ({unit: figures}) as a list best first: figures plus ``unit``, ``score``, ``rank``
    (units with no score at all come last, unranked)."""
    scored = [{**figures, "unit": unit, "score": score(figures, weights)} for unit, figures in units.items()]
    scored.sort(key=lambda row: (row["score"] is None, -(row["score"] or 0), row["unit"]))
    for position, row in enumerate(scored, 1):
        row["rank"] = position if row["score"] is not None else None
    return scored
