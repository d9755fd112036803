"""Production monitoring: data drift of a version's inputs."""
