"""Model registry: architecture name -> builder, description and hyper-parameters (with defaults and help).

Deep models are plain ``nn.Module``s taking one-hot DNA ``(N, 4, L)`` and returning raw outputs ``(N, K)``
(logits for classification, standardised values for regression). ``linear`` and ``kmer`` are scikit-learn
baselines (see ``biodeep_gui.core.baselines``) listed here so that the GUI and CLI offer one list.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Param:
    """One hyper-parameter: its default, type, allowed range or choices, and a tooltip."""

    name: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def coerce(self, value: Any) -> Any:
        import math

        from biodeep_gui.core.common.errors import ConfigError

        kind = type(self.default)
        try:
            value = kind(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: int('inf')
            raise ConfigError(f"hyper-parameter {self.name} = {value!r} is not a {kind.__name__}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"hyper-parameter {self.name} = {value!r} is not a finite number")
        if self.choices and value not in self.choices:
            raise ConfigError(f"hyper-parameter {self.name} = {value!r} is not one of: {', '.join(self.choices)}")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ConfigError(f"hyper-parameter {self.name} = {value!r} is outside [{self.minimum}, {self.maximum}]")
        return value


@dataclass(frozen=True)
class Architecture:
    name: str
    label: str
    summary: str
    params: tuple[Param, ...]
    kind: str = "torch"  # torch | sklearn
    builder: Callable[..., Any] | None = field(default=None, compare=False)

    def resolve(self, params: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with ``params``, each checked; unknown names are an error."""
        from biodeep_gui.core.common.errors import ConfigError

        params = dict(params or {})
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConfigError(f"unknown hyper-parameter(s) for {self.name}: {', '.join(unknown)}; "
                              f"known: {', '.join(known) or 'none'}")
        return {name: p.coerce(params.get(name, p.default)) for name, p in known.items()}


def count_parameters(model) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

