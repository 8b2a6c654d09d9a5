#!/usr/bin/env bash
# Makes a private CA, a server certificate for localhost / 127.0.0.1 and a client certificate
# signed by it, plus a second CA with a client certificate of its own (to see a server refuse a
# stranger), with openssl only. Usage: make-certs.sh DIR. Keys are P-256 EC, PKCS#8, mode 0600.
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

ca() { # name subject
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=$2" -keyout "$1.key" -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
}

leaf() { # name subject ca extensions
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 30 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca "Stem example CA"
leaf server localhost ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth
basicConstraints=CA:FALSE"
leaf client stem-client ca "extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE"
ca other-ca "Some other CA"
leaf other-client stem-client other-ca "extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE"
rm -f ./*.srl
# Certificates are public; the servers (redis-server, postgres) read their own key.
chmod 644 ./*.pem
echo "certificates in $(pwd): ca.pem, server.pem/.key, client.pem/.key, other-ca.pem, other-client.pem/.key"
