/* A compiled seccomp program in a file ("cntr BPF file", docs/capsules.md): what cntr-seccomp
 * writes and the static cntr reads, so that cntr never links libseccomp. Little-endian:
 *
 *   offset  size  field
 *   0       8     magic "CNTRBPF1"
 *   8       4     audit architecture the program was compiled for (AUDIT_ARCH_*)
 *   12      4     instruction count N, 1..4096 (BPF_MAXINSNS)
 *   16      8     capabilities the profile's includes/excludes name ("considered")
 *   24      8     which of them the compile assumed the capsule holds ("assumed")
 *   32      8*N   struct sock_filter: u16 code, u8 jt, u8 jf, u32 k
 *
 * The file is exactly 32 + 8*N bytes. A program fits a capsule when the capsule's bounding set
 * intersected with "considered" equals "assumed" (Docker evaluates includes.caps against it). */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct cntr_err;
struct sock_filter;

#define CNTR_BPF_MAGIC "CNTRBPF1"
#define CNTR_BPF_HEADER_SIZE 32
#define CNTR_BPF_MAX_INSNS 4096
#define CNTR_BPF_MAX_FILE (CNTR_BPF_HEADER_SIZE + 8 * CNTR_BPF_MAX_INSNS)

struct cntr_bpf {
	uint32_t arch;
	uint64_t caps_considered;
	uint64_t caps_assumed;
	uint32_t len;
	struct sock_filter *insns;
};

/* Parse buf (untrusted: fuzzed). what names the source in the error ("FILE"). */
int cntr_bpf_parse(const void *buf, size_t size, const char *what, struct cntr_bpf *out, struct cntr_err *err);
/* The file's bytes for p (malloc'd, *size set). */
int cntr_bpf_encode(const struct cntr_bpf *p, unsigned char **buf, size_t *size, struct cntr_err *err);
void cntr_bpf_release(struct cntr_bpf *p);
/* Does the first chunk of a file look like a cntr BPF file (magic)? */
int cntr_bpf_has_magic(const void *buf, size_t size);

/* The audit architecture cntr was built for (0 if it has none in the table). */
uint32_t cntr_bpf_native_arch(void);
/* "x86_64", "aarch64"... or "0xNNNNNNNN". Static or thread-unsafe buffer. */
const char *cntr_bpf_arch_name(uint32_t arch);
