#!/usr/bin/python3
"""lambda-cntr's agent-pod mode (issue 8): where agents go, which warm agent may be reused, and
what each --profile gives, against the API stand-in with real runc containers and the real cntr.

Run one test: test_lambda_podmode.py LookAlikeAgentTests.test_planted_look_alikes_are_ignored_and_never_execed
(env LAMBDA_CNTR_BIN, CNTR_BIN; exits 77 = skipped when they are not built, unless CI=true)."""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import AGENT_NS, ClusterTestCase, sleeper  # noqa: E402

AGENT_LABELS = {"app.kubernetes.io/managed-by": "lambda-cntr", "app.kubernetes.io/name": "lambda-cntr-agent",
                "lambda-cntr.io/agent-scheme": "pod-v1", "lambda-cntr.io/node": "node-1"}


def exec_paths(cluster, namespace, name):
    """pods/exec requests the stand-in received for that pod."""
    path = "/api/v1/namespaces/%s/pods/%s/exec" % (namespace, name)
    return [p for _, _, p, _ in cluster.server.requests if p == path]


class NoAgentNamespaceTests(ClusterTestCase):
    """A cluster where deploy/ was never applied: no lambda-cntr-system."""
    agent_namespace = False

    def test_without_lambda_cntr_system_it_is_one_line_and_nothing_is_created(self):
        c = self.cluster
        c.target_pod("web")
        r = c.run("execute", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertEqual(r.stderr.decode(), "lambda-cntr: error: no namespace for the agent: lambda-cntr-system does "
                         "not exist; install it (kubectl apply -f deploy/) or pass --agent-namespace NS (a "
                         "namespace that admits privileged pods)\n")
        self.assertEqual(c.agent_creates(), 0, "no agent anywhere, least of all in the pod's namespace")
        self.assertTrue(c.server.count("GET", r"^/api/v1/namespaces/lambda-cntr-system$"), "it was looked up")

    def test_the_pods_namespace_only_when_asked_for(self):
        c = self.cluster
        c.target_pod("web")
        self.assertExit(c.run("execute", "--keep", "--agent-namespace", "default", "web", "--", "true"), 0)
        self.assertEqual(len(c.agents("default")), 1)
        self.assertEqual(c.server.count("GET", r"^/api/v1/namespaces/lambda-cntr-system$"), 0,
                         "an explicit --agent-namespace needs no lookup")

    def test_once_the_namespace_is_created_agents_go_there(self):
        c = self.cluster
        c.target_pod("web")
        self.assertExit(c.run("execute", "web", "--", "true"), 125)
        c.store.namespaces.add(AGENT_NS)
        self.assertExit(c.run("execute", "--keep", "web", "--", "true"), 0)
        self.assertEqual(len(c.agents(AGENT_NS)), 1)
        self.assertEqual(c.agents("default"), [])

    def test_a_user_who_cannot_read_namespaces_gets_the_creation_error_with_the_fix(self):
        c = self.cluster
        c.target_pod("web")
        c.server.forbid("get", "namespaces", user="alice")
        r = c.run("execute", "-v", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b'cannot check that namespace lambda-cntr-system exists (namespaces "lambda-cntr-system" '
                      b'is forbidden: User "alice" cannot get resource "namespaces"', r.stderr)
        self.assertIn(b'namespaces "lambda-cntr-system" not found; install lambda-cntr\'s namespace (kubectl '
                      b'apply -f deploy/) or pass --agent-namespace NS', r.stderr)
        self.assertEqual(c.agent_creates(), 0)


class LookAlikeAgentTests(ClusterTestCase):
    def plant(self, name, image=None, command=("cntr", "agent", "idle"), privileged=True, labels=None,
              annotations=None, owner=None):
        """A pod that looks like an agent (our labels, on node-1, in the agent namespace), made by
        someone else; returns it once Ready."""
        c = self.cluster
        container = sleeper("agent", command=list(command), image=image or "lambda-cntr-agent:" + c.version(),
                            securityContext={"privileged": privileged, "runAsUser": 0,
                                             "readOnlyRootFilesystem": True},
                            env=[{"name": "LAMBDA_CNTR_AGENT", "value": name},
                                 {"name": "LAMBDA_CNTR_IDLE_SECONDS", "value": "600"}])
        meta = {"name": name, "labels": dict(AGENT_LABELS, **(labels or {})),
                "annotations": dict({"lambda-cntr.io/created-by": "alice"}, **(annotations or {}))}
        if owner:
            meta["ownerReferences"] = [owner]
        c.server.create_pod({"metadata": meta, "spec": {
            "nodeName": "node-1", "hostPID": True, "restartPolicy": "Never", "containers": [container]}}, AGENT_NS)
        pod = c.server.wait_pod(AGENT_NS, name, lambda p: p["status"].get("phase") == "Running")
        return pod

    def genuine_image_id(self):
        c = self.cluster
        return c.server.kubelet.image_id("lambda-cntr-agent:" + c.version())

    def test_planted_look_alikes_are_ignored_and_never_execed(self):
        c = self.cluster
        c.target_pod("web")
        genuine = {"lambda-cntr.io/image-id": self.genuine_image_id()}
        # Each differs from what this lambda-cntr creates for alice in one way.
        looks = {
            "lambda-cntr-node-1-nopriv": (dict(privileged=False, command=("sleep", "3600"), annotations=genuine),
                                          "its securityContext is not this version's (privileged, read-only "
                                          "root filesystem)"),
            "lambda-cntr-node-1-shell": (dict(command=("sh", "-c", "sleep 3600"), annotations=genuine),
                                         "it runs another program than this version's agent"),
            "lambda-cntr-node-1-bobs": (dict(annotations=dict(genuine, **{"lambda-cntr.io/created-by": "bob"})),
                                        "it was created by another user"),
            "lambda-cntr-node-1-owned": (dict(annotations=genuine, owner={
                "apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agents", "uid": "1", "controller": True}),
                "it is not owned by lambda-cntr's agent pods (labels or ownerReferences differ)"),
        }
        for name, (kwargs, _) in looks.items():
            self.plant(name, **kwargs)
        # Same tag, another image on the node (re-tagged), carrying the genuine digest's record.
        c.server.kubelet.image_digests["lambda-cntr-agent:" + c.version()] = "e" * 64
        self.plant("lambda-cntr-node-1-retag", annotations=genuine)
        del c.server.kubelet.image_digests["lambda-cntr-agent:" + c.version()]
        looks["lambda-cntr-node-1-retag"] = ({}, "image digest differs")

        r = c.run("execute", "-v", "web", "--", "cat", "/proc/1/cgroup")
        self.assertExit(r, 0)
        for name, (_, reason) in looks.items():
            with self.subTest(look_alike=name):
                self.assertIn(("agent %s ignored: %s\n" % (name, reason)).encode(), r.stderr)
                self.assertEqual(exec_paths(c, AGENT_NS, name), [], "the look-alike saw an exec")
        # The session ran in a fresh agent of ours, in the target's cgroup.
        (created,) = [n for ns, n in c.store.creates if ns == AGENT_NS and n not in looks]
        self.assertTrue(exec_paths(c, AGENT_NS, created))
        self.assertIn(c.store.get("default", "web")["status"]["containerStatuses"][0]["containerID"]
                      .split("//")[1].encode(), r.stdout)
        deadline = time.monotonic() + 20
        while c.store.get(AGENT_NS, created) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(sorted(a["metadata"]["name"] for a in c.agents()), sorted(looks),
                         "our agent was deleted, the look-alikes left alone")

    def test_an_agent_records_its_creator_and_image_and_only_its_creator_reuses_it(self):
        c = self.cluster
        c.target_pod("web")
        self.assertExit(c.run("execute", "--keep", "web", "--", "true"), 0)
        (agent,) = c.agents()
        notes = agent["metadata"]["annotations"]
        self.assertEqual(notes["lambda-cntr.io/created-by"], "alice", "the name the SelfSubjectReview gave")
        self.assertEqual(notes["lambda-cntr.io/image-id"], agent["status"]["containerStatuses"][0]["imageID"])
        self.assertEqual(agent["metadata"]["labels"]["lambda-cntr.io/agent-scheme"], "pod-v1")
        self.assertExit(c.run("execute", "--keep", "web", "--", "true"), 0)
        self.assertEqual(c.agent_creates(), 1, "alice reuses her warm agent")
        r = c.run("execute", "-v", "--keep", "web", "--", "true", kubeconfig=c.kubeconfig_cert("bob"))
        self.assertExit(r, 0)
        self.assertIn(("agent %s ignored: it was created by another user" % agent["metadata"]["name"]).encode(),
                      r.stderr)
        self.assertEqual(c.agent_creates(), 2, "bob gets an agent of his own")
        self.assertEqual(sorted(a["metadata"]["annotations"]["lambda-cntr.io/created-by"] for a in c.agents()),
                         ["alice", "bob"])

    def test_without_self_subject_review_the_kubeconfig_user_is_the_creator(self):
        c = self.cluster
        c.target_pod("web")
        c.server.serve_self_subject_review = False  # an API server before 1.28
        r = c.run("execute", "-v", "--keep", "web", "--", "true")
        self.assertExit(r, 0)
        self.assertIn(b'agents are marked as created by the kubeconfig user "me"', r.stderr)
        self.assertEqual(c.agents()[0]["metadata"]["annotations"]["lambda-cntr.io/created-by"], "me")

    def test_without_the_right_to_patch_pods_the_agent_serves_but_is_not_reused(self):
        c = self.cluster
        c.target_pod("web")
        c.server.forbid("patch", "pods", user="alice")
        r = c.run("execute", "-v", "--keep", "web", "--", "echo", "served")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"served\n")
        self.assertRegex(r.stderr, rb"agent lambda-cntr-node-1-[a-z0-9]{5} will not be reused: recording its "
                                   rb"image digest: pods \"lambda-cntr-node-1-[a-z0-9]{5}\" is forbidden")
        r = c.run("execute", "-v", "--keep", "web", "--", "true")
        self.assertIn(b"its image digest was not recorded by its creator", r.stderr)
        self.assertEqual(c.agent_creates(), 2)

    def test_an_image_pinned_by_digest_is_checked_against_the_running_digest(self):
        c = self.cluster
        c.target_pod("web")
        pinned = "lambda-cntr-agent@sha256:" + "a" * 64
        self.assertExit(c.run("execute", "--keep", "-i", pinned, "web", "--", "true"), 0)
        (agent,) = c.agents()
        self.assertEqual(agent["status"]["containerStatuses"][0]["imageID"],
                         "docker.io/library/lambda-cntr-agent@sha256:" + "a" * 64)
        self.assertExit(c.run("execute", "--keep", "-i", pinned, "web", "--", "true"), 0)
        self.assertEqual(c.agent_creates(), 1)
        # Whatever its annotation says, an agent whose container runs another digest is not it.
        c.store.update(AGENT_NS, agent["metadata"]["name"], lambda p: p["status"]["containerStatuses"][0].update(
            imageID="docker.io/library/lambda-cntr-agent@sha256:" + "b" * 64))
        r = c.run("execute", "-v", "-i", pinned, "web", "--", "true")
        self.assertExit(r, 0)
        self.assertIn(("agent %s ignored: image digest differs" % agent["metadata"]["name"]).encode(), r.stderr)
        self.assertEqual(c.agent_creates(), 2)


# Capability numbers (linux/capability.h).
CAP = {"KILL": 5, "NET_BIND_SERVICE": 10, "NET_ADMIN": 12, "NET_RAW": 13, "SYS_PTRACE": 19, "SYS_ADMIN": 21,
       "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "AUDIT_WRITE": 29}


def caps(*names):
    mask = 0
    for n in names:
        mask |= 1 << CAP[n]
    return mask


def status_fields(text):
    """{field: value} of /proc/PID/status lines."""
    return dict(re.findall(r"^(\w+):\s*(\S+)", text, re.M))


class ProfileCapabilityTests(ClusterTestCase):
    """Each --profile gives exactly the set README's profile table documents, against a real
    runc container (runc's default set: KILL, NET_BIND_SERVICE, AUDIT_WRITE)."""

    def session_status(self, profile):
        r = self.cluster.run("execute", "--profile", profile, "web", "--", "grep",
                             "-E", "^(Cap|NoNewPrivs|Seccomp:)", "/proc/self/status")
        self.assertExit(r, 0)
        return status_fields(r.stdout.decode())

    def test_each_profile_gives_exactly_its_capability_set(self):
        c = self.cluster
        c.target_pod("web")
        r = c.run("execute", "web", "--", "cat", "/proc/1/status")  # the target's init
        self.assertExit(r, 0)
        target = status_fields(r.stdout.decode())
        runc_default = caps("KILL", "NET_BIND_SERVICE", "AUDIT_WRITE")
        self.assertEqual(int(target["CapEff"], 16), runc_default, "the target is what runc gives by default")
        self.assertEqual(int(target["CapBnd"], 16), runc_default)
        inherited = (int(target["CapInh"], 16), int(target["CapAmb"], 16), target["NoNewPrivs"], target["Seccomp"])
        expected = {
            "general": (runc_default,) + inherited,
            "restricted": (0, 0, 0, "1", "2"),
            "netadmin": (runc_default | caps("NET_ADMIN", "NET_RAW"),) + inherited,
            "sysadmin": (runc_default | caps("SYS_ADMIN", "SYS_PTRACE", "NET_ADMIN", "NET_RAW", "DAC_OVERRIDE",
                                             "DAC_READ_SEARCH", "KILL"),) + inherited,
        }
        for profile, (mask, inh, amb, nnp, seccomp) in expected.items():
            with self.subTest(profile=profile):
                got = self.session_status(profile)
                for field in ("CapEff", "CapPrm", "CapBnd"):
                    self.assertEqual(int(got[field], 16), mask, "%s %s: %s, wanted %#018x" % (
                        profile, field, got[field], mask))
                self.assertEqual((int(got["CapInh"], 16), int(got["CapAmb"], 16)), (inh, amb))
                self.assertEqual((got["NoNewPrivs"], got["Seccomp"]), (nnp, seccomp))


if __name__ == "__main__":
    unittest.main(verbosity=2)
