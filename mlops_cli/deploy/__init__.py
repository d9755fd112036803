"""Kubernetes manifests rendered from a version record (issue #16, parts 1 and 2)."""
