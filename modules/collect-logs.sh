#!/bin/bash
# Rescue this instance's logs to S3 before the instance goes away.
#
# Runs as root through the project's SSM Command document (aws:runShellScript). The document
# builder (modules/rescue-document.ts) writes the destination in front of this text as constants,
# so no document parameter can send the logs anywhere else:
#   LOG_RESCUE_BUCKET        bucket name
#   LOG_RESCUE_PREFIX        key prefix, no leading or trailing slash
#   LOG_RESCUE_KMS_KEY_ARN   SSE-KMS key; empty means SSE-S3
# Document parameters arrive as environment variables (interpolationType ENV_VAR):
#   SSM_asgName SSM_hookName SSM_trigger SSM_eventTime SSM_logGlobs SSM_includeJournal
# They are data only: never evaluated, never word-split. Everything the document's allowedPattern
# already guarantees is checked again here, because an old agent or a hand-run copy skips it.
#
# Result: <prefix>/<asg>/<instance-id>/<eventTime>/logs.tar.gz and manifest.json beside it, both
# uploaded with a digest that S3 verifies before it stores the object (a mismatch is BadDigest):
# SHA-256 where the AWS CLI can send one, otherwise MD5 (see "AWS CLI" below). manifest.json always
# carries the archive's SHA-256 and says which digest S3 checked ("s3Checksum": "SHA256" | "MD5").
# Any failure exits non-zero with a message on stderr, so the command status (and the lifecycle
# handler) sees it.
#
# Needs bash 4.2+, GNU coreutils/findutils/tar, gzip, curl and the AWS CLI. No python, no jq.
# AWS CLI: any v1 or v2 with `s3api put-object` (all of them) works; S3 checks a SHA-256 with
# v2 >= 2.5.0 or v1 >= 1.23.0 on botocore >= 1.25.0, and an MD5 (Content-MD5) with anything older,
# such as Amazon Linux 2's awscli 1.18 or the Ubuntu 20.04/22.04 apt packages.

# POSIX until the bash check: `sh script` (dash on Debian/Ubuntu) must still reach it.
if [ -z "${BASH_VERSION:-}" ]; then
  if [ -x /bin/bash ]; then exec /bin/bash "$0" "$@"; fi
  echo 'log-rescue: error: bash is required' >&2
  exit 1
fi
case $BASH_VERSION in
  [0-3].*|4.[01].*) echo "log-rescue: error: bash 4.2+ is required (found $BASH_VERSION)" >&2; exit 1 ;;
esac

set -Eeuo pipefail
umask 077
# Byte semantics for patterns and ranges; a locale must not change what a glob or regex matches.
export LC_ALL=C
# Globs from the parameter are patterns, nothing more: no extended syntax, no dot files unless
# spelled out, no match means no word.
shopt -u extglob dotglob nocaseglob failglob globstar
shopt -s nullglob

log() { printf 'log-rescue: %s\n' "$1" >&2; }
die() { log "error: $1"; exit 1; }
quoted() { printf '%q' "$1"; }
trap 'log "error: unexpected failure (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
# Run the EXIT trap (cleanup) on the signals an agent timeout or a shutdown sends.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ---------------------------------------------------------------- destination constants

[[ -n ${LOG_RESCUE_BUCKET+x} && -n ${LOG_RESCUE_PREFIX+x} && -n ${LOG_RESCUE_KMS_KEY_ARN+x} ]] \
  || die 'LOG_RESCUE_BUCKET, LOG_RESCUE_PREFIX and LOG_RESCUE_KMS_KEY_ARN must be set by the document'
bucket_re='^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'
prefix_re='^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$'
kms_re='^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$'
[[ $LOG_RESCUE_BUCKET =~ $bucket_re ]] || die "LOG_RESCUE_BUCKET is not a bucket name: $(quoted "$LOG_RESCUE_BUCKET")"
[[ $LOG_RESCUE_PREFIX =~ $prefix_re ]] || die "LOG_RESCUE_PREFIX is not a key prefix: $(quoted "$LOG_RESCUE_PREFIX")"
[[ -z $LOG_RESCUE_KMS_KEY_ARN || $LOG_RESCUE_KMS_KEY_ARN =~ $kms_re ]] \
  || die "LOG_RESCUE_KMS_KEY_ARN is not a KMS key ARN: $(quoted "$LOG_RESCUE_KMS_KEY_ARN")"

# ---------------------------------------------------------------- parameters

for name in asgName hookName trigger eventTime logGlobs includeJournal; do
  var=SSM_$name
  [[ -n ${!var+x} ]] || die "parameter $name is missing (environment variable $var is not set)"
done

asg=$SSM_asgName
hook=$SSM_hookName
trigger=$SSM_trigger
event_time=$SSM_eventTime
include_journal=$SSM_includeJournal

# Same rules as the document's allowedPattern values (config/schema.ts ASG_NAME_PATTERN, HOOK_NAME_PATTERN).
asg_re='^[A-Za-z0-9._ -]{1,255}$'
hook_re='^[A-Za-z0-9/_-]{1,255}$'
event_time_re='^[0-9]{8}T[0-9]{6}Z$'
[[ $asg =~ $asg_re && $asg != . && $asg != .. ]] || die "invalid asgName: $(quoted "$asg")"
[[ $hook =~ $hook_re ]] || die "invalid hookName: $(quoted "$hook")"
[[ $trigger == lifecycle || $trigger == spot ]] || die "invalid trigger (lifecycle|spot): $(quoted "$trigger")"
[[ $event_time =~ $event_time_re ]] || die "invalid eventTime (YYYYMMDDTHHMMSSZ): $(quoted "$event_time")"
[[ $include_journal == true || $include_journal == false ]] || die "invalid includeJournal (true|false): $(quoted "$include_journal")"

# Split on | by hand: `read` would stop at a newline and IFS splitting would also trim.
globs=()
rest=$SSM_logGlobs
while :; do
  glob=${rest%%|*}
  if [[ -n $glob ]]; then
    [[ $glob == /* ]] || die "log glob is not an absolute path: $(quoted "$glob")"
    [[ $glob/ != *"/../"* && $glob/ != *"/./"* ]] || die "log glob has a . or .. segment: $(quoted "$glob")"
    globs+=("$glob")
  fi
  [[ $rest == *'|'* ]] || break
  rest=${rest#*|}
done

# ---------------------------------------------------------------- tools

for tool in curl tar gzip sha256sum md5sum base64 tr wc find mkdir mktemp date rm; do
  command -v "$tool" >/dev/null 2>&1 || die "required tool not found: $tool"
done
aws_cli=$(command -v aws 2>/dev/null || true)
for candidate in /usr/local/bin/aws /usr/bin/aws /snap/bin/aws; do
  [[ -n $aws_cli ]] && break
  [[ -x $candidate ]] && aws_cli=$candidate
done
[[ -n $aws_cli ]] || die 'AWS CLI (aws) not found on PATH or as /usr/local/bin/aws, /usr/bin/aws or /snap/bin/aws; install AWS CLI v2 (or v1)'

# ---------------------------------------------------------------- AWS CLI

# Which digest S3 is sent, decided once. `s3api put-object --checksum-algorithm/--checksum-sha256`
# came with S3's additional checksums on 2022-02-24: aws-cli 1.22.62 (botocore 1.24.7) and 2.4.21.
# An older CLI stops with "Unknown options" and uploads nothing. Conservatively, SHA-256 is used only
# from the next minor release on, where every release has the options: v2 >= 2.5.0; v1 >= 1.23.0
# and, when it reports one, botocore >= 1.25.0 (the options come from botocore's S3 model, and
# distribution packages ship botocore separately from awscli). Anything else, including a version
# line this cannot read, sends --content-md5: every CLI version has it and S3 verifies it too.
# v1 on Python 2 prints its version on stderr, hence 2>&1; lines before it (warnings) are skipped.
aws_version_rc=0
aws_version_out=$(AWS_PAGER='' "$aws_cli" --version 2>&1) || aws_version_rc=$?
(( aws_version_rc == 0 )) || die "the AWS CLI at $(quoted "$aws_cli") does not run (aws --version exited $aws_version_rc): $(quoted "${aws_version_out:0:300}")"
version_at_least() {  # major minor wanted-major wanted-minor
  (( $1 > $3 || ($1 == $3 && $2 >= $4) ))
}
s3_checksum=MD5
cli_re='(^|[[:space:]])aws-cli/([0-9]{1,6})\.([0-9]{1,6})\.[0-9]{1,6}([[:space:]]|$)'
botocore_re='[[:space:]]botocore/([0-9]{1,6})\.([0-9]{1,6})\.[0-9]{1,6}([[:space:]]|$)'
if [[ $aws_version_out =~ $cli_re ]]; then
  cli_major=$((10#${BASH_REMATCH[2]}))
  cli_minor=$((10#${BASH_REMATCH[3]}))
  if (( cli_major >= 2 )); then
    if version_at_least "$cli_major" "$cli_minor" 2 5; then s3_checksum=SHA256; fi
  elif (( cli_major == 1 )) && version_at_least 1 "$cli_minor" 1 23; then
    s3_checksum=SHA256
    if [[ $aws_version_out =~ $botocore_re ]] \
        && ! version_at_least "$((10#${BASH_REMATCH[1]}))" "$((10#${BASH_REMATCH[2]}))" 1 25; then
      s3_checksum=MD5
    fi
  fi
else
  log "warning: cannot read the AWS CLI version from $(quoted "${aws_version_out:0:300}"); S3 will check an MD5 instead of a SHA-256"
fi

# ---------------------------------------------------------------- identity (IMDSv2)

imds=http://169.254.169.254/latest
curl_opts=(--silent --show-error --fail --connect-timeout 2 --max-time 10 --retry 3 --retry-delay 1)
imds_token=$(curl "${curl_opts[@]}" -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/api/token") \
  || die "IMDSv2 token request failed (curl exit $?)"
[[ -n $imds_token ]] || die 'IMDSv2 returned an empty token'
imds_get() {
  curl "${curl_opts[@]}" -H "X-aws-ec2-metadata-token: $imds_token" "$imds/meta-data/$1"
}
instance_id=$(imds_get instance-id) || die "IMDS instance-id request failed (curl exit $?)"
region=$(imds_get placement/region) || die "IMDS region request failed (curl exit $?)"
instance_re='^i-[0-9a-f]{8,17}$'
region_re='^[a-z]{2}(-[a-z]+)+-[0-9]+$'
[[ $instance_id =~ $instance_re ]] || die "IMDS returned an unexpected instance id: $(quoted "$instance_id")"
[[ $region =~ $region_re ]] || die "IMDS returned an unexpected region: $(quoted "$region")"

key_base=$LOG_RESCUE_PREFIX/$asg/$instance_id/$event_time
archive_key=$key_base/logs.tar.gz
manifest_key=$key_base/manifest.json

work=$(mktemp -d "${TMPDIR:-/var/tmp}/log-rescue.XXXXXXXX") || die 'cannot create a work directory'
trap 'rm -rf -- "$work"' EXIT

# ---------------------------------------------------------------- collect

# JSON string literal of $1 in REPLY (no subshell: this runs once per file).
json_str() {
  local s=$1 bs='\' q='"' i c code out
  s=${s//"$bs"/"$bs$bs"}
  s=${s//"$q"/"$bs$q"}
  if [[ $s == *[$'\001'-$'\037']* ]]; then
    for ((i = 1; i < 32; i++)); do
      printf -v code '%02x' "$i"
      printf -v c "\\x$code"
      printf -v code '\\u%04x' "$i"
      s=${s//"$c"/"$code"}
    done
  fi
  # JSON must be UTF-8; a file name that is not gets its high bytes as \u00XX (read as Latin-1).
  if [[ $s == *[$'\200'-$'\377']* ]] && command -v iconv >/dev/null 2>&1 \
      && ! printf '%s' "$s" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1; then
    out=
    for ((i = 0; i < ${#s}; i++)); do
      c=${s:i:1}
      if [[ $c == [$'\200'-$'\377'] ]]; then
        printf -v code '\\u%04x' "'$c"
        out+=$code
      else
        out+=$c
      fi
    done
    s=$out
  fi
  REPLY="\"$s\""
}

declare -A seen=()
file_paths=()
file_sizes=()
missing=()
list=$work/files.list
: > "$list"

add_file() {  # path size
  [[ -z ${seen["$1"]+x} ]] || return 0
  seen["$1"]=1
  file_paths+=("$1")
  file_sizes+=("$2")
  printf '%s\0' "${1#/}" >> "$list"
}

expand_glob() {  # sets matches=() to the existing paths $1 names
  local IFS=  # no word splitting of the value; pathname expansion only
  local candidates=() m
  # shellcheck disable=SC2206  # unquoted on purpose: this is the glob expansion
  candidates=( $1 )
  matches=()
  for m in ${candidates[@]+"${candidates[@]}"}; do
    [[ -e $m || -L $m ]] && matches+=("$m")
  done
  return 0
}

for glob in ${globs[@]+"${globs[@]}"}; do
  expand_glob "$glob"
  if (( ${#matches[@]} == 0 )); then
    missing+=("$glob")
    continue
  fi
  for match in "${matches[@]}"; do
    # Globs have no . or .. segments, so a match with one came from a wildcard (.* before
    # bash 5.2 matches them) and would leave the glob's directory.
    [[ $match/ != *"/../"* && $match/ != *"/./"* ]] || continue
    # Regular files and symlinks (stored as links, never followed); directories recursively.
    while IFS= read -r -d '' record; do
      add_file "${record#* }" "${record%% *}"
    done < <(find -P "$match" \( -type f -o -type l \) -printf '%s %p\0')
  done
done

journal_member=_log-rescue/journal-current-boot.log
journal_json='{"requested":false}'
if [[ $include_journal == true ]]; then
  if command -v journalctl >/dev/null 2>&1; then
    mkdir -p -- "$work/_log-rescue"
    journal_rc=0
    journalctl --no-pager -o short-iso -b > "$work/$journal_member" 2> "$work/journal.err" || journal_rc=$?
    if (( journal_rc != 0 )); then
      log "warning: journalctl exited $journal_rc: $(head -c 500 "$work/journal.err" || true)"
    fi
    journal_bytes=$(( $(wc -c < "$work/$journal_member") ))
    journal_json="{\"requested\":true,\"included\":true,\"member\":\"$journal_member\",\"bytes\":$journal_bytes,\"exitCode\":$journal_rc}"
  else
    journal_json='{"requested":true,"included":false,"reason":"journalctl not found"}'
  fi
fi

# ---------------------------------------------------------------- archive

tar_rc=0
# --null reads names verbatim (no option parsing, no trimming); a log being appended to or
# rotated away while we read it is expected on a live system, not a reason to lose the rest.
tar --create --file "$work/logs.tar" --null --no-recursion --ignore-failed-read --warning=no-file-changed \
  -C / --files-from "$list" || tar_rc=$?
(( tar_rc <= 1 )) || die "tar failed (exit $tar_rc)"
(( tar_rc == 0 )) || log 'warning: some files changed while they were archived'
if [[ -f $work/$journal_member ]]; then
  tar --append --file "$work/logs.tar" --no-recursion -C "$work" "$journal_member" || die "tar could not add the journal (exit $?)"
fi
gzip -n -- "$work/logs.tar" || die "gzip failed (exit $?)"
archive=$work/logs.tar.gz
archive_bytes=$(( $(wc -c < "$archive") ))
# A single PUT takes at most 5 GiB.
(( archive_bytes <= 5368709120 )) || die "archive is $archive_bytes bytes, more than one PutObject accepts (5 GiB)"

hex_digest() {  # tool hex-length file -> REPLY (lower-case hex)
  local sum rest hex_re="^[0-9a-f]{$2}\$"
  read -r sum rest < <("$1" < "$3") || return 1
  [[ $sum =~ $hex_re ]] || return 1
  REPLY=$sum
}
hex_to_base64() {  # hex -> REPLY (S3 wants the raw digest, base64-encoded)
  local hex=$1 esc=
  while [[ -n $hex ]]; do esc+="\\x${hex:0:2}"; hex=${hex:2}; done
  REPLY=$(printf '%b' "$esc" | base64 | tr -d '\n')
}
base64_re='^[A-Za-z0-9+/]{22,}={0,2}$'
integrity_of() {  # file sha256-hex -> integrity=(the put-object options that make S3 verify it)
  if [[ $s3_checksum == SHA256 ]]; then
    hex_to_base64 "$2"
    integrity=(--checksum-algorithm SHA256 --checksum-sha256 "$REPLY")
  else
    hex_digest md5sum 32 "$1" || return 1
    hex_to_base64 "$REPLY"
    integrity=(--content-md5 "$REPLY")
  fi
  [[ $REPLY =~ $base64_re ]]
}

hex_digest sha256sum 64 "$archive" || die 'sha256sum of the archive failed'
archive_sha256=$REPLY
integrity_of "$archive" "$archive_sha256" || die "digest of the archive for S3 ($s3_checksum) failed"
archive_integrity=("${integrity[@]}")

# ---------------------------------------------------------------- upload

put_object() {  # key body content-type integrity-options...
  local args=(s3api put-object --region "$region" --bucket "$LOG_RESCUE_BUCKET" --key "$1" --body "$2"
    --content-type "$3" "${@:4}")
  if [[ -n $LOG_RESCUE_KMS_KEY_ARN ]]; then
    args+=(--server-side-encryption aws:kms --ssekms-key-id "$LOG_RESCUE_KMS_KEY_ARN")
  else
    args+=(--server-side-encryption AES256)
  fi
  AWS_PAGER='' AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=5 "$aws_cli" "${args[@]}" > /dev/null
}

put_object "$archive_key" "$archive" application/gzip "${archive_integrity[@]}" \
  || die "upload of s3://$LOG_RESCUE_BUCKET/$archive_key failed (aws exit $?)"
finished_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ---------------------------------------------------------------- manifest

manifest=$work/manifest.json
{
  fields=(
    instanceId "$instance_id" region "$region" asgName "$asg" hookName "$hook" trigger "$trigger"
    eventTime "$event_time" hostname "${HOSTNAME:-$(uname -n)}" startTime "$started_at" endTime "$finished_at"
    archiveKey "$archive_key" sha256 "$archive_sha256" s3Checksum "$s3_checksum"
  )
  printf '{\n  "schemaVersion": 1'
  for ((i = 0; i < ${#fields[@]}; i += 2)); do
    json_str "${fields[i + 1]}"
    printf ',\n  "%s": %s' "${fields[i]}" "$REPLY"
  done
  printf ',\n  "archiveBytes": %s' "$archive_bytes"
  printf ',\n  "journal": %s' "$journal_json"
  printf ',\n  "files": ['
  sep=
  for ((i = 0; i < ${#file_paths[@]}; i++)); do
    json_str "${file_paths[i]}"
    printf '%s\n    {"path": %s, "bytes": %s}' "$sep" "$REPLY" "${file_sizes[i]}"
    sep=,
  done
  printf '\n  ],\n  "missingGlobs": ['
  sep=
  for glob in ${missing[@]+"${missing[@]}"}; do
    json_str "$glob"
    printf '%s\n    %s' "$sep" "$REPLY"
    sep=,
  done
  printf '\n  ]\n}\n'
} > "$manifest"

hex_digest sha256sum 64 "$manifest" || die 'sha256sum of the manifest failed'
integrity_of "$manifest" "$REPLY" || die "digest of the manifest for S3 ($s3_checksum) failed"
put_object "$manifest_key" "$manifest" application/json "${integrity[@]}" \
  || die "upload of s3://$LOG_RESCUE_BUCKET/$manifest_key failed (aws exit $?)"

printf 'log-rescue: uploaded %d files (%d missing globs) as %d bytes to s3://%s/%s (sha256 %s; S3 checked %s)\n' \
  "${#file_paths[@]}" "${#missing[@]}" "$archive_bytes" "$LOG_RESCUE_BUCKET" "$archive_key" "$archive_sha256" "$s3_checksum"
