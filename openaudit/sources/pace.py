"""The pace requests start at: the number in flight an adaptive gate (sources.gate.Concurrency)
begins with. A leaf module, so that a replay can size its threads without importing the gate
(which loads huggingface_hub)."""

ADAPTIVE_START = 8
