#!/bin/sh
# Generate the PKI of the API stand-in into DIR: a CA, a server certificate for 127.0.0.1 and
# localhost, and client certificates (CN = user name, O = group) as a real cluster issues them;
# the front-proxy PKI of API aggregation (its own CA, client certificate CN front-proxy-client,
# as kubeadm makes them); a serving certificate for an aggregated API server
# (lambda-cntr-broker.lambda-cntr-system.svc, 127.0.0.1) signed by the cluster CA.
# Usage: mkcerts.sh DIR [USER...]   (default users: alice bob)
set -eu
dir=$1
shift
[ $# -gt 0 ] || set -- alice bob
mkdir -p "$dir"
cd "$dir"

quiet() { "$@" >/dev/null 2>&1 || { echo "mkcerts: $* failed" >&2; "$@"; exit 1; }; }

# signed NAME SUBJECT CA EXTENSIONS: NAME.key and NAME.crt signed by CA.crt, unless present.
signed() {
	[ -s "$1.crt" ] && return 0
	printf '%s\n' "$4" >"$1.ext"
	quiet openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr"
	quiet openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial \
		-days 3650 -extfile "$1.ext" -out "$1.crt"
}

for ca in ca:kubernetes-ca front-proxy-ca:front-proxy-ca; do
	name=${ca%%:*}
	if [ ! -s "$name.crt" ]; then
		quiet openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=${ca#*:}" \
			-keyout "$name.key" -out "$name.crt"
	fi
done

signed server /CN=kube-apiserver ca \
	"subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth"
signed front-proxy-client /CN=front-proxy-client front-proxy-ca "extendedKeyUsage=clientAuth"
signed broker /CN=lambda-cntr-broker ca \
	"subjectAltName=DNS:lambda-cntr-broker.lambda-cntr-system.svc,DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"

for user in "$@"; do
	signed "$user" "/O=system:masters/CN=$user" ca "extendedKeyUsage=clientAuth"
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
