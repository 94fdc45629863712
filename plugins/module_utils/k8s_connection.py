# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection to the Kubernetes API, configured exactly as kubernetes.core users know it.

The option names, their aliases, the ``K8S_AUTH_*`` environment variables and the order of precedence
(module options, then environment, then kubeconfig/context, then in-cluster config) follow
kubernetes.core's ``k8s_auth_options``, so one ``module_defaults`` block serves both collections.
Unlike kubernetes.core we hand out a plain ``kubernetes.client.ApiClient`` for the typed APIs: no
discovery round trips, so the number of API requests a module makes is exactly what it asks for.
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import json
import os
import re

from urllib.parse import quote, unquote, urlsplit

from ansible_collections.clusterops.kops_upgrade.plugins.module_utils.validation import api_server_url

try:
    import kubernetes
    import yaml
    from kubernetes.client.rest import ApiException
    import urllib3

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without the library
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = exc

    class ApiException(Exception):  # type: ignore[no-redef]
        """Stands in so that ``except ApiException`` stays valid without the library."""

PROXY_HEADERS_SPEC = dict(
    proxy_basic_auth=dict(type="str", no_log=True),
    basic_auth=dict(type="str", no_log=True),
    user_agent=dict(type="str"),
)

AUTH_ARG_SPEC = dict(
    # no_log: given as a dict, the kubeconfig holds tokens and client keys. ansible-core then keeps it out of the
    # syslog/journal "Invoked with" line and masks every value in it from the start; k8s_module() unmasks right
    # after what is no credential (see readable_kubeconfig_values), so that "v1" or a path stays readable.
    kubeconfig=dict(type="raw", no_log=True),
    context=dict(type="str"),
    host=dict(type="str"),
    api_key=dict(type="str", no_log=True),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", aliases=["verify_ssl"]),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"]),
    client_cert=dict(type="path", aliases=["cert_file"]),
    client_key=dict(type="path", aliases=["key_file"], no_log=False),
    proxy=dict(type="str"),
    no_proxy=dict(type="str"),
    proxy_headers=dict(type="dict", options=PROXY_HEADERS_SPEC),
    persist_config=dict(type="bool"),
    impersonate_user=dict(type="str"),
    impersonate_groups=dict(type="list", elements="str"),
)

# option name -> (attribute of kubernetes.client.Configuration, extra environment variable name)
# kubernetes.core reads both K8S_AUTH_<OPTION> and K8S_AUTH_<CLIENT ATTRIBUTE>, so do we.
_CONFIGURATION_ATTRIBUTE = dict(
    host="host",
    api_key="api_key",
    username="username",
    password="password",
    validate_certs="verify_ssl",
    ca_cert="ssl_ca_cert",
    client_cert="cert_file",
    client_key="key_file",
    proxy="proxy",
    no_proxy="no_proxy",
)
_BOOL_OPTIONS = ("validate_certs", "persist_config")


# Fields of a kubeconfig user (clientcmd v1 AuthInfo) that are no credential: file paths, impersonation, the exec
# plugin's command and interface, the auth provider's name. Everything else under users[].user stays masked, a field
# unknown to this list included (exec args and env values, auth-provider config, token, password, key data).
_PUBLIC_USER_FIELDS = frozenset(("client-certificate", "client-key", "tokenFile", "as", "as-uid", "as-groups"))
_PUBLIC_EXEC_FIELDS = frozenset(("command", "apiVersion", "installHint", "interactiveMode", "provideClusterInfo"))


def _leaves(value):
    """The values ansible-core masks for a no_log option: every non-empty text and number in a structure."""
    if isinstance(value, dict):
        return set().union(*[_leaves(v) for v in value.values()]) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*[_leaves(v) for v in value]) if value else set()
    if isinstance(value, bool) or value is None:
        return set()
    text = str(value)
    return {text} if text else set()


def url_credentials(url):
    """The secret parts of a URL with user information (``http://user:pass@proxy:3128``): ``user:pass`` as
    written and the password, raw and decoded; an empty set for a URL without a password."""
    try:
        parts = urlsplit(str(url))
        password = parts.password
    except ValueError:
        return set()
    if not password:
        return set()
    userinfo = parts.netloc.rsplit("@", 1)[0]
    return set(v for v in (userinfo, password, unquote(password)) if v)


def kubeconfig_secret_values(kubeconfig):
    """The credentials of a kubeconfig given as a dict: every value under ``users[].user`` but the public fields
    (see _PUBLIC_USER_FIELDS), and the user information of a cluster's ``proxy-url``."""
    if not isinstance(kubeconfig, dict):
        return set()
    secrets = set()
    for entry in kubeconfig.get("users") or []:
        user = entry.get("user") if isinstance(entry, dict) else entry
        if not isinstance(user, dict):
            secrets |= _leaves(user)
            continue
        for field, value in user.items():
            if field in _PUBLIC_USER_FIELDS:
                continue
            if field == "exec" and isinstance(value, dict):
                for key, item in value.items():
                    if key == "env" and isinstance(item, list):
                        for variable in item:
                            secrets |= _leaves(variable.get("value") if isinstance(variable, dict) else variable)
                    elif key not in _PUBLIC_EXEC_FIELDS:
                        secrets |= _leaves(item)
            elif field == "auth-provider" and isinstance(value, dict):
                secrets |= _leaves(dict((k, v) for k, v in value.items() if k != "name"))
            else:
                secrets |= _leaves(value)
    for entry in kubeconfig.get("clusters") or []:
        cluster = entry.get("cluster") if isinstance(entry, dict) else None
        if isinstance(cluster, dict) and cluster.get("proxy-url"):
            secrets |= url_credentials(cluster["proxy-url"])
    return secrets


def readable_kubeconfig_values(kubeconfig):
    """What ansible-core masked for the no_log ``kubeconfig`` option that is no credential: a path (one line), or
    the values of a dict that are not among its credentials (names, server URLs, CA data, "v1")."""
    if isinstance(kubeconfig, str):
        # A text with a line break is no path but a kubeconfig pasted as text: it stays masked.
        return set() if "\n" in kubeconfig else {kubeconfig}
    secrets = kubeconfig_secret_values(kubeconfig)
    return _leaves(kubeconfig) - secrets


class K8sConnectionError(Exception):
    """The API cannot be reached or configured; the message is meant for the user as it is."""


def auth_settings(params, environ=None):
    """Resolve the auth options: module option first, then ``K8S_AUTH_<NAME>`` environment variables.

    Pure: takes the module params and an environment mapping, returns a dict of the options that are set.
    """
    environ = os.environ if environ is None else environ
    settings = {}
    for option in AUTH_ARG_SPEC:
        value = params.get(option)
        if value is None and option == "proxy_headers":
            headers = {}
            for key in PROXY_HEADERS_SPEC:
                env_value = environ.get("K8S_AUTH_PROXY_HEADERS_" + key.upper())
                if env_value is not None:
                    headers[key] = env_value
            value = headers or None
        elif value is None:
            names = ["K8S_AUTH_" + option.upper()]
            attribute = _CONFIGURATION_ATTRIBUTE.get(option)
            if attribute and attribute != option:
                names.append("K8S_AUTH_" + attribute.upper())
            for name in names:
                if environ.get(name) is not None:
                    value = environ[name]
                    break
            if value is not None and option in _BOOL_OPTIONS:
                value = str(value).lower() not in ("0", "false", "no", "off")
            if value is not None and option == "impersonate_groups":
                value = [group for group in str(value).split(",") if group]
        if value is not None and value != "" and value != []:
            settings[option] = value
    if settings.get("host"):
        settings["host"] = settings["host"].rstrip("/")
    return settings


def _has_direct_credentials(settings):
    def given(*names):
        return all(settings.get(name) for name in names)

    return given("host") and (given("api_key") or given("username", "password") or given("client_cert", "client_key"))


def _load_kubeconfig(settings, configuration):
    kubeconfig = settings.get("kubeconfig")
    context = settings.get("context")
    persist = bool(settings.get("persist_config"))
    try:
        if isinstance(kubeconfig, dict):
            kubernetes.config.load_kube_config_from_dict(
                config_dict=kubeconfig, context=context, client_configuration=configuration, persist_config=persist
            )
            return
        if isinstance(kubeconfig, str):
            paths = kubeconfig.split(os.pathsep)
            for path in paths:
                _check_kubeconfig_file(path, context or len(paths) > 1)
        elif kubeconfig is not None:
            raise K8sConnectionError("kubeconfig must be a path or a dict, got %s" % type(kubeconfig).__name__)
        kubernetes.config.load_kube_config(
            config_file=kubeconfig, context=context, client_configuration=configuration, persist_config=persist
        )
    except kubernetes.config.ConfigException as exc:
        message = str(exc)
        if context and "context" in message.lower():
            raise K8sConnectionError("context %r not found in kubeconfig: %s" % (context, message))
        raise K8sConnectionError("could not load kubeconfig: %s" % message)


def _check_kubeconfig_file(path, context_elsewhere):
    """One sentence for a kubeconfig file that cannot be one: missing, a directory, unreadable, not YAML, not a
    mapping, or without a current context when no other gives one (``context_elsewhere``: the context option,
    or other files merged with it)."""
    expanded = os.path.expanduser(path)
    if not os.path.exists(expanded):
        raise K8sConnectionError("kubeconfig file %s does not exist" % path)
    if os.path.isdir(expanded):
        raise K8sConnectionError("kubeconfig %s is a directory, not a kubeconfig file" % path)
    try:
        with open(expanded) as handle:
            loaded = yaml.safe_load(handle)
    except (OSError, UnicodeDecodeError) as exc:
        raise K8sConnectionError("kubeconfig file %s cannot be read: %s" % (path, exc))
    except yaml.YAMLError as exc:
        raise K8sConnectionError("kubeconfig file %s is not YAML: %s" % (path, " ".join(str(exc).split())))
    if loaded is None:
        raise K8sConnectionError("kubeconfig file %s is empty" % path)
    if not isinstance(loaded, dict):
        raise K8sConnectionError("kubeconfig file %s is not a kubeconfig: a mapping with clusters, contexts and users "
                                 "was expected, found a %s" % (path, type(loaded).__name__))
    if not context_elsewhere and not loaded.get("current-context"):
        raise K8sConnectionError("kubeconfig file %s has no current-context: set context (or K8S_AUTH_CONTEXT)" % path)


def build_configuration(settings):
    """Build a ``kubernetes.client.Configuration`` from resolved auth settings (see :func:`auth_settings`)."""
    if settings.get("host") is not None:
        # A host without its scheme reaches urllib3, which only warns today (urllib3 3.0 will refuse it);
        # say so the way the kops modules do.
        problem = api_server_url(settings["host"])
        if problem:
            raise K8sConnectionError("host (or K8S_AUTH_HOST) %s" % problem)
    configuration = kubernetes.client.Configuration()
    if _has_direct_credentials(settings):
        pass
    elif settings.get("kubeconfig") or settings.get("context"):
        _load_kubeconfig(settings, configuration)
    else:
        try:
            loader = kubernetes.config.incluster_config.InClusterConfigLoader(
                token_filename=kubernetes.config.incluster_config.SERVICE_TOKEN_FILENAME,
                cert_filename=kubernetes.config.incluster_config.SERVICE_CERT_FILENAME,
            )
            loader.load_and_set(configuration)
        except kubernetes.config.ConfigException:
            default = os.path.expanduser(kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION)
            if not settings.get("host") and not any(os.path.exists(p) for p in default.split(os.pathsep)):
                raise K8sConnectionError(
                    "no Kubernetes API configured: not running in a cluster and no kubeconfig at %s; "
                    "set kubeconfig (or K8S_AUTH_KUBECONFIG), or host with credentials" % default
                )
            if not settings.get("host"):
                _load_kubeconfig(settings, configuration)
    _apply_options(configuration, settings)
    hook = getattr(configuration, "refresh_api_key_hook", None)
    if hook is not None:
        # The kubeconfig loader installs a hook that reloads the kubeconfig (server, token) before each request
        # (kubernetes client 25 and later); the options given must win over it every time, not only at start.
        def refresh(config, reload=hook):
            reload(config)
            _apply_options(config, settings)

        configuration.refresh_api_key_hook = refresh
    if settings.get("proxy_headers"):
        configuration.proxy_headers = urllib3.util.make_headers(
            **dict((k, v) for k, v in settings["proxy_headers"].items() if v is not None)
        )
    return configuration


def _apply_options(configuration, settings):
    """Set what the options say on ``configuration``, over what a kubeconfig said."""
    for option, attribute in _CONFIGURATION_ATTRIBUTE.items():
        value = settings.get(option)
        if value is None:
            continue
        if option == "api_key":
            configuration.api_key = {"BearerToken": "Bearer " + value, "authorization": "Bearer " + value}
        else:
            setattr(configuration, attribute, value)


class CountingApiClient(kubernetes.client.ApiClient if HAS_KUBERNETES else object):
    """An ApiClient that counts its requests, so modules can report (and tests can hold them to) their cost."""

    request_count = 0

    def call_api(self, *args, **kwargs):
        self.request_count += 1
        return super(CountingApiClient, self).call_api(*args, **kwargs)


def api_client(settings):
    """Return a CountingApiClient for the resolved settings; raises K8sConnectionError with a readable message."""
    configuration = build_configuration(settings)
    client = CountingApiClient(configuration)
    if settings.get("impersonate_user"):
        client.set_default_header("Impersonate-User", settings["impersonate_user"])
    for group in settings.get("impersonate_groups") or []:
        # The API server wants one Impersonate-Group header per group; default_headers is a dict, so each group
        # gets a key of its own that still spells the same header name.
        client.set_default_header(_RepeatedHeaderName("Impersonate-Group"), group)
    return client


class _RepeatedHeaderName(str):
    """A header name equal only to itself, so a dict can hold the same header several times."""

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other


# The rights the collection needs ship as files: lists in rbac/diagnose.yml, changes and the watch in
# rbac/remediate.yml.
_REMEDIATE_VERBS = ("create", "update", "patch", "delete", "deletecollection", "watch")
_RBAC_HINT = "the collection's rbac/%s.yml grants it"


def explain_api_error(exc, verb, resource, namespace=None, name=None):
    """Turn an exception from the API into one sentence that names what was refused and why."""
    target = resource
    if name:
        target = "%s %s" % (resource, name)
    if namespace:
        target += " in namespace %s" % namespace
    status = getattr(exc, "status", None)
    if isinstance(exc, ApiException) and status:
        detail = _api_error_message(exc)
        if status == 401:
            return "401 Unauthorized: the API server did not accept the credentials (%s)" % detail
        if status == 403:
            return "403 Forbidden: not allowed to %s %s (%s): %s" % (verb, target, _RBAC_HINT % (
                "remediate" if verb in _REMEDIATE_VERBS else "diagnose"), detail)
        if status == 404:
            return "404 Not Found: %s: %s" % (target, detail)
        if status == 409:
            return "409 Conflict on %s %s: %s" % (verb, target, detail)
        return "API error %s on %s %s: %s" % (status, verb, target, detail)
    if HAS_KUBERNETES and isinstance(exc, urllib3.exceptions.HTTPError):
        reason = getattr(exc, "reason", None) or exc
        return "cannot reach the Kubernetes API to %s %s: %s" % (verb, target, reason)
    return "error while trying to %s %s: %s" % (verb, target, exc)


def _api_error_message(exc):
    try:
        body = json.loads(exc.body)
        return body.get("message") or exc.reason
    except (TypeError, ValueError, AttributeError):
        return exc.reason or str(exc)


def read_json(call, *args, **kwargs):
    """Call a typed-client method and return the API's JSON as plain dicts (camelCase, exactly as served)."""
    response = call(*args, _preload_content=False, **kwargs)
    return json.loads(response.data)


class ApiError(Exception):
    """An API call failed; the message names the verb and resource and is meant for the user (explain_api_error);
    ``status`` is the HTTP status when there was a response."""

    def __init__(self, message, status=None):
        super(ApiError, self).__init__(message)
        self.status = status


class ApiReader(object):
    """What every API layer of the collection (rollout_api.RolloutApi, precheck_api.PrecheckApi) shares: the typed
    clients of one ApiClient (made on first use: importing them costs more than a large list), and calls whose
    failures become an ApiError with a sentence for the user. Every list goes through stream_list (plain dicts as
    the API serves them, no model objects); single objects through the typed clients with read_json."""

    def __init__(self, api_client):
        self.api_client = api_client
        self._typed = {}

    def _typed_client(self, name):
        if name not in self._typed:
            from kubernetes import client as k8s_client

            self._typed[name] = getattr(k8s_client, name)(self.api_client)
        return self._typed[name]

    @property
    def apps(self):
        return self._typed_client("AppsV1Api")

    @property
    def core(self):
        return self._typed_client("CoreV1Api")

    @property
    def policy(self):
        return self._typed_client("PolicyV1Api")

    def _call(self, verb, resource, namespace, name, call, *args, **kwargs):
        """``call(*args, **kwargs)``; an API or transport error raises ApiError naming verb, resource and object."""
        try:
            return call(*args, **kwargs)
        except ApiException as exc:
            raise ApiError(explain_api_error(exc, verb, resource, namespace, name), getattr(exc, "status", None))
        except Exception as exc:  # urllib3 errors: connection refused, TLS, timeouts
            raise ApiError(explain_api_error(exc, verb, resource, namespace, name))

    def stream_list(self, resource, namespace=None, compact=None, label_selector=None, field_selector=None):
        """The items of one list of ``resource`` (a key of API_PATHS; all namespaces when ``namespace`` is None),
        as the API serves them (plain dicts, as json.loads gives them), in one request whose body is parsed while
        it arrives (parse_list_stream): each item goes through ``compact`` (a function that may shrink it in
        place) as soon as it is parsed, so the whole response is held neither as text nor as objects, and parsing
        overlaps the server's writing. The body is asked for gzip-compressed (kube-apiserver compresses large
        responses, urllib3 inflates them). Failures raise ApiError as every call of the reader does."""
        query = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        items = []
        try:
            with paused_gc():
                response = get_stream(self.api_client, api_path(resource, namespace), query)
                try:
                    parse_list_stream(response.stream(_STREAM_BLOCK, decode_content=True), items, compact)
                except BaseException:
                    response.close()  # not read to its end: the connection cannot serve another request
                    raise
                response.release_conn()
        except ApiException as exc:
            raise ApiError(explain_api_error(exc, "list", resource, namespace, None), getattr(exc, "status", None))
        except Exception as exc:  # urllib3 errors: connection refused, TLS, timeouts; a body that is no list
            raise ApiError(explain_api_error(exc, "list", resource, namespace, None))
        return items


# Where the list of each resource the collection reads lives; nodes and webhook configurations are cluster-scoped.
API_PATHS = {
    "pods": "/api/v1", "nodes": "/api/v1", "events": "/api/v1",
    "deployments": "/apis/apps/v1", "replicasets": "/apis/apps/v1", "daemonsets": "/apis/apps/v1",
    "statefulsets": "/apis/apps/v1", "poddisruptionbudgets": "/apis/policy/v1",
    "endpointslices": "/apis/discovery.k8s.io/v1",
    "validatingwebhookconfigurations": "/apis/admissionregistration.k8s.io/v1",
    "mutatingwebhookconfigurations": "/apis/admissionregistration.k8s.io/v1",
}
_CLUSTER_SCOPED = ("nodes", "validatingwebhookconfigurations", "mutatingwebhookconfigurations")


def api_path(resource, namespace=None):
    """The path of the list of ``resource`` (a key of API_PATHS) in ``namespace``, or across all namespaces."""
    if namespace is None or resource in _CLUSTER_SCOPED:
        return "%s/%s" % (API_PATHS[resource], resource)
    return "%s/namespaces/%s/%s" % (API_PATHS[resource], quote(namespace, safe=""), resource)


def get_stream(api_client, path, query):
    """GET ``path`` with ``query`` (a list of pairs) through the ApiClient's own request path - its auth (and the
    kubeconfig's refresh hook), default headers, TLS and proxy settings, one counted call_api - as the typed
    clients do, without their model classes, asking for a gzip-compressed body. Returns the urllib3 response, its
    body unread; a status other than 2xx raises ApiException, as the typed clients' calls do."""
    headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
    if hasattr(api_client, "param_serialize"):
        # The ApiClient of the newer OpenAPI generator (kubernetes 37 has it): serialize, then call_api(method, url).
        request = api_client.param_serialize("GET", path, query_params=list(query), header_params=headers,
                                             auth_settings=["BearerToken"])
        response = api_client.call_api(*request)
        if not 200 <= response.status <= 299:
            response.read()
            raise ApiException(http_resp=response)
        return response.response
    # The older one (kubernetes 24.2): call_api(resource_path, method, ...), raising for a status other than 2xx.
    return api_client.call_api(path, "GET", query_params=list(query), header_params=headers,
                               auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True)


# How much of a streamed body is read (inflated) at a time, and how much text is gathered before parsing goes on:
# an item cut by the end of the text is parsed again once more has come, so the text is much longer than an item.
_STREAM_BLOCK = 65536
_STREAM_TEXT = 262144
_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
_NEXT_ITEM = '},{"metadata":'


class _StreamedJson(object):
    """JSON text arriving in blocks of bytes (UTF-8), parsed one value at a time with json's own decoder."""

    def __init__(self, blocks):
        self._blocks = iter(blocks)
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self.text, self.pos, self.ended = "", 0, False
        self._no_cut = -1  # where items_together found no end of an item in this text

    def _more(self):
        """Append the next blocks (at least _STREAM_TEXT characters, or the rest); False when all was read."""
        if self.ended:
            return False
        parts, size = [self.text[self.pos:]], 0
        while size < _STREAM_TEXT:
            block = next(self._blocks, None)
            if block is None:
                parts.append(self._utf8.decode(b"", final=True))
                self.ended = True
                break
            part = self._utf8.decode(block)
            parts.append(part)
            size += len(part)
        self.text, self.pos, self._no_cut = "".join(parts), 0, -1
        return True

    def next_char(self):
        """The next character that is not white space, consumed ("" at the end)."""
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text):
                self.pos += 1
                return self.text[self.pos - 1]
            if not self._more():
                return ""

    def peek_char(self):
        char = self.next_char()
        if char:
            self.pos -= 1
        return char

    def value(self):
        """The next JSON value, as json.loads would give it."""
        self.peek_char()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except ValueError:
                if self._more():
                    continue
                raise
            if end == len(self.text) and self._more():
                continue  # a number may go on in the next block
            self.pos = end
            return value

    def items_together(self):
        """The items of an array from here to the last one the text holds whole, parsed in one go - json then
        keeps one copy of each key for all of them, as json.loads does for a whole list, where items parsed one
        by one would each hold their own (a third more memory for pods) - or [] when that end cannot be told. It is
        told where the next item begins as kube-apiserver writes them (``},{"metadata":``) and proven by the items
        up to there parsing as one array and nothing else."""
        cut = self.text.rfind(_NEXT_ITEM, self.pos)
        if cut < 0 or cut == self._no_cut:
            return []
        together = "[" + self.text[self.pos:cut + 1] + "]"
        try:
            batch, end = _DECODER.raw_decode(together)
        except ValueError:
            end = None
        if end != len(together):
            # That was inside an item (or past the items): the items of this text are parsed one by one.
            self._no_cut = cut
            return []
        self.pos = cut + 1
        return batch


def _expect(stream, wanted):
    char = stream.next_char()
    if char != wanted:
        raise ValueError("the list is not JSON as expected: %r where %r belongs" % (char or "the end", wanted))


def parse_list_stream(blocks, items, compact=None):
    """Parse a list's JSON text arriving in ``blocks`` (bytes): append each of its items to ``items`` as soon as it
    is parsed (through ``compact`` first, when given) and return the rest of the list object (kind, apiVersion,
    metadata; ``items`` too when it is no array: ``null`` is no item). A body that is not a JSON object raises
    ValueError."""
    stream = _StreamedJson(blocks)
    head = {}
    _expect(stream, "{")
    if stream.peek_char() == "}":
        stream.next_char()
    else:
        while True:
            key = stream.value()
            _expect(stream, ":")
            if key == "items" and stream.peek_char() == "[":
                stream.next_char()
                if stream.peek_char() == "]":
                    stream.next_char()
                else:
                    while True:
                        for item in stream.items_together() or [stream.value()]:
                            if compact is not None:
                                compact(item)
                            items.append(item)
                        char = stream.next_char()
                        if char == "]":
                            break
                        if char != ",":
                            raise ValueError("the list is not JSON as expected: %r in its items" % (char or "the end"))
            else:
                head[key] = stream.value()
            char = stream.next_char()
            if char == "}":
                break
            if char != ",":
                raise ValueError("the list is not JSON as expected: %r after %s" % (char or "the end", key))
    if stream.next_char():
        raise ValueError("the list is not JSON as expected: text after its end")
    return head


@contextlib.contextmanager
def paused_gc():
    """No cyclic garbage collection inside: lists parsed from JSON and what is computed from them hold no cycles,
    and with hundreds of thousands of such objects alive each full collection would walk them all, many times
    (about a third of a large diagnosis's time). The collector's state before is restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
