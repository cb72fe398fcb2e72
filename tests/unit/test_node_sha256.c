/* SHA-256 (src/common/sha256.c) against FIPS 180-4's examples and sha256sum, at every split
 * of the input into updates: image blobs are checked with it before they are unpacked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void test_fips_examples(void **state)
{
	char hex[65];

	cntr_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	cntr_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	cntr_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_a_million_a_in_uneven_pieces(void **state)
{
	static char a[1000000];
	struct cntr_sha256 s;
	char hex[65];
	size_t done = 0, step = 1;

	memset(a, 'a', sizeof(a));
	cntr_sha256_init(&s);
	while (done < sizeof(a)) {
		size_t n = step < sizeof(a) - done ? step : sizeof(a) - done;
		cntr_sha256_update(&s, a + done, n);
		done += n;
		step = step * 7 % 1000 + 1;
	}
	cntr_sha256_final_hex(&s, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_every_length_around_the_block_edges_matches_one_shot_and_split(void **state)
{
	unsigned char data[200];
	char whole[65], split[65];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 31 + 7);
	for (size_t len = 0; len <= sizeof(data); len++) {
		cntr_sha256_hex(data, len, whole);
		for (size_t cut = 0; cut <= len; cut += 13) {
			struct cntr_sha256 s;
			cntr_sha256_init(&s);
			cntr_sha256_update(&s, data, cut);
			cntr_sha256_update(&s, data + cut, len - cut);
			cntr_sha256_final_hex(&s, split);
			assert_string_equal(whole, split);
		}
	}
	/* 55, 56 and 64 bytes: the padding's edge cases, against sha256sum */
	memset(data, 'x', 64);
	cntr_sha256_hex(data, 55, whole);
	assert_string_equal(whole, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
	cntr_sha256_hex(data, 56, whole);
	assert_string_equal(whole, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
	cntr_sha256_hex(data, 64, whole);
	assert_string_equal(whole, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
}

static void test_fd(void **state)
{
	int fd = memfd_create("sha", 0);
	char hex[65];

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(cntr_sha256_fd(fd, hex), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_examples),
		cmocka_unit_test(test_a_million_a_in_uneven_pieces),
		cmocka_unit_test(test_every_length_around_the_block_edges_matches_one_shot_and_split),
		cmocka_unit_test(test_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
