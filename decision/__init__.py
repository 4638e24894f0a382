"""Decision: when to respond, stay silent or interrupt; what a spoken request asks for."""

from decision.conditions import EdgeTrigger, SpecWatch
from decision.head import RespondHead
from decision.policies import HeadPolicy, RulePolicy, Watch, WatchPolicy
from decision.rules import parse_instruction
from decision.stage import DecisionOptions, DecisionStage
from decision.understanding import Understander, Understanding
from decision.utterances import classify

__all__ = [
    "DecisionOptions",
    "DecisionStage",
    "EdgeTrigger",
    "HeadPolicy",
    "RespondHead",
    "RulePolicy",
    "SpecWatch",
    "Understander",
    "Understanding",
    "Watch",
    "WatchPolicy",
    "classify",
    "parse_instruction",
]
