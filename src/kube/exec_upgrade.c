#include "kube/exec_upgrade.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"
#include "kube/bytebuf.h"
#include "kube/safe_text.h"
#include "kube/websocket.h"

char *kube_exec_upgrade_request(const char *target, const char *host, const char *token,
				const char *key)
{
	return kube_ws_upgrade_request(target, host, token, key, KUBE_EXEC_PROTOCOLS);
}

char *kube_ws_upgrade_request(const char *target, const char *host, const char *token,
			      const char *key, const char *protocols)
{
	_cleanup_free_ char *auth = token ? xasprintf("Authorization: Bearer %s\r\n", token) : xstrdup("");
	_cleanup_free_ char *offer = protocols && *protocols
					     ? xasprintf("Sec-WebSocket-Protocol: %s\r\n", protocols)
					     : xstrdup("");

	return xasprintf("GET %s HTTP/1.1\r\n"
			 "Host: %s\r\n"
			 "User-Agent: lambda-cntr/" CNTR_VERSION "\r\n"
			 "Upgrade: websocket\r\n"
			 "Connection: Upgrade\r\n"
			 "Sec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\n"
			 "%s"
			 "%s"
			 "\r\n",
			 target, host, key, offer, auth);
}

void kube_upgrade_response_clear(struct kube_upgrade_response *r)
{
	free(r->reason);
	free(r->upgrade);
	free(r->connection);
	free(r->accept);
	free(r->protocol);
	free(r->content_type);
	free(r->transfer_encoding);
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
}

static char *trimmed(const char *s, size_t len)
{
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return xstrndup(s, len);
}

/* Headers we look at, and where their value goes. */
static char **header_slot(struct kube_upgrade_response *r, const char *name, size_t name_len)
{
	static const struct {
		const char *name;
		size_t offset;
	} wanted[] = {
		{ "Upgrade", offsetof(struct kube_upgrade_response, upgrade) },
		{ "Connection", offsetof(struct kube_upgrade_response, connection) },
		{ "Sec-WebSocket-Accept", offsetof(struct kube_upgrade_response, accept) },
		{ "Sec-WebSocket-Protocol", offsetof(struct kube_upgrade_response, protocol) },
		{ "Content-Type", offsetof(struct kube_upgrade_response, content_type) },
		{ "Transfer-Encoding", offsetof(struct kube_upgrade_response, transfer_encoding) },
	};
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		if (strlen(wanted[i].name) == name_len && strncasecmp(wanted[i].name, name, name_len) == 0)
			return (char **)((char *)r + wanted[i].offset);
	return NULL;
}

static int parse_status_line(struct kube_upgrade_response *r, const char *line, size_t len,
			     struct cntr_err *err)
{
	char code[4] = { 0 };

	if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ')
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: the server's answer to the upgrade is not HTTP/1.x");
	memcpy(code, line + 9, 3);
	if (code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9')
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: invalid HTTP status line from the server");
	r->status = atoi(code);
	r->reason = len > 13 ? trimmed(line + 13, len - 13) : xstrdup("");
	return 0;
}

static int parse_header_line(struct kube_upgrade_response *r, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	char **slot;

	if (!colon)
		return 0; /* tolerate junk lines, as browsers do */
	if ((size_t)(colon - line) == strlen("Content-Length") &&
	    strncasecmp(line, "Content-Length", strlen("Content-Length")) == 0) {
		_cleanup_free_ char *v = trimmed(colon + 1, len - (size_t)(colon + 1 - line));
		uint64_t n;
		r->content_length = parse_u64(v, &n) == 0 ? (long)n : -1;
		return 0;
	}
	slot = header_slot(r, line, (size_t)(colon - line));
	if (slot && !*slot)
		*slot = trimmed(colon + 1, len - (size_t)(colon + 1 - line));
	return 0;
}

int kube_upgrade_response_parse(const char *buf, size_t len, struct kube_upgrade_response *out,
				struct cntr_err *err)
{
	const char *end = len ? memmem(buf, len, "\r\n\r\n", 4) : NULL;
	const char *line = buf;

	kube_upgrade_response_clear(out);
	if (!end)
		return len > KUBE_UPGRADE_HEAD_MAX
			       ? cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: the server's answer to the upgrade has "
					   "no end of headers within %u KiB", KUBE_UPGRADE_HEAD_MAX >> 10)
			       : 0;
	out->head_len = (size_t)(end - buf) + 4;
	while (line < end + 2) {
		const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		size_t n = (size_t)(eol - line);
		int r = line == buf ? parse_status_line(out, line, n, err) : parse_header_line(out, line, n);
		if (r < 0)
			return -1;
		line = eol + 2;
	}
	return 1;
}

/* Connection may list several tokens ("keep-alive, Upgrade"). */
static bool has_token(const char *value, const char *token)
{
	size_t n = strlen(token);
	for (const char *p = value; p && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncasecmp(p, token, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
		p = strchr(p, ',');
	}
	return false;
}

int kube_ws_protocol_listed(const char *list, const char *token)
{
	size_t n = strlen(token);

	for (const char *p = list; p && *p;) {
		const char *end;
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len && len == n && strncmp(p, token, n) == 0)
			return 1;
		p = end;
	}
	return 0;
}

int kube_ws_upgrade_response_check(const struct kube_upgrade_response *r, const char *key,
				   const char *offered, struct cntr_err *err)
{
	char expected[29];

	if (r->status != 101)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: the server answered HTTP %d instead of switching to WebSocket",
				 r->status);
	if (!r->upgrade || strcasecmp(r->upgrade, "websocket") != 0 || !has_token(r->connection, "upgrade"))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "exec: the server's 101 response lacks Upgrade: websocket / Connection: Upgrade");
	ws_accept_for_key(key, expected);
	if (!r->accept || strcmp(r->accept, expected) != 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "exec: wrong Sec-WebSocket-Accept from the server (a proxy in between?)");
	if (!offered || !*offered) {
		if (r->protocol && *r->protocol)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: the server chose a subprotocol none was offered");
		return 0;
	}
	if (!r->protocol || !kube_ws_protocol_listed(offered, r->protocol)) {
		_cleanup_free_ char *got = kube_safe_text(r->protocol);
		_cleanup_free_ char *want = kube_safe_text(offered);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "exec: the server agreed to no supported protocol (got \"%s\"; offered "
				 "%s); the API server is too old", got, want);
	}
	return 0;
}

int kube_upgrade_response_check(const struct kube_upgrade_response *r, const char *key, int *version,
				struct cntr_err *err)
{
	if (kube_ws_upgrade_response_check(r, key, KUBE_EXEC_PROTOCOLS, err) < 0)
		return -1;
	*version = strcmp(r->protocol, KUBE_EXEC_PROTOCOL_V5) == 0 ? 5 : 4;
	return 0;
}

/* Decode a chunked body. Returns 1 when the last (empty) chunk was seen, 0 otherwise; out holds
 * what was decoded so far either way. */
/* A chunk's size: the hex digits from p, never read past eol (the bytes are not NUL-terminated:
 * strtoul would skip whitespace, CR and LF included, beyond the line and the buffer). */
static int chunk_size(const char *p, const char *eol, unsigned long *size)
{
	const char *start = p;
	unsigned long v = 0;

	for (; p < eol && isxdigit((unsigned char)*p); p++) {
		if (v >> (sizeof(v) * 8 - 4))
			return -1;
		v = v * 16 + (unsigned long)(isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
	}
	if (p == start)
		return -1;
	*size = v;
	return 0;
}

static int dechunk(const char *data, size_t len, struct bytebuf *out)
{
	size_t pos = 0;

	for (;;) {
		const char *eol = pos < len ? memmem(data + pos, len - pos, "\r\n", 2) : NULL;
		unsigned long size;

		if (!eol)
			return 0;
		if (chunk_size(data + pos, eol, &size) < 0)
			return 1; /* not chunk framing: stop at what we have */
		pos = (size_t)(eol - data) + 2;
		if (size == 0)
			return 1;
		if (len - pos < size)
			size = len - pos;
		bytebuf_append(out, data + pos, size);
		pos += size;
		if (len - pos < 2)
			return 0;
		pos += 2;
	}
}

int kube_upgrade_error_body(const struct kube_upgrade_response *r, const char *data, size_t data_len,
			    bool closed, char **body, size_t *len)
{
	struct bytebuf decoded = { 0 };
	bool complete;

	if (r->transfer_encoding && strcasecmp(r->transfer_encoding, "chunked") == 0) {
		complete = dechunk(data, data_len, &decoded) == 1 || closed;
	} else {
		size_t n = data_len;
		if (r->content_length >= 0 && (size_t)r->content_length < n)
			n = (size_t)r->content_length;
		bytebuf_append(&decoded, data, n);
		complete = closed || (r->content_length >= 0 && n == (size_t)r->content_length);
	}
	if (!complete) {
		bytebuf_free(&decoded);
		return 0;
	}
	bytebuf_append(&decoded, "", 1);
	*len = decoded.len - 1;
	*body = (char *)decoded.data;
	return 1;
}
