"""ApiServer.apply_manifests: the objects of multi-document YAML files created through the same
code as their POSTs (validation, namespace checks, controllers), in file and document order as
`kubectl apply -f FILE|DIR` sends them; an object that exists is replaced (PUT), as apply
updates it. Kinds: Namespace, Pod, Event and everything objects.RESOURCES stores (ServiceAccount,
ConfigMap, Secret, Service, Role, ClusterRole, RoleBinding, ClusterRoleBinding, DaemonSet,
Deployment, PodDisruptionBudget, APIService...); `kind: List` is unpacked. Anything else is refused as kubectl would report it."""

import os

import yaml

import objects


class ManifestError(Exception):
    pass


def documents(path):
    files = [path]
    if os.path.isdir(path):
        files = [os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith((".yaml", ".yml", ".json"))]
    for file in files:
        with open(file) as f:
            try:
                docs = list(yaml.safe_load_all(f))
            except yaml.YAMLError as e:
                raise ManifestError("error parsing %s: %s" % (file, e))
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
                raise ManifestError("error validating %s: apiVersion or kind not set" % file)
            if doc["kind"] == "List":
                for item in doc.get("items") or []:
                    yield file, item
            else:
                yield file, doc


def apply_one(api, obj):
    gv, kind = obj["apiVersion"], obj["kind"]
    meta = obj.get("metadata") or {}
    name, ns = meta.get("name"), meta.get("namespace")
    if (gv, kind) == ("v1", "Namespace"):
        if name not in api.store.namespaces:
            api.create_namespace(obj)
        return kind, None, name
    if (gv, kind) == ("v1", "Pod"):
        return kind, ns or "default", api.create(ns or "default", obj)["metadata"]["name"]
    if (gv, kind) not in objects.KINDS:
        raise ManifestError('resource mapping not found for name: "%s" namespace: "%s" from "%s": no matches for '
                            'kind "%s" in version "%s"' % (name, ns or "", gv, kind, gv))
    gv, plural = objects.KINDS[(gv, kind)]
    namespaced = objects.RESOURCES[(gv, plural)][1]
    ns = (ns or "default") if namespaced else None
    if name and api.objects.get(gv, plural, ns, name) is not None:
        api.update_object(gv, plural, ns, name, obj)
    else:
        api.create_object(gv, plural, obj, ns)
    return kind, ns, name


def apply(api, path):
    return [apply_one(api, obj) for _, obj in documents(path)]
