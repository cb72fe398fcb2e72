/* Run-time kernel feature checks (real nodes run 5.4 to 6.8; never assume this machine's). */
#pragma once
struct cntr_err;

/* 125 "kernel too old" when open_tree/move_mount are missing. */
int check_mount_api(struct cntr_err *err);
