#!/usr/bin/python3
"""The install manifests (`kubectl apply -f deploy/`) checked for structure, since no API server
can validate them offline: every object is well-formed and of a known kind, lives where it
should, the agent and broker pods have the security settings docs/broker.md promises, the
APIService points at the broker's Service, and RBAC grants exactly what the contract lists."""

import glob
import os
import re
import unittest

import yaml

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(TOP, "deploy")
NS = "lambda-cntr-system"

# (apiVersion, kind) -> namespaced
KINDS = {
    ("v1", "Namespace"): False,
    ("v1", "ServiceAccount"): True,
    ("v1", "Service"): True,
    ("apps/v1", "DaemonSet"): True,
    ("apps/v1", "Deployment"): True,
    ("policy/v1", "PodDisruptionBudget"): True,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): False,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): False,
    ("rbac.authorization.k8s.io/v1", "Role"): True,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): True,
    ("apiregistration.k8s.io/v1", "APIService"): False,
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): False,  # capsule-crd.yaml
}
# What RBAC rules may name: API group -> resources that exist there.
RESOURCES = {
    "": {"pods", "pods/exec", "pods/attach", "pods/log", "events", "configmaps", "secrets", "namespaces", "nodes"},
    "apps": {"daemonsets", "deployments", "replicasets"},
    "authorization.k8s.io": {"subjectaccessreviews"},
    "apiregistration.k8s.io": {"apiservices"},
    "lambda-cntr.io": {"capsules", "capsules/status"},
    "coordination.k8s.io": {"leases"},
    "debug.lambda-cntr.io": {"pods/attach", "nodes/attach", "nodes/capsule"},
}
VERBS = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
# Roles Kubernetes itself ships that the install binds.
BUILTIN_ROLES = {("Role", "kube-system", "extension-apiserver-authentication-reader")}

# Exactly what each role grants: (apiGroup, resource, verb, resourceName or None).
EXPECTED = {
    ("ClusterRole", None, "lambda-cntr-broker"): {
        ("", "pods", "get", None), ("", "pods", "list", None), ("", "pods", "watch", None),
        ("authorization.k8s.io", "subjectaccessreviews", "create", None),
        ("", "events", "create", None),
        ("apiregistration.k8s.io", "apiservices", "get", "v1alpha1.debug.lambda-cntr.io"),
        ("apiregistration.k8s.io", "apiservices", "patch", "v1alpha1.debug.lambda-cntr.io"),
    },
    ("Role", NS, "lambda-cntr-broker"): {
        ("", "pods/exec", "create", None), ("", "pods/exec", "get", None),
        ("", "pods", "create", None), ("", "pods", "delete", None),  # the capsule pods
        ("apps", "daemonsets", "get", "lambda-cntr-agent"),
        ("", "configmaps", "get", "lambda-cntr-profiles"),
        # the serving certificate the replicas share; create cannot be limited by name
        ("", "secrets", "get", "lambda-cntr-broker-serving"), ("", "secrets", "update", "lambda-cntr-broker-serving"),
        ("", "secrets", "create", None),
    },
    ("ClusterRole", None, "lambda-cntr-user"): {("", "pods", "get", None), ("", "pods/exec", "create", None)},
    ("ClusterRole", None, "lambda-cntr-node-debugger"): {("debug.lambda-cntr.io", "nodes/attach", "create", None)},
    ("ClusterRole", None, "lambda-cntr-attach-proxy"): {
        ("debug.lambda-cntr.io", "pods/attach", "get", None), ("debug.lambda-cntr.io", "nodes/attach", "get", None),
        ("debug.lambda-cntr.io", "nodes/capsule", "get", None)},
    # The caplet (70-caplet.yaml): its Capsules, and what capsule run needs through the broker.
    ("ClusterRole", None, "lambda-cntr-caplet"): {
        ("lambda-cntr.io", "capsules", "get", None), ("lambda-cntr.io", "capsules", "list", None),
        ("lambda-cntr.io", "capsules/status", "patch", None), ("", "events", "create", None),
        ("", "pods", "get", None), ("", "pods", "list", None), ("", "pods/exec", "create", None)},
    ("Role", NS, "lambda-cntr-caplet"): {
        ("coordination.k8s.io", "leases", "get", "lambda-cntr-caplet"),
        ("coordination.k8s.io", "leases", "update", "lambda-cntr-caplet"),
        ("coordination.k8s.io", "leases", "create", None)},
}


def version():
    with open(os.path.join(TOP, "CMakeLists.txt")) as f:
        return re.search(r"project\(lambda_cntr VERSION (\S+)", f.read()).group(1)


def load(paths):
    docs = []
    for path in paths:
        with open(path) as f:
            docs += [(os.path.basename(path), d) for d in yaml.safe_load_all(f) if d is not None]
    return docs


def grants(role):
    out = set()
    for rule in role.get("rules") or []:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    for name in rule.get("resourceNames") or [None]:
                        out.add((group, resource, verb, name))
    return out


class Manifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # `kubectl apply -f deploy/` reads the directory's files, not its subdirectories.
        cls.docs = load(sorted(glob.glob(os.path.join(DEPLOY, "*.yaml"))))
        cls.objs = {}
        for _, d in cls.docs:
            cls.objs[(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"])] = d

    def get(self, kind, name, ns=NS):
        return self.objs[(kind, ns, name)]

    def test_every_object_is_well_formed_known_and_in_its_namespace(self):
        self.assertGreater(len(self.docs), 10)
        for path, d in self.docs:
            where = "%s: %s" % (path, d.get("kind"))
            self.assertIsInstance(d.get("apiVersion"), str, where)
            self.assertIsInstance(d.get("kind"), str, where)
            self.assertTrue(d.get("metadata", {}).get("name"), where)
            self.assertIn((d["apiVersion"], d["kind"]), KINDS, where)
            ns = d["metadata"].get("namespace")
            if KINDS[(d["apiVersion"], d["kind"])]:
                allowed = {NS, "kube-system"} if d["kind"] == "RoleBinding" else {NS}
                self.assertIn(ns, allowed, where)
            else:
                self.assertIsNone(ns, where)
        keys = [(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for _, d in self.docs]
        self.assertEqual(len(keys), len(set(keys)), "an object is defined twice")
        # The only object outside lambda-cntr-system: the binding to the front-proxy settings reader.
        self.assertEqual([k for k in keys if k[1] == "kube-system"],
                         [("RoleBinding", "kube-system", "lambda-cntr-broker-auth-reader")])

    def test_namespace_is_the_only_privileged_one(self):
        ns = self.get("Namespace", NS, None)
        self.assertEqual(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "privileged")
        self.assertEqual([d["metadata"]["name"] for _, d in self.docs if d["kind"] == "Namespace"], [NS])

    def test_agent_daemonset(self):
        ds = self.get("DaemonSet", "lambda-cntr-agent")
        spec = ds["spec"]["template"]["spec"]
        labels = ds["spec"]["template"]["metadata"]["labels"]
        for k, v in ds["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(labels[k], v)
        # the label the broker lists agents by, and the container it execs in
        self.assertEqual(labels["app.kubernetes.io/name"], "lambda-cntr-agent")
        self.assertTrue(spec["hostPID"])
        self.assertEqual(spec["tolerations"], [{"operator": "Exists"}])
        self.assertFalse(spec["automountServiceAccountToken"])
        self.assertEqual(spec["serviceAccountName"], "lambda-cntr-agent")
        self.assertEqual(len(spec["containers"]), 1)
        c = spec["containers"][0]
        self.assertEqual(c["name"], "agent")
        self.assertEqual(c["command"], ["cntr", "agent", "idle"])
        self.assertEqual(c["image"], "lambda-cntr-agent:%s" % version())
        self.assertNotIn("ports", c)  # it listens on nothing
        self.assertTrue(c["securityContext"]["privileged"])
        self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
        self.assertTrue(c["resources"]["requests"]["cpu"])
        self.assertTrue(c["resources"]["requests"]["memory"])
        env = {e["name"]: e for e in c["env"]}
        self.assertEqual(env["LAMBDA_CNTR_AGENT"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name")
        self.assertEqual(env["LAMBDA_CNTR_IDLE_SECONDS"]["value"], "never")
        # Its only volume: a small in-memory emptyDir where `cntr agent idle` publishes its pid
        # for the sessions' audit lines (LAMBDA_CNTR_RUN_DIR); nothing of the node.
        self.assertEqual(env["LAMBDA_CNTR_RUN_DIR"], {"name": "LAMBDA_CNTR_RUN_DIR", "value": "/run/lambda-cntr"})
        self.assertEqual(sorted(env), ["LAMBDA_CNTR_AGENT", "LAMBDA_CNTR_IDLE_SECONDS", "LAMBDA_CNTR_RUN_DIR"])
        self.assertEqual(spec["volumes"], [{"name": "run", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}])
        self.assertEqual(c["volumeMounts"], [{"name": "run", "mountPath": "/run/lambda-cntr"}])

    def test_broker_deployment_is_unprivileged(self):
        dep = self.get("Deployment", "lambda-cntr-broker")
        spec = dep["spec"]["template"]["spec"]
        self.assertEqual(dep["spec"]["replicas"], 2)  # they share the serving Secret
        self.assertEqual(spec["serviceAccountName"], "lambda-cntr-broker")
        self.assertTrue(spec["securityContext"]["runAsNonRoot"])
        self.assertNotEqual(spec["securityContext"]["runAsUser"], 0)
        self.assertNotIn("hostPID", spec)
        self.assertNotIn("hostNetwork", spec)
        for c in spec["containers"]:
            sc = c["securityContext"]
            self.assertTrue(sc["readOnlyRootFilesystem"])
            self.assertFalse(sc["allowPrivilegeEscalation"])
            self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
            self.assertNotIn("add", sc["capabilities"])
            self.assertFalse(sc.get("privileged", False))
            self.assertTrue(c["resources"]["requests"])
            self.assertIn("--listen", c["command"])

    def test_caplet_deployment_is_unprivileged_elects_a_leader_and_goes_through_the_broker(self):
        dep = self.get("Deployment", "lambda-cntr-caplet")
        spec = dep["spec"]["template"]["spec"]
        broker = self.get("Deployment", "lambda-cntr-broker")["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(dep["spec"]["replicas"], 2)  # one holds the Lease
        self.assertEqual(spec["serviceAccountName"], "lambda-cntr-caplet")
        self.assertTrue(spec["securityContext"]["runAsNonRoot"])
        self.assertNotIn("hostPID", spec)
        [c] = spec["containers"]
        self.assertEqual(c["image"], broker["image"], "the broker's image carries lambda-cntr")
        self.assertEqual(c["command"], ["/usr/local/bin/lambda-cntr", "caplet", "--mode", "broker"])
        self.assertEqual(c["env"], [{"name": "POD_NAMESPACE",
                                     "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}])
        sc = c["securityContext"]
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertTrue(c["resources"]["requests"])

    def test_broker_replicas_spread_over_nodes_and_keep_one_through_disruptions(self):
        dep = self.get("Deployment", "lambda-cntr-broker")
        labels = dep["spec"]["template"]["metadata"]["labels"]
        self.assertNotEqual(dep["spec"]["strategy"]["type"], "Recreate")  # never both down for an update
        self.assertEqual(dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0)
        anti = dep["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        self.assertNotIn("requiredDuringSchedulingIgnoredDuringExecution", anti)  # a one-node cluster runs both
        [term] = anti["preferredDuringSchedulingIgnoredDuringExecution"]
        self.assertEqual(term["podAffinityTerm"]["topologyKey"], "kubernetes.io/hostname")
        self.assertEqual(term["podAffinityTerm"]["labelSelector"]["matchLabels"],
                         {"app.kubernetes.io/name": "lambda-cntr-broker"})
        self.assertEqual(labels["app.kubernetes.io/name"], "lambda-cntr-broker")
        pdb = self.get("PodDisruptionBudget", "lambda-cntr-broker")["spec"]
        self.assertEqual(pdb["minAvailable"], 1)
        self.assertNotIn("maxUnavailable", pdb)
        for k, v in pdb["selector"]["matchLabels"].items():
            self.assertEqual(labels[k], v)
        self.assertLess(pdb["minAvailable"], dep["spec"]["replicas"])  # a drain can still evict one

    def test_apiservice_points_at_the_broker_service(self):
        api = self.get("APIService", "v1alpha1.debug.lambda-cntr.io", None)["spec"]
        self.assertEqual((api["group"], api["version"]), ("debug.lambda-cntr.io", "v1alpha1"))
        self.assertEqual((api["groupPriorityMinimum"], api["versionPriority"]), (1000, 15))
        self.assertNotIn("insecureSkipTLSVerify", api)
        svc = self.get("Service", api["service"]["name"], api["service"]["namespace"])
        port = [p for p in svc["spec"]["ports"] if p["port"] == api["service"]["port"]]
        self.assertEqual(len(port), 1)
        dep = self.get("Deployment", "lambda-cntr-broker")
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        for k, v in svc["spec"]["selector"].items():
            self.assertEqual(pod_labels[k], v)
        names = [p["name"] for c in dep["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])]
        self.assertIn(port[0]["targetPort"], names)

    def test_every_rule_names_real_resources_and_verbs(self):
        for (kind, ns, name), d in self.objs.items():
            if kind not in ("Role", "ClusterRole"):
                continue
            for rule in d["rules"]:
                for group in rule["apiGroups"]:
                    self.assertIn(group, RESOURCES, name)
                    for r in rule["resources"]:
                        self.assertIn(r, RESOURCES[group], "%s: %s in %r" % (name, r, group))
                for v in rule["verbs"]:
                    self.assertIn(v, VERBS, name)
                if rule.get("resourceNames"):
                    self.assertTrue(all(v in ("get", "patch", "update", "delete") for v in rule["verbs"]),
                                    "%s: resourceNames cannot restrict list/watch/create" % name)

    def test_roles_grant_exactly_the_contract(self):
        roles = {k: d for k, d in self.objs.items() if k[0] in ("Role", "ClusterRole")}
        self.assertEqual(set(roles), set(EXPECTED))
        for key, want in EXPECTED.items():
            self.assertEqual(grants(roles[key]), want, key)

    def test_bindings_refer_to_existing_roles_and_accounts(self):
        for (kind, ns, name), d in self.objs.items():
            if kind not in ("RoleBinding", "ClusterRoleBinding"):
                continue
            ref = d["roleRef"]
            self.assertEqual(ref["apiGroup"], "rbac.authorization.k8s.io")
            role_ns = ns if ref["kind"] == "Role" else None
            self.assertTrue((ref["kind"], role_ns, ref["name"]) in self.objs or
                            (ref["kind"], role_ns, ref["name"]) in BUILTIN_ROLES, name)
            for s in d["subjects"]:
                if s["kind"] == "ServiceAccount":
                    self.assertIn(("ServiceAccount", s["namespace"], s["name"]), self.objs, name)

    def test_authenticated_users_get_nothing_the_broker_checks(self):
        # system:authenticated may reach the broker (get on the attach subresources) but never
        # holds what the broker's reviews ask: create pods/exec, create nodes/attach (a capsule
        # run, nodes/capsule, is reviewed as create pods/exec on each target).
        granted = set()
        for (kind, ns, name), d in self.objs.items():
            if kind in ("RoleBinding", "ClusterRoleBinding") and any(
                    s.get("kind") == "Group" and s["name"] == "system:authenticated" for s in d["subjects"]):
                role_ns = ns if d["roleRef"]["kind"] == "Role" else None
                granted |= grants(self.objs[(d["roleRef"]["kind"], role_ns, d["roleRef"]["name"])])
        self.assertEqual(granted, {("debug.lambda-cntr.io", "pods/attach", "get", None),
                                   ("debug.lambda-cntr.io", "nodes/attach", "get", None),
                                   ("debug.lambda-cntr.io", "nodes/capsule", "get", None)})

    def test_pod_mode_rbac_is_separate_and_does_not_clash(self):
        pod_mode = load([os.path.join(DEPLOY, "pod-mode", "rbac.yaml")])
        self.assertTrue(pod_mode)
        for _, d in pod_mode:
            self.assertIn((d["apiVersion"], d["kind"]), KINDS)
            self.assertNotIn((d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]), self.objs)


if __name__ == "__main__":
    unittest.main()
