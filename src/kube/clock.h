/* Monotonic time for deadlines and keep-alives (never the wall clock, which can jump). */
#pragma once
#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t kube_now_ms(void);
