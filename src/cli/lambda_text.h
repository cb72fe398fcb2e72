/* Server text in lambda-cntr's messages: every string from the API (names, phases, reasons,
 * messages, IDs) or from a program run in the agent goes through kube_safe_text before it is
 * formatted into a message, so no control character reaches the user's terminal. A pool keeps
 * the escaped copies one message needs and frees them together. */
#pragma once
#include <jansson.h>
#include <stddef.h>

struct lambda_texts {
	char **items;
	size_t n;
};

/* text escaped by kube_safe_text (NULL gives ""), owned by the pool. */
const char *lambda_text(struct lambda_texts *pool, const char *text);

/* obj[key] as json_str reads it, escaped; owned by the pool. */
const char *lambda_json_text(struct lambda_texts *pool, const json_t *obj, const char *key);

void lambda_texts_free(struct lambda_texts *pool);

static inline void cleanup_lambda_textsp(struct lambda_texts *pool)
{
	lambda_texts_free(pool);
}
#define _cleanup_texts_ __attribute__((cleanup(cleanup_lambda_textsp)))
