#!/usr/bin/env bash
# Bootstraps the certificates of a small credithub federation with `credit-admin cert`.
#
#   bootstrap-federation.sh OUT_DIR NAME:JURISDICTION:HOST[,HOST...] ...
#
#   bootstrap-federation.sh fed \
#       national:000000:hub.example.gov.cn \
#       jiangsu:320000:js.example.gov.cn \
#       suzhou:320500:sz.example.gov.cn,10.0.5.20
#
# Creates
#   OUT_DIR/ca/ca.crt, OUT_DIR/ca/ca.key   the federation CA; the key (0600) stays here,
#                                          never in a certs directory: keep it offline
#   OUT_DIR/<name>/certs/                  one per node, ready for /etc/credithub/certs:
#       ca.crt                             the CA certificate
#       node.crt, node.key                 the node's certificate (role node, its
#                                          jurisdiction, valid for the HOSTs given)
#       client.admin.crt, client.admin.key an admin certificate of the node's jurisdiction
# and prints `credit-admin cert list` for each node.
#
# NAME is 1-64 characters a-z, 0-9, '-'; JURISDICTION a 6-digit GB/T 2260 code
# (000000 for the national hub); HOST a DNS name or IP address peers use to reach the
# node (several separated by commas).
#
# Nothing is overwritten: an existing OUT_DIR/ca (or node directory) is refused, and
# everything is created in a scratch directory first, so a failure leaves OUT_DIR as
# it was.
#
# credit-admin is taken from $CREDIT_ADMIN, else from PATH, else from
# ${CARGO_TARGET_DIR:-$HOME/.cache/credithub/target}/debug/credit-admin (`make build`).
#
# Exit codes: 0 done; 1 failure; 2 wrong usage.
set -euo pipefail

prog=$(basename "$0")

usage() {
  cat <<EOF
usage: $prog OUT_DIR NAME:JURISDICTION:HOST[,HOST...] ...

example:
  $prog fed national:000000:hub.example.gov.cn \\
      jiangsu:320000:js.example.gov.cn suzhou:320500:sz.example.gov.cn
EOF
}

# Wrong usage: the message, the usage, exit 2.
usage_error() {
  echo "$prog: $*" >&2
  usage >&2
  exit 2
}

# Failure: the message, exit 1.
die() {
  echo "$prog: $*" >&2
  exit 1
}

if [[ $# -ge 1 && ( $1 == -h || $1 == --help ) ]]; then
  usage
  exit 0
fi
[[ $# -ge 2 ]] || usage_error "need OUT_DIR and at least one NAME:JURISDICTION:HOST[,HOST...]"

out=$1
shift
[[ -n $out ]] || usage_error "OUT_DIR is empty"
[[ $out != -* ]] || usage_error "OUT_DIR '$out' looks like an option"

# --- Check every node argument before creating anything. ---------------------------
names=()
jurisdictions=()
host_lists=()
for arg in "$@"; do
  # NAME:JURISDICTION:HOSTS; HOSTS keeps any further ':' (IPv6 addresses).
  name=${arg%%:*}
  rest=${arg#*:}
  [[ $rest != "$arg" ]] ||
    usage_error "argument '$arg': expected NAME:JURISDICTION:HOST[,HOST...]"
  jurisdiction=${rest%%:*}
  hosts=${rest#*:}
  [[ $hosts != "$rest" ]] ||
    usage_error "argument '$arg': expected NAME:JURISDICTION:HOST[,HOST...] (no HOST given)"

  [[ $name =~ ^[a-z0-9-]{1,64}$ ]] ||
    usage_error "argument '$arg': name '$name' must be 1-64 characters a-z, 0-9, '-'"
  [[ $name != ca ]] ||
    usage_error "argument '$arg': the name 'ca' is taken by OUT_DIR/ca (the CA's directory)"
  [[ $jurisdiction =~ ^[0-9]{6}$ ]] ||
    usage_error "argument '$arg': jurisdiction '$jurisdiction' must be a 6-digit GB/T 2260 code (000000 for the national hub)"
  [[ -n $hosts ]] || usage_error "argument '$arg': no HOST given"
  IFS=, read -r -a host_array <<<"$hosts"
  [[ $hosts != *, ]] || usage_error "argument '$arg': empty HOST in '$hosts'"
  for h in "${host_array[@]}"; do
    [[ $h =~ ^[A-Za-z0-9.:-]+$ ]] ||
      usage_error "argument '$arg': host '$h' is not a DNS name or IP address"
  done

  for i in "${!names[@]}"; do
    [[ ${names[$i]} != "$name" ]] ||
      usage_error "argument '$arg': the name '$name' is given twice"
    [[ ${jurisdictions[$i]} != "$jurisdiction" ]] ||
      usage_error "argument '$arg': jurisdiction $jurisdiction is already served by '${names[$i]}' (one node per jurisdiction)"
  done
  names+=("$name")
  jurisdictions+=("$jurisdiction")
  host_lists+=("$hosts")
done

# --- Find credit-admin. --------------------------------------------------------------
if [[ -n ${CREDIT_ADMIN:-} ]]; then
  admin=$CREDIT_ADMIN
  [[ -x $admin ]] || die "CREDIT_ADMIN=$admin is not an executable file"
elif admin=$(command -v credit-admin); then
  :
else
  admin="${CARGO_TARGET_DIR:-$HOME/.cache/credithub/target}/debug/credit-admin"
  [[ -x $admin ]] ||
    die "credit-admin not found: set CREDIT_ADMIN, put it on PATH, or build it with 'make build' (looked for $admin)"
fi

# --- Refuse to overwrite. ------------------------------------------------------------
if [[ -e $out/ca ]]; then
  die "$out/ca already exists: $out already holds a federation CA; refusing to overwrite it.
  To add a node under that CA, run: $admin cert create-node --certs-dir DIR --ca-key $out/ca/ca.key ...
  (copy $out/ca/ca.crt into DIR first); to start over, move $out/ca away."
fi
for name in "${names[@]}"; do
  [[ ! -e $out/$name ]] ||
    die "$out/$name already exists; refusing to overwrite it (choose another OUT_DIR or move it away)"
done

# --- Create everything in a scratch directory, then move it into place. --------------
mkdir -p -- "$out"
stage=$(mktemp -d "$out/.bootstrap.XXXXXX")
trap 'rm -rf -- "$stage"' EXIT

# Certificates stay out of the user's CREDIT_* settings except the output format.
run_admin() {
  env -u CREDIT_CERTS_DIR -u CREDIT_CA_KEY "$admin" "$@"
}

echo "creating the federation CA"
run_admin cert create-ca --certs-dir "$stage/ca" --ca-key "$stage/ca/ca.key" >/dev/null ||
  die "creating the CA failed (see above)"
ca_key="$stage/ca/ca.key"

for i in "${!names[@]}"; do
  name=${names[$i]}
  jurisdiction=${jurisdictions[$i]}
  IFS=, read -r -a host_array <<<"${host_lists[$i]}"
  certs="$stage/$name/certs"
  mkdir -m 700 -- "$stage/$name" "$certs"
  install -m 644 -- "$stage/ca/ca.crt" "$certs/ca.crt"

  host_args=()
  for h in "${host_array[@]}"; do
    host_args+=(--host "$h")
  done
  echo "creating node $name ($jurisdiction) for ${host_lists[$i]}"
  run_admin cert create-node --certs-dir "$certs" --ca-key "$ca_key" \
    --jurisdiction "$jurisdiction" --name "$name" "${host_args[@]}" >/dev/null ||
    die "creating the node certificate of '$name:$jurisdiction:${host_lists[$i]}' failed (see above)"
  run_admin cert create-client --certs-dir "$certs" --ca-key "$ca_key" \
    --role admin --jurisdiction "$jurisdiction" --name admin >/dev/null ||
    die "creating the admin certificate of '$name' failed (see above)"
done

# Everything was created: move it into place (the CA last, as it marks a finished run).
for name in "${names[@]}"; do
  mv -- "$stage/$name" "$out/$name"
done
mv -- "$stage/ca" "$out/ca"

for i in "${!names[@]}"; do
  name=${names[$i]}
  echo
  echo "== $name (${jurisdictions[$i]}): $out/$name/certs"
  run_admin cert list --certs-dir "$out/$name/certs"
done

cat <<EOF

Done. Install each $out/<name>/certs as /etc/credithub/certs on that node's host
(owned by the credithub user, keys 0600); give client.admin.* and ca.crt to its
operators. Keep $out/ca/ca.key offline: it signs every certificate of the federation.
EOF
