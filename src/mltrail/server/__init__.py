"""The tracking server: an ASGI app serving MLflow's REST API and the artifact proxy."""
