/* SIGINT/SIGTERM handling: the first signal interrupts whatever lambda-cntr waits for (REST,
 * watch, exec session) so that cleanup runs and the exit status is 130/143. */
#pragma once
#include <signal.h>
#include <stdbool.h>

struct cntr_err;

/* Install the handlers, a self-pipe for poll loops and the kube/http interrupt flag. */
int lambda_signals_install(struct cntr_err *err);

/* The read end of the self-pipe (readable once a signal arrived), for kube_exec_opts. */
int lambda_signals_fd(void);

/* The signal that interrupted us (SIGINT/SIGTERM), 0 if none. */
int lambda_signals_caught(void);

/* Let cleanup talk to the API server after an interrupt: HTTP transfers stop aborting. */
void lambda_signals_allow_cleanup(void);

/* 130 for SIGINT, 143 for SIGTERM. */
int lambda_signals_exit_code(int signo);
