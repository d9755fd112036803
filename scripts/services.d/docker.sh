# Docker engine, two OCI registries and the test base image (DESIGN.md §6).
# Sourced by scripts/services.sh (as root), which provides apt_install and STATE_DIR.
#
# - dockerd runs with --iptables=false --ip6tables=false --bridge=none: containers get no
#   network unless started with --network host; we never create a bridge network.
# - the base image mlops-test/python:3.11-bookworm is built once from debootstrap (there is
#   no Docker Hub here); its rootfs tarball is cached in /var/cache/mlops-test.
# - registries: Debian's docker-registry on 127.0.0.1 only, one open and one behind htpasswd;
#   what the tests need to reach them is written to $STATE_DIR/docker.env (mode 0600).

DOCKER_BASE_IMAGE="${MLOPS_TEST_BASE_IMAGE:-mlops-test/python:3.11-bookworm}"
DOCKER_CACHE_DIR="${MLOPS_TEST_CACHE_DIR:-/var/cache/mlops-test}"
REGISTRY_PORT="${MLOPS_TEST_REGISTRY_PORT:-5000}"
AUTH_REGISTRY_PORT="${MLOPS_TEST_AUTH_REGISTRY_PORT:-5001}"

docker_install() {
  # The packages' maintainer scripts would start a default dockerd (with a bridge and
  # iptables rules) and a registry listening on every interface: keep them from starting
  # anything while installing; we start our own below with the options we want.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt_install docker.io docker-registry debootstrap apache2-utils ca-certificates curl
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
}

_docker_answers() {
  # The dockerd we start, not the docker CLI's notion of a context: ask the socket.
  curl -fsS --max-time 2 --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1
}

_docker_daemon() {
  if _docker_answers; then
    echo "dockerd: already answering on /var/run/docker.sock"
    return 0
  fi
  echo "dockerd: starting (log: $STATE_DIR/dockerd.log)"
  setsid dockerd --iptables=false --ip6tables=false --bridge=none \
    --host unix:///var/run/docker.sock \
    --pidfile "$STATE_DIR/dockerd.pid" \
    >>"$STATE_DIR/dockerd.log" 2>&1 </dev/null &
  local i
  for i in $(seq 1 120); do
    _docker_answers && { echo "dockerd: up"; return 0; }
    sleep 0.5
  done
  echo "dockerd did not answer within 60 s; last lines of $STATE_DIR/dockerd.log:" >&2
  tail -n 30 "$STATE_DIR/dockerd.log" >&2
  return 1
}

_debian_mirror() {
  # The mirror apt already uses, so debootstrap goes where this machine is allowed to go.
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

_docker_base_image() {
  if docker image inspect "$DOCKER_BASE_IMAGE" >/dev/null 2>&1; then
    echo "base image: $DOCKER_BASE_IMAGE present"
    return 0
  fi
  mkdir -p "$DOCKER_CACHE_DIR"
  local tarball="$DOCKER_CACHE_DIR/bookworm-python3-minbase.tar"
  if [ ! -s "$tarball" ]; then
    local mirror rootfs
    mirror="$(_debian_mirror)"
    rootfs="$(mktemp -d "$DOCKER_CACHE_DIR/rootfs.XXXXXX")"
    echo "base image: debootstrap bookworm from $mirror (once; a few minutes)"
    if ! debootstrap --variant=minbase --include=python3,python3-venv,python3-pip \
      bookworm "$rootfs" "$mirror" >"$STATE_DIR/debootstrap.log" 2>&1; then
      echo "debootstrap failed; last lines of $STATE_DIR/debootstrap.log:" >&2
      tail -n 30 "$STATE_DIR/debootstrap.log" >&2
      rm -rf "$rootfs"
      return 1
    fi
    # apt lists and caches only make the image bigger.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
      "$rootfs"/var/cache/apt/archives/*.deb
    tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  echo "base image: docker import $tarball -> $DOCKER_BASE_IMAGE"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    "$tarball" "$DOCKER_BASE_IMAGE" >/dev/null
}

_registry_config() {  # $1 = port, $2 = storage folder, $3 = htpasswd file or empty
  cat <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $2
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$1
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  if [ -n "$3" ]; then
    cat <<EOF
auth:
  htpasswd:
    realm: mlops-test
    path: $3
EOF
  fi
}

_registry_answers() {  # $1 = port; 200 (open) or 401 (auth) both mean "up"
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/v2/" || true)"
  [ "$code" = 200 ] || [ "$code" = 401 ]
}

_registry_start() {  # $1 = name, $2 = port, $3 = htpasswd file or empty
  local dir="$STATE_DIR/$1"
  mkdir -p "$dir/storage"
  _registry_config "$2" "$dir/storage" "$3" >"$dir/config.yml"
  if _registry_answers "$2"; then
    echo "$1: already answering on 127.0.0.1:$2"
    return 0
  fi
  echo "$1: starting on 127.0.0.1:$2 (log: $dir/registry.log)"
  setsid docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null &
  echo $! >"$dir/registry.pid"
  local i
  for i in $(seq 1 60); do
    _registry_answers "$2" && return 0
    sleep 0.5
  done
  echo "$1 did not answer on 127.0.0.1:$2; last lines of $dir/registry.log:" >&2
  tail -n 20 "$dir/registry.log" >&2
  return 1
}

_registry_credentials() {
  # Generated once per machine, kept with the services' state; never in the repository.
  local creds="$STATE_DIR/auth-registry/credentials"
  mkdir -p "$STATE_DIR/auth-registry"
  if [ ! -s "$creds" ]; then
    (umask 077; printf 'mlops-test\n%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$creds")
  fi
  local user password
  user="$(sed -n 1p "$creds")"
  password="$(sed -n 2p "$creds")"
  # bcrypt: the only htpasswd hash the registry accepts.
  (umask 077; htpasswd -Bbn "$user" "$password" >"$STATE_DIR/auth-registry/htpasswd")
}

docker_start() {
  _docker_daemon
  _docker_base_image
  _registry_credentials
  _registry_start registry "$REGISTRY_PORT" ""
  _registry_start auth-registry "$AUTH_REGISTRY_PORT" "$STATE_DIR/auth-registry/htpasswd"
  local creds="$STATE_DIR/auth-registry/credentials"
  (
    umask 077
    cat >"$STATE_DIR/docker.env.tmp" <<EOF
MLOPS_TEST_DOCKER_HOST=unix:///var/run/docker.sock
MLOPS_TEST_BASE_IMAGE=$DOCKER_BASE_IMAGE
MLOPS_TEST_REGISTRY=127.0.0.1:$REGISTRY_PORT
MLOPS_TEST_AUTH_REGISTRY=127.0.0.1:$AUTH_REGISTRY_PORT
MLOPS_TEST_AUTH_USERNAME=$(sed -n 1p "$creds")
MLOPS_TEST_AUTH_PASSWORD=$(sed -n 2p "$creds")
EOF
    mv "$STATE_DIR/docker.env.tmp" "$STATE_DIR/docker.env"
  )
  echo "docker: services described in $STATE_DIR/docker.env"
}
