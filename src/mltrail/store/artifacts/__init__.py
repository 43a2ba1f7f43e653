"""Artifact repositories: where run and model files live."""
