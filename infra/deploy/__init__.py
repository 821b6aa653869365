"""Manifests for a Kubernetes cluster, rendered from the project's own settings, connectors and DDL.

``python -m infra.deploy.render --out DIR`` writes them; ``infra/deploy/README.md`` says what they need
(the Strimzi and Altinity operators) and what the unit suite validates. Nothing here runs on this machine.
"""
