#!/usr/bin/env bash
# Assembles the root file system of Purser's container image from files, no base image:
#   scripts/image-rootfs.sh PURSER_BINARY DIR
# DIR receives the purser binary, exactly the shared libraries it links (found with ldd, the
# dynamic loader included), the CA roots, a non-root user and the directories the image declares
# as volumes. Both image builds use it: `./run image` (scripts/build-image.sh, buildah) and
# deploy/Containerfile (Docker), so the two images hold the same files.
set -euo pipefail

bin=${1:?usage: image-rootfs.sh PURSER_BINARY DIR}
root=${2:?usage: image-rootfs.sh PURSER_BINARY DIR}
# The image's user and the volume paths; deploy/Containerfile's USER, ENV and VOLUME lines say
# the same (tests/image/image_test.py checks that they agree).
uid=10001
home=/var/lib/purser
ca_dir=/var/lib/purser-ca

[[ -x "$bin" ]] || { echo "image-rootfs.sh: $bin is not an executable" >&2; exit 2; }
mkdir -p "$root"
[[ -z "$(ls -A "$root")" ]] || { echo "image-rootfs.sh: $root is not empty" >&2; exit 2; }

# Debian's merged /usr: /lib and /lib64 are links into /usr, so the paths ldd prints and the
# loader path written in the binary (/lib64/ld-linux-x86-64.so.2) resolve as on the build host.
mkdir -p "$root/usr/lib" "$root/usr/lib64" "$root/usr/local/bin" "$root/etc/ssl/certs" \
         "$root/usr/lib/ssl" "$root/tmp"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"

install -m 0755 "$bin" "$root/usr/local/bin/purser"
# Symbols are not needed to run; they are most of the binary's size.
strip --strip-unneeded "$root/usr/local/bin/purser"

# Every library ldd resolves ("libssl.so.3 => /lib/.../libssl.so.3 (0x...)") and the loader
# ("/lib64/ld-linux-x86-64.so.2 (0x...)"), copied as files under the path the loader looks for.
# glibc 2.36 has the files and dns NSS modules built in, so no libnss_*.so is needed for
# /etc/passwd, /etc/hosts and DNS.
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
if ldd "$bin" | grep -q 'not found'; then
  echo "image-rootfs.sh: a library of $bin is missing:" >&2
  ldd "$bin" | grep 'not found' >&2
  exit 1
fi
for lib in $libs; do
  dest="$root$lib"
  mkdir -p "$(dirname "$dest")"
  cp -L "$lib" "$dest"
done

# CA roots for upstream TLS (Debian's ca-certificates bundle), where OpenSSL's default paths
# (OPENSSLDIR /usr/lib/ssl) and `purser ca env`'s bundle look for them.
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
ln -s /etc/ssl/certs "$root/usr/lib/ssl/certs"
ln -s /etc/ssl/certs/ca-certificates.crt "$root/usr/lib/ssl/cert.pem"

# The non-root user, and just enough name service for it and for localhost.
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\npurser:x:%d:%d:purser:%s:/usr/sbin/nologin\n' \
  "$uid" "$uid" "$home" > "$root/etc/passwd"
printf 'root:x:0:\npurser:x:%d:\n' "$uid" > "$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"

# PURSER_HOME (store, keystore) and the CA directory the agent container shares: owned by the
# user, so a Docker named volume mounted there starts with that owner.
mkdir -p "$root$home" "$root$ca_dir"
chown "$uid:$uid" "$root$home" "$root$ca_dir"
chmod 0700 "$root$home"
chmod 0755 "$root$ca_dir"
