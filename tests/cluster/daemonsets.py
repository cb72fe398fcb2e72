"""The DaemonSet controller of the stand-in: one pod per node (the stand-in's kubelet is its only
node) made from the template, as the real controller makes it — generateName `DSNAME-`, the
template's labels plus controller-revision-hash and pod-template-generation, a controller
ownerReference carrying the DaemonSet's uid, a node affinity pinning it to its node — and run by
the kubelet like any pod (a privileged hostPID agent runs on the host with the real cntr, see
node.py). Deleting the DaemonSet deletes its pods (the garbage collector's background
propagation). The status counts are computed from the pods when the DaemonSet is read."""

import copy
import hashlib
import json

DS_GV = "apps/v1"


def owned_by(pod, ds):
    return any(ref.get("uid") == ds["metadata"]["uid"] and ref.get("controller")
               for ref in pod["metadata"].get("ownerReferences") or [])


def _revision_hash(template):
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def pod_for(ds, node_name):
    template = copy.deepcopy(ds["spec"]["template"])
    meta = template.get("metadata") or {}
    labels = dict(meta.get("labels") or {})
    labels["controller-revision-hash"] = _revision_hash(ds["spec"]["template"])
    labels["pod-template-generation"] = str(ds["metadata"].get("generation", 1))
    spec = template["spec"]
    spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                "values": [node_name]}]}]}}}
    # The tolerations the controller adds to every DaemonSet pod.
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute"})
    return {"metadata": {"generateName": ds["metadata"]["name"] + "-", "labels": labels,
                         "annotations": dict(meta.get("annotations") or {}),
                         "ownerReferences": [{"apiVersion": DS_GV, "kind": "DaemonSet",
                                              "name": ds["metadata"]["name"], "uid": ds["metadata"]["uid"],
                                              "controller": True, "blockOwnerDeletion": True}]},
            "spec": spec}


class Controller:
    def __init__(self, api):
        self.api = api

    def nodes(self):
        return [self.api.kubelet.node_name]

    def pods_of(self, ds):
        items, _ = self.api.store.list(ds["metadata"]["namespace"], [], [])
        return [p for p in items if owned_by(p, ds)]

    def created(self, ds):
        for node_name in self.nodes():
            self.api.create(ds["metadata"]["namespace"], pod_for(ds, node_name))

    def deleted(self, ds):
        for pod in self.pods_of(ds):
            self.api.delete(pod["metadata"]["namespace"], pod["metadata"]["name"], None)

    def status(self, ds):
        pods = [p for p in self.pods_of(ds) if not p["metadata"].get("deletionTimestamp")]
        ready = [p for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                        for c in p["status"].get("conditions") or [])]
        n = len(self.nodes())
        ds["status"] = {"currentNumberScheduled": len(pods), "desiredNumberScheduled": n,
                        "numberMisscheduled": 0, "numberReady": len(ready), "numberAvailable": len(ready),
                        "updatedNumberScheduled": len(pods), "observedGeneration":
                            ds["metadata"].get("generation", 1)}
        if n - len(ready):
            ds["status"]["numberUnavailable"] = n - len(ready)
        return ds
