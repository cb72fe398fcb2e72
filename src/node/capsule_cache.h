/* The cache of unpacked capsule images ($CNTR_CAPSULE_CACHE, docs/capsules.md): where it is,
 * the hold a run keeps on the entry it uses, and `cntr capsule prune`, which removes entries no
 * run holds and the leftovers of interrupted unpacks. */
#pragma once
#include <stdio.h>

struct cntr_err;

#define CAPSULE_CACHE_DEFAULT "/var/cache/cntr/capsules"

/* $CNTR_CAPSULE_CACHE when absolute, else the default. */
const char *capsule_cache_root(void);

/* rm -rf of a directory the cache made (no symlink followed, one filesystem): an entry being
 * pruned, or an unpack that failed or lost the race to another cntr. */
void capsule_cache_remove_tree(const char *path);

/* Take a shared lock on the entry dir for as long as *fd stays open (the whole run), and mark
 * it used now (its mtime). Fails when the entry went away meanwhile (a prune won the race). */
int capsule_cache_hold(const char *dir, int *fd, struct cntr_err *err);

struct capsule_prune_opts {
	long long older_than_s; /* keep entries used more recently than this (0: remove all unheld) */
};

/* Remove every entry not held and not used within older_than_s, archive keys pointing at
 * nothing, and scratch directories of unpacks whose process is gone. One line per decision on
 * report. */
int capsule_cache_prune(const struct capsule_prune_opts *o, FILE *report, struct cntr_err *err);
