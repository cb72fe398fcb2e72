"""The create/update validation of the real API for the stored kinds, for the fields the stand-in
understands: names, selectors against template labels, containers, ports, APIService priorities
and CA bundles, ConfigMap and Secret keys, Secret data (base64, decoded while the request is read:
a 400, as the real server's JSON decoding fails) and the keys a Secret's type requires, the type
that may not change, PodDisruptionBudget budgets. Each validator returns (field, message) causes;
the API answers them as one 422 Invalid Status (see invalid()). defaults() fills in what the real
server defaults (a Secret's type: Opaque). A Secret's stringData is not implemented."""

import base64
import re

import rbac
from objects import ObjectError, group_of

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
BASE64_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
# Secret type -> the data keys it requires (the real API's validation).
SECRET_TYPE_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/basic-auth": (),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
}
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
    details = {"name": name, "kind": kind, "causes": [
        {"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]}
    if group:
        details["group"] = group  # omitempty in the real server's JSON
    return ObjectError(422, "Invalid", '%s "%s" is invalid: %s' % (qualified, name, text), details)


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


def _illegal_base64_at(text):
    """None when text is standard base64 with padding (CR and LF skipped, as Go's decoder does),
    else the input byte the error names: the first character outside the alphabet, or the end
    when the length is wrong (the stand-in does not copy Go's offsets for truncated input)."""
    body = text.replace("\r", "").replace("\n", "")
    stripped = body.rstrip("=")
    for n, c in enumerate(stripped):
        if c not in BASE64_ALPHABET:
            return n
    if len(body) % 4 or len(body) - len(stripped) > 2:
        return len(body)
    return None


def _secret(obj):
    causes = _name(obj)
    data = obj.get("data") or {}
    for key, value in data.items():
        if not isinstance(value, str):
            raise ObjectError(400, "BadRequest", "json: cannot unmarshal %s into Go struct field Secret.data "
                              "of type []uint8" % type(value).__name__)
        at = _illegal_base64_at(value)
        if at is not None:
            raise ObjectError(400, "BadRequest", 'Secret in version "v1" cannot be handled as a Secret: illegal '
                              "base64 data at input byte %d" % at)
        if not CONFIGMAP_KEY.match(key) or len(key) > 253:
            causes.append(("data[%s]" % key, 'Invalid value: "%s": a valid config key must consist of '
                           "alphanumeric characters, '-', '_' or '.'" % key))
    for key in SECRET_TYPE_KEYS.get(obj.get("type"), ()):
        if key not in data:
            causes.append(("data[%s]" % key, "Required value"))
    return causes


def _pod_disruption_budget(obj):
    spec = obj.get("spec") or {}
    causes = _name(obj)
    if "minAvailable" in spec and "maxUnavailable" in spec:
        causes.append(("spec", "Invalid value: %s: minAvailable and maxUnavailable cannot be both set"
                       % _go_struct(spec)))
    for field in ("minAvailable", "maxUnavailable"):
        value = spec.get(field)
        if isinstance(value, int) and value < 0:
            causes.append(("spec.%s" % field, "Invalid value: %d: must be greater than or equal to 0" % value))
        elif isinstance(value, str) and not re.match(r"^\d+%$", value):
            causes.append(("spec.%s" % field, 'Invalid value: "%s": a valid percent string must be a numeric '
                           "string followed by an ending '%%'" % value))
    return causes


def _go_struct(spec):
    return "policy.PodDisruptionBudgetSpec{MinAvailable:%s, MaxUnavailable:%s}" % (
        spec.get("minAvailable"), spec.get("maxUnavailable"))


VALIDATORS = {
    "daemonsets": lambda o: _name(o) + _pod_template_owner(o),
    "deployments": lambda o: _name(o) + _pod_template_owner(o),
    "services": _service,
    "apiservices": _apiservice,
    "configmaps": _configmap,
    "secrets": _secret,
    "poddisruptionbudgets": _pod_disruption_budget,
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


def defaults(plural, obj):
    """What the real server fills in before validating."""
    if plural == "secrets" and isinstance(obj, dict) and not obj.get("type"):
        obj["type"] = "Opaque"


def validate_update(gv, plural, kind, old, new):
    """The 422 of an update that changes what may not change (a Secret's type)."""
    if plural == "secrets" and old is not None and old.get("type") != new.get("type"):
        raise invalid(kind, gv, (new.get("metadata") or {}).get("name") or "",
                      [("type", 'Invalid value: "%s": field is immutable' % new.get("type"))])
