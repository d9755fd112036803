# OpenSSH server for the SSH DVC remote tests (DESIGN.md §6).
# Sourced by scripts/services.sh (as root), which provides apt_install and STATE_DIR.
#
# No daemon is started here: the session fixture in tests/plugins/sshd.py runs its own
# `sshd -D` on 127.0.0.1 at a free port, with a host key and a client key it makes, and
# stops it at the end. So nothing listens on port 22 and no system config is changed.

sshd_install() {
  # The package's maintainer scripts would start the system sshd on every interface:
  # keep them from starting anything while installing.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt_install openssh-server openssh-client
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
}

sshd_start() {
  # sshd refuses to start without its privilege-separation folder.
  mkdir -p /run/sshd
  chmod 755 /run/sshd
  echo "sshd: installed ($(/usr/sbin/sshd -V 2>&1 | head -n1)); the tests start their own"
}
