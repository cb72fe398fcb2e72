#!/usr/bin/python3
"""`lambda-cntr capsule run` against the API stand-in with two nodes (nodes.py): a capsule pod
per node pulls the capsule image (its own root: /capsule-marker, /usr/bin/capsule-tool), the
node's agent runs the real `cntr capsule run --from-container` over the node's targets (real runc
containers). Run one: test_lambda_capsule.py CapsuleTests.test_..."""

import json
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nodes  # noqa: E402
from harness import ClusterTestCase, pids_with_cmdline, read_until, sleeper  # noqa: E402

IMAGE = nodes.CAPSULE_IMAGE_PREFIX + ":1"
CAPSULE_SELECTOR = "app.kubernetes.io/name=lambda-cntr-capsule"


def static_cntr_or_skip():
    """The capsule pod's init container copies cntr into an emptyDir and the capsule image runs
    it: only a static cntr runs in any image root (a sanitizer build's dynamic cntr does not;
    run these with CNTR_BIN=build/musl/cntr and a sanitizer lambda-cntr instead)."""
    path = os.environ.get("CNTR_BIN", "")
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 20)
    except OSError:
        return  # binaries_or_skip reports it
    if b"/lib64/ld-linux" in head or b"/lib/ld-linux" in head or b"ld-musl" in head:
        msg = "capsule tests: CNTR_BIN=%s is dynamically linked; they need the static cntr" % path
        if os.environ.get("CI") == "true":
            sys.exit(msg)
        print("SKIP: " + msg)
        sys.exit(77)


class CapsuleHelpers(ClusterTestCase):
    def web_pod(self, name, node, tier="web"):
        """A running pod labelled tier=TIER on node (by nodeName); its /tmp/who holds its name."""
        command = ["sh", "-c", "echo %s > /tmp/who; exec sleep 2147483647" % name]
        self.cluster.server.create_pod({"metadata": {"name": name, "labels": {"app": name, "tier": tier}},
                                        "spec": {"nodeName": node, "containers": [sleeper("main", command)]}},
                                       "default")
        return self.cluster.server.wait_pod("default", name,
                                            lambda p: p and p["status"].get("phase") == "Running")

    def capsule_pods(self, namespace="lambda-cntr-system"):  # the agent namespace, as attach uses
        items, _ = self.cluster.store.list(namespace, nodes_selector(CAPSULE_SELECTOR), [])
        return items

    def wait_no_capsule_pods(self, timeout=20):
        deadline = time.monotonic() + timeout
        while self.capsule_pods() and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.capsule_pods()

    def capsule(self, *args, timeout=120):
        return self.cluster.run("capsule", "run", *args, timeout=timeout)

    def three_pods_on_two_nodes(self):
        self.web_pod("web-a", "node-1")
        self.web_pod("web-b", "node-2")
        self.web_pod("web-c", "node-2")



class CapsuleTests(CapsuleHelpers):
    def test_selector_over_two_nodes_runs_the_capsule_in_every_target_with_prefixed_output(self):
        self.three_pods_on_two_nodes()
        self.web_pod("db", "node-1", tier="db")  # not selected
        r = self.capsule(IMAGE, "-l", "tier=web", "--", "sh", "-c",
                         "cat /capsule-marker; capsule-tool hello; cat /var/lib/cntr/tmp/who; "
                         "echo to-stderr >&2")
        self.assertExit(r, 0)
        out, err = r.stdout.decode(), r.stderr.decode()
        for pod in ("web-a", "web-b", "web-c"):
            prefix = "[default/%s/main] " % pod
            # The capsule's own files, its tool, and the target's root at /var/lib/cntr.
            self.assertIn(prefix + nodes.CAPSULE_MARKER.strip() + "\n", out)
            self.assertIn(prefix + "capsule-tool: hello\n", out)
            self.assertIn(prefix + pod + "\n", out)
            self.assertIn(prefix + "to-stderr\n", err)
        self.assertNotIn("default/db/", out + err)
        rows = summary_rows(err)
        self.assertEqual(rows, {"default/web-a/main": ("node-1", "0"), "default/web-b/main": ("node-2", "0"),
                                "default/web-c/main": ("node-2", "0")}, err)
        # An agent and a capsule pod on each node; none of them left afterwards.
        created = [name for ns, name in self.cluster.store.creates]
        self.assertEqual(sorted(re.sub(r"-[^-]+$", "", n) for n in created if n.startswith("lambda-cntr-")),
                         ["lambda-cntr-capsule", "lambda-cntr-capsule", "lambda-cntr-node-1", "lambda-cntr-node-2"])
        self.assertEqual(self.wait_no_capsule_pods(), [])
        self.assertEqual(self.cluster.wait_no_agents(), [])

    def test_capsule_pod_is_pinned_unprivileged_and_the_image_comes_from_the_kubelet(self):
        self.web_pod("web-a", "node-2")
        proc = self.cluster.start("capsule", "run", "--image-pull-policy", "Always", IMAGE, "web-a", "--",
                                  "sh", "-c", "echo started; sleep 31337")
        seen = read_until(proc.stdout, b"started")
        self.assertIn(b"[default/web-a/main] started", seen)
        pods = self.capsule_pods()
        self.assertEqual(len(pods), 1)
        pod = pods[0]
        self.assertRegex(pod["metadata"]["name"], r"^lambda-cntr-capsule-[bcdfghjklmnpqrstvwxz2456789]{8}$")
        self.assertNotIn("ownerReferences", pod["metadata"])
        spec = pod["spec"]
        self.assertEqual(spec["nodeName"], "node-2")
        self.assertFalse(spec.get("hostPID"))
        capsule = spec["containers"][0]
        self.assertEqual((capsule["image"], capsule["imagePullPolicy"]), (IMAGE, "Always"))
        self.assertEqual(capsule["command"], ["/.lambda-cntr/cntr", "agent", "idle"])
        self.assertFalse((capsule.get("securityContext") or {}).get("privileged"))
        self.assertEqual(capsule["volumeMounts"][0]["mountPath"], "/.lambda-cntr")
        self.assertTrue(capsule["volumeMounts"][0]["readOnly"])
        init = spec["initContainers"][0]
        self.assertEqual(init["command"], ["cntr", "agent", "install", "/.lambda-cntr"])
        self.assertTrue(init["image"].startswith(nodes.AGENT_IMAGE_PREFIX))
        self.assertTrue(pids_with_cmdline(b"sleep\x0031337"))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 130, err.decode())
        self.assertEqual(self.wait_no_capsule_pods(), [], "the capsule pod must go after Ctrl-C")
        self.assertEqual(self.cluster.wait_no_agents(), [])
        deadline = time.monotonic() + 10
        while pids_with_cmdline(b"sleep\x0031337") and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(pids_with_cmdline(b"sleep\x0031337"), [], "the capsule's command must end too")

    def test_iterative_runs_in_order_and_fail_fast_stops_after_the_first_failure(self):
        for name in ("it-1", "it-2", "it-3"):
            self.web_pod(name, "node-1", tier="it")
        r = self.capsule(IMAGE, "-l", "tier=it", "--iterative", "--", "sh", "-c",
                         "echo start $(cat /var/lib/cntr/tmp/who); sleep 0.3; echo end")
        self.assertExit(r, 0)
        lines = [l for l in r.stdout.decode().splitlines() if l.startswith("[")]
        self.assertEqual(lines, ["[default/it-1/main] start it-1", "[default/it-1/main] end",
                                 "[default/it-2/main] start it-2", "[default/it-2/main] end",
                                 "[default/it-3/main] start it-3", "[default/it-3/main] end"])
        r = self.capsule(IMAGE, "-l", "tier=it", "--iterative", "--fail-fast", "--", "sh", "-c",
                         "h=$(cat /var/lib/cntr/tmp/who); echo ran $h; [ $h != it-2 ]")
        self.assertExit(r, 1)
        out, err = r.stdout.decode(), r.stderr.decode()
        self.assertIn("[default/it-1/main] ran it-1", out)
        self.assertIn("[default/it-2/main] ran it-2", out)
        self.assertNotIn("ran it-3", out)
        rows = summary_rows(err)
        self.assertEqual(rows["default/it-1/main"], ("node-1", "0"))
        self.assertEqual(rows["default/it-2/main"], ("node-1", "1"))
        self.assertEqual(rows["default/it-3/main"], ("node-1", "not run"))

    def test_a_failing_target_makes_the_exit_1_and_the_summary_names_it(self):
        self.three_pods_on_two_nodes()
        r = self.capsule(IMAGE, "-l", "tier=web", "--", "sh", "-c",
                         "[ $(cat /var/lib/cntr/tmp/who) != web-b ] || exit 7")
        self.assertExit(r, 1)
        rows = summary_rows(r.stderr.decode())
        self.assertEqual(rows["default/web-b/main"], ("node-2", "7"))
        self.assertEqual(rows["default/web-a/main"], ("node-1", "0"))
        self.assertEqual(rows["default/web-c/main"], ("node-2", "0"))
        self.assertIn("1 of 3 target(s) failed", r.stderr.decode())

    def test_image_pull_failure_on_node_2_is_named_there_while_node_1_runs(self):
        self.three_pods_on_two_nodes()
        self.cluster.server.kubelet.kubelets["node-2"].missing_image_prefixes.append(IMAGE)
        r = self.capsule(IMAGE, "-l", "tier=web", "--", "sh", "-c", "cat /capsule-marker")
        self.assertExit(r, 1)
        out, err = r.stdout.decode(), r.stderr.decode()
        self.assertIn("[default/web-a/main] " + nodes.CAPSULE_MARKER.strip(), out)
        for pod in ("web-b", "web-c"):
            line = next((l for l in err.splitlines() if l.startswith("[default/%s/main] not run: " % pod)), None)
            self.assertIsNotNone(line, err)
            self.assertIn("node node-2", line)
            self.assertIn("capsule image " + IMAGE, line)
            self.assertRegex(line, r"ErrImagePull|ImagePullBackOff")
            self.assertIn("not found", line)  # the kubelet's message
        rows = summary_rows(err)
        self.assertEqual(rows["default/web-a/main"], ("node-1", "0"))
        self.assertEqual(rows["default/web-b/main"], ("node-2", "not run"))
        self.assertEqual(self.wait_no_capsule_pods(), [])

    def test_json_lists_every_target_and_the_skipped_pods(self):
        self.three_pods_on_two_nodes()
        self.cluster.server.create_pod({"metadata": {"name": "web-down", "labels": {"tier": "web"}},
                                        "spec": {"nodeName": "node-9", "containers": [sleeper("main")]}},
                                       "default")
        self.cluster.server.create_pod({"metadata": {"name": "web-two", "labels": {"tier": "web"}},
                                        "spec": {"containers": [sleeper("app"), sleeper("log")]}}, "default")
        self.cluster.server.wait_pod("default", "web-two", lambda p: p and p["status"].get("phase") == "Running")
        r = self.capsule(IMAGE, "-l", "tier=web", "--json", "--", "sh", "-c",
                         "[ $(cat /var/lib/cntr/tmp/who) != web-c ] || exit 3")
        self.assertExit(r, 1)
        doc = json.loads(r.stdout.decode()[r.stdout.decode().index("\n{") + 1:]) \
            if not r.stdout.startswith(b"{") else json.loads(r.stdout)
        by_name = {t["target"]: t for t in doc["targets"]}
        self.assertEqual(set(by_name), {"default/web-a/main", "default/web-b/main", "default/web-c/main"})
        self.assertEqual(by_name["default/web-c/main"]["exit"], 3)
        self.assertEqual(by_name["default/web-a/main"]["exit"], 0)
        self.assertEqual(by_name["default/web-b/main"]["node"], "node-2")
        self.assertEqual(doc["failed"], 1)
        skipped = {s["pod"]: s["reason"] for s in doc["skipped"]}
        self.assertEqual(set(skipped), {"default/web-down", "default/web-two"})
        self.assertIn("Pending", skipped["default/web-down"])
        # Several containers and no -c: one line naming them (as lambda-cntr attach says it).
        self.assertIn("app", skipped["default/web-two"])
        self.assertIn("log", skipped["default/web-two"])
        self.assertNotIn("\n", skipped["default/web-two"])
        self.assertNotIn("TARGET", r.stderr.decode(), "--json replaces the summary")

    def test_all_namespaces_takes_the_pods_of_every_namespace(self):
        self.web_pod("web-a", "node-1")
        self.cluster.server.create_pod({"metadata": {"name": "web-p", "labels": {"tier": "web"}},
                                        "spec": {"nodeName": "node-2", "containers": [sleeper("main")]}},
                                       "kube-public")
        self.cluster.server.wait_pod("kube-public", "web-p", lambda p: p and p["status"].get("phase") == "Running")
        r = self.capsule(IMAGE, "-l", "tier=web", "--", "true")
        self.assertExit(r, 0)
        self.assertEqual(set(summary_rows(r.stderr.decode())), {"default/web-a/main"})
        r = self.capsule(IMAGE, "-l", "tier=web", "-A", "--", "true")
        self.assertExit(r, 0)
        self.assertEqual(summary_rows(r.stderr.decode()), {"default/web-a/main": ("node-1", "0"),
                                                           "kube-public/web-p/main": ("node-2", "0")})
        self.assertEqual(self.wait_no_capsule_pods(), [])

    def test_progress_on_a_terminal(self):
        self.three_pods_on_two_nodes()
        status, seen = self.cluster.run_pty_steps(["capsule", "run", IMAGE, "-l", "tier=web", "--", "true"], [])
        self.assertEqual(status, 0, seen)
        self.assertIn("capsule: 3/3 targets done", seen)
        self.assertRegex(seen, r"capsule: [12]/3 targets done")

    def test_a_reused_agent_that_goes_away_at_the_exec_is_replaced_once(self):
        self.web_pod("web-a", "node-1")
        self.assertExit(self.cluster.run("execute", "--keep", "web-a", "--", "true"), 0)
        self.assertEqual(self.cluster.agent_creates(), 1)
        self.cluster.server.kubelet.vanish_on_next_exec = True  # the warm agent idles out right then
        r = self.capsule(IMAGE, "web-a", "-v", "--", "cat", "/capsule-marker")
        self.assertExit(r, 0)
        self.assertIn("[default/web-a/main] " + nodes.CAPSULE_MARKER, r.stdout.decode())
        self.assertIn("went away before the capsule started", r.stderr.decode())
        agents = [n for ns, n in self.cluster.store.creates if re.match(r"^lambda-cntr-node-1-", n)]
        self.assertEqual(len(agents), 2, "the warm agent, then one of our own")
        self.assertEqual(self.wait_no_capsule_pods(), [])

    def test_share_reaches_cntr_and_limits_the_namespaces_joined(self):
        self.web_pod("web-a", "node-2")
        r = self.capsule(IMAGE, "web-a", "--", "hostname")
        self.assertExit(r, 0)
        self.assertIn("[default/web-a/main] web-a\n", r.stdout.decode())
        r = self.capsule(IMAGE, "web-a", "--share", "net", "--", "hostname")
        self.assertExit(r, 0)
        self.assertNotIn("web-a\n", r.stdout.decode(), "uts is not shared: the capsule's own hostname")
        r = self.capsule(IMAGE, "web-a", "--share", "net,user", "--", "true")
        self.assertExit(r, 2)
        self.assertIn("--share", r.stderr.decode())

    def test_usage_errors_exit_2_and_no_target_exits_125(self):
        r = self.capsule(IMAGE, "--", "true")
        self.assertExit(r, 2)
        self.assertIn("either -l SELECTOR or POD", r.stderr.decode())
        r = self.capsule(IMAGE, "-l", "a=b", "--iterative", "--parallel", "2", "--", "true")
        self.assertExit(r, 2)
        r = self.capsule(IMAGE, "-l", "tier=none", "--", "true")
        self.assertExit(r, 125)
        self.assertIn('no pod matches tier=none in namespace default', r.stderr.decode())
        self.assertEqual(self.capsule_pods(), [])


CRD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "capsule-crd.yaml")
GV, PLURAL = "lambda-cntr.io/v1alpha1", "capsules"


class CapletTests(CapsuleHelpers):
    """The Capsule resource and `lambda-cntr caplet`: periodic runs recorded in status and as
    Events, no overlap, at most one catch-up run, get/logs."""

    def put_capsule(self, name, schedule, command, history_limit=None, status=None, **spec):
        body = {"metadata": {"name": name}, "spec": dict({
            "image": IMAGE, "schedule": schedule, "command": command,
            "selector": {"matchLabels": {"tier": "web"}}}, **spec)}
        if history_limit:
            body["spec"]["historyLimit"] = history_limit
        if status:
            body["status"] = status
        return self.cluster.server.objects.put(GV, PLURAL, body, "default")

    def capsule_obj(self, name):
        return self.cluster.server.objects.get(GV, PLURAL, "default", name)

    def events(self, name, reason=None):
        return [e for e in self.cluster.server.events
                if e["involvedObject"].get("kind") == "Capsule" and e["involvedObject"]["name"] == name
                and (reason is None or e["reason"] == reason)]

    def start_caplet(self):
        proc = self.cluster.start("caplet", "--interval", "1s", "-v")
        self.addCleanup(self.stop_caplet, proc)
        return proc

    def stop_caplet(self, proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=60)
        return proc.returncode

    def wait_for(self, predicate, timeout=60, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        self.fail("timed out waiting for " + what)

    def lease(self):
        lease = self.cluster.server.objects.get("coordination.k8s.io/v1", "leases", "lambda-cntr-system",
                                                "lambda-cntr-caplet")
        return (lease or {}).get("spec") or {}

    def test_replicas_elect_one_leader_and_a_stopped_leader_hands_over_at_once(self):
        self.web_pod("web-a", "node-1")
        self.put_capsule("tick", "@every 1s", ["true"])
        first = self.cluster.start("caplet", "--interval", "1s", "--lease-duration", "30s", "-v")
        self.addCleanup(self.stop_caplet, first)
        holder_a = self.wait_for(lambda: self.lease().get("holderIdentity"), what="the first replica's Lease")
        self.assertEqual(self.lease()["leaseDurationSeconds"], 30)
        self.wait_for(lambda: (self.capsule_obj("tick").get("status") or {}).get("lastRun"), what="a first run")
        # The second replica: another user, so that its requests can be told apart.
        self.cluster.server.add_token("tok-caplet-b", "caplet-b", groups=["system:masters"])
        second = self.cluster.start("caplet", "--interval", "1s", "--lease-duration", "30s", "-v",
                                    kubeconfig=self.cluster.kubeconfig_token("tok-caplet-b", filename="kc-b"))
        self.addCleanup(self.stop_caplet, second)
        self.wait_for(lambda: any(u == "caplet-b" and "/leases/" in p for u, _, p, _ in
                                  self.cluster.server.requests), what="the second replica to read the Lease")
        time.sleep(3)
        self.assertEqual(self.lease()["holderIdentity"], holder_a, "the follower took the Lease")
        writes_b = [(m, p) for u, m, p, _ in self.cluster.server.requests
                    if u == "caplet-b" and m != "GET" and "/leases" not in p]
        self.assertEqual(writes_b, [], "the follower ran Capsules")
        # SIGTERM: the leader stops its runs and empties the Lease; the follower takes it at
        # once, long before the 30 s a silent holder would keep it.
        self.assertEqual(self.stop_caplet(first), 0)
        stopped = time.monotonic()
        holder_b = self.wait_for(lambda: self.lease().get("holderIdentity") not in (None, "", holder_a)
                                 and self.lease()["holderIdentity"], timeout=20, what="the follower to lead")
        self.assertLess(time.monotonic() - stopped, 10)
        self.assertEqual(self.lease()["leaseTransitions"], 1)
        self.assertNotEqual(holder_b, holder_a)
        self.wait_for(lambda: any(u == "caplet-b" and m == "PATCH" and "/capsules/tick/status" in p
                                  for u, m, p, _ in self.cluster.server.requests), what="the new leader's run")

    def test_a_lease_taken_by_another_holder_stops_the_leaders_runs(self):
        self.web_pod("web-a", "node-1")
        self.put_capsule("slow", "@every 1s", ["sh", "-c", "sleep 30"])
        caplet = self.cluster.start("caplet", "--interval", "1s", "--lease-duration", "30s", "-v")
        self.addCleanup(self.stop_caplet, caplet)
        self.wait_for(lambda: self.lease().get("holderIdentity"), what="the Lease")
        self.wait_for(lambda: self.capsule_pods(), what="a capsule pod of the running run")
        # Another replica's takeover, as a partitioned leader would find it.
        self.cluster.server.objects.patch("coordination.k8s.io/v1", "leases", "lambda-cntr-system",
                                          "lambda-cntr-caplet", {"spec": {"holderIdentity": "elsewhere_1"}})
        run = self.wait_for(lambda: ((self.capsule_obj("slow").get("status") or {}).get("lastRun") or {})
                            .get("result") == "Interrupted" and self.capsule_obj("slow")["status"]["lastRun"],
                            timeout=30, what="the run stopped as Interrupted")
        self.assertEqual(run["result"], "Interrupted")
        self.assertEqual(self.wait_no_capsule_pods(), [], "its capsule pod is deleted")
        self.assertEqual(self.lease()["holderIdentity"], "elsewhere_1", "a follower does not write the Lease")

    def test_only_a_capsule_in_the_caplets_namespace_reaches_other_namespaces(self):
        # Whoever may create a Capsule in default must not make the caplet (which may exec into
        # pods everywhere) run in another namespace.
        self.web_pod("web-a", "node-1")
        self.put_capsule("reach", "@every 1s", ["true"], namespaces=["lambda-cntr-system"])
        self.cluster.server.objects.put(GV, PLURAL, {"metadata": {"name": "admin"}, "spec": {
            "image": IMAGE, "schedule": "@every 1s", "command": ["cat", "/capsule-marker"],
            "selector": {"matchLabels": {"tier": "web"}}, "namespaces": ["default"]}}, "lambda-cntr-system")
        self.start_caplet()
        refused = self.wait_for(lambda: (self.capsule_obj("reach").get("status") or {}).get("lastRun"),
                                what="the refused run")
        self.assertEqual(refused["result"], "Error", refused)
        self.assertIn('spec.namespaces: "lambda-cntr-system" is not the Capsule\'s own namespace "default"; '
                      'only a Capsule in "lambda-cntr-system" (the caplet\'s) may run in other namespaces',
                      refused["message"])
        self.assertEqual(refused.get("targets") or [], [])
        admin = self.wait_for(lambda: ((self.cluster.server.objects.get(GV, PLURAL, "lambda-cntr-system", "admin")
                                        .get("status") or {}).get("lastRun")), what="the admin's run")
        self.assertEqual(admin["result"], "Succeeded", admin)
        self.assertEqual([t["target"] for t in admin["targets"]], ["default/web-a/main"])

    def test_crd_is_a_structural_v1_crd_with_the_fields_of_the_issue(self):
        import yaml
        with open(CRD) as f:
            crd = yaml.safe_load(f)
        self.assertEqual(crd["apiVersion"], "apiextensions.k8s.io/v1")
        self.assertEqual(crd["metadata"]["name"], "capsules.lambda-cntr.io")
        self.assertEqual(crd["spec"]["names"]["kind"], "Capsule")
        version = crd["spec"]["versions"][0]
        self.assertEqual(version["name"], "v1alpha1")
        self.assertEqual(version["subresources"], {"status": {}})
        schema = version["schema"]["openAPIV3Schema"]
        spec = schema["properties"]["spec"]["properties"]
        for field in ("image", "command", "selector", "namespaces", "policy", "schedule", "sandbox", "historyLimit"):
            self.assertIn(field, spec)
        self.assertEqual(set(spec["policy"]["properties"]), {"parallel", "iterative", "failFast", "timeoutSeconds"})
        self.assertEqual(set(spec["sandbox"]["properties"]), {"profile", "share", "seccompProfile"})
        run = schema["properties"]["status"]["properties"]["lastRun"]
        target = run["properties"]["targets"]["items"]["properties"]
        self.assertIn("exit", target)
        self.assertEqual(target["outputTail"]["maxLength"], 2048)
        self.assertNotIn("$ref", open(CRD).read(), "structural schemas cannot use $ref")

    def test_periodic_runs_record_status_history_events_and_follow_the_pods_that_match(self):
        self.three_pods_on_two_nodes()
        self.put_capsule("check", "@every 2s", ["sh", "-c",
                         "cat /capsule-marker; w=$(cat /var/lib/cntr/tmp/who); echo who $w; [ $w != web-b ]"],
                         history_limit=2)
        self.start_caplet()
        status = self.wait_for(lambda: (self.capsule_obj("check").get("status") or {}).get("lastRun"),
                               what="a first run")
        run = self.capsule_obj("check")["status"]["lastRun"]
        self.assertEqual(run["result"], "Failed", run)
        targets = {t["target"]: t for t in run["targets"]}
        self.assertEqual(set(targets), {"default/web-a/main", "default/web-b/main", "default/web-c/main"})
        self.assertEqual((targets["default/web-b/main"]["node"], targets["default/web-b/main"]["exit"]), ("node-2", 1))
        self.assertEqual((targets["default/web-a/main"]["node"], targets["default/web-a/main"]["exit"]), ("node-1", 0))
        self.assertEqual(targets["default/web-a/main"]["outputTail"], nodes.CAPSULE_MARKER + "who web-a\n")
        self.assertIn("default/web-b/main exited 1", run["message"])
        # The caplet records the status first and the Event right after it.
        self.wait_for(lambda: self.events("check", "RunFailed"), what="a RunFailed event")
        # A deleted target is simply not among the pods of the next run.
        self.cluster.server.delete("default", "web-c", 0)
        self.wait_for(lambda: not self.cluster.store.get("default", "web-c"), what="web-c gone")
        self.wait_for(lambda: {t["target"] for t in self.capsule_obj("check")["status"]["lastRun"]["targets"]}
                      == {"default/web-a/main", "default/web-b/main"}, what="a run without web-c")
        history = self.wait_for(lambda: len(self.capsule_obj("check")["status"].get("history") or []) == 2
                                and self.capsule_obj("check")["status"]["history"], what="two runs in history")
        self.assertEqual(history[0], self.capsule_obj("check")["status"]["lastRun"])
        time.sleep(2.5)
        self.assertEqual(len(self.capsule_obj("check")["status"]["history"]), 2, "historyLimit bounds it")
        # get and logs read it back.
        r = self.cluster.run("capsule", "get", "check")
        self.assertExit(r, 0)
        out = r.stdout.decode()
        self.assertIn("Schedule:       @every 2s", out)
        self.assertRegex(out, r"default/web-b/main\s+node-2\s+1\s")
        r = self.cluster.run("capsule", "logs", "check")
        self.assertExit(r, 0)
        self.assertIn("[default/web-a/main] who web-a\n", r.stdout.decode())
        self.assertIn("[default/web-b/main] who web-b\n", r.stdout.decode())
        r = self.cluster.run("capsule", "get", "nope")
        self.assertExit(r, 125)
        self.assertIn('"nope" not found', r.stderr.decode())

    def test_runs_never_overlap_a_run_due_meanwhile_is_skipped(self):
        self.web_pod("web-a", "node-1")
        self.put_capsule("slow", "@every 1s", ["sh", "-c", "echo begin; sleep 4; echo end"])
        caplet = self.start_caplet()
        self.wait_for(lambda: self.events("slow", "RunSkipped"), what="a skipped run")
        self.wait_for(lambda: (self.capsule_obj("slow").get("status") or {}).get("lastRun"), what="a run")
        self.assertEqual(self.stop_caplet(caplet), 0)
        self.assertIn("still going", self.events("slow", "RunSkipped")[0]["message"])
        run = self.capsule_obj("slow")["status"]["lastRun"]
        self.assertEqual(run["result"], "Succeeded", run)
        self.assertEqual(run["targets"][0]["outputTail"], "begin\nend\n")
        self.assertEqual(len(self.events("slow", "RunSucceeded")), 1, "one run at a time")
        self.assertEqual(self.wait_no_capsule_pods(), [], "the caplet's stop leaves no capsule pod")

    def test_missed_schedules_run_once_the_latest(self):
        self.web_pod("web-a", "node-1")
        an_hour_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        self.put_capsule("hourly", "* * * * *", ["true"], status={"lastScheduleTime": an_hour_ago})
        self.start_caplet()
        self.wait_for(lambda: (self.capsule_obj("hourly").get("status") or {}).get("lastRun"), what="the catch-up run")
        time.sleep(3)
        status = self.capsule_obj("hourly")["status"]
        runs = self.events("hourly", "RunSucceeded")
        minute = int(time.time()) // 60 * 60
        self.assertLessEqual(len(runs), 2, "at most the catch-up run and one at a minute boundary")
        self.assertIn(status["history"][-1]["scheduledTime"], [
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m)) for m in (minute, minute - 60)])
        missed = self.events("hourly", "MissedSchedules")
        self.assertEqual(len(missed), 1)
        self.assertRegex(missed[0]["message"], r"^(59|60) scheduled run\(s\) were missed; only the latest")

    def test_an_invalid_schedule_is_an_event_and_no_run(self):
        self.web_pod("web-a", "node-1")
        self.put_capsule("bad", "61 * * * *", ["true"])
        self.start_caplet()
        ev = self.wait_for(lambda: self.events("bad", "InvalidSchedule"), what="the event")
        self.assertIn('minute field "61"', ev[0]["message"])
        time.sleep(2)
        self.assertEqual(len(self.events("bad", "InvalidSchedule")), 1, "said once")
        self.assertNotIn("lastRun", self.capsule_obj("bad").get("status") or {})


def nodes_selector(text):
    import apiserver
    return apiserver.parse_label_selector(text)


def summary_rows(err):
    """{target: (node, exit)} from the summary table on stderr."""
    rows, seen_header = {}, False
    for line in err.splitlines():
        if re.match(r"^TARGET\s+NODE\s+EXIT\s+SECONDS$", line):
            seen_header = True
            continue
        m = re.match(r"^(\S+)\s+(\S+)\s+(not run|-?\d+)\s+[\d.]+$", line)
        if seen_header and m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


if __name__ == "__main__":
    static_cntr_or_skip()
    unittest.main()
