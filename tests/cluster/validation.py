"""The create/update validation of the real API for the stored kinds, for the fields the stand-in
understands: names, selectors against template labels, containers, ports, APIService priorities
and CA bundles, ConfigMap keys. Each validator returns (field, message) causes; the API answers
them as one 422 Invalid Status (see invalid())."""

import base64
import re

import rbac
from objects import ObjectError, group_of

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
               "alphabetic character, and end with an alphanumeric character")
PROTOCOLS = ("TCP", "UDP", "SCTP")


def invalid(kind, gv, name, causes):
    """The 422 of the real server: `Kind.group "name" is invalid: field: message` (a list in
    brackets when there are several)."""
    group = group_of(gv)
    qualified = "%s.%s" % (kind, group) if group else kind
    text = ", ".join("%s: %s" % c for c in causes)
    if len(causes) > 1:
        text = "[%s]" % text
    return ObjectError(422, "Invalid", '%s "%s" is invalid: %s' % (qualified, name, text),
                       {"name": name, "group": group, "kind": kind, "causes": [
                           {"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]})


def _name(obj, pattern=DNS1123_SUBDOMAIN, message=SUBDOMAIN_MSG):
    name = (obj.get("metadata") or {}).get("name") or ""
    if not name:
        return [("metadata.name", "Required value: name or generateName is required")]
    if len(name) > 253 or not pattern.match(name):
        return [("metadata.name", 'Invalid value: "%s": %s' % (name, message))]
    return []


def _labels_match(selector, labels):
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _containers(spec, where):
    causes = []
    containers = spec.get("containers") or []
    if not containers:
        causes.append((where + ".containers", "Required value"))
    for i, c in enumerate(containers):
        field = "%s.containers[%d]" % (where, i)
        if not c.get("name"):
            causes.append((field + ".name", "Required value"))
        elif not DNS1123_LABEL.match(c["name"]):
            causes.append((field + ".name", 'Invalid value: "%s": %s' % (c["name"], LABEL_MSG)))
        if not c.get("image"):
            causes.append((field + ".image", "Required value"))
    return causes


def _pod_template_owner(obj):
    """DaemonSets and Deployments: a selector that selects the template's labels."""
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    causes = []
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(("spec.selector", "Required value"))
    elif not _labels_match(selector, labels):
        causes.append(("spec.template.metadata.labels", "Invalid value: %s: `selector` does not match "
                       "template `labels`" % _go_map(labels)))
    policy = (template.get("spec") or {}).get("restartPolicy", "Always")
    if policy != "Always":
        causes.append(("spec.template.spec.restartPolicy", 'Unsupported value: "%s": supported values: '
                       '"Always"' % policy))
    return causes + _containers(template.get("spec") or {}, "spec.template.spec")


def _go_map(labels):
    return "map[string]string{%s}" % ", ".join('"%s":"%s"' % kv for kv in sorted(labels.items()))


def _service(obj):
    spec = obj.get("spec") or {}
    causes = []
    if spec.get("type", "ClusterIP") != "ExternalName" and not spec.get("ports"):
        causes.append(("spec.ports", "Required value"))
    for i, p in enumerate(spec.get("ports") or []):
        field = "spec.ports[%d]" % i
        port = p.get("port")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            causes.append((field + ".port", "Invalid value: %s: must be between 1 and 65535, inclusive" % port))
        if p.get("protocol", "TCP") not in PROTOCOLS:
            causes.append((field + ".protocol", 'Unsupported value: "%s": supported values: "SCTP", "TCP", '
                           '"UDP"' % p["protocol"]))
        if len(spec.get("ports")) > 1 and not p.get("name"):
            causes.append((field + ".name", "Required value"))
    return _name(obj, DNS1035_LABEL, DNS1035_MSG) + causes


def _apiservice(obj):
    """apiregistration's rules: the name is VERSION.GROUP, priorities in range, a CA bundle or
    insecureSkipTLSVerify (never both), a service reference with a namespace and name."""
    spec = obj.get("spec") or {}
    name = (obj.get("metadata") or {}).get("name") or ""
    causes = []
    group, version = spec.get("group") or "", spec.get("version") or ""
    if name != "%s.%s" % (version, group):
        causes.append(("metadata.name", 'Invalid value: "%s": must be `spec.version+"."+spec.group`: "%s.%s"'
                       % (name, version, group)))
    if not version:
        causes.append(("spec.version", "Required value"))
    if not isinstance(spec.get("groupPriorityMinimum"), int) or not 0 < spec["groupPriorityMinimum"] <= 20000:
        causes.append(("spec.groupPriorityMinimum", "Invalid value: %s: must be positive and less than 20000"
                       % spec.get("groupPriorityMinimum")))
    if not isinstance(spec.get("versionPriority"), int) or not 0 < spec["versionPriority"] <= 1000:
        causes.append(("spec.versionPriority", "Invalid value: %s: must be positive and less than 1000"
                       % spec.get("versionPriority")))
    service = spec.get("service")
    if service is not None:
        if not service.get("namespace"):
            causes.append(("spec.service.namespace", "Required value"))
        if not service.get("name"):
            causes.append(("spec.service.name", "Required value"))
        port = service.get("port", 443)
        if not isinstance(port, int) or not 1 <= port <= 65535:
            causes.append(("spec.service.port", "Invalid value: %s: port is not valid" % port))
    if spec.get("insecureSkipTLSVerify") and spec.get("caBundle"):
        causes.append(("spec.insecureSkipTLSVerify", "Invalid value: true: may not be true if caBundle is present"))
    if spec.get("caBundle"):
        try:
            base64.b64decode(spec["caBundle"], validate=True)
        except ValueError:
            causes.append(("spec.caBundle", "Invalid value: illegal base64 data"))
    return causes


def _configmap(obj):
    causes = _name(obj)
    for field in ("data", "binaryData"):
        for key in obj.get(field) or {}:
            if not CONFIGMAP_KEY.match(key) or len(key) > 253:
                causes.append(("%s[%s]" % (field, key), 'Invalid value: "%s": a valid config key must consist '
                               "of alphanumeric characters, '-', '_' or '.'" % key))
    for key, value in (obj.get("data") or {}).items():
        if not isinstance(value, str):
            raise ObjectError(400, "BadRequest", "json: cannot unmarshal %s into Go struct field ConfigMap.data "
                              "of type string" % type(value).__name__)
    return causes


VALIDATORS = {
    "daemonsets": lambda o: _name(o) + _pod_template_owner(o),
    "deployments": lambda o: _name(o) + _pod_template_owner(o),
    "services": _service,
    "apiservices": _apiservice,
    "configmaps": _configmap,
    "serviceaccounts": _name,
    "roles": lambda o: _name(o) + rbac.validate("roles", o),
    "rolebindings": lambda o: _name(o) + rbac.validate("rolebindings", o),
    "clusterroles": lambda o: _name(o) + rbac.validate("clusterroles", o),
    "clusterrolebindings": lambda o: _name(o) + rbac.validate("clusterrolebindings", o),
}


def validate(gv, plural, kind, obj):
    """Raise the 422 of the real server when obj is invalid."""
    check = VALIDATORS.get(plural)
    causes = check(obj) if check else []
    if causes:
        raise invalid(kind, gv, (obj.get("metadata") or {}).get("name") or "", causes)
