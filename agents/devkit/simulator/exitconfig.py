"""The ``exits`` block of a simulated queue (docs/simulator.md, "Queue exits"): the rates of
callbacks, flow-outs, transfers and abandons on hold."""

from __future__ import annotations

from pydantic import Field, model_validator

from ccmon.agents.devkit.simulator.durations import Name, PositiveDuration, Probability
from ccmon.agents.devkit.simulator.model import Exits
from ccmon.streams.configfile import Section, fail


class ExitsBlock(Section):
    callback: Probability = Field(
        0.0, description="Of the contacts whose patience runs out, the share asking a callback."
    )
    callback_within_seconds: PositiveDuration | None = Field(
        None, description="The callback's promised window; null: the queue's max wait."
    )
    callback_delay_seconds: PositiveDuration = Field(
        900.0, description="Mean delay before the callback is placed."
    )
    flow_out_after_seconds: PositiveDuration | None = Field(
        None, description="Waiting this long, a contact flows out; null: never."
    )
    flow_out_to: Name | None = Field(
        None, description="A queue of the same channel; null: to voicemail."
    )
    transfer: Probability = Field(
        0.0, description="Of the answered that do not hang up on hold, the share transferred."
    )
    transfer_to: Name | None = Field(None, description="A queue of the same channel.")
    hold_abandon: Probability = Field(
        0.0, description="Of the answered, the share that hang up on hold."
    )

    @model_validator(mode="after")
    def _targets(self) -> ExitsBlock:
        if self.transfer > 0 and self.transfer_to is None:
            raise fail("a transfer needs transfer_to", value=self.transfer, at=("transfer",))
        return self

    def to_model(self) -> Exits:
        return Exits(**self.model_dump())
