#!/usr/bin/env bash
# Makes a self-signed certificate for trying parleyd's TLS locally:
# DIR/cert.pem and DIR/key.pem (DIR defaults to ./tls), an ECDSA P-256 key
# valid for localhost and 127.0.0.1 (and ::1) for 30 days. Browsers and
# clients will not trust it unless told to: it is for testing, not for a
# server others connect to (use a certificate from a CA such as Let's
# Encrypt there).
#
#   scripts/make-cert.sh [DIR]
#   then in the config file:  [tls]  cert_file = "DIR/cert.pem"  key_file = "DIR/key.pem"
set -euo pipefail

dir=${1:-tls}
days=${PARLEY_CERT_DAYS:-30}
mkdir -p "$dir"
umask 077  # the private key is readable by its owner only

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
  -days "$days" -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
  -addext "basicConstraints=critical,CA:FALSE" \
  -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$dir/key.pem.tmp" -out "$dir/cert.pem.tmp" 2>/dev/null
# Renamed into place, so that a server reloading on SIGHUP never reads a
# half-written file.
mv "$dir/key.pem.tmp" "$dir/key.pem"
mv "$dir/cert.pem.tmp" "$dir/cert.pem"
chmod 644 "$dir/cert.pem"
echo "make-cert: wrote $dir/cert.pem and $dir/key.pem (self-signed, localhost, $days days)"
openssl x509 -in "$dir/cert.pem" -noout -fingerprint -sha256
