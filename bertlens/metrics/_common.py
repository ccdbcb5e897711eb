"""What the metric modules share besides the core's helpers (`bertlens.bias.pair_decisions`): progress reporting."""
from __future__ import annotations

from typing import Callable

from bertlens.registry import Context, report_progress


def fraction_progress(context: Context, keeps_partial: bool = False) -> Callable[[float, str], None]:
    """The bias modules report progress as (fraction, message); a job reports (done, total, message). A method that
    `keeps_partial` (it polls `context.stopped()` before each batch) reports through `report_progress`, so a stop
    does not throw away the pairs already scored."""
    if keeps_partial:
        return lambda fraction, message: report_progress(context, fraction, 1.0, message)
    return lambda fraction, message: context.progress(fraction, 1.0, message)
