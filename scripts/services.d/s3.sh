# A local S3-compatible server for the S3 DVC remote tests (DESIGN.md §6): moto's server
# mode, which DVC's own test suite uses. Sourced by scripts/services.sh (as root), which
# provides apt_install and STATE_DIR.
#
# moto is installed from PyPI into a venv of its own under $STATE_DIR (the system Python is
# left alone) and listens on 127.0.0.1 only. tests/plugins/s3.py uses this server when it
# answers ($STATE_DIR/s3.url), else starts its own from the test venv (moto is in the dev
# extra), so the tests need no particular order of setup steps.

S3_PORT="${MLOPS_S3_PORT:-9555}"

s3_install() {
  local venv="$STATE_DIR/moto"
  if [ ! -x "$venv/bin/moto_server" ]; then
    command -v python3 >/dev/null || apt_install python3
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
    "$venv/bin/python" -m pip install --quiet 'moto[server]>=5' 2>"$STATE_DIR/moto-install.log" \
      || { cat "$STATE_DIR/moto-install.log" >&2; return 1; }
  fi
}

s3_answers() {
  "$STATE_DIR/moto/bin/python" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=2)
PY
}

s3_start() {
  local url="http://127.0.0.1:$S3_PORT"
  if s3_answers "$url"; then
    echo "s3: moto already answers at $url"
  else
    nohup "$STATE_DIR/moto/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" \
      >"$STATE_DIR/s3.log" 2>&1 </dev/null &
    echo $! >"$STATE_DIR/s3.pid"
    for _ in $(seq 1 50); do
      s3_answers "$url" && break
      sleep 0.2
    done
    if ! s3_answers "$url"; then
      # Not fatal: tests/plugins/s3.py then starts its own server at a free port.
      echo "s3: moto did not start on port $S3_PORT (see $STATE_DIR/s3.log); the tests start their own" >&2
      rm -f "$STATE_DIR/s3.url"
      return 0
    fi
    echo "s3: moto server at $url (pid $(cat "$STATE_DIR/s3.pid"))"
  fi
  echo "$url" >"$STATE_DIR/s3.url"
}
