#!/bin/sh
# Generate the PKI of the API stand-in into DIR: a CA, a server certificate for 127.0.0.1 and
# localhost, and client certificates (CN = user name, O = group) as a real cluster issues them.
# Usage: mkcerts.sh DIR [USER...]   (default users: alice bob)
set -eu
dir=$1
shift
[ $# -gt 0 ] || set -- alice bob
mkdir -p "$dir"
cd "$dir"

quiet() { "$@" >/dev/null 2>&1 || { echo "mkcerts: $* failed" >&2; "$@"; exit 1; }; }

if [ ! -s ca.crt ]; then
	quiet openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=kubernetes-ca \
		-keyout ca.key -out ca.crt
fi

if [ ! -s server.crt ]; then
	cat >server.ext <<EXT
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth
EXT
	quiet openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver \
		-keyout server.key -out server.csr
	quiet openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
		-days 3650 -extfile server.ext -out server.crt
fi

for user in "$@"; do
	[ -s "$user.crt" ] && continue
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	quiet openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=$user" \
		-keyout "$user.key" -out "$user.csr"
	quiet openssl x509 -req -in "$user.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
		-days 3650 -extfile client.ext -out "$user.crt"
done
rm -f ./*.csr ./*.ext

# broker support (H1): the front proxy of an aggregating API server. Its own CA (as
# --requestheader-client-ca-file) and client certificate CN=front-proxy-client; plus a
# certificate with the same CN from another CA, which a broker must refuse.
for ca in front-proxy-ca front-proxy-other-ca; do
	[ -s "$ca.crt" ] && continue
	quiet openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$ca" \
		-keyout "$ca.key" -out "$ca.crt"
done
for pair in front-proxy-client:front-proxy-ca front-proxy-wrong-ca:front-proxy-other-ca; do
	name=${pair%%:*}
	ca=${pair#*:}
	[ -s "$name.crt" ] && continue
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	quiet openssl req -newkey rsa:2048 -nodes -subj "/CN=front-proxy-client" \
		-keyout "$name.key" -out "$name.csr"
	quiet openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
		-days 3650 -extfile client.ext -out "$name.crt"
done
rm -f ./*.csr ./*.ext
