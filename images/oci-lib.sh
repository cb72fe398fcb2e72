# Shell functions shared by images/build-agent.sh and images/build-capsule.sh: deterministic
# layers and an OCI image archive (oci-layout, index.json, blobs) from a config and layers.
# Sourced; the caller sets $work (a scratch directory) and creates "$work/oci/blobs/sha256".

# Deterministic tar: same content, same digest, so registries and nodes dedupe layers.
oci_det_tar() { # DIR OUT [PATHS...] (default .)
	dir=$1 dst=$2
	shift 2
	[ $# -gt 0 ] || set -- .
	tar --sort=name --mtime='2023-01-01 00:00:00Z' --numeric-owner --xattrs --format=posix \
		--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
		-C "$dir" -cf "$dst" "$@"
}

oci_sha256() { sha256sum "$1" | cut -d' ' -f1; }

# stdin becomes a blob; prints "digest size".
oci_blob() {
	cat >"$work/blob"
	d=$(oci_sha256 "$work/blob")
	s=$(stat -c %s "$work/blob")
	mv "$work/blob" "$work/oci/blobs/sha256/$d"
	echo "$d $s"
}

# A gzip layer blob from an uncompressed tar (removed); prints "digest size diffid".
oci_gzip_layer() { # TAR
	diffid=$(oci_sha256 "$1")
	gzip -n -f "$1"
	d=$(oci_sha256 "$1.gz")
	s=$(stat -c %s "$1.gz")
	mv "$1.gz" "$work/oci/blobs/sha256/$d"
	echo "$d $s $diffid"
}

# The manifest, the index naming REF and the archive OUT; LAYERS is the manifest's layer list
# ('{"mediaType":...,"digest":...,"size":...},...'). Prints the manifest digest.
oci_write_archive() { # CONFIG_DIGEST CONFIG_SIZE LAYERS REF REF_NAME OUT
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\n "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},\n "layers":[%s]}\n' \
		"$1" "$2" "$3" >"$work/manifest.json"
	manifest=$(oci_blob <"$work/manifest.json")
	manifest_digest=${manifest% *} manifest_size=${manifest#* }
	# containerd names the image from io.containerd.image.name (else "import-<date>"); skopeo
	# and podman find it by org.opencontainers.image.ref.name.
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",\n "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,\n  "platform":{"architecture":"amd64","os":"linux"},\n  "annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}\n' \
		"$manifest_digest" "$manifest_size" "$4" "$5" >"$work/oci/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
	mkdir -p "$(dirname "$6")"
	tar --sort=name --numeric-owner --owner=0 --group=0 --mtime="2023-01-01 00:00:00Z" \
		-C "$work/oci" -cf "$6.tmp" oci-layout index.json blobs
	mv "$6.tmp" "$6"
	echo "$manifest_digest"
}
