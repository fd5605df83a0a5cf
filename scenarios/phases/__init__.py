"""The phases of the sales-agent scenario, one module each; ``PHASES`` maps a phase number to its
coroutine ``(cast, phase_spec) -> PhaseResult``."""

from scenarios.phases.context_retrieval import phase_3_context_retrieval
from scenarios.phases.discovery_registration import phase_1_discovery_registration
from scenarios.phases.governance import phase_7_governance
from scenarios.phases.cross_domain import phase_4_cross_domain
from scenarios.phases.async_approval import phase_5_async_approval
from scenarios.phases.multi_system_execution import phase_6_multi_system_execution
from scenarios.phases.user_authentication import phase_2_user_authentication
from scenarios.phases.threat_detection import phase_8_threat_detection

PHASES = {
    1: phase_1_discovery_registration,
    2: phase_2_user_authentication,
    3: phase_3_context_retrieval,
    4: phase_4_cross_domain,
    5: phase_5_async_approval,
    6: phase_6_multi_system_execution,
    7: phase_7_governance,
    8: phase_8_threat_detection,
}
