"""Simulated SaaS providers: each an OAuth 2.0 authorization server plus the REST API it protects."""
