"""hosting.agent_framework: serve Microsoft Agent Framework agents and workflows."""
