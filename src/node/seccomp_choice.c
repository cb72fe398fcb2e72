#include "seccomp_choice.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROFILE_FILE (1 << 20)

static int check_arch(const struct cntr_bpf *p, const char *what, struct cntr_err *err)
{
	if (p->arch == cntr_bpf_native_arch())
		return 0;
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "seccomp profile %s was compiled for %s, this machine is %s: recompile it here with "
			 "cntr-seccomp compile",
			 what, cntr_bpf_arch_name(p->arch), cntr_bpf_arch_name(cntr_bpf_native_arch()));
}

int seccomp_choice_load_builtin(const void *bpf, size_t bpf_size, const char *json, size_t json_len,
				struct seccomp_choice *out, struct cntr_err *err)
{
	memset(out, 0, sizeof(*out));
	out->what = xstrdup("default");
	if (cntr_bpf_parse(bpf, bpf_size, "the built-in default profile", &out->prog, err) < 0 ||
	    check_arch(&out->prog, out->what, err) < 0) {
		seccomp_choice_release(out);
		return -1;
	}
	out->json = xstrndup(json, json_len);
	out->json_len = json_len;
	return 0;
}

int seccomp_choice_load_file(const char *path, struct seccomp_choice *out, struct cntr_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return cntr_fail_errno(err, "seccomp profile %s", path);
	if (read_fd_upto(fd, MAX_PROFILE_FILE, &text, &len) < 0)
		return cntr_fail_errno(err, "seccomp profile %s: read (at most %d bytes)", path, MAX_PROFILE_FILE);
	out->what = xstrdup(path);
	if (cntr_bpf_has_magic(text, len)) {
		rc = cntr_bpf_parse(text, len, path, &out->prog, err);
	} else {
		rc = seccomp_tool_compile(text, len, path, 0, &out->prog, err);
		out->json = steal_pointer(&text);
		out->json_len = len;
	}
	if (rc < 0 || check_arch(&out->prog, path, err) < 0) {
		seccomp_choice_release(out);
		return -1;
	}
	return 0;
}

int seccomp_choice_program(const struct seccomp_choice *c, uint64_t bnd, struct cntr_bpf *fresh,
			   const struct cntr_bpf **use, struct cntr_err *err)
{
	uint64_t held = bnd & c->prog.caps_considered;

	memset(fresh, 0, sizeof(*fresh));
	*use = &c->prog;
	if (held == c->prog.caps_assumed)
		return 0;
	if (!c->json)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "seccomp profile %s was compiled for a capsule holding capabilities %#llx of the "
				 "%#llx its rules name, this one holds %#llx: recompile it with cntr-seccomp compile "
				 "--caps %#llx",
				 c->what, (unsigned long long)c->prog.caps_assumed,
				 (unsigned long long)c->prog.caps_considered, (unsigned long long)held,
				 (unsigned long long)held);
	log_info("seccomp: recompiling profile %s for capabilities %#llx", c->what, (unsigned long long)held);
	if (seccomp_tool_compile(c->json, c->json_len, c->what, bnd, fresh, err) < 0 || check_arch(fresh, c->what, err) < 0) {
		cntr_bpf_release(fresh);
		return -1;
	}
	*use = fresh;
	return 0;
}

void seccomp_choice_release(struct seccomp_choice *c)
{
	free(c->what);
	free(c->json);
	cntr_bpf_release(&c->prog);
	memset(c, 0, sizeof(*c));
}
