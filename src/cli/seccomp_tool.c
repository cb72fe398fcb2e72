/* cntr-seccomp: compiles Docker/OCI seccomp profiles (JSON) into cntr BPF files for the static
 * cntr, which links no libseccomp (docs/capsules.md "Seccomp profiles"). Dynamically linked
 * (libseccomp, jansson). cntr runs `compile` itself for a .json --seccomp-profile; `embed` makes
 * the built-in default profile at build time; `show` describes a BPF file. */
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "node/creds.h"
#include "node/seccomp_program.h"
#include "seccomp/oci_seccomp.h"
#include "seccomp/oci_seccomp_compile.h"

#include <fcntl.h>
#include <getopt.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Profiles are small (Docker's default is ~20 KiB). */
#define MAX_PROFILE_SIZE (1 << 20)

static const char usage[] =
	"Usage:\n"
	"  cntr-seccomp compile [--caps CAPS] [--kernel X.Y] [--name NAME] [-o OUT] PROFILE.json|-\n"
	"      compile a Docker/OCI seccomp profile into a cntr BPF file for this machine's\n"
	"      architecture (and the profile's others) for `cntr capsule run --seccomp-profile OUT`.\n"
	"      CAPS: the capsule's capabilities for includes/excludes.caps (none [default], all,\n"
	"      0xHEX, or NAME,NAME); the kernel for minKernel: this one unless --kernel.\n"
	"  cntr-seccomp show FILE.bpf\n"
	"      the file's architecture, instruction count and capability assumptions\n"
	"  cntr-seccomp embed PROFILE.json OUT.c\n"
	"      (build time) the compiled profile and its JSON as C arrays for the static cntr\n";

static int fail_usage(const char *what)
{
	fprintf(stderr, "cntr-seccomp: %s; see 'cntr-seccomp --help'\n", what);
	return CNTR_EXIT_USAGE;
}

static int report(const struct cntr_err *err)
{
	fprintf(stderr, "cntr-seccomp: %s\n", err->msg);
	return err->code ? err->code : CNTR_EXIT_FAILURE;
}

static int parse_caps_arg(const char *text, uint64_t *caps)
{
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL;

	*caps = 0;
	if (!strcasecmp(text, "none"))
		return 0;
	if (!strcasecmp(text, "all")) {
		*caps = ~0ULL;
		return 0;
	}
	if (!strncmp(text, "0x", 2))
		return parse_hex_u64(text + 2, caps);
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int cap = cntr_cap_from_name(name);
		if (cap < 0)
			return -1;
		*caps |= 1ULL << cap;
	}
	return 0;
}

static int read_profile(const char *path, char **text, size_t *len, struct cntr_err *err)
{
	_cleanup_close_ int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);

	if (fd < 0)
		return cntr_fail_errno(err, "open %s", path);
	if (read_fd_upto(fd, MAX_PROFILE_SIZE, text, len) < 0)
		return cntr_fail_errno(err, "read %s (at most %d bytes)", path, MAX_PROFILE_SIZE);
	return 0;
}

/* One line on stderr (cntr passes it on as a warning). */
static void warn_skipped(const char *name, char **skipped)
{
	const struct scmp_version *v = seccomp_version();

	fprintf(stderr, "cntr-seccomp: warning: %s: libseccomp %u.%u.%u does not know", name, v->major, v->minor,
		v->micro);
	for (char **s = skipped; *s; s++)
		fprintf(stderr, "%s %s", s == skipped ? "" : ",", *s);
	fputs(": left out of the allowed calls, they fail with the default action\n", stderr);
}

/* The profile as a cntr BPF file's bytes, for a capsule holding caps. */
static int compile_profile(const char *path, const char *name, const struct oci_seccomp_env *env,
			   unsigned char **bytes, size_t *size, struct cntr_err *err)
{
	_cleanup_free_ char *text = NULL;
	struct oci_seccomp_profile profile;
	struct cntr_bpf prog;
	size_t len;
	int rc;

	if (read_profile(path, &text, &len, err) < 0 || oci_seccomp_parse(text, len, name, env, &profile, err) < 0)
		return -1;
	if (profile.nskipped)
		warn_skipped(name, profile.skipped);
	rc = oci_seccomp_compile(&profile, name, &prog, err);
	prog.caps_considered = profile.caps_considered;
	prog.caps_assumed = profile.caps_considered & env->caps;
	oci_seccomp_release(&profile);
	if (rc == 0)
		rc = cntr_bpf_encode(&prog, bytes, size, err);
	cntr_bpf_release(&prog);
	return rc;
}

static int write_output(const char *out, const void *bytes, size_t size, struct cntr_err *err)
{
	_cleanup_close_ int fd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : dup(STDOUT_FILENO);

	if (fd < 0)
		return cntr_fail_errno(err, "create %s", out);
	if (write_all(fd, bytes, size) < 0)
		return cntr_fail_errno(err, "write %s", out ? out : "the standard output");
	return 0;
}

static int cmd_compile(int argc, char **argv)
{
	static const struct option options[] = {
		{ "caps", required_argument, NULL, 'c' }, { "kernel", required_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' }, { "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct cntr_err err = { 0 };
	struct oci_seccomp_env env;
	const char *out = NULL, *name = NULL;
	_cleanup_free_ unsigned char *bytes = NULL;
	size_t size;
	int c;

	if (oci_seccomp_env_native(&env, &err) < 0)
		return report(&err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", options, NULL)) != -1) {
		if (c == 'c' && parse_caps_arg(optarg, &env.caps) < 0)
			return fail_usage("--caps: not none, all, 0xHEX or capability names");
		if (c == 'k' && sscanf(optarg, "%u.%u", &env.kernel_major, &env.kernel_minor) != 2)
			return fail_usage("--kernel: not a version like 5.10");
		if (c == 'n')
			name = optarg;
		if (c == 'o')
			out = optarg;
		if (c == '?')
			return fail_usage("unknown or incomplete option");
	}
	if (optind != argc - 1)
		return fail_usage("compile takes one PROFILE.json (or - for the standard input)");
	if (!out && isatty(STDOUT_FILENO))
		return fail_usage("the BPF file is binary: give -o OUT or redirect the standard output");
	if (compile_profile(argv[optind], name ? name : argv[optind], &env, &bytes, &size, &err) < 0 ||
	    write_output(out, bytes, size, &err) < 0)
		return report(&err);
	return 0;
}

static int cmd_show(int argc, char **argv)
{
	struct cntr_err err = { 0 };
	_cleanup_free_ char *bytes = NULL;
	struct cntr_bpf prog;
	size_t size;

	if (argc != 2)
		return fail_usage("show takes one FILE.bpf");
	if (read_file_at(AT_FDCWD, argv[1], &bytes, &size, &err) < 0 ||
	    cntr_bpf_parse(bytes, size, argv[1], &prog, &err) < 0)
		return report(&err);
	printf("arch %s\ninstructions %u\ncaps-considered %#llx\ncaps-assumed %#llx\n", cntr_bpf_arch_name(prog.arch),
	       prog.len, (unsigned long long)prog.caps_considered, (unsigned long long)prog.caps_assumed);
	cntr_bpf_release(&prog);
	return 0;
}

static void write_c_array(FILE *f, const char *name, const unsigned char *bytes, size_t size)
{
	fprintf(f, "const unsigned char %s[] = {", name);
	for (size_t i = 0; i < size; i++)
		fprintf(f, "%s0x%02x,", i % 12 ? " " : "\n\t", bytes[i]);
	fprintf(f, "\n};\nconst size_t %s_size = %zu;\n\n", name, size);
}

/* The built-in `default` profile for the static cntr: compiled for a capsule holding none of
 * the capabilities the profile names (cntr recompiles from the JSON when it holds some). */
static int cmd_embed(int argc, char **argv)
{
	struct cntr_err err = { 0 };
	struct oci_seccomp_env env;
	_cleanup_free_ unsigned char *bytes = NULL;
	_cleanup_free_ char *json = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t size, json_len;

	if (argc != 3)
		return fail_usage("embed takes PROFILE.json OUT.c");
	if (oci_seccomp_env_native(&env, &err) < 0 || compile_profile(argv[1], "default", &env, &bytes, &size, &err) < 0 ||
	    read_profile(argv[1], &json, &json_len, &err) < 0)
		return report(&err);
	f = fopen(argv[2], "we");
	if (!f) {
		cntr_fail_errno(&err, "create %s", argv[2]);
		return report(&err);
	}
	fprintf(f, "/* Generated by `cntr-seccomp embed` from profiles/default.json for %s: do not edit.\n"
		   " * The committed copy (profiles/default.bpf.c) is used where the build cannot run\n"
		   " * cntr-seccomp; test unit/seccomp_builtin_profile_committed keeps it current. */\n"
		   "#include \"node/seccomp_builtin.h\"\n\n",
		cntr_bpf_arch_name(env.native_arch));
	write_c_array(f, "cntr_builtin_profile_bpf", bytes, size);
	write_c_array(f, "cntr_builtin_profile_json", (const unsigned char *)json, json_len);
	if (fflush(f) != 0 || ferror(f)) {
		cntr_fail_errno(&err, "write %s", argv[2]);
		return report(&err);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "compile"))
		return cmd_compile(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "show"))
		return cmd_show(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "embed"))
		return cmd_embed(argc - 1, argv + 1);
	fputs(usage, stderr);
	return CNTR_EXIT_USAGE;
}
