"""Tracking: the client, MLflow's fluent API, asynchronous logging and run context tags.

Import from the submodules (``mltrail.tracking.client``, ``mltrail.tracking.fluent``) or from ``mltrail``;
this package itself imports nothing, so that ``import mltrail`` stays light.
"""
