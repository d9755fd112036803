# Command-line tools the tests run as a user would (DESIGN.md §6): `kubectl kustomize` for the
# deploy/ overlays, and headless Chromium for the drift report. Nothing is started.
# Sourced by scripts/services.sh (as root), which provides apt_install.

tools_install() {
  # Not fatal here: without one, the tests that need it skip with the reason, and CI
  # (MLOPS_REQUIRE_ALL=1) fails on that skip, naming it.
  command -v kubectl >/dev/null 2>&1 || apt_install kubectl || echo "kubectl: not installable from apt here"
  command -v chromium >/dev/null 2>&1 || apt_install chromium || echo "chromium: not installable from apt here"
}

tools_start() {
  kubectl version --client 2>/dev/null | head -1 || true
  chromium --version 2>/dev/null || true
}
