#!/bin/bash
# Rescue this instance's logs to S3 before the instance goes away.
#
# Runs as root through the project's SSM Command document (aws:runShellScript). The document
# builder (modules/rescue-document.ts) writes these constants in front of this text, so no
# document parameter can send the logs anywhere else or change the limits:
#   LOG_RESCUE_BUCKET        bucket name
#   LOG_RESCUE_PREFIX        key prefix, no leading or trailing slash
#   LOG_RESCUE_KMS_KEY_ARN   SSE-KMS key; empty means SSE-S3
#   LOG_RESCUE_MAX_TOTAL_MB  most bytes of logs collected (config logRescue.command.maxTotalMb)
#   LOG_RESCUE_NOTHING_COLLECTED_EXIT_CODE  exit code when nothing was collected (config/patterns.ts)
# Document parameters arrive as environment variables (interpolationType ENV_VAR):
#   SSM_asgName SSM_hookName SSM_trigger SSM_eventTime SSM_logGlobs SSM_includeJournal
# They are data only: never evaluated, never word-split. Everything the document's allowedPattern
# already guarantees is checked again here, because an old agent or a hand-run copy skips it.
#
# Result: <prefix>/<asg>/<instance-id>/<eventTime>/logs.tar.gz and manifest.json beside it.
# The archive is streamed (tar --sparse | gzip | upload): only one part of it (64 MiB) is ever on
# local disk, and large archives go up as an S3 multipart upload. Every request carries a digest
# S3 verifies before it keeps the bytes (a mismatch is BadDigest): SHA-256 where the AWS CLI can
# send one, otherwise MD5 (see "AWS CLI" below). Files are taken newest first up to
# LOG_RESCUE_MAX_TOTAL_MB; manifest.json lists what was collected, what was left out and why, the
# archive's SHA-256, and the VersionId and checksum S3 gave the archive this run wrote.
# Exit 0: rescued. Exit LOG_RESCUE_NOTHING_COLLECTED_EXIT_CODE: nothing to collect (the manifest is
# still uploaded). Any other failure exits 1 (or 128+n on a signal) with a message on stderr.
#
# Needs bash 4.2+, GNU coreutils/findutils/tar, gzip, curl and the AWS CLI. No python, no jq.
# AWS CLI: any v1 or v2 with `s3api` works; S3 checks a SHA-256 with v2 >= 2.5.0 or v1 >= 1.23.0
# on botocore >= 1.25.0, and an MD5 (Content-MD5) with anything older, such as Amazon Linux 2's
# awscli 1.18 or the Ubuntu 20.04/22.04 apt packages.

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
# spelled out, no match means no word. lastpipe (4.2+): the uploader, last in the archive's
# pipeline, runs in this shell, so what it learns (upload id, parts) outlives the pipeline.
shopt -u extglob dotglob nocaseglob failglob globstar
shopt -s nullglob lastpipe

log() { printf 'log-rescue: %s\n' "$1" >&2; }
die() { log "error: $1"; exit 1; }
quoted() { printf '%q' "$1"; }
trap 'log "error: unexpected failure (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
# Run the EXIT trap (cleanup) on the signals an agent timeout or a shutdown sends.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ---------------------------------------------------------------- document constants

for name in BUCKET PREFIX KMS_KEY_ARN MAX_TOTAL_MB NOTHING_COLLECTED_EXIT_CODE; do
  var=LOG_RESCUE_$name
  [[ -n ${!var+x} ]] || die "$var must be set by the document"
done
bucket_re='^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'
prefix_re='^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$'
kms_re='^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$'
[[ $LOG_RESCUE_BUCKET =~ $bucket_re ]] || die "LOG_RESCUE_BUCKET is not a bucket name: $(quoted "$LOG_RESCUE_BUCKET")"
[[ $LOG_RESCUE_PREFIX =~ $prefix_re ]] || die "LOG_RESCUE_PREFIX is not a key prefix: $(quoted "$LOG_RESCUE_PREFIX")"
[[ -z $LOG_RESCUE_KMS_KEY_ARN || $LOG_RESCUE_KMS_KEY_ARN =~ $kms_re ]] \
  || die "LOG_RESCUE_KMS_KEY_ARN is not a KMS key ARN: $(quoted "$LOG_RESCUE_KMS_KEY_ARN")"
[[ $LOG_RESCUE_MAX_TOTAL_MB =~ ^[1-9][0-9]{0,6}$ ]] || die "LOG_RESCUE_MAX_TOTAL_MB is not a size in MB: $(quoted "$LOG_RESCUE_MAX_TOTAL_MB")"
[[ $LOG_RESCUE_NOTHING_COLLECTED_EXIT_CODE =~ ^[1-9][0-9]?$ ]] \
  || die "LOG_RESCUE_NOTHING_COLLECTED_EXIT_CODE is not an exit code: $(quoted "$LOG_RESCUE_NOTHING_COLLECTED_EXIT_CODE")"
max_total_bytes=$((LOG_RESCUE_MAX_TOTAL_MB * 1048576))

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

for tool in curl tar gzip sha256sum md5sum base64 tr wc find mkdir mktemp date rm head tee sort df mkfifo readlink; do
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

# ---------------------------------------------------------------- local disk

# S3 takes parts of 5 MiB to 5 GiB, all but the last, and at most 10,000 of them ("Amazon S3
# multipart upload limits", https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
# 64 MiB parts carry 625 GiB, beyond any archive the size cap lets through (config/schema.ts).
part_size=$((64 * 1048576))
max_parts=10000
# Locally the script holds one part, the journal export and small lists, on the first of these
# with room for them: a full root volume falls back to memory (tmpfs).
need_bytes=$((part_size + 4 * 1048576))
free_bytes() {  # dir -> REPLY (bytes available to us)
  local line fs blocks used avail rest
  REPLY=0
  { read -r line && read -r fs blocks used avail rest; } < <(df -P -k -- "$1" 2>/dev/null) || return 1
  [[ $avail =~ ^[0-9]+$ ]] || return 1
  REPLY=$((avail * 1024))
}
work=
free_report=
for dir in "${TMPDIR:-/var/tmp}" /dev/shm; do
  [[ -d $dir ]] || continue
  free_bytes "$dir" || true
  free_report+=" $(quoted "$dir"): $REPLY bytes free;"
  (( REPLY >= need_bytes )) || continue
  work=$(mktemp -d "$dir/log-rescue.XXXXXXXX") || die "cannot create a work directory in $(quoted "$dir")"
  work_free=$REPLY
  break
done
[[ -n $work ]] || die "not enough free space to stream the archive: it needs $need_bytes bytes (one $part_size-byte part and lists);$free_report"
[[ $dir == "${TMPDIR:-/var/tmp}" ]] || log "warning: buffering parts in $(quoted "$dir"):$free_report"

upload_id=
upload_done=false
s3api() {  # operation args... (bucket, region and retries added)
  AWS_PAGER='' AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=5 "$aws_cli" s3api "$1" --region "$region" --bucket "$LOG_RESCUE_BUCKET" "${@:2}"
}
cleanup() {
  # Parts of an upload that is neither completed nor aborted stay stored and billed ("Aborting a
  # multipart upload", https://docs.aws.amazon.com/AmazonS3/latest/userguide/abort-mpu.html).
  if [[ -n $upload_id && $upload_done == false ]]; then
    # $? read before the message's own command substitution resets it.
    s3api abort-multipart-upload --key "$archive_key" --upload-id="$upload_id" >/dev/null \
      || { abort_rc=$?; log "warning: could not abort multipart upload $(quoted "$upload_id") (aws exit $abort_rc); the bucket's lifecycle rule removes it"; }
  fi
  rm -rf -- "$work"
}
trap cleanup EXIT

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

# Candidates: "<mtime> <bytes> <index>" lines to sort; paths stay in arrays (they may hold newlines).
declare -A seen=()
cand_paths=()
cand_sizes=()
cand_costs=()
cand_via=()
cand_lines=()
missing=()
left_paths=()
left_sizes=()
left_reasons=()
leave_out() {  # path bytes reason
  left_paths+=("$1")
  left_sizes+=("$2")
  left_reasons+=("$3")
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
    root=$match
    via=
    if [[ -L $match ]]; then
      # A match that is a symlink (logs -> /data/app/logs, current.log -> app-3.log) is followed,
      # as the kernel's protected_symlinks would: only a link made by root or by its target's owner,
      # so a user who can write a log directory cannot have root archive /etc/shadow.
      root=$(readlink -e -- "$match") || { leave_out "$match" 0 'symlink whose target does not exist'; continue; }
      link_uid=$(find -P "$match" -maxdepth 0 -printf '%U')
      target_uid=$(find -H "$match" -maxdepth 0 -printf '%U')
      if [[ $link_uid != 0 && $link_uid != "$target_uid" ]]; then
        leave_out "$match" 0 "symlink owned by uid $link_uid to a file of uid $target_uid, not followed"
        continue
      fi
      via=$match
    fi
    # Links found while descending are stored as links, never followed (loops, /proc).
    # Cost against the cap: the bytes on disk (a sparse file's holes are free to tar --sparse).
    while IFS= read -r -d '' record; do
      read -r mtime size blocks id <<< "${record%%/*}"
      path=/${record#*/}
      [[ -z ${seen["$id"]+x} ]] || continue
      seen["$id"]=1
      cost=$((blocks * 512))
      (( cost <= size )) || cost=$size
      cand_lines+=("${mtime%.*} $cost ${#cand_paths[@]}")
      cand_paths+=("$path")
      cand_sizes+=("$size")
      cand_costs+=("$cost")
      cand_via+=("$via")
    done < <(find -P "$root" \( -type f -o -type l \) -printf '%T@ %s %b %D:%i %p\0')
  done
done

# The journal first (it is the newest), then files newest first, while they fit the cap.
journal_member=_log-rescue/journal-current-boot.log
journal_json='{"requested":false}'
total_bytes=0
if [[ $include_journal == true ]]; then
  budget=$((work_free - need_bytes))
  (( budget <= max_total_bytes )) || budget=$max_total_bytes
  if ! command -v journalctl >/dev/null 2>&1; then
    journal_json='{"requested":true,"included":false,"reason":"journalctl not found"}'
  elif (( budget <= 0 )); then
    journal_json='{"requested":true,"included":false,"reason":"no local disk space left for it"}'
  else
    mkdir -p -- "$work/_log-rescue"
    { journalctl --no-pager -o short-iso -b 2> "$work/journal.err" | head -c "$budget" > "$work/$journal_member"; rcs=("${PIPESTATUS[@]}"); } || true
    journal_bytes=$(( $(wc -c < "$work/$journal_member") ))
    truncated=false
    (( journal_bytes < budget )) || truncated=true
    journal_rc=${rcs[0]}
    if [[ $truncated == false && $journal_rc != 0 ]]; then
      log "warning: journalctl exited $journal_rc: $(head -c 500 "$work/journal.err" || true)"
    fi
    (( rcs[1] == 0 )) || { log "warning: the journal export was cut short (head exit ${rcs[1]})"; truncated=true; }
    if (( journal_bytes == 0 )); then
      journal_json="{\"requested\":true,\"included\":false,\"reason\":\"empty\",\"exitCode\":$journal_rc}"
      rm -f -- "$work/$journal_member"
    else
      total_bytes=$journal_bytes
      journal_json="{\"requested\":true,\"included\":true,\"member\":\"$journal_member\",\"bytes\":$journal_bytes,\"exitCode\":$journal_rc,\"truncated\":$truncated}"
    fi
  fi
fi

file_paths=()
file_sizes=()
file_via=()
list=$work/files.list
: > "$list"
if (( ${#cand_lines[@]} > 0 )); then
  printf '%s\n' "${cand_lines[@]}" | sort -k1,1nr -k3,3n | while read -r mtime cost i; do
    if (( total_bytes + cost > max_total_bytes )); then
      leave_out "${cand_paths[i]}" "${cand_sizes[i]}" "size cap: maxTotalMb $LOG_RESCUE_MAX_TOTAL_MB reached (newer files first)"
      continue
    fi
    total_bytes=$((total_bytes + cost))
    file_paths+=("${cand_paths[i]}")
    file_sizes+=("${cand_sizes[i]}")
    file_via+=("${cand_via[i]}")
    printf '%s\0' "${cand_paths[i]#/}" >> "$list"
  done
fi

# ---------------------------------------------------------------- archive and upload

hex_raw() {  # hex -> the bytes it spells, on stdout
  local hex=$1 esc=
  while [[ -n $hex ]]; do esc+="\\x${hex:0:2}"; hex=${hex:2}; done
  printf '%b' "$esc"
}
hex_to_base64() {  # hex -> REPLY (S3 wants the raw digest, base64-encoded)
  REPLY=$(hex_raw "$1" | base64 | tr -d '\n')
}
digest_of() {  # tool hex-length file -> REPLY (lower-case hex)
  local sum rest hex_re="^[0-9a-f]{$2}\$"
  read -r sum rest < <("$1" < "$3") || return 1
  [[ $sum =~ $hex_re ]] || return 1
  REPLY=$sum
}
integrity_of() {  # file -> integrity=(options that make S3 verify the body), sha256_hex
  digest_of sha256sum 64 "$1" || return 1
  sha256_hex=$REPLY
  if [[ $s3_checksum == SHA256 ]]; then
    hex_to_base64 "$sha256_hex"
    integrity=(--checksum-sha256 "$REPLY")
  else
    digest_of md5sum 32 "$1" || return 1
    hex_to_base64 "$REPLY"
    integrity=(--content-md5 "$REPLY")
  fi
}
sse=(--server-side-encryption AES256)
[[ -z $LOG_RESCUE_KMS_KEY_ARN ]] || sse=(--server-side-encryption aws:kms --ssekms-key-id "$LOG_RESCUE_KMS_KEY_ARN")
algorithm=()
[[ $s3_checksum == MD5 ]] || algorithm=(--checksum-algorithm SHA256)
etag_re='^"?[A-Za-z0-9-]{1,64}"?$'
# "<VersionId> <checksum S3 reports>" of a put-object or complete-multipart-upload, in REPLY.
result_query=(--query '[VersionId, ChecksumSHA256]' --output text)
read_result() {
  local version checksum rest
  read -r version checksum rest <<< "$1"
  [[ $version != None && -n $version ]] || version=
  [[ $checksum != None && -n $checksum ]] || checksum=
  REPLY="$version $checksum"
}
put_object() {  # key file content-type -> REPLY from read_result
  local out
  integrity_of "$2" || return 1
  out=$(s3api put-object --key "$1" --body "$2" --content-type "$3" "${sse[@]}" ${algorithm[@]+"${algorithm[@]}"} "${integrity[@]}" "${result_query[@]}") || return
  read_result "$out"
}

part=$work/part
part_number=0
part_sha_hex=
parts_json=
upload_part() {  # uploads $part as the next part; S3 checks each part's own digest
  local etag
  part_number=$((part_number + 1))
  (( part_number <= max_parts )) || die "the archive needs more than $max_parts parts of $part_size bytes"
  integrity_of "$part" || die "digest of part $part_number failed"
  etag=$(s3api upload-part --key "$archive_key" --upload-id="$upload_id" --part-number "$part_number" \
    --body "$part" "${integrity[@]}" --query ETag --output text) \
    || die "upload of part $part_number of s3://$LOG_RESCUE_BUCKET/$archive_key failed (aws exit $?)"
  [[ $etag =~ $etag_re ]] || die "S3 answered part $part_number with an unexpected ETag: $(quoted "$etag")"
  etag=${etag//\"/}
  part_sha_hex+=$sha256_hex
  parts_json+="${parts_json:+,}{\"PartNumber\":$part_number,\"ETag\":\"\\\"$etag\\\"\""
  if [[ $s3_checksum == SHA256 ]]; then parts_json+=",\"ChecksumSHA256\":\"${integrity[1]}\"}"; else parts_json+='}'; fi
}
# Reads the archive from stdin: every full part goes up at once (the first starts the multipart
# upload); the last, short one stays in $part until tar and gzip are known to have succeeded.
upload_stream() {
  local bytes
  while :; do
    # GNU head -c reads at most that many bytes, so the rest stays in the pipe for the next part.
    head -c "$part_size" > "$part" || { head_rc=$?; die "cannot buffer part $((part_number + 1)) in $(quoted "$work") (head exit $head_rc)"; }
    bytes=$(( $(wc -c < "$part") ))
    archive_bytes=$((archive_bytes + bytes))
    (( bytes == part_size )) || return 0
    if [[ -z $upload_id ]]; then
      upload_id=$(s3api create-multipart-upload --key "$archive_key" --content-type application/gzip "${sse[@]}" \
        ${algorithm[@]+"${algorithm[@]}"} --query UploadId --output text) \
        || die "could not start the multipart upload of s3://$LOG_RESCUE_BUCKET/$archive_key (aws exit $?)"
      [[ $upload_id =~ ^[A-Za-z0-9._~+/=-]{1,1024}$ ]] || die "S3 answered with an unexpected upload id: $(quoted "$upload_id")"
    fi
    upload_part
  done
}

archive_bytes=0
archive_sha256=
archive_version=
archive_s3_checksum=
if (( ${#file_paths[@]} > 0 )) || [[ -f $work/$journal_member ]]; then
  journal_args=()
  [[ ! -f $work/$journal_member ]] || journal_args=(-C "$work" "$journal_member")
  mkfifo "$work/sha.fifo"
  sha256sum < "$work/sha.fifo" > "$work/archive.sha256" &
  sha_pid=$!
  # --null reads names verbatim (no option parsing, no trimming); a log being appended to or
  # rotated away while we read it is expected on a live system, not a reason to lose the rest.
  { tar --create --file - --sparse --null --no-recursion --ignore-failed-read --warning=no-file-changed \
      -C / --files-from "$list" ${journal_args[@]+"${journal_args[@]}"} \
      | gzip -n -c | tee -- "$work/sha.fifo" | upload_stream
    rcs=("${PIPESTATUS[@]}"); } || true
  wait "$sha_pid" || die "sha256sum of the archive failed"
  (( rcs[0] <= 1 )) || die "tar failed (exit ${rcs[0]})"
  (( rcs[0] == 0 )) || log 'warning: some files changed while they were archived'
  (( rcs[1] == 0 && rcs[2] == 0 )) || die "gzip or tee failed (exit ${rcs[1]}, ${rcs[2]})"
  read -r archive_sha256 rest < "$work/archive.sha256"
  [[ $archive_sha256 =~ ^[0-9a-f]{64}$ ]] || die 'sha256sum of the archive failed'
  if [[ -z $upload_id ]]; then
    put_object "$archive_key" "$part" application/gzip \
      || die "upload of s3://$LOG_RESCUE_BUCKET/$archive_key failed (aws exit $?)"
    part_number=1
  else
    (( $(wc -c < "$part") == 0 )) || upload_part
    printf '{"Parts":[%s]}' "$parts_json" > "$work/parts.json"
    out=$(s3api complete-multipart-upload --key "$archive_key" --upload-id="$upload_id" \
      --multipart-upload "file://$work/parts.json" "${result_query[@]}") \
      || die "could not complete the multipart upload of s3://$LOG_RESCUE_BUCKET/$archive_key (aws exit $?)"
    upload_done=true
    read_result "$out"
    result=$REPLY
    # S3's checksum of a multipart object is the SHA-256 of the parts' SHA-256s, then -<parts>
    # ("Checking object integrity", https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
    if [[ $s3_checksum == SHA256 ]]; then
      composite=$(hex_raw "$part_sha_hex" | sha256sum)
      hex_to_base64 "${composite%% *}"
      [[ ${result#* } == "$REPLY-$part_number" ]] \
        || die "S3 reports checksum $(quoted "${result#* }") for s3://$LOG_RESCUE_BUCKET/$archive_key, not $REPLY-$part_number"
    fi
    REPLY=$result
  fi
  archive_version=${REPLY%% *}
  archive_s3_checksum=${REPLY#* }
fi
finished_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ---------------------------------------------------------------- manifest

outcome=rescued
(( archive_bytes > 0 )) || outcome=nothing-collected
manifest=$work/manifest.json
{
  fields=(
    outcome "$outcome" instanceId "$instance_id" region "$region" asgName "$asg" hookName "$hook" trigger "$trigger"
    eventTime "$event_time" hostname "${HOSTNAME:-$(uname -n)}" startTime "$started_at" endTime "$finished_at"
    archiveKey "$archive_key" sha256 "$archive_sha256" s3Checksum "$s3_checksum"
    archiveVersionId "$archive_version" archiveS3Checksum "$archive_s3_checksum"
  )
  printf '{\n  "schemaVersion": 2'
  for ((i = 0; i < ${#fields[@]}; i += 2)); do
    REPLY=null
    [[ -z ${fields[i + 1]} ]] || json_str "${fields[i + 1]}"
    [[ $outcome == rescued || ${fields[i]} != archiveKey ]] || REPLY=null
    printf ',\n  "%s": %s' "${fields[i]}" "$REPLY"
  done
  printf ',\n  "archiveBytes": %s,\n  "archiveParts": %s,\n  "partBytes": %s' "$archive_bytes" "$part_number" "$part_size"
  printf ',\n  "maxTotalBytes": %s,\n  "collectedBytes": %s' "$max_total_bytes" "$total_bytes"
  printf ',\n  "journal": %s' "$journal_json"
  printf ',\n  "files": ['
  sep=
  for ((i = 0; i < ${#file_paths[@]}; i++)); do
    json_str "${file_paths[i]}"
    printf '%s\n    {"path": %s, "bytes": %s' "$sep" "$REPLY" "${file_sizes[i]}"
    if [[ -n ${file_via[i]} ]]; then json_str "${file_via[i]}"; printf ', "via": %s' "$REPLY"; fi
    printf '}'
    sep=,
  done
  printf '\n  ],\n  "leftOut": ['
  sep=
  for ((i = 0; i < ${#left_paths[@]}; i++)); do
    json_str "${left_paths[i]}"
    printf '%s\n    {"path": %s, "bytes": %s, ' "$sep" "$REPLY" "${left_sizes[i]}"
    json_str "${left_reasons[i]}"
    printf '"reason": %s}' "$REPLY"
    sep=,
  done
  for list_name in globs missingGlobs; do
    printf '\n  ],\n  "%s": [' "$list_name"
    sep=
    [[ $list_name == globs ]] && names=(${globs[@]+"${globs[@]}"}) || names=(${missing[@]+"${missing[@]}"})
    for glob in ${names[@]+"${names[@]}"}; do
      json_str "$glob"
      printf '%s\n    %s' "$sep" "$REPLY"
      sep=,
    done
  done
  printf '\n  ]\n}\n'
} > "$manifest"

put_object "$manifest_key" "$manifest" application/json \
  || die "upload of s3://$LOG_RESCUE_BUCKET/$manifest_key failed (aws exit $?)"

if [[ $outcome == nothing-collected ]]; then
  log "nothing collected: ${#missing[@]} of ${#globs[@]} globs matched nothing, ${#left_paths[@]} files left out, journal $journal_json; the manifest says what was looked for: s3://$LOG_RESCUE_BUCKET/$manifest_key"
  exit "$LOG_RESCUE_NOTHING_COLLECTED_EXIT_CODE"
fi
printf 'log-rescue: uploaded %d files (%d missing globs, %d left out) as %d bytes in %d parts to s3://%s/%s (sha256 %s; S3 checked %s; version %s)\n' \
  "${#file_paths[@]}" "${#missing[@]}" "${#left_paths[@]}" "$archive_bytes" "$part_number" "$LOG_RESCUE_BUCKET" "$archive_key" \
  "$archive_sha256" "$s3_checksum" "${archive_version:-none}"
