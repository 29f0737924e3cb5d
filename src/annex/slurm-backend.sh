# htc annex back-end for SLURM: run on the login node by "htc annex create"
# (as `sh -c SCRIPT htc-annex-backend ARGS...`, over the user's one SSH login).
#
#   ARGS:  SCRATCH ANNEX REQUEST_ID PILOT_EXECUTABLE
#   stdin: line 1: the pilot configuration (JSON, holds the annex token);
#          the rest: the batch script (rendered by the front-end).
#
# It makes the pilot directory SCRATCH/ANNEX.REQUEST_ID (mode 0700), writes
# pilot.json (0600) and batch.sh there, links the cached pilot executable in,
# and submits the batch script with sbatch from that directory. SCRATCH may
# name variables of the login node ($USER, ${PSCRATCH}); nothing else in it
# is expanded. Progress goes to stdout as lines KEY=VALUE for the front-end
# to record: hpc_annex_PID, hpc_annex_PILOT_DIR, hpc_annex_JOB_ID. Failures
# go to stderr, with an exit code per cause:
#   2 bad arguments   3 scratch unusable   4 pilot directory not made
#   5 no pilot executable   6 no sbatch   7 sbatch refused the job
# On any failure after the pilot directory was made, it is removed: nothing
# is left behind for a request that did not start.

pilot_dir=
fail() {
  code=$1
  shift
  printf '%s\n' "$*" >&2
  if [ -n "${pilot_dir:-}" ]; then rm -rf "$pilot_dir"; fi
  exit "$code"
}

[ "$#" -eq 4 ] || fail 2 "usage: htc-annex-backend SCRATCH ANNEX REQUEST_ID PILOT_EXECUTABLE (got $# arguments)"
scratch_template=$1
annex=$2
request_id=$3
executable=$4
case $annex in '' | *[!A-Za-z0-9._-]* | .*) fail 2 "bad annex name: $annex" ;; esac
case $request_id in '' | *[!A-Za-z0-9-]*) fail 2 "bad request id: $request_id" ;; esac
umask 077
printf 'hpc_annex_PID=%s\n' "$$"

# $NAME and ${NAME} in the scratch template, from the login node's environment; nothing else.
scratch=
rest=$scratch_template
while :; do
  case $rest in
    *'$'*) ;;
    *) scratch=$scratch$rest; break ;;
  esac
  scratch=$scratch${rest%%\$*}
  rest=${rest#*\$}
  case $rest in
    '{'*'}'*)
      name=${rest#\{}
      name=${name%%\}*}
      rest=${rest#*\}}
      ;;
    '{'*) fail 2 "scratch $scratch_template: a \"\${\" without its \"}\"" ;;
    *)
      name=$(printf '%s' "$rest" | sed 's/^\([A-Za-z_][A-Za-z0-9_]*\).*$/\1/')
      rest=${rest#"$name"}
      ;;
  esac
  case $name in '' | [!A-Za-z_]* | *[!A-Za-z0-9_]*) fail 2 "scratch $scratch_template: cannot expand \"\$$name\"" ;; esac
  # From the environment only (not this script's own variables).
  value=$(printenv -- "$name") || fail 3 "scratch $scratch_template: \$$name is not set on $(hostname)"
  [ -n "$value" ] || fail 3 "scratch $scratch_template: \$$name is empty on $(hostname)"
  scratch=$scratch$value
done
case $scratch in /*) ;; *) scratch=$HOME/$scratch ;; esac
mkdir -p "$scratch" 2>/dev/null || fail 3 "scratch $scratch: cannot create it"
[ -d "$scratch" ] && [ -w "$scratch" ] || fail 3 "scratch $scratch: not a writable directory"

mkdir "$scratch/$annex.$request_id" 2>/dev/null || fail 4 "pilot directory $scratch/$annex.$request_id: cannot create it (does it exist already?)"
pilot_dir=$scratch/$annex.$request_id
printf 'hpc_annex_PILOT_DIR=%s\n' "$pilot_dir"

case $executable in /*) ;; *) executable=$HOME/$executable ;; esac
[ -x "$executable" ] || fail 5 "pilot executable $executable: missing or not executable"
ln -s "$executable" "$pilot_dir/htc-pilot" || fail 4 "pilot directory $pilot_dir: cannot link the pilot executable"

IFS= read -r config || fail 2 "no pilot configuration on standard input"
printf '%s\n' "$config" > "$pilot_dir/pilot.json" || fail 4 "pilot directory $pilot_dir: cannot write pilot.json"
cat > "$pilot_dir/batch.sh" || fail 4 "pilot directory $pilot_dir: cannot write batch.sh"
[ -s "$pilot_dir/batch.sh" ] || fail 2 "no batch script on standard input"

command -v sbatch >/dev/null 2>&1 || fail 6 "sbatch: not found on $(hostname) (is SLURM's module loaded in your login shell?)"
if ! out=$(cd "$pilot_dir" && sbatch --parsable batch.sh 2>&1); then
  fail 7 "$out"
fi
job_id=$(printf '%s\n' "$out" | tail -n 1)
job_id=${job_id%%;*}
case $job_id in '' | *[!0-9_]*) fail 7 "sbatch answered: $out" ;; esac
printf 'hpc_annex_JOB_ID=%s\n' "$job_id"
exit 0
