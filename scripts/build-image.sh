#!/usr/bin/env bash
# Builds Purser's OCI image with buildah, from scratch (no base image is pulled):
#   scripts/build-image.sh PURSER_BINARY OUTPUT.tar
# The root file system comes from scripts/image-rootfs.sh; the image's configuration (user,
# environment, volumes, entrypoint, ...) from the lines after `FROM scratch` in
# deploy/Containerfile, so a Docker build and this one describe the same image. Writes an OCI
# archive (load it with `podman load -i`, `skopeo copy oci-archive:...`, or unpack it: see
# tests/image/image_test.py). buildah's storage is a temporary directory, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(realpath "${1:?usage: build-image.sh PURSER_BINARY OUTPUT.tar}")
out=$(realpath -m "${2:?usage: build-image.sh PURSER_BINARY OUTPUT.tar}")
command -v buildah >/dev/null ||
  { echo "build-image.sh: no buildah (PURSER_WITH_IMAGE=1 scripts/install-deps.sh)" >&2; exit 2; }
# The root file system is assembled with its owners (the user's home and CA directory); without
# root that needs buildah's user namespace, where this script runs again as its root.
if [[ $(id -u) -ne 0 ]]; then
  exec buildah unshare "$0" "$@"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/purser-image.XXXXXX")
bah=(buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs)
container=""
cleanup() {
  [[ -n "$container" ]] && "${bah[@]}" rm "$container" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

scripts/image-rootfs.sh "$bin" "$work/rootfs"

# The configuration: every instruction after `FROM scratch`, each turned into a buildah config
# option. An instruction this script does not know is an error, never silently dropped.
config=()
copied=0
in_image=0
while IFS= read -r line || [[ -n "$line" ]]; do
  [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
  if [[ "$line" == "FROM scratch" ]]; then in_image=1; continue; fi
  (( in_image )) || continue
  instr=${line%% *}
  arg=${line#* }
  case "$instr" in
    COPY)
      [[ "$arg" == "--from=build /rootfs /" ]] ||
        { echo "build-image.sh: unexpected COPY in deploy/Containerfile: $arg" >&2; exit 2; }
      copied=1 ;;
    USER) config+=(--user "$arg") ;;
    ENV) config+=(--env "$arg") ;;
    WORKDIR) config+=(--workingdir "$arg") ;;
    VOLUME) config+=(--volume "$arg") ;;
    EXPOSE) config+=(--port "$arg") ;;
    STOPSIGNAL) config+=(--stop-signal "$arg") ;;
    LABEL) config+=(--label "$(printf '%s' "$arg" | sed -E 's/^([^=]+)="(.*)"$/\1=\2/')") ;;
    ENTRYPOINT) config+=(--entrypoint "$arg") ;;
    CMD) config+=(--cmd "$arg") ;;
    *) echo "build-image.sh: deploy/Containerfile: $instr is not supported here" >&2; exit 2 ;;
  esac
done < deploy/Containerfile
(( copied )) || { echo "build-image.sh: deploy/Containerfile copies no /rootfs" >&2; exit 2; }

container=$("${bah[@]}" from scratch)
mnt=$("${bah[@]}" mount "$container")
cp -a "$work/rootfs/." "$mnt/"
"${bah[@]}" umount "$container" >/dev/null
"${bah[@]}" config --os linux --arch "$(dpkg --print-architecture)" \
  --created-by "scripts/build-image.sh" "${config[@]}" "$container"
mkdir -p "$(dirname "$out")"
rm -f "$out"
"${bah[@]}" commit --quiet --format oci --rm "$container" "oci-archive:$out:purser:latest" >/dev/null
container=""
echo "$out"
