"""Erlang-C and Erlang-A formulas for a pool of identical seats.

Erlang-C (M/M/n) assumes callers wait forever; Erlang-A (M/M/n+M) lets each waiting caller hang
up after an exponential patience, which is what 110's "early release" (排队早释) is. The surge
simulation's "pooled" policy is an M/M/n+M system in steady state, so these numbers are its check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Queue-length terms of the Erlang-A birth-death chain shrink like a Poisson tail; stop summing
# once a term is this small relative to the running total.
_TAIL_EPSILON = 1e-15


@dataclass(frozen=True)
class ErlangA:
    """Steady-state figures of an M/M/n+M queue."""

    abandon_probability: float  # share of callers who hang up before being answered
    wait_probability: float  # share of callers who find every seat busy
    mean_queue_length: float  # callers waiting, time-averaged


def _check_positive(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def erlang_c(seats: int, offered_erlangs: float) -> float:
    """Probability that a caller waits in M/M/n; `offered_erlangs` = arrival rate × handle time."""
    if seats < 1:
        raise ValueError(f"seats must be at least 1, got {seats!r}")
    _check_positive("offered_erlangs", offered_erlangs)
    if offered_erlangs >= seats:
        return 1.0  # unstable: the queue grows without bound, everyone waits
    # Erlang-B by its stable recurrence, then C from B.
    blocking = 1.0
    for k in range(1, seats + 1):
        blocking = offered_erlangs * blocking / (k + offered_erlangs * blocking)
    rho = offered_erlangs / seats
    return blocking / (1 - rho + rho * blocking)


def erlang_a(seats: int, arrival_rate: float, handle_time_s: float, patience_s: float) -> ErlangA:
    """Steady state of M/M/n+M: Poisson arrivals, exponential handle times and patience.

    Rates are per second. The abandon probability is θ·E[queue] / λ (every waiting caller hangs
    up at rate θ = 1/patience), computed from the birth-death chain's stationary distribution.
    """
    if seats < 1:
        raise ValueError(f"seats must be at least 1, got {seats!r}")
    _check_positive("arrival_rate", arrival_rate)
    _check_positive("handle_time_s", handle_time_s)
    _check_positive("patience_s", patience_s)
    service_rate = 1 / handle_time_s
    abandon_rate = 1 / patience_s
    offered = arrival_rate * handle_time_s

    # Unnormalised probabilities: p_k = a^k / k! for k <= n; beyond n each step multiplies by
    # λ / (nμ + jθ). Work relative to p_n to stay clear of overflow for large n.
    below = 0.0  # sum of p_k / p_n for k < n
    term = 1.0
    for k in range(seats, 0, -1):
        term *= k / offered  # p_{k-1} / p_n
        below += term
    at_or_above = 0.0  # sum of p_k / p_n for k >= n
    queue_weighted = 0.0  # sum of (k - n) p_k / p_n
    term = 1.0
    waiting = 0
    while True:
        at_or_above += term
        queue_weighted += waiting * term
        waiting += 1
        term *= arrival_rate / (seats * service_rate + waiting * abandon_rate)
        if term < _TAIL_EPSILON * at_or_above:
            break
    total = below + at_or_above
    mean_queue = queue_weighted / total
    return ErlangA(
        abandon_probability=abandon_rate * mean_queue / arrival_rate,
        wait_probability=at_or_above / total,
        mean_queue_length=mean_queue,
    )
