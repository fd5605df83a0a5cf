"""The phases of the sales-agent scenario, one module each; ``PHASES`` maps a phase number to its
coroutine ``(cast, phase_spec) -> PhaseResult``."""

from scenarios.phases.context_retrieval import phase_3_context_retrieval
from scenarios.phases.cross_domain import phase_4_cross_domain
from scenarios.phases.user_authentication import phase_2_user_authentication

PHASES = {
    2: phase_2_user_authentication,
    3: phase_3_context_retrieval,
    4: phase_4_cross_domain,
}
