"""``POST /graphql`` as MLflow serves it: MLflow's schema, answered by the REST endpoints' handlers and rules.

- :mod:`~mltrail.server.graphql.schema`: MLflow 3.17.2's schema (SDL) built with graphql-core;
- :mod:`~mltrail.server.graphql.resolvers`: each field calls the REST endpoint it mirrors, with its auth rule;
- :mod:`~mltrail.server.graphql.limits`: MLflow's query-size limits (depth, selections, root fields, aliases);
- :mod:`~mltrail.server.graphql.route`: the HTTP route (request and answer shapes, batching, auth).
"""

from __future__ import annotations

from mltrail.server.graphql.route import routes

__all__ = ["routes"]
