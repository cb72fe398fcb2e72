#include "cli/lambda_text.h"

#include <stdlib.h>

#include "cli/lambda_json.h"
#include "kube/safe_text.h"

const char *lambda_text(struct lambda_texts *pool, const char *text)
{
	char **more = realloc(pool->items, (pool->n + 1) * sizeof(char *));

	if (!more)
		abort();
	pool->items = more;
	pool->items[pool->n] = kube_safe_text(text);
	return pool->items[pool->n++];
}

const char *lambda_json_text(struct lambda_texts *pool, const json_t *obj, const char *key)
{
	return lambda_text(pool, json_str(obj, key));
}

void lambda_texts_free(struct lambda_texts *pool)
{
	for (size_t i = 0; i < pool->n; i++)
		free(pool->items[i]);
	free(pool->items);
	pool->items = NULL;
	pool->n = 0;
}
