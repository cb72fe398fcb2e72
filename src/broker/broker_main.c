/* lambda-cntr-broker: the server side of lambda-cntr's installed mode (docs/broker.md). */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/broker_agent.h"
#include "broker/broker_cert.h"
#include "broker/broker_renewal.h"
#include "broker/broker_server.h"
#include "broker/broker_serving_identity.h"
#include "broker/broker_serving_secret.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/http.h"

/* How long stopping waits for sessions to say goodbye to their clients. */
#define DRAIN_SECONDS 10

struct broker_opts {
	const char *kubeconfig;
	const char *listen;
	const char *cert_file;
	const char *key_file;
	const char *ns;
	uint64_t renew_s;   /* --renew-interval: how often the serving Secret is read again */
	int verbose;
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: lambda-cntr-broker [--kubeconfig FILE] [--listen ADDR:PORT] [--tls-cert FILE --tls-key FILE]\n"
		     "                          [--namespace NS] [-v]\n"
		     "The aggregated API debug.lambda-cntr.io/v1alpha1 of lambda-cntr's installed mode.\n"
		     "  --kubeconfig FILE   talk to the API server as this kubeconfig says (default: in-cluster)\n"
		     "  --listen ADDR:PORT  HTTPS listener (default 0.0.0.0:8443; port 0 picks a free one)\n"
		     "  --tls-cert FILE     serving certificate (PEM) and its key; without them the one in\n"
		     "  --tls-key FILE      the Secret lambda-cntr-broker-serving of NS is served (made\n"
		     "                      by the first replica, replaced when unusable) and its CA is\n"
		     "                      written into the APIService v1alpha1.debug.lambda-cntr.io\n"
		     "  --renew-interval S  read the serving Secret again every S seconds (default 3600):\n"
		     "                      renewed (within 30 days of its end) or replaced by another\n"
		     "                      replica, the certificate is served from the next connection on\n"
		     "  --namespace NS      where the agent DaemonSet, the profiles ConfigMap and the\n"
		     "                      serving Secret are (default lambda-cntr-system)\n"
		     "  -v                  log each refusal and each step (twice: debug)\n");
}

static int parse_opts(int argc, char **argv, struct broker_opts *o)
{
	static const struct option longopts[] = {
		{ "kubeconfig", required_argument, NULL, 'k' }, { "listen", required_argument, NULL, 'l' },
		{ "tls-cert", required_argument, NULL, 'c' },	{ "tls-key", required_argument, NULL, 'K' },
		{ "namespace", required_argument, NULL, 'n' },	{ "verbose", no_argument, NULL, 'v' },
		{ "renew-interval", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct broker_opts){ .listen = "0.0.0.0:8443", .ns = BROKER_NAMESPACE_DEFAULT, .renew_s = 3600 };
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': o->kubeconfig = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'c': o->cert_file = optarg; break;
		case 'K': o->key_file = optarg; break;
		case 'n': o->ns = optarg; break;
		case 'v': o->verbose++; break;
		case 'r':
			if (parse_u64(optarg, &o->renew_s) < 0 || o->renew_s == 0 || o->renew_s > 86400) {
				fprintf(stderr, "lambda-cntr-broker: --renew-interval: \"%s\" is not 1 to 86400 seconds\n",
					optarg);
				return -1;
			}
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc || !o->cert_file != !o->key_file) {
		fprintf(stderr, "lambda-cntr-broker: %s\n",
			optind < argc ? "unexpected argument" : "--tls-cert and --tls-key go together");
		return -1;
	}
	return 0;
}

static int split_listen(const char *listen, char **host, uint16_t *port, struct cntr_err *err)
{
	const char *colon = strrchr(listen, ':');
	uint64_t p;

	if (!colon || colon == listen || parse_u64(colon + 1, &p) < 0 || p > 65535)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "--listen: \"%s\" is not ADDR:PORT", listen);
	*host = xstrndup(listen, (size_t)(colon - listen));
	*port = (uint16_t)p;
	return 0;
}

static int load_front_proxy(struct broker *b, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_api_path(BROKER_AUTH_CONFIGMAP_NS, "configmaps", BROKER_AUTH_CONFIGMAP, NULL);

	if (broker_api(b, "GET", path, NULL, &resp, err) < 0)
		return cntr_err_prefix(err, "reading %s/%s: ", BROKER_AUTH_CONFIGMAP_NS, BROKER_AUTH_CONFIGMAP);
	return broker_frontproxy_from_configmap(resp.body, &b->fp, err);
}

static int load_tls(struct broker *b, const struct broker_opts *o, struct broker_tls_files *tls, struct cntr_err *err)
{
	_cleanup_free_ char *ca = NULL;
	size_t len;

	if (o->cert_file) {
		if (read_file_at(AT_FDCWD, o->cert_file, &tls->cert_pem, &len, err) < 0 ||
		    read_file_at(AT_FDCWD, o->key_file, &tls->key_pem, &len, err) < 0)
			return -1;
		return 0;
	}
	/* Every replica serves the certificate of one Secret, so the one caBundle vouches for all. */
	if (broker_serving_secret_obtain(b, tls, &ca, err) < 0)
		return -1;
	return broker_cert_publish(b, ca, err);
}

/* After SIGTERM: sessions close both sides (stop_fd), then the listener goes. */
static void drain(struct broker *b, int stop_write)
{
	if (write(stop_write, "x", 1) < 0)
		log_warn("cannot tell the sessions to stop");
	for (int i = 0; i < DRAIN_SECONDS * 10 && atomic_load(&b->sessions) > 0; i++)
		usleep(100000);
	if (atomic_load(&b->sessions) > 0)
		log_warn("%d session(s) still open after %d s; stopping anyway", atomic_load(&b->sessions), DRAIN_SECONDS);
}

static int run(const struct broker_opts *o, struct cntr_err *err)
{
	struct kube_config_opts copts = { .kubeconfig = o->kubeconfig };
	struct broker b = { .ns = o->ns };
	struct broker_tls_files tls = { 0 };
	struct broker_renewal renewal = { 0 };
	_cleanup_free_ char *host = NULL;
	struct MHD_Daemon *d = NULL;
	int stop[2] = { -1, -1 }, sig = 0, r = -1;
	uint16_t port = 0, bound = 0;
	sigset_t set;

	pthread_mutex_init(&b.api_lock, NULL);
	if (gethostname(b.instance, sizeof(b.instance) - 1) < 0)
		strcpy(b.instance, "lambda-cntr-broker");
	/* Signals are taken by sigwait below; every thread started later inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (split_listen(o->listen, &host, &port, err) < 0 || kube_http_global_init(err) < 0 ||
	    kube_config_load(&copts, &b.cfg, err) < 0 || load_front_proxy(&b, err) < 0 || load_tls(&b, o, &tls, err) < 0)
		goto out;
	if (pipe2(stop, O_CLOEXEC) < 0) {
		cntr_fail_errno(err, "pipe");
		goto out;
	}
	b.stop_fd = stop[0];
	d = broker_server_start(&b, host, port, &tls, &bound, err);
	if (!d)
		goto out;
	/* A certificate given by --tls-cert is the admin's to renew (restart with the new one). */
	if (!o->cert_file && broker_renewal_start(&renewal, &b, o->renew_s) < 0) {
		cntr_fail(err, CNTR_EXIT_FAILURE, 0, "cannot start the serving certificate's renewal");
		MHD_stop_daemon(d);
		goto out;
	}
	fprintf(stderr, "lambda-cntr-broker: listening on %s:%u\n", host, bound);
	fflush(stderr);
	while (sigwait(&set, &sig) != 0)
		;
	log_info("signal %d: closing sessions and stopping", sig);
	drain(&b, stop[1]);
	broker_renewal_join(&renewal);
	MHD_stop_daemon(d);
	r = 0;
out:
	broker_serving_identity_release_all();
	if (stop[0] >= 0)
		close(stop[0]);
	if (stop[1] >= 0)
		close(stop[1]);
	free(tls.cert_pem);
	free(tls.key_pem);
	broker_frontproxy_free(&b.fp);
	kube_config_free(b.cfg);
	return r;
}

int main(int argc, char **argv)
{
	struct broker_opts o;
	struct cntr_err err = { 0 };

	if (parse_opts(argc, argv, &o) < 0)
		return CNTR_EXIT_USAGE;
	log_init("lambda-cntr-broker", o.verbose >= 2 ? CNTR_LOG_DEBUG : o.verbose ? CNTR_LOG_INFO : CNTR_LOG_WARN);
	if (run(&o, &err) < 0) {
		fprintf(stderr, "lambda-cntr-broker: %s\n", err.msg);
		return err.code ? err.code : CNTR_EXIT_FAILURE;
	}
	return 0;
}
