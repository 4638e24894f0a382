"""Decision: when to respond, stay silent or interrupt; what a spoken request asks for."""

from decision.conditions import Condition, EdgeTrigger, parse_condition
from decision.stage import DecisionOptions, DecisionStage, UnderstoodInstruction
from decision.utterances import classify

__all__ = [
    "Condition",
    "DecisionOptions",
    "DecisionStage",
    "EdgeTrigger",
    "UnderstoodInstruction",
    "classify",
    "parse_condition",
]
