/* The only program of the `scratch` test image: a tiny HTTP server with no shell, no libc
 * files, nothing else in its root. It gives tests and the demo a realistic slim target: one
 * process, one listening socket, no tools to debug it with.
 *
 * Usage: tinyhttpd [PORT]   (default 8080). Exits 0 on SIGTERM/SIGINT, so the container stops
 * promptly even as PID 1 of its pid namespace (where default dispositions are ignored). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char response[] =
	"HTTP/1.0 200 OK\r\n"
	"Content-Type: text/plain\r\n"
	"Connection: close\r\n"
	"\r\n"
	"hello from a container without a shell\n";

static void stop(int sig)
{
	(void)sig;
	_exit(0);
}

static int listen_on(int port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons((unsigned short)port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void serve(int client)
{
	char request[1024];

	/* One read is enough for the clients we expect (curl, wget, the tests). */
	if (read(client, request, sizeof(request)) > 0)
		(void)!write(client, response, sizeof(response) - 1);
	close(client);
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 8080;
	int server;

	signal(SIGTERM, stop);
	signal(SIGINT, stop);
	server = listen_on(port);
	if (server < 0) {
		fprintf(stderr, "tinyhttpd: cannot listen on port %d: %s\n", port, strerror(errno));
		return 1;
	}
	for (;;) {
		int client = accept4(server, NULL, NULL, SOCK_CLOEXEC);

		if (client >= 0)
			serve(client);
		else if (errno != EINTR)
			return 1;
	}
}
