"""Pulumi ComponentResources for the lab: no experiment logic lives here, only declarations."""
