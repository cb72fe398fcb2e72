"""The stand-in's storage: pods, resourceVersions, the event history that WATCH replays, and
label/field selectors, with the semantics of the real API server for what lambda-cntr uses."""

import copy
import datetime
import re
import threading
import uuid


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SelectorError(ValueError):
    pass


def _split_top_level(text):
    """Split a selector at commas that are not inside `in (a,b)` parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


_SET_RE = re.compile(r"^([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)$")
_OP_RE = re.compile(r"^([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.-]*)$")
_KEY_RE = re.compile(r"^(!?)([A-Za-z0-9_./-]+)$")


def parse_label_selector(text):
    """A list of predicates over a labels dict; raises SelectorError like the API's 400."""
    preds = []
    for req in _split_top_level(text or ""):
        m = _SET_RE.match(req)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            if op == "in":
                preds.append(lambda l, k=key, vs=values: l.get(k) in vs)
            else:
                preds.append(lambda l, k=key, vs=values: l.get(k) not in vs)
            continue
        m = _OP_RE.match(req)
        if m:
            key, op, value = m.groups()
            if op == "!=":
                preds.append(lambda l, k=key, v=value: l.get(k) != v)
            else:
                preds.append(lambda l, k=key, v=value: l.get(k) == v)
            continue
        m = _KEY_RE.match(req)
        if m:
            neg, key = m.groups()
            if neg:
                preds.append(lambda l, k=key: k not in l)
            else:
                preds.append(lambda l, k=key: k in l)
            continue
        raise SelectorError("unable to parse requirement: %r" % req)
    return preds


_FIELDS = {
    "metadata.name": lambda p: p["metadata"]["name"],
    "metadata.namespace": lambda p: p["metadata"]["namespace"],
    "spec.nodeName": lambda p: p["spec"].get("nodeName", ""),
    "spec.restartPolicy": lambda p: p["spec"].get("restartPolicy", "Always"),
    "status.phase": lambda p: p.get("status", {}).get("phase", ""),
}


def parse_field_selector(text):
    preds = []
    for req in _split_top_level(text or ""):
        m = re.match(r"^([A-Za-z.]+)\s*(==|!=|=)\s*(.*)$", req)
        if not m:
            raise SelectorError("invalid selector: '%s'; can't understand '%s'" % (text, req))
        field, op, value = m.groups()
        if field not in _FIELDS:
            raise SelectorError('"%s" is not a known field selector: only "%s"' % (
                field, '", "'.join(sorted(_FIELDS))))
        getter = _FIELDS[field]
        if op == "!=":
            preds.append(lambda p, g=getter, v=value: g(p) != v)
        else:
            preds.append(lambda p, g=getter, v=value: g(p) == v)
    return preds


def matches(pod, label_preds, field_preds):
    labels = pod["metadata"].get("labels") or {}
    return all(p(labels) for p in label_preds) and all(p(pod) for p in field_preds)


class Store:
    """Pods keyed by (namespace, name). Every change bumps the resourceVersion and appends an
    event; watchers wait on the condition. Events older than `oldest_rv` are compacted away,
    as etcd does, so a watch from before it gets a 410 ERROR event."""

    def __init__(self):
        self.lock = threading.Condition()
        self.rv = 1
        self.pods = {}
        self.events = []  # (rv, type, namespace, object)
        self.oldest_rv = 1
        self.namespaces = {"default", "kube-system", "kube-public"}
        self.creates = []  # (namespace, name) of every successful POST, for tests
        self.watch_generation = 0  # bumped by expire_watches()

    def _record(self, kind, pod):
        self.rv += 1
        pod["metadata"]["resourceVersion"] = str(self.rv)
        self.events.append((self.rv, kind, pod["metadata"]["namespace"], copy.deepcopy(pod)))
        if len(self.events) > 5000:
            self.compact(keep=1000)
        self.lock.notify_all()

    def compact(self, keep=0):
        """Forget all but the last `keep` events (tests call it with 0 to force a 410)."""
        with self.lock:
            if keep:
                self.events = self.events[-keep:]
            else:
                self.events = []
            self.oldest_rv = self.events[0][0] - 1 if self.events else self.rv

    def expire_watches(self):
        """Every open watch ends with ERROR 410, as when etcd compacts past its revision."""
        with self.lock:
            self.watch_generation += 1
            self.lock.notify_all()

    def add(self, pod):
        with self.lock:
            meta = pod["metadata"]
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            self.pods[(meta["namespace"], meta["name"])] = pod
            self._record("ADDED", pod)
            return copy.deepcopy(pod)

    def get(self, namespace, name):
        with self.lock:
            pod = self.pods.get((namespace, name))
            return copy.deepcopy(pod) if pod else None

    def update(self, namespace, name, mutate):
        """Apply mutate(pod) under the lock; returns the new copy, or None if the pod is gone."""
        with self.lock:
            pod = self.pods.get((namespace, name))
            if pod is None:
                return None
            mutate(pod)
            self._record("MODIFIED", pod)
            return copy.deepcopy(pod)

    def remove(self, namespace, name):
        with self.lock:
            pod = self.pods.pop((namespace, name), None)
            if pod is not None:
                self._record("DELETED", pod)

    def list(self, namespace, label_preds, field_preds):
        with self.lock:
            items = [copy.deepcopy(p) for (ns, _), p in sorted(self.pods.items())
                     if (namespace is None or ns == namespace) and matches(p, label_preds, field_preds)]
            return items, str(self.rv)

    def events_after(self, rv, namespace, timeout):
        """Events with resourceVersion > rv, waiting up to timeout for one. Returns None when
        rv has been compacted away (the caller answers 410 Gone)."""
        with self.lock:
            if rv < self.oldest_rv:
                return None
            def pending():
                return [e for e in self.events if e[0] > rv and (namespace is None or e[2] == namespace)]
            found = pending()
            if not found:
                self.lock.wait(timeout)
                if rv < self.oldest_rv:
                    return None
                found = pending()
            return found
