"""Whether a small request may be scored on the event loop: :class:`InlineGate` and what it measures.

A request scored on the loop skips the hop to a worker thread (and back), which costs more than a small model's
prediction; but while it runs, the loop serves nobody else and the request's timeout cannot fire. So the gate lets
a request onto the loop only while small requests to this model have been cheap.

What a request cost is measured by :class:`Stopwatch`: its wall time, except that a request whose thread never
gave up the CPU of its own accord (no voluntary context switch: it did not sleep, wait for I/O or for a lock) is
accounted the CPU time it used. On a busy machine the wall time of a 1 ms prediction swings to 5 ms or more because
the thread is preempted; that is not the model's doing, and the loop would have stalled just as long in a thread.
A model that waits for something is always accounted its full wall time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

try:  # Linux: voluntary context switches of the calling thread
    import resource

    _RUSAGE_THREAD = resource.RUSAGE_THREAD  # type: ignore[attr-defined]

    def _voluntary_switches() -> int:
        return resource.getrusage(_RUSAGE_THREAD).ru_nvcsw

    VOLUNTARY_SWITCHES: Callable[[], int] | None = _voluntary_switches
except (ImportError, AttributeError):  # pragma: no cover - other systems: wall time only
    VOLUNTARY_SWITCHES = None


class Stopwatch:
    """Times one piece of work on the calling thread (start it and stop it on the same thread).

    Args:
        switches: the thread's voluntary context switch counter; None to account wall time only.
    """

    __slots__ = ("_cpu", "_switches", "_voluntary", "_wall")

    def __init__(self, switches: Callable[[], int] | None = VOLUNTARY_SWITCHES) -> None:
        self._switches = switches
        self._wall = time.perf_counter()
        self._cpu = time.thread_time()
        self._voluntary = switches() if switches is not None else 0

    def cost(self) -> float:
        """Seconds since the start: CPU time if the thread never waited for anything, else wall time."""
        wall = time.perf_counter() - self._wall
        if self._switches is None or self._switches() != self._voluntary:
            return wall
        return min(wall, time.thread_time() - self._cpu)


class InlineGate:
    """Whether a small request may be scored on the event loop, from what small requests have cost.

    Inline while the moving average of :meth:`Stopwatch.cost` is under ``budget`` seconds; unknown (so never
    inline) until a first small request has been measured in a thread. One request costlier than ``spike``
    seconds restarts the average from its cost, which sends the next ones back to threads at once. A model whose
    requests keep spiking on the loop (more than one such stall per ``spike_every`` small requests) stays in
    threads, so a heavy latency tail cannot stall the loop often.
    """

    def __init__(self, budget: float = 0.002, spike: float = 0.008, spike_every: int = 1000) -> None:
        self.budget, self.spike, self.spike_every = budget, spike, spike_every
        self.cost = math.inf
        self.count = 0
        self.spikes = 0

    def allows(self) -> bool:
        """Whether the next small request may run on the loop."""
        return self.cost < self.budget and self.spikes * self.spike_every <= self.count

    def record(self, elapsed: float, inline: bool) -> None:
        """Account one small request that cost ``elapsed`` seconds, on the loop or not (called from any thread)."""
        self.count += 1
        if elapsed > self.spike or self.cost == math.inf:
            self.spikes += inline and elapsed > self.spike
            self.cost = elapsed
        else:
            self.cost += 0.2 * (elapsed - self.cost)
