"""The phases of the sales-agent scenario, one module each; ``PHASES`` maps a phase number to its
coroutine ``(cast, phase_spec) -> PhaseResult``."""

from scenarios.phases.user_authentication import phase_2_user_authentication

PHASES = {
    2: phase_2_user_authentication,
}
