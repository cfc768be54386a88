"""priorauth: prior authorization as versioned policy-as-code.

The public API is deliberately small; everything else is an implementation detail.
"""

from priorauth.engine.decide import decide
from priorauth.engine.determination import Determination, Outcome
from priorauth.engine.truth import Truth
from priorauth.fhir.extract import RequestFacts, extract_request
from priorauth.policy.registry import PolicyRegistry, load_registry
from priorauth.version import ENGINE_VERSION

__all__ = [
    "ENGINE_VERSION",
    "Determination",
    "Outcome",
    "PolicyRegistry",
    "RequestFacts",
    "Truth",
    "decide",
    "extract_request",
    "load_registry",
]
