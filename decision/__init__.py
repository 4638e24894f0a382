"""Decision: when to respond, stay silent or interrupt; what a spoken request asks for."""

from decision.conditions import Condition, EdgeTrigger, parse_condition
from decision.head import RespondHead
from decision.policies import HeadPolicy, RulePolicy, Watch, WatchPolicy
from decision.stage import DecisionOptions, DecisionStage, UnderstoodInstruction
from decision.utterances import classify

__all__ = [
    "Condition",
    "DecisionOptions",
    "DecisionStage",
    "EdgeTrigger",
    "HeadPolicy",
    "RespondHead",
    "RulePolicy",
    "UnderstoodInstruction",
    "Watch",
    "WatchPolicy",
    "classify",
    "parse_condition",
]
