/* Which cntr profiles a namespace may use: the optional ConfigMap
 * lambda-cntr-system/lambda-cntr-profiles, key = namespace name (or "*" for every namespace
 * without a key of its own), value = a comma list of profiles. No ConfigMap, or no key for the
 * namespace and no "*": every profile is allowed. Pure. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#define BROKER_PROFILES_CONFIGMAP "lambda-cntr-profiles"
#define BROKER_PROFILE_DEFAULT "general"

/* general, restricted, netadmin, sysadmin: the profiles cntr knows. */
bool broker_profile_known(const char *profile);

/* configmap: the object, or NULL when it does not exist. */
bool broker_profile_allowed(const json_t *configmap, const char *ns, const char *profile);
