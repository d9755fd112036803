#!/usr/bin/env bash
# The main job end to end on the built-in demo project, in a temporary folder:
# scaffold -> train with DVC -> show the model's metrics.
set -euo pipefail

work="$(mktemp -d "${TMPDIR:-/tmp}/mlops-demo.XXXXXX")"
echo "== demo folder: $work"
cd "$work"

# A fresh machine may have no git identity; the demo must not depend on one.
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-mlops demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.invalid}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}"
export DVC_NO_ANALYTICS=1

step() { printf '\n== %s\n' "$*"; }

step "mlops --version"
mlops --version
step "mlops templates list"
mlops templates list
step "mlops init churn (scaffold, git init, dvc init, first commit)"
mlops init churn --defaults
cd churn
step "mlops config check"
mlops config check
step "dvc repro (prepare -> train -> evaluate, offline)"
dvc repro
step "dvc metrics show"
dvc metrics show
step "git log"
git log --oneline
echo
echo "Done: a project in $work/churn, trained from data scikit-learn ships, its model in models/model.skops."
