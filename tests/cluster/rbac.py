"""RBAC of the stand-in, evaluated as kube-apiserver's RBAC authorizer does (rbac.authorization.k8s.io/v1):
Roles and ClusterRoles grant rules (apiGroups, resources with `resource/subresource` and `*`,
resourceNames, verbs, nonResourceURLs); RoleBindings (in their namespace) and ClusterRoleBindings
(everywhere) give them to subjects: Users, Groups (`system:authenticated`,
`system:serviceaccounts`, `system:serviceaccounts:NS`...) and ServiceAccounts (the user
`system:serviceaccount:NS:NAME`). The group `system:masters` is allowed everything, as the real
server's privileged-group authorizer does, before RBAC is asked.

Also the validation the real API applies to these four kinds on create, and the bootstrap policy
every cluster has (cluster-admin, system:discovery, system:basic-user, system:auth-delegator,
kube-system's extension-apiserver-authentication-reader)."""

RBAC_GV = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ("User", "Group", "ServiceAccount")

BOOTSTRAP = [
    ("clusterroles", {"metadata": {"name": "cluster-admin"}, "rules": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        {"nonResourceURLs": ["*"], "verbs": ["*"]}]}),
    ("clusterrolebindings", {"metadata": {"name": "cluster-admin"},
                             "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "cluster-admin"},
                             "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": "system:masters"}]}),
    ("clusterroles", {"metadata": {"name": "system:discovery"}, "rules": [
        {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                             "/openapi/*", "/readyz", "/version", "/version/"], "verbs": ["get"]}]}),
    ("clusterrolebindings", {"metadata": {"name": "system:discovery"},
                             "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "system:discovery"},
                             "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": "system:authenticated"}]}),
    # What aggregated API servers are bound to (kubeadm and the API server create these).
    ("clusterroles", {"metadata": {"name": "system:auth-delegator"}, "rules": [
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]}]}),
    ("roles", {"metadata": {"name": "extension-apiserver-authentication-reader", "namespace": "kube-system"},
               "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                          "resourceNames": ["extension-apiserver-authentication"],
                          "verbs": ["get", "list", "watch"]}]}),
    ("clusterroles", {"metadata": {"name": "system:basic-user"}, "rules": [
        {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews",
                                                               "selfsubjectrulesreviews"], "verbs": ["create"]}]}),
    ("clusterrolebindings", {"metadata": {"name": "system:basic-user"},
                             "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "system:basic-user"},
                             "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": "system:authenticated"}]}),
]


def service_account_user(namespace, name):
    return "system:serviceaccount:%s:%s" % (namespace, name)


def service_account_groups(namespace):
    return ["system:serviceaccounts", "system:serviceaccounts:%s" % namespace]


class Attributes:
    """What is being asked: a resource request (verb, group, resource, subresource, namespace,
    name) or a non-resource one (verb, path) — the authorizer.Attributes of the real server."""

    def __init__(self, verb, resource=None, group="", subresource="", namespace="", name="", path=None):
        self.verb, self.group, self.resource, self.subresource = verb, group or "", resource, subresource or ""
        self.namespace, self.name, self.path = namespace or "", name or "", path

    @property
    def is_resource(self):
        return self.path is None

    @property
    def full_resource(self):
        return self.resource + ("/" + self.subresource if self.subresource else "")

    def forbidden_message(self, user):
        """The real server's words for a denial."""
        if not self.is_resource:
            return 'forbidden: User "%s" cannot %s path "%s"' % (user, self.verb, self.path)
        qualified = self.resource + ("." + self.group if self.group else "")
        subject = '%s "%s"' % (qualified, self.name) if self.name else qualified
        scope = 'in the namespace "%s"' % self.namespace if self.namespace else "at the cluster scope"
        return '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s' % (
            subject, user, self.verb, self.full_resource, self.group, scope)

    def forbidden_details(self):
        if not self.is_resource:
            return None
        details = {"kind": self.resource}
        if self.group:
            details["group"] = self.group
        if self.name:
            details["name"] = self.name
        return details


def _has(values, wanted):
    return "*" in (values or []) or wanted in (values or [])


def _resource_matches(rule_resources, attrs):
    for r in rule_resources or []:
        if r in ("*", attrs.full_resource):
            return True
        if attrs.subresource and r == "*/" + attrs.subresource:
            return True
    return False


def _path_matches(urls, path):
    for u in urls or []:
        if u == "*" or u == path or (u.endswith("*") and path.startswith(u[:-1])):
            return True
    return False


def rule_allows(rule, attrs):
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.is_resource:
        return _path_matches(rule.get("nonResourceURLs"), attrs.path)
    if not _has(rule.get("apiGroups"), attrs.group) or not _resource_matches(rule.get("resources"), attrs):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def subject_matches(subject, user, groups, binding_namespace):
    kind = subject.get("kind")
    if kind == "User":
        return subject.get("name") == user
    if kind == "Group":
        return subject.get("name") in groups
    if kind == "ServiceAccount":
        return user == service_account_user(subject.get("namespace") or binding_namespace, subject.get("name"))
    return False


class Evaluator:
    """Reads the bindings and roles of an objects.ObjectStore at each decision."""

    def __init__(self, store):
        self.store = store

    def _role_rules(self, role_ref, namespace):
        if role_ref.get("kind") == "ClusterRole":
            role = self.store.get(RBAC_GV, "clusterroles", None, role_ref.get("name"))
        else:
            role = self.store.get(RBAC_GV, "roles", namespace, role_ref.get("name"))
        return (role or {}).get("rules") or []

    def _bindings(self, attrs):
        for b in self.store.list(RBAC_GV, "clusterrolebindings", None)["items"]:
            yield "ClusterRoleBinding", b, None
        if attrs.is_resource and attrs.namespace:
            for b in self.store.list(RBAC_GV, "rolebindings", attrs.namespace)["items"]:
                yield "RoleBinding", b, attrs.namespace

    def decide(self, user, groups, attrs):
        """(allowed, reason) with the reason RBAC gives an allowed request."""
        if "system:masters" in groups:
            return True, ""
        for kind, binding, namespace in self._bindings(attrs):
            if not any(subject_matches(s, user, groups, namespace) for s in binding.get("subjects") or []):
                continue
            ref = binding.get("roleRef") or {}
            if any(rule_allows(rule, attrs) for rule in self._role_rules(ref, namespace)):
                where = ' in namespace "%s"' % namespace if namespace else ""
                return True, 'RBAC: allowed by %s "%s" of %s "%s" to User "%s"%s' % (
                    kind, binding["metadata"]["name"], ref.get("kind"), ref.get("name"), user, where)
        return False, ""


def validate(plural, obj):
    """(field, message) causes of the real validation of Role/ClusterRole/RoleBinding/
    ClusterRoleBinding for what the stand-in understands."""
    causes = []
    if plural in ("roles", "clusterroles"):
        rules = obj.get("rules")
        if plural == "clusterroles" and obj.get("aggregationRule"):
            return causes
        for i, rule in enumerate(rules or []):
            where = "rules[%d]" % i
            if not rule.get("verbs"):
                causes.append((where + ".verbs", "Required value: verbs must contain at least one value"))
            if rule.get("nonResourceURLs"):
                if plural == "roles":
                    causes.append((where + ".nonResourceURLs", "Invalid value: %s: namespaced rules cannot "
                                   "apply to non-resource URLs" % rule["nonResourceURLs"]))
                if rule.get("resources") or rule.get("apiGroups"):
                    causes.append((where + ".nonResourceURLs", "Invalid value: %s: rules cannot apply to both "
                                   "regular resources and non-resource URLs" % rule["nonResourceURLs"]))
            else:
                if not rule.get("resources"):
                    causes.append((where + ".resources", "Required value: resource rules must supply at "
                                   "least one resource"))
                if rule.get("apiGroups") is None or rule.get("apiGroups") == []:
                    causes.append((where + ".apiGroups", "Required value: resource rules must supply at "
                                   "least one api group"))
    else:
        ref = obj.get("roleRef") or {}
        allowed = ("ClusterRole",) if plural == "clusterrolebindings" else ("Role", "ClusterRole")
        if ref.get("apiGroup") != RBAC_GROUP:
            causes.append(("roleRef.apiGroup", 'Unsupported value: "%s": supported values: "%s"'
                           % (ref.get("apiGroup", ""), RBAC_GROUP)))
        if ref.get("kind") not in allowed:
            causes.append(("roleRef.kind", 'Unsupported value: "%s": supported values: %s'
                           % (ref.get("kind", ""), ", ".join('"%s"' % k for k in allowed))))
        if not ref.get("name"):
            causes.append(("roleRef.name", "Required value"))
        for i, s in enumerate(obj.get("subjects") or []):
            where = "subjects[%d]" % i
            if s.get("kind") not in SUBJECT_KINDS:
                causes.append((where + ".kind", 'Unsupported value: "%s": supported values: "ServiceAccount", '
                               '"User", "Group"' % s.get("kind", "")))
            if not s.get("name"):
                causes.append((where + ".name", "Required value"))
            if s.get("kind") == "ServiceAccount":
                if s.get("apiGroup"):
                    causes.append((where + ".apiGroup", 'Unsupported value: "%s": supported values: ""'
                                   % s["apiGroup"]))
                if plural == "clusterrolebindings" and not s.get("namespace"):
                    causes.append((where + ".namespace", "Required value"))
            elif s.get("kind") in ("User", "Group") and s.get("apiGroup") != RBAC_GROUP:
                causes.append((where + ".apiGroup", 'Unsupported value: "%s": supported values: "%s"'
                               % (s.get("apiGroup", ""), RBAC_GROUP)))
    return causes
