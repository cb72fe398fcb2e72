#!/usr/bin/python3
"""The stand-in's Namespaces, Nodes, SelfSubjectReview, pod merge patches, imageIDs, Secrets and
PodDisruptionBudgets answer as the real API server does (coreapi.py, kubelet.py, objects.py):
status codes, Status bodies, object shapes."""

import http.client
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_apiserver  # noqa: E402
from test_apiserver import skip_unless_root  # noqa: E402


class CoreObjectTests(unittest.TestCase):
    # The stand-in and a client as test_apiserver.py has them (not its tests).
    setUp = test_apiserver.StandInTests.setUp
    tls = test_apiserver.StandInTests.tls
    request = test_apiserver.StandInTests.request
    pod = test_apiserver.StandInTests.pod

    def test_a_namespace_is_404_until_created_then_200(self):
        status, body = self.request("GET", "/api/v1/namespaces/lambda-cntr-system")
        self.assertEqual(status, 404)
        self.assertEqual((body["kind"], body["reason"], body["message"], body["details"]),
                         ("Status", "NotFound", 'namespaces "lambda-cntr-system" not found',
                          {"name": "lambda-cntr-system", "kind": "namespaces"}))
        status, body = self.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                                    "metadata": {"name": "lambda-cntr-system"}})
        self.assertEqual((status, body["kind"], body["status"]["phase"]), (201, "Namespace", "Active"))
        status, body = self.request("GET", "/api/v1/namespaces/lambda-cntr-system")
        self.assertEqual((status, body["metadata"]["name"]), (200, "lambda-cntr-system"))
        self.assertEqual(self.request("POST", "/api/v1/namespaces", {"metadata": {"name": "lambda-cntr-system"}})[0],
                         409)

    def test_reading_a_namespace_is_authorized_in_that_namespace(self):
        self.server.forbid("get", "namespaces")
        status, body = self.request("GET", "/api/v1/namespaces/default")
        self.assertEqual(status, 403)
        self.assertEqual(body["message"], 'namespaces "default" is forbidden: User "alice" cannot get resource '
                                          '"namespaces" in API group "" in the namespace "default"')

    def test_nodes_are_the_kubelets_and_others_are_404(self):
        status, body = self.request("GET", "/api/v1/nodes/node-1")
        self.assertEqual((status, body["kind"], body["metadata"]["name"]), (200, "Node", "node-1"))
        self.assertEqual(body["status"]["conditions"][0]["type"], "Ready")
        status, body = self.request("GET", "/api/v1/nodes/node-9")
        self.assertEqual((status, body["reason"], body["message"]), (404, "NotFound", 'nodes "node-9" not found'))
        self.server.forbid("get", "nodes")
        status, body = self.request("GET", "/api/v1/nodes/node-1")
        self.assertEqual(body["message"], 'nodes "node-1" is forbidden: User "alice" cannot get resource "nodes" '
                                          'in API group "" at the cluster scope')

    def test_self_subject_review_names_the_authenticated_user(self):
        status, body = self.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                    {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        self.assertEqual(status, 201)
        # A plain token user is a member of system:masters in the stand-in (apiserver.token_user).
        self.assertEqual(body["status"]["userInfo"],
                         {"username": "alice", "groups": ["system:masters", "system:authenticated"]})
        status, body = self.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {},
                                    cert=None, token="tok")
        self.assertEqual(body["status"]["userInfo"]["username"], "carol")
        self.server.serve_self_subject_review = False
        self.assertEqual(self.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {})[0], 404)

    def patch(self, path, body, ctype="application/merge-patch+json"):
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=self.tls("alice"))
        conn.request("PATCH", path, body=json.dumps(body), headers={"Content-Type": ctype})
        resp = conn.getresponse()
        data = json.loads(resp.read() or b"null")
        conn.close()
        return resp.status, data

    def test_pod_merge_patch_changes_labels_and_annotations_only(self):
        skip_unless_root()
        self.server.create_pod(self.pod("web"))
        path = "/api/v1/namespaces/default/pods/web"
        status, body = self.patch(path, {"metadata": {"annotations": {"a": "1"}, "labels": {"tier": None}}})
        self.assertEqual(status, 200)
        self.assertEqual(body["metadata"]["annotations"], {"a": "1"})
        self.assertEqual(body["metadata"]["labels"], {"app": "web"})
        status, body = self.patch(path, {"spec": {"hostPID": True}})
        self.assertEqual((status, body["reason"]), (422, "Invalid"))
        self.assertIn("pod updates may not change fields other than", body["message"])
        status, body = self.patch(path, {"metadata": {"resourceVersion": "1", "annotations": {"b": "2"}}})
        self.assertEqual((status, body["reason"]), (409, "Conflict"))
        self.server.forbid("patch", "pods")
        self.assertEqual(self.patch(path, {"metadata": {"annotations": {"b": "2"}}})[0], 403)

    def test_image_ids_are_repository_digests_without_the_tag(self):
        kubelet = self.server.kubelet
        self.assertRegex(kubelet.image_id("busybox:1.36"), r"^docker\.io/library/busybox@sha256:[0-9a-f]{64}$")
        self.assertNotEqual(kubelet.image_id("busybox:1.36"), kubelet.image_id("busybox:1.37"))
        self.assertEqual(kubelet.image_id("registry.example:5000/team/agent@sha256:" + "a" * 64),
                         "registry.example:5000/team/agent@sha256:" + "a" * 64)
        kubelet.image_digests["team/agent:1"] = "e" * 64
        self.assertEqual(kubelet.image_id("team/agent:1"), "docker.io/team/agent@sha256:" + "e" * 64)


    def test_secrets_answer_with_the_real_status_bodies_and_rbac(self):
        path = "/api/v1/namespaces/default/secrets"
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls"}, "type": "kubernetes.io/tls",
                  "data": {"tls.crt": "Y3J0", "tls.key": "a2V5"}}
        self.assertEqual(self.request("GET", path + "/tls"), (404, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'secrets "tls" not found', "reason": "NotFound", "code": 404,
            "details": {"name": "tls", "kind": "secrets"}}))
        status, created = self.request("POST", path, secret)
        self.assertEqual((status, created["data"], created["type"]), (201, secret["data"], "kubernetes.io/tls"))
        status, body = self.request("POST", path, secret)
        self.assertEqual((status, body["reason"], body["message"], body["details"]),
                         (409, "AlreadyExists", 'secrets "tls" already exists', {"name": "tls", "kind": "secrets"}))
        stale = dict(secret, metadata={"name": "tls", "resourceVersion": "1"})
        status, body = self.request("PUT", path + "/tls", stale)
        self.assertEqual((status, body["reason"], body["details"]),
                         (409, "Conflict", {"name": "tls", "kind": "secrets"}))
        self.assertEqual(body["message"], 'Operation cannot be fulfilled on secrets "tls": the object has been '
                                          'modified; please apply your changes to the latest version and try again')
        current = dict(secret, metadata={"name": "tls", "resourceVersion": created["metadata"]["resourceVersion"]})
        status, updated = self.request("PUT", path + "/tls", current)
        self.assertEqual(status, 200)
        self.assertNotEqual(updated["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"])
        # data is []byte: JSON decoding fails on what is not base64, before any validation.
        status, body = self.request("POST", path, dict(secret, metadata={"name": "b"}, data={"tls.crt": "no!",
                                                                                            "tls.key": "a2V5"}))
        self.assertEqual((status, body["reason"], body["message"]), (400, "BadRequest", 'Secret in version "v1" '
                         'cannot be handled as a Secret: illegal base64 data at input byte 2'))
        status, body = self.request("POST", path, dict(secret, metadata={"name": "c"}, data={"tls.crt": "Y3J0"}))
        self.assertEqual((status, body["message"]), (422, 'Secret "c" is invalid: data[tls.key]: Required value'))
        status, body = self.request("PUT", path + "/tls", dict(secret, type="Opaque"))
        self.assertEqual((status, body["message"]), (422, 'Secret "tls" is invalid: type: Invalid value: "Opaque": '
                                                          'field is immutable'))
        self.assertEqual(self.request("POST", path, {"metadata": {"name": "plain"}})[1]["type"], "Opaque")
        # RBAC: a rule naming one Secret allows get and update of that one; create is its own rule.
        rbac_gv = "rbac.authorization.k8s.io/v1"
        self.server.objects.put(rbac_gv, "roles", {"metadata": {"name": "one"}, "rules": [
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["tls"],
             "verbs": ["get", "update", "create"]}]}, "default")
        self.server.objects.put(rbac_gv, "rolebindings", {
            "metadata": {"name": "one"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "one"},
            "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "default"}]}, "default")
        token = self.server.service_account_token("default", "robot")
        self.assertEqual(self.request("GET", path + "/tls", cert=None, token=token)[0], 200)
        self.assertEqual(self.request("GET", path + "/plain", cert=None, token=token)[0], 403)
        status, body = self.request("POST", path, dict(secret, metadata={"name": "tls"}), cert=None, token=token)
        self.assertEqual((status, body["message"]), (403, 'secrets is forbidden: User "system:serviceaccount:default:'
                                                          'robot" cannot create resource "secrets" in API group "" in '
                                                          'the namespace "default"'))

    def test_pod_disruption_budgets_are_stored_under_policy_v1(self):
        path = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
        pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
               "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}
        status, body = self.request("POST", path, pdb)
        self.assertEqual((status, body["kind"], body["spec"]["minAvailable"]), (201, "PodDisruptionBudget", 1))
        self.assertEqual(self.request("GET", path + "/web")[0], 200)
        status, body = self.request("GET", path + "/nope")
        self.assertEqual((status, body["message"], body["details"]), (404, 'poddisruptionbudgets.policy "nope" not '
                         'found', {"name": "nope", "group": "policy", "kind": "poddisruptionbudgets"}))
        both = dict(pdb, metadata={"name": "both"}, spec=dict(pdb["spec"], maxUnavailable=1))
        status, body = self.request("POST", path, both)
        self.assertEqual((status, body["reason"]), (422, "Invalid"))
        self.assertIn("minAvailable and maxUnavailable cannot be both set", body["message"])

if __name__ == "__main__":
    unittest.main(verbosity=2)
