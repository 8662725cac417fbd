"""Rate limits on the expensive requests: a search runs the model and the full-text index, a
BAR runs the model over the whole bank (issue 11, item 14). Counted per signed-in user, or
per client address for visitors who have not signed in, in a moving window kept in memory
by the `limits` library; the limits are settings (`rate_limit_search`, `rate_limit_bar`)."""

from __future__ import annotations

import math
import time
from enum import StrEnum

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from lessons.accounts.access import Viewer
from lessons.storage.settings import Settings
from ui.shared.errors import RateLimited


class Costly(StrEnum):
    """The kinds of request that are counted, and how a refusal names them."""

    SEARCH = "searches"
    BAR = "before action reviews"


class Throttle:
    """One per app: the rules from the settings and the hits counted so far."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rules: dict[Costly, list[RateLimitItem]] = {
            Costly.SEARCH: _rules(settings.rate_limit_search),
            Costly.BAR: _rules(settings.rate_limit_bar),
        }

    def count(self, kind: Costly, viewer: Viewer, address: str) -> None:
        """Count a request, or raise RateLimited (429, Retry-After) if it is one too many.
        A refused request is not counted by the rule that refused it."""
        who = _caller(viewer, address)
        for rule in self._rules[kind]:
            if not self._limiter.hit(rule, kind.name, who):
                reset = self._limiter.get_window_stats(rule, kind.name, who).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                raise RateLimited(
                    wait,
                    f"Too many {kind} from you: at most {rule.amount} every "
                    f"{_window(rule)}. Try again in {wait} second{'' if wait == 1 else 's'}.",
                )


def _rules(text: str) -> list[RateLimitItem]:
    return parse_many(text) if text.strip() else []


def _window(rule: RateLimitItem) -> str:
    unit = rule.GRANULARITY.name
    return unit if rule.multiples == 1 else f"{rule.multiples} {unit}s"


def _caller(viewer: Viewer, address: str) -> str:
    """Who is counted: the signed-in user (wherever they connect from), else the address."""
    if viewer.user_id is not None:
        return f"user:{viewer.user_id}"
    return f"address:{address}"
