#!/usr/bin/env bash
# The project's test cluster: real SLURM (munge, slurmctld, four slurmd
# nodes) and OpenSSH's sshd on 127.0.0.1:2222 for a non-root user
# ("hpcuser"), as ../shared/reference/slurm-on-this-machine.md describes;
# and a second sshd on 127.0.0.1:2223 that asks for a second factor (a
# TOTP code, through PAM) after the key, like the login nodes of most HPC
# centres. (tcsh is installed too: some sites give users a csh login shell,
# and the remote command lines must mean the same there.)
#
#   scripts/test-env.sh up       install what is missing (apt), start what is not running
#   scripts/test-env.sh down     stop what `up` started (by pid file), nothing else
#   scripts/test-env.sh status   what runs, one line each; exit 0 if all of it does
#   scripts/test-env.sh env      the variables tests use (HTC_TEST_SSH_*), shell syntax
#
# Idempotent: `up` twice starts nothing twice; `down` stops only daemons
# whose pid files this script wrote (under $HTC_TEST_ENV_DIR), so a SLURM
# the machine already ran is left alone. Needs root (apt, daemons, useradd).
set -euo pipefail

ENV_DIR=${HTC_TEST_ENV_DIR:-/var/tmp/htc-test-env}
HPC_USER=${HTC_TEST_HPC_USER:-hpcuser}
SSH_PORT=${HTC_TEST_SSH_PORT:-2222}
MFA_PORT=${HTC_TEST_MFA_PORT:-2223}
HOST=$(hostname)
PIDS="$ENV_DIR/pids"
SLURM_CONF=/etc/slurm/slurm.conf
NODES=(node1 node2 node3 node4)

log() { printf 'test-env: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

alive() { # pid file -> 0 if its process runs (a zombie does not)
  local file=$1 pid state
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)
  [[ $state != Z ]]
}

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (apt, daemons, the test user)"; }

install_packages() {
  local missing=()
  for cmd in slurmctld slurmd sbatch munged sshd oathtool tcsh; do
    command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd ]] || missing+=("$cmd")
  done
  compgen -G '/usr/lib/*/security/pam_google_authenticator.so' >/dev/null || compgen -G '/lib/*/security/pam_google_authenticator.so' >/dev/null || missing+=(pam_google_authenticator)
  ((${#missing[@]} == 0)) && return 0
  log "installing SLURM, munge, OpenSSH and the TOTP PAM module (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge openssh-server openssh-client libpam-google-authenticator oathtool tcsh >/dev/null
}

write_slurm_conf() {
  getent hosts "$HOST" >/dev/null || echo "127.0.0.1 $HOST" >>/etc/hosts
  mkdir -p /etc/slurm
  local want
  want=$(cat <<EOF
# Written by htc's scripts/test-env.sh: the test cluster.
ClusterName=htctest
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_min_interval=0,batch_sched_delay=0
EnforcePartLimits=ALL
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd/%n
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd-%n.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd-%n.log
SlurmdParameters=config_overrides
CommunicationParameters=NoInAddrAny
MailProg=/bin/true
KillWait=2
InactiveLimit=0
MinJobAge=300
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
NodeName=node[1-4] NodeHostname=$HOST NodeAddr=127.0.0.1 Port=[17001-17004] CPUs=4 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=node[1-4] Default=YES MaxTime=10 DefaultTime=5 State=UP
PartitionName=long  Nodes=node[1-4] Default=NO  MaxTime=120 DefaultTime=60 State=UP
EOF
)
  if [[ ! -f $SLURM_CONF ]] || [[ $(<"$SLURM_CONF") != "$want" ]]; then
    if [[ -f $SLURM_CONF ]] && ! grep -q "htc's scripts/test-env.sh" "$SLURM_CONF"; then
      die "$SLURM_CONF exists and was not written by this script; not touching it"
    fi
    printf '%s\n' "$want" >"$SLURM_CONF"
  fi
}

start_munge() {
  if [[ ! -s /etc/munge/munge.key ]]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  alive "$PIDS/munged" && return 0
  if alive /run/munge/munged.pid; then
    log "munged already running (not started here: left alone by down)"
    return 0
  fi
  install -d -o munge /run/munge
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged 3>&- 4>&- 9>&-
  for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
  cp /run/munge/munged.pid "$PIDS/munged"
  log "munged running (pid $(<"$PIDS/munged"))"
}

start_slurm() {
  install -d -o slurm -g slurm /run/slurm /var/spool/slurmctld /var/log/slurm
  mkdir -p /var/spool/slurmd
  [[ -f /var/log/slurm/jobcomp.log ]] || install -o slurm -g slurm -m 0644 /dev/null /var/log/slurm/jobcomp.log
  if ! alive "$PIDS/slurmctld"; then
    /usr/sbin/slurmctld 3>&- 4>&- 9>&-
    for _ in $(seq 100); do scontrol ping >/dev/null 2>&1 && break; sleep 0.1; done
    cp /run/slurm/slurmctld.pid "$PIDS/slurmctld"
    log "slurmctld running (pid $(<"$PIDS/slurmctld"))"
  fi
  for n in "${NODES[@]}"; do
    alive "$PIDS/slurmd-$n" && continue
    /usr/sbin/slurmd -N "$n" 3>&- 4>&- 9>&-
    for _ in $(seq 50); do [[ -s /run/slurm/slurmd-$n.pid ]] && break; sleep 0.1; done
    cp "/run/slurm/slurmd-$n.pid" "$PIDS/slurmd-$n"
  done
  for _ in $(seq 150); do
    [[ $(sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 == "idle" || $2 == "mix" || $2 == "alloc"' | wc -l) -ge ${#NODES[@]} ]] && return 0
    scontrol update nodename=node[1-4] state=resume >/dev/null 2>&1 || true
    sleep 0.2
  done
  die "the SLURM nodes did not come up: $(sinfo -h -N -o '%N %t' 2>&1 | tr '\n' ' ')"
}

setup_user() {
  if ! id "$HPC_USER" >/dev/null 2>&1; then
    useradd -m -s /bin/bash "$HPC_USER"
    usermod -p '*' "$HPC_USER" # unlocked without a password: sshd refuses keys of locked accounts
  fi
  # The key the tests log in with (the "researcher's" key), authorized for the HPC user.
  if [[ ! -s $ENV_DIR/id_ed25519 ]]; then
    ssh-keygen -q -t ed25519 -N '' -C htc-test -f "$ENV_DIR/id_ed25519"
  fi
  chmod 0644 "$ENV_DIR/id_ed25519.pub"
  local home
  home=$(getent passwd "$HPC_USER" | cut -d: -f6)
  install -d -o "$HPC_USER" -m 0700 "$home/.ssh"
  install -o "$HPC_USER" -m 0600 "$ENV_DIR/id_ed25519.pub" "$home/.ssh/authorized_keys"
}

start_sshd() {
  alive "$PIDS/sshd" && return 0
  [[ -s $ENV_DIR/hostkey_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -f "$ENV_DIR/hostkey_ed25519"
  cat >"$ENV_DIR/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $ENV_DIR/hostkey_ed25519
PidFile $ENV_DIR/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowUsers $HPC_USER
MaxSessions 50
MaxStartups 50:30:100
Subsystem sftp internal-sftp
EOF
  install -d /run/sshd
  /usr/sbin/sshd -f "$ENV_DIR/sshd_config" -E "$ENV_DIR/sshd.log" 3>&- 4>&- 9>&-
  for _ in $(seq 50); do [[ -s $ENV_DIR/sshd.pid ]] && break; sleep 0.1; done
  cp "$ENV_DIR/sshd.pid" "$PIDS/sshd"
  # The host key the tests trust (no "unknown host" prompt, no blind acceptance).
  printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$ENV_DIR/hostkey_ed25519.pub")" >"$ENV_DIR/known_hosts"
  chmod 0644 "$ENV_DIR/known_hosts"
  log "sshd running on 127.0.0.1:$SSH_PORT (pid $(<"$PIDS/sshd"))"
}

# The second-factor login: sshd run through a link named sshd-mfa (sshd takes
# its PAM service name from argv[0], so only /etc/pam.d/sshd-mfa applies):
# the key first, then one keyboard-interactive TOTP prompt.
start_sshd_mfa() {
  [[ -n $ENV_DIR && -s $ENV_DIR/sshd_config ]] || die "start sshd first"
  # Same host key as the first sshd; known_hosts is rewritten when that one starts.
  grep -q "^\[127.0.0.1\]:$MFA_PORT " "$ENV_DIR/known_hosts" ||
    printf '[127.0.0.1]:%s %s\n' "$MFA_PORT" "$(cut -d' ' -f1,2 "$ENV_DIR/hostkey_ed25519.pub")" >>"$ENV_DIR/known_hosts"
  alive "$PIDS/sshd-mfa" && return 0
  install -d -m 0700 "$ENV_DIR/mfa"
  if [[ ! -s $ENV_DIR/mfa/secret ]]; then
    # 20 random bytes in base32: the user's TOTP secret (tests compute codes with oathtool).
    head -c 20 /dev/urandom | base32 | tr -d '=' >"$ENV_DIR/mfa/secret"
  fi
  { cat "$ENV_DIR/mfa/secret"; printf '%s\n' '" RATE_LIMIT 100 30' '" WINDOW_SIZE 17' '" TOTP_AUTH'; } >"$ENV_DIR/mfa/$HPC_USER.ga"
  chmod 0400 "$ENV_DIR/mfa/$HPC_USER.ga"
  printf '%s\n' \
    'auth     required pam_echo.so Simulated MFA: enter the TOTP code for your account.' \
    "auth     required pam_google_authenticator.so secret=$ENV_DIR/mfa/\${USER}.ga user=root [authtok_prompt=TOTP code: ]" \
    'account  required pam_permit.so' \
    'session  required pam_permit.so' \
    'password required pam_deny.so' >/etc/pam.d/sshd-mfa
  sed -e "s/^Port .*/Port $MFA_PORT/" -e "s|^PidFile .*|PidFile $ENV_DIR/sshd-mfa.pid|" \
    -e 's/^KbdInteractiveAuthentication .*/KbdInteractiveAuthentication yes/' -e 's/^UsePAM .*/UsePAM yes/' \
    "$ENV_DIR/sshd_config" >"$ENV_DIR/sshd-mfa_config"
  echo 'AuthenticationMethods publickey,keyboard-interactive' >>"$ENV_DIR/sshd-mfa_config"
  ln -sfn /usr/sbin/sshd "$ENV_DIR/sshd-mfa"
  rm -f "$ENV_DIR/sshd-mfa.pid"
  "$ENV_DIR/sshd-mfa" -f "$ENV_DIR/sshd-mfa_config" -E "$ENV_DIR/sshd-mfa.log" 3>&- 4>&- 9>&-
  for _ in $(seq 50); do [[ -s $ENV_DIR/sshd-mfa.pid ]] && break; sleep 0.1; done
  [[ -s $ENV_DIR/sshd-mfa.pid ]] || die "the second-factor sshd did not start: $(tail -3 "$ENV_DIR/sshd-mfa.log" 2>/dev/null)"
  cp "$ENV_DIR/sshd-mfa.pid" "$PIDS/sshd-mfa"
  log "sshd with a second factor running on 127.0.0.1:$MFA_PORT (pid $(<"$PIDS/sshd-mfa"))"
}

stop_pidfile() {
  local name=$1 file=$PIDS/$1 pid
  alive "$file" || { rm -f "$file"; return 0; }
  pid=$(<"$file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do alive "$file" || break; sleep 0.1; done
  alive "$file" && kill -9 "$pid" 2>/dev/null || true
  rm -f "$file"
  log "stopped $name (pid $pid)"
}

cmd=${1:-status}
case $cmd in
  up)
    need_root
    mkdir -p "$PIDS"
    chmod 0755 "$ENV_DIR"
    install_packages
    write_slurm_conf
    start_munge
    start_slurm
    setup_user
    start_sshd
    start_sshd_mfa
    ;;
  down)
    need_root
    [[ -d $PIDS ]] || exit 0
    stop_pidfile sshd-mfa
    rm -f /etc/pam.d/sshd-mfa
    stop_pidfile sshd
    for n in "${NODES[@]}"; do stop_pidfile "slurmd-$n"; done
    stop_pidfile slurmctld
    stop_pidfile munged
    ;;
  status)
    ok=0
    for name in munged slurmctld "${NODES[@]/#/slurmd-}" sshd sshd-mfa; do
      if alive "$PIDS/$name"; then echo "$name running (pid $(<"$PIDS/$name"))"; else echo "$name not running"; ok=1; fi
    done
    exit $ok
    ;;
  env)
    echo "HTC_TEST_SSH_HOST=127.0.0.1"
    echo "HTC_TEST_SSH_PORT=$SSH_PORT"
    echo "HTC_TEST_SSH_USER=$HPC_USER"
    echo "HTC_TEST_SSH_KEY=$ENV_DIR/id_ed25519"
    echo "HTC_TEST_SSH_KNOWN_HOSTS=$ENV_DIR/known_hosts"
    echo "HTC_TEST_MFA_PORT=$MFA_PORT"
    echo "HTC_TEST_MFA_SECRET=$ENV_DIR/mfa/secret"
    ;;
  *)
    die "usage: $0 up | down | status | env"
    ;;
esac
