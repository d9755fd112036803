#!/usr/bin/env bash
# The whole lifecycle on the built-in demo project, in a temporary folder:
#   init -> validate -> dvc repro -> model register -> test --record -> promote
#   -> image build -> test --image -> image push -> status --check
# then the loop closing: new raw data -> status names the model stale -> retrain ->
# register the next version -> test -> promote.
# Docker steps run when a daemon answers and are reported as skipped when none does.
set -euo pipefail

work="$(mktemp -d "${TMPDIR:-/tmp}/mlops-demo.XXXXXX")"
registry="${MLOPS_DEMO_REGISTRY:-127.0.0.1:5000}"
base="${MLOPS_DEMO_BASE_IMAGE:-mlops-test/python:3.11-bookworm}"

# A fresh machine may have no git identity; the demo must not depend on one.
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-mlops demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.invalid}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}"
export DVC_NO_ANALYTICS=1

declare -a summary=()
n=0
step() { n=$((n + 1)); printf '\n\033[1m== %d. %s\033[0m\n' "$n" "$1"; }
done_() { summary+=("ok       $1"); }
skipped() { summary+=("SKIPPED  $1 ($2)"); printf 'skipped: %s\n' "$2"; }

echo "demo folder: $work"
cd "$work"

step "mlops init churn: scaffold, export data, git init, dvc init, first commit"
mlops init churn --defaults
cd churn
git config user.name "$GIT_AUTHOR_NAME"; git config user.email "$GIT_AUTHOR_EMAIL"
sed -i "s|^  base: .*|  base: $base|; s|^  registry: .*|  registry: $registry|" mlops.yaml
git commit -qam "demo: local base image and registry"
done_ "init: project scaffolded and committed"

step "mlops validate raw: the raw data against its pandera schema"
mlops validate raw
done_ "validate: raw data matches its schema"

step "dvc repro: prepare -> train -> evaluate (offline)"
dvc repro
git add -A && git commit -qm "Train the first model"
mlops validate   # now every data set, the prepared train/holdout splits included
done_ "dvc repro: model trained, metrics written, all data sets valid"

step "mlops model register churn --bump minor"
mlops model register churn --bump minor -m "first model"
done_ "register: churn@v0.1.0 with its lineage record and tag"

step "mlops test churn@v0.1.0 --record"
mlops test churn@v0.1.0 --record --junit reports/model-tests.xml
done_ "test: declared checks passed and were recorded"

step "mlops model promote churn v0.1.0 prod"
mlops model promote churn v0.1.0 prod
done_ "promote: churn#prod points at v0.1.0"

if docker info >/dev/null 2>&1 && docker image inspect "$base" >/dev/null 2>&1; then
  step "mlops image build churn@v0.1.0"
  mlops image build churn@v0.1.0
  done_ "image build: hermetic, model in the last layer"
  step "mlops test churn@v0.1.0 --image $registry/churn:v0.1.0"
  mlops test churn@v0.1.0 --image "$registry/churn:v0.1.0"
  done_ "test --image: the same checks through the container's /predict"
  step "mlops image push churn@v0.1.0"
  mlops image push churn@v0.1.0
  done_ "image push: digest recorded in the version record"
  step "mlops deploy init --stages prod: deploy/base + deploy/overlays/prod, one commit"
  mlops deploy init --stages prod
  if command -v kubectl >/dev/null 2>&1; then
    kubectl kustomize deploy/overlays/prod | grep 'image:'
  fi
  gitops=1
  done_ "deploy init: kustomize layout committed; prod pinned to v0.1.0's digest"
else
  step "image build / test --image / push"
  skipped "image build, test --image, image push" "no Docker daemon or no base image $base; run as root: bash scripts/services.sh"
  skipped "deploy init, promote with an overlay, deploy rollback" "needs a pushed image"
  gitops=
fi

step "mlops status --check: data, models, tests, stages, images, git in one view"
mlops status --check
done_ "status --check: nothing stale (exit 0)"

step "New raw data arrives: mlops data add"
python3 - <<'PY'
import csv
rows = list(csv.reader(open("data/raw/data.csv")))
header, body = rows[0], rows[1:]
with open("data/raw/data.csv", "a", newline="") as fh:
    csv.writer(fh).writerows(body[:40])  # forty more (duplicated) observations
PY
mlops data add data/raw/data.csv --dataset raw
git commit -qm "More raw data"
done_ "data add: validated, versioned with DVC, committed"

step "mlops status: the model is now stale"
if mlops status --check; then echo "expected status to name the model as stale"; exit 1; fi
done_ "status --check: exit 1, names churn as trained on old data"

step "dvc repro, register v0.2.0, test, promote"
dvc repro
git add -A && git commit -qm "Retrain on the new data"
mlops model register churn --bump minor -m "more data"
mlops test churn@v0.2.0 --record
if [ -n "$gitops" ]; then
  # deploy/overlays/prod pins a digest: the version must be pushed before it enters prod.
  mlops image build churn@v0.2.0
  mlops image push churn@v0.2.0
fi
mlops model promote churn v0.2.0 prod
mlops model list
done_ "loop closed: churn@v0.2.0 trained on the new data, tested and in prod"

if [ -n "$gitops" ]; then
  step "the promotion is a commit: git show --stat HEAD, then mlops deploy rollback churn prod"
  git show --stat --format='%s' HEAD
  mlops deploy diff churn@v0.1.0 churn#prod | grep '^[-+] *image:'
  mlops deploy rollback churn prod --force --reason "demo: roll back to v0.1.0"
  git show --stat --format='%s' HEAD
  done_ "promote and rollback: each one commit rewriting deploy/overlays/prod, plus the stage tags"
fi

step "Production data drifts: mlops monitor drift churn#prod --data batch.csv --record"
# A production batch (no labels): the population shifted, only large tumours come in now
# (the rows whose mean_radius is above the median).
python3 - "$work/batch.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.reader(open("data/raw/data.csv")))
header, body = rows[0], rows[1:]
t, r = header.index("target"), header.index("mean_radius")
cut = statistics.median(float(row[r]) for row in body)
with open(sys.argv[1], "w", newline="") as fh:
    out = csv.writer(fh)
    out.writerow([h for i, h in enumerate(header) if i != t])
    out.writerows([[v for i, v in enumerate(row) if i != t] for row in body if float(row[r]) > cut])
PY
if mlops monitor drift churn#prod --data "$work/batch.csv" --html "$work/drift.html" --record; then
  echo "expected the batch to drift"; exit 1
fi
if mlops status --check; then echo "expected status to name the drifted stage"; exit 1; fi
done_ "monitor drift: data set drift (exit 1), recorded; status --check names churn#prod (report: $work/drift.html)"

step "Retrain on current data: data add, dvc repro, register v0.3.0, test, promote"
# The batch's labels arrive: its rows, labelled, join the raw data.
python3 - <<'PY'
import csv, statistics
rows = list(csv.reader(open("data/raw/data.csv")))
header, body = rows[0], rows[1:]
r = header.index("mean_radius")
cut = statistics.median(float(row[r]) for row in body)
with open("data/raw/data.csv", "a", newline="") as fh:
    csv.writer(fh).writerows([row for row in body if float(row[r]) > cut])
PY
mlops data add data/raw/data.csv --dataset raw
git commit -qm "Production data, labelled"
dvc repro
git add -A && git commit -qm "Retrain on current data"
mlops model register churn --bump minor -m "current data"
mlops test churn@v0.3.0 --record
if [ -n "$gitops" ]; then
  mlops image build churn@v0.3.0
  mlops image push churn@v0.3.0
fi
mlops model promote churn v0.3.0 prod
mlops status --check
done_ "loop closed again: churn@v0.3.0, trained on current data, is in prod; status --check exit 0"

printf '\n\033[1m== Summary\033[0m (project in %s/churn)\n' "$work"
printf '  %s\n' "${summary[@]}"
