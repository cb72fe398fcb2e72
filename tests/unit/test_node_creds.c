/* Capability planning: what execve gives the command, and the plan that makes it the target's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "node/creds.h"
#include "node/profile.h"

#define BIT(c) (1ULL << (c))
/* docker's default set: chown dac_override fowner fsetid kill setgid setuid setpcap
 * net_bind_service net_raw sys_chroot mknod audit_write setfcap */
static const uint64_t docker_default = 0x00000000a80425fbULL;
static const uint64_t runc_spec = BIT(5) | BIT(10) | BIT(29); /* kill net_bind_service audit_write */

static const struct cap_change no_change = { 0 };

static void test_root_regains_bounding_set_on_exec(void **state)
{
	struct cap_sets caller = { .bnd = docker_default, .prm = BIT(5), .eff = BIT(5) };
	struct cap_sets after = caps_after_exec(&caller, 0, false);
	assert_int_equal(after.prm, docker_default);
	assert_int_equal(after.eff, docker_default);
}

static void test_non_root_keeps_only_ambient_on_exec(void **state)
{
	struct cap_sets caller = { .bnd = docker_default, .prm = docker_default, .inh = BIT(5), .amb = BIT(5) };
	struct cap_sets after = caps_after_exec(&caller, 1000, false);
	assert_int_equal(after.prm, BIT(5));
	assert_int_equal(after.eff, BIT(5));
	assert_int_equal(after.amb, BIT(5));
}

static void test_docker_root_target_needs_no_securebits(void **state)
{
	struct cap_sets target = { .bnd = docker_default, .prm = docker_default, .eff = docker_default };
	struct cap_plan plan = plan_capabilities(&target, 0, &no_change);
	assert_false(plan.noroot);
	assert_true(plan.exact);
	assert_int_equal(plan.caller.bnd, docker_default);
	assert_int_equal(plan.caller.amb, 0);
}

static void test_runc_spec_target_with_ambient_is_exact(void **state)
{
	struct cap_sets target = { runc_spec, runc_spec, runc_spec, runc_spec, runc_spec };
	struct cap_plan plan = plan_capabilities(&target, 0, &no_change);
	struct cap_sets after = caps_after_exec(&plan.caller, 0, plan.noroot);
	assert_true(plan.exact);
	assert_int_equal(after.prm, runc_spec);
	assert_int_equal(after.eff, runc_spec);
}

static void test_root_target_with_fewer_permitted_than_bounding_uses_noroot(void **state)
{
	struct cap_sets target = { .bnd = docker_default, .prm = BIT(5), .eff = BIT(5) };
	struct cap_plan plan = plan_capabilities(&target, 0, &no_change);
	struct cap_sets after = caps_after_exec(&plan.caller, 0, plan.noroot);
	assert_true(plan.noroot);
	assert_int_equal(after.prm, BIT(5));
	assert_int_equal(after.eff, BIT(5));
	assert_int_equal(after.bnd, docker_default);
}

static void test_unprivileged_target_gets_nothing_more(void **state)
{
	struct cap_sets target = { .bnd = docker_default };
	struct cap_plan plan = plan_capabilities(&target, 1000, &no_change);
	struct cap_sets after = caps_after_exec(&plan.caller, 1000, plan.noroot);
	assert_true(plan.exact);
	assert_int_equal(after.prm, 0);
	assert_int_equal(after.eff, 0);
}

static void test_file_capability_target_is_reported_as_not_exact(void **state)
{
	/* uid 1000 holding net_raw without ambient: only file caps could give that. */
	struct cap_sets target = { .bnd = docker_default, .prm = BIT(13), .eff = BIT(13) };
	struct cap_plan plan = plan_capabilities(&target, 1000, &no_change);
	struct cap_sets after = caps_after_exec(&plan.caller, 1000, plan.noroot);
	assert_false(plan.exact);
	assert_int_equal(after.prm & ~target.prm, 0); /* never more than the target */
}

static void test_cap_add_extends_every_set_explicitly(void **state)
{
	struct cap_sets target = { .bnd = runc_spec, .prm = runc_spec, .eff = runc_spec, .inh = runc_spec, .amb = runc_spec };
	struct cap_plan plan = plan_capabilities(&target, 0, &(struct cap_change){ .add = BIT(19) });
	struct cap_sets after = caps_after_exec(&plan.caller, 0, plan.noroot);
	assert_true(after.prm & BIT(19));
	assert_true(after.eff & BIT(19));
	assert_true(after.bnd & BIT(19));
}

static void test_cap_names_parse_with_and_without_prefix(void **state)
{
	assert_int_equal(cntr_cap_from_name("SYS_PTRACE"), 19);
	assert_int_equal(cntr_cap_from_name("cap_sys_admin"), 21);
	assert_int_equal(cntr_cap_from_name("CAP_CHOWN"), 0);
	assert_int_equal(cntr_cap_from_name("checkpoint_restore"), 40);
	assert_int_equal(cntr_cap_from_name("SYS_NOPE"), -1);
}

static void test_cap_drop_takes_from_every_set_before_add(void **state)
{
	struct cap_sets target = { .bnd = docker_default, .prm = docker_default, .eff = docker_default,
				   .inh = docker_default };
	struct cap_change change = { .drop = ~0ULL, .add = BIT(12) }; /* all, then net_admin */
	struct cap_plan plan = plan_capabilities(&target, 0, &change);
	struct cap_sets after = caps_after_exec(&plan.caller, 0, plan.noroot);

	assert_int_equal(after.prm, BIT(12));
	assert_int_equal(after.eff, BIT(12));
	assert_int_equal(plan.caller.bnd, BIT(12));
	assert_true(plan.exact);
}

static void test_profiles_fold_into_the_change(void **state)
{
	struct cap_change change = { .add = BIT(19) };

	session_profile_apply(session_profile_find("restricted"), &change);
	assert_int_equal(change.drop, ~0ULL);
	assert_true(change.no_new_privs);
	assert_int_equal(change.add, BIT(19)); /* an explicit --cap-add still applies on top */
	change = (struct cap_change){ 0 };
	session_profile_apply(session_profile_find("netadmin"), &change);
	assert_int_equal(change.add, BIT(12) | BIT(13));
	assert_int_equal(change.drop, 0);
	assert_false(change.no_new_privs);
	assert_null(session_profile_find("root"));
	assert_true(session_profile_find("sysadmin")->add & BIT(21));
	assert_true(session_profile_find("restricted")->default_seccomp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_regains_bounding_set_on_exec),
		cmocka_unit_test(test_non_root_keeps_only_ambient_on_exec),
		cmocka_unit_test(test_docker_root_target_needs_no_securebits),
		cmocka_unit_test(test_runc_spec_target_with_ambient_is_exact),
		cmocka_unit_test(test_root_target_with_fewer_permitted_than_bounding_uses_noroot),
		cmocka_unit_test(test_unprivileged_target_gets_nothing_more),
		cmocka_unit_test(test_file_capability_target_is_reported_as_not_exact),
		cmocka_unit_test(test_cap_add_extends_every_set_explicitly),
		cmocka_unit_test(test_cap_names_parse_with_and_without_prefix),
		cmocka_unit_test(test_cap_drop_takes_from_every_set_before_add),
		cmocka_unit_test(test_profiles_fold_into_the_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
