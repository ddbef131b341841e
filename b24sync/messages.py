"""Every user-facing message template, in one place, for translation.

Templates use ``{named}`` fields and are marked with :func:`~b24sync.i18n.N_` so Babel extracts
them into ``locale/b24sync.pot``. Show one with ``t(messages.X, **values)``. Log lines meant for
machines and protocol strings of the remote APIs are not here.
"""

from b24sync.i18n import N_

# --- configuration and secrets -------------------------------------------------------------
CONFIG_NOT_FOUND = N_(
    "Configuration file {path} does not exist. Pass --config PATH, set B24SYNC_CONFIG, or create one "
    "with 'b24sync sandbox --write-config PATH' (see config.example.toml)."
)
CONFIG_SYNTAX = N_("Configuration file {path} is not valid TOML: {reason}")
CONFIG_WRONG_TYPE = N_("{key} in {path} must be a {expected}, not a {got}.")
CONFIG_NOT_POSITIVE = N_("{key} in {path} must be greater than zero (it is {value}).")
CONFIG_UNKNOWN_KEY = N_("{key} in {path} is not a known setting (see config.example.toml).")
CONFIG_SECRET_INLINE = N_(
    "{key} in {path} looks like a secret; secrets never go in the config file. Put it in the "
    "environment or in an owner-only secrets file (secrets.file)."
)
CONFIG_IN_FILE = N_("{message} (in {path})")
CONFIG_FILE_MISSING = N_("{key} in {path} names {file}, which does not exist.")
FILE_UNREADABLE = N_("Cannot read {path} ({key}): {reason}.")
FILE_NOT_OWNER_ONLY = N_(
    "{path} ({key}) is readable by group or others (mode {mode}); it holds or leads to secrets. "
    "Run: chmod 600 {path}"
)
SECRETS_FILE_BAD_LINE = N_("{path}, line {line}: expected KEY=VALUE.")
WEBHOOK_MISSING = N_(
    "No Bitrix24 webhook URL is configured for {path}. Set the environment variable {env}, or put "
    "{env}=... in the owner-only file named by secrets.file, or set bitrix24.webhook_file."
)
WEBHOOK_MALFORMED = N_(
    "The Bitrix24 webhook URL from {source} (config {path}) is not of the form "
    "https://PORTAL/rest/USER_ID/TOKEN/."
)

# --- remote calls ----------------------------------------------------------------------------
B24_ERROR = N_("Bitrix24 answered {method} with {code}: {description} (HTTP {status}).")
B24_ERROR_RECORD = N_("Bitrix24 rejected {method} for {record}: {code}: {description}.")
B24_NOT_JSON = N_("Bitrix24 answered {method} with a non-JSON body (HTTP {status}): {excerpt}")
B24_TRANSPORT = N_("Could not reach Bitrix24 for {method}: {reason}")
B24_REDIRECT = N_("Bitrix24 answered {method} with a redirect to {location}; update the webhook URL.")
B24_UNAVAILABLE = N_(
    "Bitrix24 kept failing for {method} after {attempts} attempts ({seconds:.0f} s of waiting): {last}"
)
B24_IN_DOUBT = N_(
    "The write {method} may or may not have been applied by Bitrix24 ({reason}); it was not re-sent. "
    "Records in doubt: {records}."
)
B24_BATCH_TOO_LONG = N_("A Bitrix24 batch takes at most 50 commands; {count} were given.")
B24_UNKNOWN_ENTITY = N_("Unknown Bitrix24 entity {entity!r}; known: {known}.")
B24_FIELD_VALUE = N_("Bitrix24 {entity} {record}: field {field} has an unreadable value {value!r} ({reason}).")

# --- command line ----------------------------------------------------------------------------
APP_HELP = N_(
    "Keep counterparties, deals and documents consistent between Bitrix24 and 1C:CRM, showing the "
    "plan before anything is written.\n\n"
    "Examples:\n"
    "b24sync demo\n"
    "b24sync --config acme.toml doctor --fix\n"
    "b24sync --config acme.toml reconcile --dry-run\n"
    "b24sync reconcile --help   (each command's options and examples)"
)
OPT_CONFIG = N_("Configuration file (TOML).")
OPT_VERBOSE = N_("More log output (repeat for debug).")
OPT_QUIET = N_("Only errors in the log.")
OPT_LOG_FORMAT = N_("Log format on stderr: text or json.")
OPT_VERSION = N_("Show the version and exit.")
ERROR_PREFIX = N_("Error: {message}")
INTERRUPTED = N_("Interrupted.")
BAD_LOG_FORMAT = N_("--log-format must be 'text' or 'json', not {value!r}.")

SANDBOX_HELP = N_(
    "Run the local Bitrix24 and 1C emulators with seeded, overlapping data until stopped (Ctrl+C). Prints "
    "KEY=VALUE lines (webhook URL, application token, OData and HTTP-service URLs, 1C user and password) and "
    "READY=1 on stdout.\n\n"
    "Examples:\n"
    "b24sync sandbox --write-config sandbox/b24sync.toml   (then, in another terminal: "
    "b24sync --config sandbox/b24sync.toml doctor --fix)\n"
    "b24sync sandbox --size 2000 --seed 7 --bitrix24-port 8081 --onec-port 8082 --realistic-latency"
)
SANDBOX_OPT_PORT = N_("Port of the Bitrix24 emulator on 127.0.0.1 (0 = any free port).")
SANDBOX_OPT_ONEC_PORT = N_("Port of the 1C emulator (OData and the b24sync HTTP service) on 127.0.0.1 (0 = any).")
SANDBOX_OPT_SIZE = N_("How many counterparties to seed.")
SANDBOX_OPT_SEED = N_("Seed of the data generator (same seed, same data).")
SANDBOX_OPT_NO_LIMITS = N_("Turn off the emulated rate limits (leaky bucket and operating time).")
SANDBOX_OPT_REALISTIC_LATENCY = N_(
    "Model the servers' own time (per request, per call, COUNT of list totals, 1C $skip and rows) and answer "
    "that much later; Bitrix24 also charges it to the operating-time limit. B24SYNC_LATENCY_SCALE multiplies "
    "the waits (default 1)."
)
SANDBOX_BAD_LATENCY_SCALE = N_("B24SYNC_LATENCY_SCALE must be a number >= 0, not {value!r}.")
SANDBOX_OPT_EVENTS = N_("URL that receives the portal's outgoing events (ONCRM…), form-encoded.")
SANDBOX_OPT_WRITE_CONFIG = N_(
    "Also write a ready config file for this sandbox (secrets in an owner-only file beside it)."
)
SANDBOX_CONFIG_WRITTEN = N_("Config written to {path}; try: b24sync --config {path} doctor")
SANDBOX_STOPPED = N_("Sandbox stopped.")

DEMO_HELP = N_(
    "Run the whole job on a fresh sandbox: doctor --fix, the dry-run plan, apply, and a second run that finds "
    "nothing left to do.\n\n"
    "Examples:\n"
    "b24sync demo\n"
    "b24sync demo --size 1000 --seed 3"
)
DEMO_STARTING = N_(
    "Starting the sandbox: a Bitrix24 portal and a 1C base seeded from {size} overlapping counterparties…"
)
DEMO_STEP_DOCTOR = N_("1. doctor --fix: checks both systems and creates the Bitrix24 link fields")
DEMO_STEP_PLAN = N_("2. reconcile --dry-run: the plan, before anything is written ({writes} write requests made)")
DEMO_STEP_APPLY = N_("3. reconcile: the plan applied through the journal")
DEMO_STEP_AGAIN = N_("4. reconcile --dry-run again: {count} operation(s) left")
DEMO_PLANTED_TITLE = N_("Planted in the sandbox: what b24sync must report, never guess")
DEMO_COL_KIND = N_("Kind")
DEMO_COL_IDS = N_("Records")
DEMO_COL_DETAIL = N_("Detail")
DEMO_DONE = N_(
    "Done in {seconds:.1f} s: {b24} requests to Bitrix24 ({rejected} rejected by its rate limits), {onec} to 1C. "
    "Try it by hand: b24sync sandbox --write-config sandbox/b24sync.toml, then b24sync --config "
    "sandbox/b24sync.toml reconcile --dry-run."
)

# --- 1C ------------------------------------------------------------------------------------------
ONEC_ERROR = N_("1C answered {operation} with code {code}: {message} (HTTP {status}).")
ONEC_ERROR_RECORD = N_("1C rejected {operation} for {record}: {message} (code {code}, HTTP {status}).")
ONEC_NOT_JSON = N_(
    "1C answered {operation} with {content_type} instead of JSON (HTTP {status}); check the publication, "
    "the user's rights and the OData composition: {excerpt}"
)
ONEC_TRANSPORT = N_("Could not reach 1C for {operation}: {reason}")
ONEC_UNAVAILABLE = N_("1C kept failing for {operation} after {attempts} attempts ({seconds:.0f} s of waiting): {last}")
ONEC_IN_DOUBT = N_(
    "The 1C write {operation} may or may not have been applied ({reason}); it was not re-sent. Look the record up "
    "before writing it again: {record}."
)
ONEC_UNKNOWN_PROPERTY = N_(
    "{entity_set} has no property {name!r} in this base's $metadata; 1C would silently drop it (record {record})."
)
ONEC_FIELD_VALUE = N_("1C {entity_set} {record}: field {field} has an unreadable value {value!r} ({reason}).")
ONEC_PASSWORD_MISSING = N_(
    "No 1C password is configured for {path}. Set the environment variable {env}, or put {env}=... in the "
    "owner-only file named by secrets.file, or set onec.password_file."
)
ONEC_BAD_TIMEZONE = N_("onec.timezone in {path} is not a known time zone: {value!r} (example: \"Europe/Moscow\").")
ONEC_BAD_WRITE_PATH = N_("onec.write_via.{entity} in {path} must be \"odata\" or \"http_service\", not {value!r}.")

PLANTED_KINDS = {
    "duplicate_inn": N_("Two companies with one INN"),
    "bad_inn_checksum": N_("INN with a wrong check digit"),
    "wrong_inn_length": N_("Legal entity with an INN of the wrong length"),
    "shared_email": N_("Two contacts sharing one e-mail"),
    "branch_pair": N_("Branches: one INN, different KPP"),
    "missing_requisite": N_("Company without a requisite (no INN)"),
    "unknown_product": N_("Deal at «Договор подписан» with a hand-typed row 1C has no item for"),
    "onec_phone_differs": N_("1C has other phones than Bitrix24"),
    "onec_address_differs": N_("1C has another legal address"),
    "onec_kpp_differs": N_("1C has another KPP"),
    "onec_deletion_marked": N_("Counterparty marked for deletion in 1C"),
    "onec_duplicate_inn": N_("Two 1C counterparties with one INN"),
}

# --- state and lock ------------------------------------------------------------------------------
LOCK_HELD = N_(
    "Another b24sync run holds the lock on {path} (pid {pid} on {host}, {command}, since {since}); nothing was done."
)
STATE_UNWRITABLE = N_("Cannot write the state file {path}: {reason}")

# --- reconciliation (b24sync.recon): issues, conflicts, rejected edits ------------------------------
# Keyed by the machine code that plans and the state keep; rendered only when shown to a person.
RECON_UNKNOWN_REASON = N_("{reason}")
RECON_ISSUES = {
    "invalid_phone": N_("{record}: {value!r} in {field} is not a valid phone number; it is left out of the sync."),
    "invalid_email": N_("{record}: {value!r} in {field} is not a valid e-mail address; it is left out of the sync."),
    "bad_inn_checksum": N_("{record}: INN {value} has a wrong check digit."),
    "inn_wrong_length": N_("{record}: INN {value} has the wrong length for this kind of counterparty "
                           "(10 digits for a legal entity, 12 for a sole proprietor or a person)."),
    "not_digits": N_("{record}: INN {value!r} must consist of digits only."),
    "inn_all_zeros": N_("{record}: INN {value} is all zeros, a placeholder for an unknown INN."),
    "no_inn": N_("{record}: no INN; the record cannot be matched or created by INN."),
    "invalid_kpp": N_("{record}: KPP {value!r} is not 9 characters of the form NNNNXXNNN; it is left out of the sync."),
    "kpp_not_for_kind": N_("{record}: KPP {value} is given, but only legal entities have one; it is left out of the "
                           "sync."),
    "ambiguous_requisites": N_("{record}: the company has requisites with different INNs ({value}); none is used "
                               "until only one remains."),
    "unknown_manager": N_("{record}: responsible user {value} has no known e-mail; the manager is not synchronized."),
    "invalid_link": N_("{record}: {field} holds {value!r}, which is not a 1C reference (GUID); it is ignored."),
    "unknown_kind": N_("{record}: legal form {value!r} is not known (ЮрЛицо, ИндивидуальныйПредприниматель, "
                       "ФизЛицо)."),
    "not_created_no_inn": N_("{record} is not created on the other side: it has no INN."),
    "not_created_invalid_inn": N_("{record} is not created on the other side: INN {value} is not valid."),
    "deletion_marked": N_("{record} is marked for deletion in 1C; it is not created in Bitrix24 and deletions are "
                          "not propagated."),
    "manager_no_partner": N_("{record}: the manager {value} is not written to 1C: 1C keeps the manager on the "
                             "partner, and this counterparty has none (fill in «Партнер» in 1C)."),
    "not_created_no_email": N_("{record} is not created on the other side: a person is matched by e-mail and "
                               "this one has none."),
    "not_created_unknown_kind": N_("{record} is not created on the other side: its legal form is unknown."),
    "not_created_no_name": N_("{record} is not created on the other side: it has no name, and a new record needs "
                              "one."),
    # deals → orders and leads → interests: a listed deal gets no order at all until it is fixed
    "deal_no_customer": N_("{record}: the deal has neither a company nor a contact; no order is made."),
    "counterparty_no_inn": N_("{record}: the customer {value} has no INN, so it cannot be a 1C counterparty; no "
                              "order is made."),
    "counterparty_invalid_inn": N_("{record}: the customer {value} has an invalid INN, so it cannot be a 1C "
                                   "counterparty; no order is made."),
    "counterparty_no_email": N_("{record}: the customer {value} has no e-mail, so it cannot be matched or created "
                                "in 1C; no order is made."),
    "counterparty_conflict": N_("{record}: the customer {value} is in a conflict (see conflicts); no order is "
                                "made."),
    "counterparty_not_in_onec": N_("{record}: the customer {value} is not a 1C counterparty; no order is made."),
    "manager_not_in_onec": N_("{record}: the responsible user {value} has no 1C user (by e-mail or "
                              "deals.manager_map); no order is made."),
    "currency_not_in_onec": N_("{record}: currency {value} is not in the 1C currency catalog; nothing is made."),
    "deal_no_products": N_("{record}: the deal has no product rows; no order is made."),
    "mixed_tax_included": N_("{record}: some rows include VAT in the price and some do not; 1C keeps one setting "
                             "per order, so no order is made."),
    "product_not_in_onec": N_("{record}: {field} «{value}» has no 1C nomenclature item (by deals.product_match or "
                              "deals.product_map); no order is made."),
    "product_ambiguous": N_("{record}: {field} «{value}» matches several 1C nomenclature items; no order is "
                            "made until deals.product_map names one."),
    "vat_rate_not_in_onec": N_("{record}: {field} VAT rate {value}% is not in the 1C catalog of VAT rates; no "
                               "order is made."),
    "amount_mismatch": N_("{record}: 1C would compute a different total from the rows ({value}); the deal amount "
                          "must agree within a kopeck, so no order is made."),
    "order_missing": N_("{record}: the linked 1C order {value} no longer exists; it is not made again "
                        "automatically."),
    "status_unmapped": N_("{record}: the 1C order is now «{value}», which [statuses] map does not map to a "
                          "stage; the deal stays where it is."),
    "stage_not_in_pipeline": N_("{record}: [statuses] map sends {value}, but the deal's pipeline has no such "
                                "stage; the deal stays where it is."),
    "order_locked": N_("{record}: the deal's products or amount changed, but 1C order {value} is no longer "
                       "«НеСогласован»; the change is not written."),
}
RECON_CONFLICTS = {
    "same_kpp": N_("INN {inn} with KPP {kpp} is on more than one record: {records}. Nothing is written for the "
                   "unlinked ones until the duplicates are merged."),
    "missing_kpp": N_("INN {inn} is on several records and at least one has no KPP, so branches cannot be told "
                      "apart: {records}."),
    "shared_email": N_("The e-mail {email} is on more than one person: {records}. People are matched by e-mail, so "
                       "nothing is written for the unlinked ones."),
    "inn_on_both_sides": N_("INN {inn} is on several unlinked records and cannot be paired without guessing: "
                            "{records}."),
    "several_emails_match": N_("The e-mails of {records} point at more than one record on the other side."),
    "bad_inn_checksum": N_("{records}: INN {inn} has a wrong check digit; it is neither matched nor created."),
    "inn_wrong_length": N_("{records}: INN {inn} has the wrong length for its kind; it is neither matched nor "
                           "created."),
    "not_digits": N_("{records}: INN {inn!r} is not all digits; it is neither matched nor created."),
    "inn_all_zeros": N_("{records}: INN {inn} is all zeros, a placeholder; it is neither matched nor created."),
    "record_missing": N_("{records}: the link points at {target}, which no longer exists."),
    "record_deleted": N_("{records}: the link points at {target}, which is marked for deletion in 1C."),
    "stored_twice": N_("The stored links give a record more than one partner: {records}."),
    "stamped_twice": N_("The 1C references stamped on the records disagree: {records}."),
    "already_linked": N_("{records}: the key of the first record points at {target}, which is already linked to "
                         "another record or held back by another conflict."),
    "no_timestamps": N_("{records}: {field} changed on both sides and the newer edit cannot be told (no "
                        "modification time); nothing is written for this field."),
    "same_time": N_("{records}: {field} changed on both sides at the same time; nothing is written for this "
                    "field."),
    "invalid_value": N_("{records}: the {field} to write, {value!r}, fails its checks; nothing is written for this "
                        "field."),
    "shared_partner": N_("{records}: these Bitrix24 records have different managers, but their 1C counterparties "
                         "share one partner, which has one manager; the manager is not written to 1C."),
}
RECON_REJECTED = {
    "non_owner_edit": N_("{field} of {b24_key} / {onec_key} was changed on {side} to {edited}, but {owner} owns "
                         "it: reverted to {kept}."),
    "both_changed": N_("{field} of {b24_key} / {onec_key} was changed on both sides; {owner} owns it, so {kept} "
                       "is kept and the edit on {side} ({edited}) is reverted."),
    "clear_not_allowed": N_("{field} of {b24_key} / {onec_key} was cleared on {side}; clearing is not allowed, so "
                            "{kept} is kept on the other side."),
    "older_edit": N_("{field} of {b24_key} / {onec_key} changed on both sides; the newer value {kept} wins over "
                     "the edit on {side} ({edited})."),
}
RULES_UNKNOWN_FIELD = N_("{key} is not a synchronized field; known: {known}.")
RULES_BAD_POLICY = N_("{key} must be one of {known}, not {value!r}.")
RULES_BAD_ALLOW_CLEAR = N_("{key} must be true, false or a list of field names, not {value!r}.")

# --- doctor --------------------------------------------------------------------------------------
DOCTOR_HELP = N_(
    "Check everything a run needs, each with its fix: the state file, both systems' connection, TLS, access and "
    "rights (webhook scopes, the 1C OData publication), the Bitrix24 user fields (--fix creates the missing ones), "
    "the configured stages and organization, the HTTP service, and the clocks.\n\n"
    "Examples:\n"
    "b24sync --config acme.toml doctor\n"
    "b24sync --config acme.toml doctor --fix   (creates UF_CRM_1C_ID and the other link fields)"
)
DOCTOR_OPT_FIX = N_("Create the missing Bitrix24 user fields.")
DOCTOR_TITLE = N_("b24sync doctor — {path}")
DOCTOR_COL_CHECK = N_("Check")
DOCTOR_COL_STATUS = N_("Status")
DOCTOR_COL_DETAIL = N_("Detail")
DOCTOR_OK = N_("ok")
DOCTOR_WARN = N_("warning")
DOCTOR_FAIL = N_("failed")
DOCTOR_FIXED = N_("fixed")
CHECK_CONFIG = N_("Configuration")
CHECK_CONFIG_DETAIL = N_("instance {instance}, {path}")
CHECK_STATE = N_("State file")
CHECK_B24_SECRET = N_("Bitrix24 webhook")
CHECK_SECRET_FROM = N_("from {source}")
CHECK_B24_REACH = N_("Bitrix24 portal")
CHECK_B24_REACH_DETAIL = N_("{portal}: webhook user {user} (administrator: {admin})")
CHECK_B24_ADMIN = N_("the webhook user is not an administrator: user fields cannot be created")
CHECK_B24_FIELD = N_("Bitrix24 field {entity}.{field}")
CHECK_FIELD_PRESENT = N_("present")
CHECK_FIELD_MISSING = N_("missing")
CHECK_FIELD_MISSING_FIX = N_("Run 'b24sync doctor --fix': it creates the missing fields (only those), each a string "
                             "field with this code.")
CHECK_FIELD_CREATE_FIX = N_("Creating a user field needs an administrator's webhook; or create it by hand in the CRM "
                            "settings with this code (type: string).")
CHECK_B24_ADMIN_FIX = N_("Use an administrator's webhook, at least for 'doctor --fix', or create the fields by hand.")
CHECK_FIELD_CREATED = N_("created")
CHECK_ONEC_SECRET = N_("1C password")
CHECK_ONEC_NOT_CONFIGURED = N_("onec.odata_url is not set")
CHECK_ONEC_REACH = N_("1C base")
CHECK_ONEC_REACH_DETAIL = N_("{url}: user {user}, {count} counterparties")
CHECK_ONEC_SETS = N_("1C OData publication")
CHECK_ONEC_SETS_OK = N_("all {count} entity sets b24sync needs are published")
CHECK_ONEC_SETS_MISSING = N_("{count} of {total} needed entity sets are not published: {names}")
CHECK_ONEC_SETS_FIX = N_(
    "Publish them in 1C: «Администрирование → Настройки синхронизации данных → Настройка стандартного интерфейса "
    "OData» (in some versions «НСИ и администрирование → Синхронизация данных»), tick {names} in the list of objects "
    "and save; or, from a configuration extension, pass them to УстановитьСоставСтандартногоИнтерфейсаOData() "
    "(«Установка состава стандартного интерфейса OData»). The user {user} also needs the right to read them."
)
CHECK_ONEC_HS = N_("1C HTTP service b24sync")
CHECK_ONEC_HS_DETAIL = N_("{configuration}, contract {version}")
CHECK_ONEC_HS_ABSENT = N_("not available ({reason}); writes use OData")
DOCTOR_FAILED = N_("{count} check(s) failed.")
ONEC_HS_ERROR = N_("The 1C HTTP service refused {operation} ({code}, HTTP {status}): {message}{field}")
ONEC_HS_CONTRACT = N_("The 1C HTTP service implements contract {version}; this b24sync speaks {supported}.")
DOCTOR_FIX_LINE = N_("fix: {fix}")
DOCTOR_SUMMARY_OK = N_("{count} ok")
DOCTOR_SUMMARY_WARN = N_("{count} warning(s)")
DOCTOR_SUMMARY_FAILED = N_("{count} failed")
CHECK_CONNECTION = N_("{system} connection")
CHECK_TLS = N_("{system} TLS")
PROBE_CONNECTED = N_("{address} answers ({ms} ms)")
PROBE_PROXIED = N_("{address} is reached through the proxy set in the environment; the calls below test it")
PROBE_DNS = N_("the host name {host} does not resolve ({reason})")
PROBE_DNS_FIX = N_("Check the host name in the URL and this machine's DNS: getent hosts {host}")
PROBE_REFUSED = N_("nothing accepts connections on {address} ({reason})")
PROBE_REFUSED_FIX = N_("Check the port in the URL and that the web server on {host} is running.")
PROBE_TIMEOUT = N_("{address} did not answer within {reason}")
PROBE_TIMEOUT_FIX = N_("A firewall drops the connection or the host is down: check the route from this machine, e.g. "
                       "curl -v {scheme}://{address}/")
PROBE_NETWORK = N_("cannot connect to {address}: {reason}")
PROBE_NETWORK_FIX = N_("Check this machine's network and its route to {host}.")
TLS_VERIFIED = N_("certificate verified ({version}, issued by {issuer}, valid until {until})")
TLS_RENEW_FIX = N_("The certificate of {host} expires on {until}: renew it on the server before then.")
TLS_LOOPBACK = N_("plain http on this machine (loopback): nothing crosses the network")
TLS_PLAIN = N_("plain http: the {secret} crosses the network unencrypted")
TLS_PLAIN_FIX = N_("Use an https:// URL (publish 1C through a web server with TLS; Bitrix24 cloud portals are https "
                   "only).")
TLS_UNTRUSTED = N_("the certificate of {host} is not trusted: {reason}")
TLS_UNTRUSTED_FIX = N_(
    "If your own CA signed it, give b24sync that CA: REQUESTS_CA_BUNDLE=/path/to/ca-bundle.pem (in a systemd unit: "
    "Environment=REQUESTS_CA_BUNDLE=...); otherwise install a certificate from a public CA on the server. Never turn "
    "verification off."
)
TLS_EXPIRED = N_("the certificate of {host} has expired ({reason})")
TLS_EXPIRED_FIX = N_("Renew the certificate on {host}; if it is in fact valid, this machine's clock is wrong "
                     "(timedatectl).")
TLS_HOSTNAME = N_("the certificate is not issued for {host} ({reason})")
TLS_HOSTNAME_FIX = N_("Use the host name the certificate is issued for in the URL, or reissue the certificate for "
                      "{host}.")
TLS_HANDSHAKE = N_("the TLS handshake with {address} failed: {reason}")
TLS_HANDSHAKE_FIX = N_("Check that {address} speaks https (not plain http) with a current TLS version.")
SECRET_WEBHOOK = N_("webhook token")
SECRET_PASSWORD = N_("1C password")
B24_SECRET_FIX = N_(
    "Put the inbound webhook URL in the owner-only secrets file named by secrets.file in {path} "
    "({env}=https://PORTAL/rest/USER/TOKEN/), in the environment variable {env}, or in the systemd credential "
    "bitrix24_webhook; 'b24sync init' writes it for you."
)
B24_AUTH_FIX = N_(
    "The portal refused the webhook: it was deleted, or its URL is mistyped. In Bitrix24 open «Приложения → "
    "Разработчикам → Другое → Входящий вебхук», create one with the permissions CRM (crm) and Пользователи (user), "
    "and store its URL in {source} ({env})."
)
B24_ACCESS_FIX = N_("The portal denies REST to this webhook: REST needs a commercial plan, and the webhook's user "
                    "needs access to the CRM.")
B24_NOT_WEBHOOK_FIX = N_("The URL in {source} is not an inbound webhook URL: it must look like "
                         "https://PORTAL/rest/USER_ID/TOKEN/.")
B24_DOWN_FIX = N_("The portal fails or is overloaded: try again later, and check the portal's status page.")
CHECK_B24_SCOPES = N_("Bitrix24 webhook permissions")
SCOPE_MISSING = N_("missing: {missing} (the webhook has: {have})")
SCOPE_USER_BRIEF = N_("; user_brief hides the e-mails managers are matched by")
SCOPE_FIX = N_(
    "In Bitrix24 open the inbound webhook («Приложения → Разработчикам → Интеграции», the webhook → Редактировать), "
    "tick {labels} under «Настройка прав» and save (should the portal show a new URL, store it in place of the old)."
)
CHECK_B24_STAGES = N_("Bitrix24 stages")
STAGES_FIX = N_("Set {key} in {path} to stage ids or names the portal has (listed above).")
CHECK_CLOCKS = N_("Clocks")
CLOCK_DETAIL = N_("against this machine: {skews}")
CLOCK_UNREAD = N_("cannot read the clock of {system}: {reason}")
CLOCK_SYSTEMS_DIFFER = N_("{ahead} is {seconds} s ahead of {behind}: when a field changes on both sides, these clocks "
                          "decide which edit is newer")
CLOCK_FIX_ONE = N_("Synchronize the clock of {system} with NTP (Linux: timedatectl set-ntp true; Windows: w32tm "
                   "/resync); a cloud portal keeps its time itself: if it is the portal, tell Bitrix24 support.")
CLOCK_FIX_BOTH = N_("Synchronize the clocks of the 1C server and of this machine with NTP (Linux: timedatectl set-ntp "
                    "true; Windows: w32tm /resync); a cloud portal keeps its time itself.")
CLOCK_LOCAL_DIFFERS = N_("this machine's clock differs from {systems}")
CLOCK_FIX_LOCAL = N_("Synchronize this machine's clock with NTP (timedatectl set-ntp true). Changes are read by the "
                     "portal's clock, but ages, logs and certificate checks use this one.")
ONEC_SECRET_FIX = N_(
    "Put the 1C password in the owner-only secrets file named by secrets.file in {path} ({env}=...), in the "
    "environment variable {env}, or in the systemd credential onec_password; 'b24sync init' writes it for you."
)
ONEC_NOT_CONFIGURED_FIX = N_("Set odata_url and user under [onec] in {path} (or run 'b24sync init').")
ONEC_AUTH_FIX = N_(
    "1C refused the user {user}: check onec.user in {path} and the password in {source}. In 1C («Администрирование → "
    "Настройки пользователей и прав → Пользователи») the user needs «Аутентификация 1С:Предприятия» with this "
    "password and a role allowed to use the standard OData interface."
)
ONEC_PUBLICATION_FIX = N_(
    "The URL does not lead to the standard OData interface: publish the base on the web server with «Публиковать "
    "стандартный интерфейс OData» ticked (Конфигуратор → Администрирование → Публикация на веб-сервере) and set "
    "onec.odata_url in {path} to http(s)://HOST/BASE/odata/standard.odata/."
)
ONEC_DOWN_FIX = N_("1C or its web server fails or does not answer: check that both are running, then try again.")
CHECK_ONEC_ORGANIZATION = N_("1C selling organization")
ORGANIZATION_FIX = N_('Set organization under [deals] in {path} to the INN (or Ref_Key) of the organization that '
                      'issues the orders, e.g. organization = "{example}".')
ONEC_HS_FIX = N_('onec.write_via in {path} sends writes through the b24sync HTTP service: install the extension from '
                 'onec/ (onec/README.md) and publish its HTTP service, or set those entities back to "odata".')
CHECK_ONEC_ZONE = N_("1C time zone")
ONEC_ZONE_DIFFERS = N_("the base runs in {zone}, but onec.timezone is {configured}: 1C dates carry no zone, so every "
                       "date would be read shifted")
ONEC_ZONE_FIX = N_('Set timezone = "{zone}" under [onec] in {path}.')
STATE_NOT_YET = N_("{path} does not exist yet; the first run creates it")
STATE_DIR_UNWRITABLE = N_("{path} cannot be created: {dir} is not writable by {user}")
STATE_DIR_UNWRITABLE_FIX = N_("Create {dir} for the user that runs b24sync (as root: install -d -o USER -m 0700 "
                              "{dir}; a systemd unit: StateDirectory=), or set path under [state] to a writable place.")
STATE_UNWRITABLE_NOW = N_("{path} is not writable by {user} (the file, or its folder, where the journal files go)")
STATE_UNWRITABLE_FIX = N_("Give the user that runs b24sync the file and its folder: chown -R USER {dir} (a systemd "
                          "unit's StateDirectory= does it).")
STATE_HEALTHY = N_("{path}: intact, writable ({size} MB)")
STATE_DAMAGED = N_("{path} is damaged: {reason}")
STATE_DAMAGED_FIX = N_(
    "Stop the scheduled runs, move the file aside with its -wal and -shm files (mv {path} {path}.damaged), then run "
    "'b24sync reconcile --dry-run': a new state file is made and records are matched again by the 1C references "
    "stamped in Bitrix24, INN and e-mail, so nothing is duplicated. Keep the damaged copy for a bug report."
)
CHECK_STATE_SCHEMA = N_("State schema")
STATE_SCHEMA_CURRENT = N_("current ({count} migrations applied)")
STATE_SCHEMA_PENDING = N_("{count} migration(s) to apply ({names}): the next run applies them")
STATE_SCHEMA_NEWER = N_("written by a newer b24sync (unknown migrations: {names})")
STATE_SCHEMA_NEWER_FIX = N_("Upgrade b24sync to the version that wrote this file; an older one cannot use it safely.")
CHECK_STATE_JOURNAL = N_("State journal")
STATE_NOTHING_IN_DOUBT = N_("no write left in doubt")
STATE_RUN_IN_PROGRESS = N_("a run is in progress (pid {pid}, {command}, since {since})")
STATE_IN_DOUBT = N_("{count} write(s) left in doubt by an interrupted run (since {since}); each is looked up in its "
                    "target system before anything else is sent")
STATE_IN_DOUBT_FIX = N_("Nothing to repair by hand: the next 'b24sync reconcile' settles them first (run it now, or "
                        "wait for the timer).")

# --- apply ---------------------------------------------------------------------------------------
APPLY_STALE = N_(
    "{target} {entity} {record} changed since the plan was made ({detail}); its operation was not applied."
)
APPLY_FAILED = N_("{target} {entity} {record}: {error}")
SHOW_ORDER = N_("{rows}; total {amount} {currency}")
SHOW_INTEREST = N_("«{title}», potential amount {amount}")
ORDER_TOTAL_DIFFERS = N_("{deal}: 1C computed the order total as {onec}, Bitrix24 has {b24}; check the order.")
ORDER_REFUSED = N_("order {ref} is no longer «НеСогласован» in 1C; the deal's change is not written")
INVOICE_PIPELINE_MISSING = N_("The portal has no stages for smart invoices of pipeline {category} "
                              "(crm.status.list SMART_INVOICE_STAGE_{category}).")
SANDBOX_OPT_B24_FAULT = N_("Make this share of portal requests fail with KIND (repeatable), e.g. overload503=0.05, "
                           "drop_after_commit=0.1, html502=0.02, truncated=0.01, slow_after_commit=0.05.")
SANDBOX_OPT_ONEC_FAULT = N_("Make this share of 1C requests fail with KIND (repeatable), e.g. html500=0.05, "
                            "web503=0.02, drop_after_commit=0.1, truncated=0.01, slow=0.05.")
SANDBOX_OPT_FAULT_SEED = N_("Seed of the random faults: the same seed fails the same requests again.")
SANDBOX_OPT_SLOW = N_("Seconds a 'slow' fault delays its answer.")
SANDBOX_BAD_FAULT = N_("{spec!r} is not KIND=SHARE with a share from 0 to 1; kinds: {kinds}.")
APP_TOKEN_MISSING = N_("No application token for the event receiver: set {env} in the environment or in the "
                       "owner-only secrets file, or serve.token_file in {path} (the token Bitrix24 shows for the "
                       "outgoing webhook).")
SECRET_NOT_UTF8 = N_("{path} is not UTF-8 text (byte {offset}); save it as UTF-8.")
SERVE_CANNOT_LISTEN = N_("Cannot listen on {host}:{port}: {reason}.")
STAGE_UNKNOWN = N_("{key}: {value!r} is neither the id nor the name of a status on the portal. Known: {known}.")
ORGANIZATION_UNKNOWN = N_("deals.organization: {value!r} does not name exactly one 1C organization (by INN or "
                          "Ref_Key); the base has: {known}.")
CONFIG_BAD_CHOICE = N_("{key} in {path}: {value!r} is not one of {allowed}.")
CONFIG_BAD_MAP = N_("{key} in {path}: {value!r} must be a 1C Ref_Key (GUID) under a Bitrix24 numeric id.")
APPLY_MAX_CHANGES = N_(
    "The plan has {count} operations, more than --max-changes {limit}; nothing was written. Review it with "
    "--dry-run, then raise the limit or apply it as a saved plan."
)

# --- reconcile / apply commands ------------------------------------------------------------------
RECONCILE_HELP = N_(
    "Compare Bitrix24 and 1C, show the plan, and apply it (unless --dry-run). Incremental by default; "
    "--full re-reads everything.\n\n"
    "Examples:\n"
    "b24sync --config acme.toml reconcile --dry-run   (the plan; nothing is written)\n"
    "b24sync --config acme.toml reconcile\n"
    "b24sync --config acme.toml reconcile --only deals,leads --max-changes 200\n"
    "b24sync --config acme.toml reconcile --dry-run --format csv > план.csv"
)
APPLY_HELP = N_(
    "Apply a plan saved with 'reconcile --plan-out FILE'; operations whose records changed are refused (exit 5).\n\n"
    "Example:\n"
    "b24sync --config acme.toml reconcile --dry-run --plan-out plan.json   (review it, then:)\n"
    "b24sync --config acme.toml apply plan.json"
)
OPT_DRY_RUN = N_("Plan only: write nothing to either system.")
OPT_FULL = N_("Read both systems in full instead of the changes since the last run.")
OPT_ONLY = N_("Limit the run to these flows: companies, contacts, deals, leads, invoices, statuses "
              "(comma-separated).")
OPT_PLAN_OUT = N_("Save the plan as JSON to FILE (owner-only), for review and 'b24sync apply FILE'.")
OPT_FORMAT = N_("Output format of the plan on stdout: table, summary (the counts only: for timers), json or csv.")
OPT_MAX_CHANGES = N_("Refuse to write when the plan has more than N operations.")
BAD_FORMAT = N_("--format must be table, summary, json or csv, not {value!r}.")
PLAN_SUMMARY_LINE = N_("{conflicts} conflict(s), {rejected} rejected edit(s), {issues} issue(s); the records: "
                       "b24sync conflicts, or the plan with --dry-run --format table.")
BAD_ONLY = N_("--only takes companies, contacts, deals, leads, invoices and/or statuses, not {value!r}.")
PLAN_NOT_READABLE = N_("Cannot read the plan {path}: {reason}")
READING = N_("Reading {entity}")
APPLYING = N_("Applying")
PLAN_TITLE = N_("Plan {plan_id}: {total} operation(s)")
COL_SIDE = N_("Target")
COL_ENTITY = N_("Entity")
COL_CREATE = N_("Create")
COL_UPDATE = N_("Update")
COL_LINK = N_("Link")
OPS_TITLE = N_("Operations")
COL_ACTION = N_("Action")
COL_RECORD = N_("Record")
COL_FIELDS = N_("Changes")
COL_REASON = N_("Reason")
CONFLICTS_TITLE = N_("Conflicts: nothing is written for these records")
REJECTED_TITLE = N_("Rejected edits: changes made by the side that does not own the field")
ISSUES_TITLE = N_("Records with unusable values (not created or not compared)")
COL_KIND = N_("Kind")
COL_DETAIL = N_("Detail")
MORE_ROWS = N_("… and {count} more (see --format json)")
NOTHING_TO_DO = N_("Nothing to do: both systems agree.")
DRY_RUN_DONE = N_("Dry run: nothing was written. Run without --dry-run to apply these {count} operation(s).")
APPLY_DONE = N_("Applied {done} operation(s); {failed} failed, {stale} stale, {skipped} already done earlier.")
RESOLVED_IN_DOUBT = N_("Settled {count} operation(s) left in doubt by an interrupted run.")
PLAN_SAVED = N_("Plan saved to {path}.")
USERFIELD_MISSING = N_(
    "The Bitrix24 field {field} does not exist on {entity}; b24sync stores the 1C link there. Run: b24sync doctor --fix"
)
ONEC_NOT_CONFIGURED = N_(
    "onec.odata_url is not set in {path}; reconciliation needs the 1C base (see config.example.toml)."
)

# --- snapshot ------------------------------------------------------------------------------------
SNAPSHOT_HELP = N_(
    "Write the records of both systems to files in DIR: as read and as normalized parties, in CSV (and "
    "Parquet when pyarrow is installed), with a manifest. Only the changes since the last reconciliation "
    "unless --full; the state is never changed.\n\n"
    "Examples:\n"
    "b24sync --config acme.toml snapshot --out snap/\n"
    "b24sync --config acme.toml snapshot --full --side onec --entity counterparties --out snap-1c/"
)
SNAPSHOT_OPT_SIDE = N_("Only this system.")
SNAPSHOT_OPT_ENTITY = N_("Only this entity (with what it needs to be normalized); implies its system.")
SNAPSHOT_OPT_FULL = N_("Read everything, not only the changes since the state's watermark and 1C versions.")
SNAPSHOT_OPT_OUT = N_("Directory for the files (created owner-only if missing).")
SNAPSHOT_OPT_FORCE = N_("Overwrite snapshot files that already exist in DIR.")
SNAPSHOT_BAD_SIDE = N_("Unknown side {side!r}; known: {known}.")
SNAPSHOT_BAD_ENTITY = N_("Unknown entity {entity!r}; known: {known}.")
SNAPSHOT_ENTITY_NOT_ON_SIDE = N_("{entity} is not an entity of {side}, which has: {known}.")
SNAPSHOT_EXISTS = N_("{path} already holds {files}; pass --force to overwrite, or choose another --out.")
SNAPSHOT_OUT_UNUSABLE = N_("Cannot write the snapshot to {path}: {reason}.")
SNAPSHOT_STATE_UNREADABLE = N_(
    "Cannot read the watermark and 1C versions from the state file {path}: {reason}. With --full the state is "
    "not needed."
)
SNAPSHOT_NO_PYARROW = N_("Writing Parquet needs pyarrow: pip install 'b24sync[parquet]'.")
SNAPSHOT_PARQUET_SKIPPED = N_("CSV only: pyarrow is not installed (pip install 'b24sync[parquet]' adds Parquet).")
SNAPSHOT_READ_FULL = N_("{side}: read in full, {requests} request(s) in {seconds:.1f} s.")
SNAPSHOT_READ_NO_WATERMARK = N_(
    "{side}: read in full (the state has no watermark yet), {requests} request(s) in {seconds:.1f} s."
)
SNAPSHOT_READ_NO_VERSIONS = N_(
    "{side}: read in full (the state knows no 1C versions yet), {requests} request(s) in {seconds:.1f} s."
)
SNAPSHOT_READ_SINCE = N_("{side}: changes since {since}, {requests} request(s) in {seconds:.1f} s.")
SNAPSHOT_READ_VERSIONS = N_(
    "{side}: {changed} new or changed of {known} known, {gone} gone, {requests} request(s) in {seconds:.1f} s."
)
SNAPSHOT_TITLE = N_("Snapshot in {path}")
SNAPSHOT_COL_FILE = N_("File")
SNAPSHOT_COL_ROWS = N_("Rows")
SNAPSHOT_COL_COLUMNS = N_("Columns")
SNAPSHOT_KIND_RAW = N_("as read")
SNAPSHOT_KIND_CANONICAL = N_("normalized parties")
SNAPSHOT_DONE = N_("{frames} frame(s), {rows} record(s) read, {requests} request(s), {seconds:.1f} s; "
                   "manifest: {manifest}")

# --- conflicts -----------------------------------------------------------------------------------
CONFLICTS_HELP = N_("List the conflicts the last full run held back, with the records on each side; "
                    "resolve one by linking two records by hand, or by picking the side whose value wins."
                    "\n\nExamples: b24sync conflicts; b24sync conflicts --refresh; b24sync conflicts link "
                    "company:42 5f0c3e1a-8d2b-4c6e-9a71-0b3d2e4f6a88; b24sync conflicts pick 3fa2c1 --side 1c")
CONFLICTS_OPT_REFRESH = N_("Read both systems in full first (no writes) and store what is open now.")
CONFLICTS_OPT_FORMAT = N_("Output format: text (tables) or json.")
CONFLICTS_BAD_FORMAT = N_("--format must be text or json, not {value!r}.")
CONFLICTS_LINK_HELP = N_("Link a Bitrix24 company or contact and a 1C counterparty you have checked are the "
                         "same party; the next reconcile stamps UF_CRM_1C_ID and syncs the fields by owner.\n\n"
                         "Example:\n"
                         "b24sync --config acme.toml conflicts link company:42 5f0c3e1a-8d2b-4c6e-9a71-0b3d2e4f6a88")
CONFLICTS_ARG_B24 = N_("The Bitrix24 record: company:ID or contact:ID.")
CONFLICTS_ARG_ONEC = N_("The 1C counterparty's Ref_Key (a GUID).")
CONFLICTS_NONE = N_("No open conflicts (as of {seen}).")
CONFLICTS_NEVER = N_("No full run has been recorded yet: run b24sync reconcile, or b24sync conflicts --refresh.")
CONFLICTS_TITLE = N_("{count} open conflict(s), as of the last full read ({seen})")
CONFLICTS_COL_RECORD = N_("record")
CONFLICTS_COL_NAME = N_("name")
CONFLICTS_COL_INN = N_("INN / KPP")
CONFLICTS_COL_CONTACTS = N_("e-mails, phones")
CONFLICTS_NEXT = N_("To link two records you have checked: b24sync conflicts link BITRIX24_KEY 1C_REF_KEY. "
                    "To settle a field both sides changed: b24sync conflicts pick ID --side bitrix24|1c")
CONFLICTS_BAD_B24_KEY = N_("{key!r} is not a Bitrix24 record: write company:ID or contact:ID.")
CONFLICTS_BAD_ONEC_REF = N_("{ref!r} is not a 1C Ref_Key: write the counterparty's GUID, e.g. "
                            "5f0c3e1a-8d2b-4c6e-9a71-0b3d2e4f6a88.")
CONFLICTS_ALREADY_LINKED = N_("{record} is already linked to {other}: nothing changed.")
CONFLICTS_MISSING = N_("{record} does not exist (or is marked for deletion): nothing changed.")
CONFLICTS_KIND_MISMATCH = N_("{b24} and {onec} cannot be one party: the 1C counterparty is {kind} (a Bitrix24 "
                             "contact pairs with ФизЛицо, a company with the others). Nothing changed.")
CONFLICTS_LINKED = N_("Linked {b24} ⇄ {onec} (resolves {count} open conflict(s)). The next reconcile stamps "
                      "UF_CRM_1C_ID and syncs the fields.")
CONFLICTS_PICK_HELP = N_("Settle a field both sides changed (or whose value fails its checks) by picking the side "
                         "whose current value wins: it is written to the other side after the plan is shown.\n\n"
                         "Examples:\nb24sync conflicts pick 3fa2c1 --side 1c --dry-run\n"
                         "b24sync conflicts pick 3fa2c1d09e7b --side bitrix24 --yes")
CONFLICTS_ARG_CONFLICT = N_("The conflict's id as b24sync conflicts shows it (at least its first 6 characters).")
CONFLICTS_OPT_SIDE = N_("The side whose value wins: bitrix24 or 1c.")
CONFLICTS_OPT_DRY_RUN = N_("Show the write, make none.")
CONFLICTS_OPT_YES = N_("Do not ask for confirmation.")
CONFLICTS_NO_SUCH = N_("{conflict!r} names {count} open conflict(s); give the id (or its first 6+ characters) of "
                       "exactly one, as b24sync conflicts lists them.")
CONFLICTS_PICK_NOT_FIELD = N_("Conflict {conflict} is about which records are the same party, not about a value: "
                              "resolve it with b24sync conflicts link, or by merging the duplicates.")
CONFLICTS_PICK_BAD_SIDE = N_("{side!r} is not a side: write bitrix24 or 1c.")
CONFLICTS_PICK_INVALID = N_("The {field} on {side} is {value!r}, the value that fails its checks: pick the other "
                            "side, or correct it by hand.")
CONFLICTS_PICK_TITLE = N_("Conflict {conflict}: {field} of {b24} / {onec}; {side} wins with {value!r}.")
CONFLICTS_PICK_AGREE = N_("Both sides already hold this value: nothing to write; the conflict is closed.")
CONFLICTS_PICK_CONFIRM = N_("Write this value to the other side?")
CONFLICTS_PICK_OPEN = N_("The conflict stays open: the write did not go through (see above).")

# --- revert --------------------------------------------------------------------------------------
REVERT_HELP = N_("Put back the values a run wrote (from the journal's before-images), after showing the plan. "
                 "A field changed since the run is kept; what the run created is listed for review, never "
                 "deleted.\n\nExamples: b24sync status (run ids); b24sync revert 3f2a9c --dry-run; "
                 "b24sync revert 3f2a9c --yes")
REVERT_ARG_RUN = N_("The run's id, or its first 6 or more characters (see b24sync status).")
REVERT_OPT_DRY_RUN = N_("Show the revert plan and what is kept or left for review; write nothing.")
REVERT_OPT_YES = N_("Apply without asking for confirmation.")
REVERT_NO_RUN = N_("No run {run!r} in the state (give at least 6 characters of an id b24sync status shows).")
REVERT_AMBIGUOUS_RUN = N_("{count} runs start with {run!r}: give more characters of the id.")
REVERT_NOTHING_DONE = N_("Run {run} wrote nothing (no operation done): there is nothing to revert.")
REVERT_TITLE = N_("Revert of run {run} ({command}, {started}): {count} operation(s)")
REVERT_REVIEW_TITLE = N_("Not reverted, for a person to review:")
REVERT_REVIEW_CREATE = N_("{target} {entity} made from {record} by the run (b24sync never deletes records)")
REVERT_REVIEW_LINK = N_("the link {b24} ⇄ {onec} and its UF_CRM_1C_ID stamp are kept (see b24sync conflicts)")
REVERT_REVIEW_DOCUMENT = N_("{action} of {entity} {record} (documents are not reverted)")
REVERT_KEPT_TITLE = N_("Kept as they are now:")
REVERT_KEPT_CHANGED = N_("{record}: {field} changed since the run (now {now!r})")
REVERT_KEPT_GONE = N_("{record} no longer exists")
REVERT_NOTHING_TO_WRITE = N_("Nothing to write back.")
REVERT_CONFIRM = N_("Write these {count} operation(s) back?")
REVERT_DECLINED = N_("Not confirmed: nothing was written.")

# --- status --------------------------------------------------------------------------------------
STATUS_HELP = N_("Show the state of this instance: the last successful run and its age (the heartbeat), recent "
                 "runs, links, the journal, watermarks; --max-age makes a stale heartbeat exit 1.\n\n"
                 "Examples:\n"
                 "b24sync --config acme.toml status\n"
                 "b24sync --config acme.toml status --max-age 2h   (exit 1 when no run succeeded for 2 hours)")
STATUS_TITLE = N_("b24sync status — {instance} ({path})")
STATUS_RUNS = N_("Recent runs")
STATUS_COL_RUN = N_("Run")  # the first 8 characters of the run id: enough for b24sync revert
STATUS_COL_STARTED = N_("Started")
STATUS_COL_COMMAND = N_("Command")
STATUS_COL_STATUS = N_("Status")
STATUS_COL_SUMMARY = N_("Summary")
STATUS_FACTS = N_(
    "{links} linked pairs; journal: {journal}; Bitrix24 watermark: {watermark}; 1C versions known: {versions}"
)
STATUS_EVENTS = N_("Event queue: {counts}")
STATUS_CONFLICTS = N_("Open conflicts: {count} as of the last full read ({seen}); list them: b24sync conflicts")
STATUS_COL_TOOK = N_("Took")
STATUS_DEAD = N_("Dead event {id}: {event} {entity}:{entity_id} after {attempts} attempt(s): {error}")
SERVE_HELP = N_("Receive Bitrix24 outgoing-webhook events and process them at once (durable queue + worker).\n\n"
                "Examples:\n"
                "b24sync --config acme.toml serve\n"
                "b24sync --config acme.toml serve --host 127.0.0.1 --port 8808 --no-worker   (and 'b24sync worker' "
                "beside it)")
OPT_SERVE_HOST = N_("Address to listen on (default: serve.host, 127.0.0.1).")
OPT_SERVE_PORT = N_("Port to listen on (default: serve.port; 0 picks a free one).")
OPT_NO_WORKER = N_("Only receive and queue; run 'b24sync worker' separately.")
SERVE_LISTENING = N_("Listening on {url} (health: /healthz). Stop with Ctrl+C or SIGTERM.")
SERVE_STOPPED = N_("Stopped; queue: {counts}.")
WORKER_HELP = N_("Process the event queue that 'b24sync serve --no-worker' fills.\n\n"
                 "Examples:\n"
                 "b24sync --config acme.toml worker\n"
                 "b24sync --config acme.toml worker --once   (what is queued now, then exit)")
OPT_WORKER_ONCE = N_("Process what is queued, then exit.")
WORKER_DONE = N_("Worker stopped after processing {count} event(s).")
STATUS_NO_STATE = N_("No state yet at {path}: run 'b24sync reconcile --dry-run' first.")
STATUS_HEARTBEAT = N_("Last successful run: {finished} ({command}), {age} ago")
STATUS_HEARTBEAT_NONE = N_("Last successful run: none yet")
STATUS_STALE = N_("The last successful run is older than --max-age {max_age}.")
STATUS_STALE_NONE = N_("No run has succeeded yet.")
OPT_MAX_AGE = N_("Exit with code 1 when the last successful run is older than AGE (seconds, or 30m, 2h, 1d): a check "
                 "for monitoring.")
BAD_MAX_AGE = N_("--max-age takes seconds or a number with s, m, h or d (e.g. 2h), not {value!r}.")

# --- init ----------------------------------------------------------------------------------------
INIT_HELP = N_(
    "Write a first configuration: asks for (or takes as options) the Bitrix24 webhook URL, the 1C OData URL, user "
    "and password; writes the commented config (mode 0600) and an owner-only secrets file, then runs doctor and "
    "prints the next steps. With every option and --yes it asks nothing.\n\n"
    "Examples:\n"
    "b24sync init --config acme.toml --instance acme   (asks for the rest)\n"
    "b24sync init --systemd --instance acme --odata-url https://1c.example.ru/trade/odata/standard.odata/ "
    "--odata-user Интеграция --odata-password-file /root/acme-1c.pass --yes   (the webhook URL from "
    "$B24SYNC_BITRIX24_WEBHOOK)"
)
INIT_OPT_CONFIG = N_("Where to write the config (default: --config before the command, $B24SYNC_CONFIG, or "
                     "~/.config/b24sync/config.toml; with --systemd /etc/b24sync/INSTANCE.toml).")
INIT_OPT_INSTANCE = N_("Name of this instance (one portal + one 1C base), used in state and log names.")
INIT_OPT_WEBHOOK = N_("The Bitrix24 inbound webhook URL (else $B24SYNC_BITRIX24_WEBHOOK, else asked without echo); "
                      "it is a secret and goes to the secrets file only. On the command line it is visible in the "
                      "process list while init runs: on a shared machine prefer the variable or the question.")
INIT_OPT_ODATA = N_("The 1C standard OData root, http(s)://HOST/BASE/odata/standard.odata/.")
INIT_OPT_USER = N_("The 1C user b24sync logs in as.")
INIT_OPT_PASSWORD_FILE = N_("A file holding the 1C password (else $B24SYNC_ONEC_PASSWORD, else asked without echo).")
INIT_OPT_ORGANIZATION = N_("INN (or Ref_Key) of the 1C organization that issues the orders, when the base has "
                           "several.")
INIT_OPT_STATE = N_("The state file (default: INSTANCE-state.db beside the config; with --systemd "
                    "/var/lib/b24sync/INSTANCE/state.db).")
INIT_OPT_SYSTEMD = N_("Lay the files out for the systemd units: /etc/b24sync/INSTANCE.toml, the secrets as "
                      "INSTANCE.bitrix24_webhook and INSTANCE.onec_password for LoadCredential=, the state in "
                      "/var/lib/b24sync/INSTANCE/.")
INIT_OPT_FORCE = N_("Overwrite existing files (each is kept as FILE.bak).")
INIT_OPT_YES = N_("Ask nothing: take the options and the environment, and create the missing Bitrix24 user fields.")
INIT_OPT_NO_CHECK = N_("Do not run doctor after writing (for a machine that cannot reach the systems yet).")
INIT_ASK_INSTANCE = N_("Instance name")
INIT_ASK_WEBHOOK = N_("Bitrix24 inbound webhook URL (https://PORTAL/rest/USER/TOKEN/, not echoed)")
INIT_ASK_ODATA = N_("1C OData URL (http(s)://HOST/BASE/odata/standard.odata/)")
INIT_ASK_USER = N_("1C user")
INIT_ASK_PASSWORD = N_("Password of the 1C user {user} (not echoed)")
INIT_ASK_OVERWRITE = N_("{files} exist(s). Overwrite (the old files are kept as .bak)?")
INIT_ASK_WRITE = N_("Write these files?")
INIT_ASK_FIX = N_("Create the {count} missing Bitrix24 user field(s) b24sync stores its links in?")
INIT_MISSING = N_("{option} is needed: give it (or its environment variable), or run init in a terminal to be "
                  "asked.")
INIT_BAD_WEBHOOK = N_("The Bitrix24 webhook URL is not of the form https://PORTAL/rest/USER_ID/TOKEN/ (copy it from "
                      "«Приложения → Разработчикам → Другое → Входящий вебхук»).")
INIT_BAD_ODATA = N_("The 1C OData URL {value!r} is not an http(s) URL (expected "
                    "http(s)://HOST/BASE/odata/standard.odata/).")
INIT_BAD_INSTANCE = N_("The instance name {value!r} must be letters, digits, '.', '_' or '-' (it names files and "
                       "systemd units).")
INIT_PASSWORD_FILE = N_("Cannot read the 1C password from {path}: {reason}.")
INIT_EXISTS = N_("{files}: exists already; nothing was written. Pass --force to overwrite (the old files are kept as "
                 ".bak).")
INIT_ABORTED = N_("Nothing was written.")
INIT_SUMMARY = N_(
    "Instance {instance}\n  config:   {config}\n  secrets:  {secrets}\n  state:    {state}\n  Bitrix24: {portal}\n"
    "  1C:       {odata} (user {user})"
)
INIT_WRITTEN = N_("Written (mode 0600): {config}; secrets: {secrets}")
INIT_BACKUP = N_("Kept the previous version as {path}")
INIT_HEADER = N_("Written by 'b24sync init' for instance {instance} at {when}, from config.example.toml.")
INIT_HEADER_SECRETS = N_("The secrets are not here: they are in {file} (owner-only), or in the environment.")
INIT_HEADER_CREDENTIALS = N_("The secrets are not here: systemd hands {files} to the service (LoadCredential=).")
INIT_SECRETS_HEADER = N_("Secrets of {config} (written by 'b24sync init'); keep this file mode 0600.")
INIT_CREDENTIAL_SOURCE = N_("systemd credential {name}")
INIT_NEXT_DOCTOR = N_("Fix what doctor reports, then check again: b24sync --config {config} doctor")
INIT_NEXT = N_(
    "Next steps:\n"
    "  1. b24sync --config {config} reconcile --dry-run   # the plan: nothing is written\n"
    "  2. b24sync --config {config} reconcile             # apply it (incremental after the first run)\n"
    "  3. schedule it with a systemd timer or cron (docs/scheduling.md); watch it: "
    "b24sync --config {config} status"
)
INIT_NEXT_SYSTEMD = N_(
    "Next steps (docs/scheduling.md):\n"
    "  1. chown b24sync: {config}   # the service user reads the config; the secret files stay root's\n"
    "  2. install -m 0644 cron/b24sync@.service cron/b24sync@.timer /etc/systemd/system/ && systemctl daemon-reload\n"
    "  3. systemctl start b24sync@{instance}.service && journalctl -u b24sync@{instance} -n 50   # a first run\n"
    "  4. systemctl enable --now b24sync@{instance}.timer"
)

# --- migrate: the initial migration report (terminal, CSV and HTML share these labels) -------------
MIGRATE_HELP = N_(
    "Initial migration: read both systems in full, match them without writing, and write a report (a summary "
    "here, CSV files and one HTML file). --link then links the confident pairs, --create-missing creates what "
    "is missing on either side; both show the plan and ask first.\n\n"
    "Examples:\n"
    "b24sync --config acme.toml migrate --out отчёт-миграции   (writes nothing to either system)\n"
    "b24sync --config acme.toml migrate --link\n"
    "b24sync --config acme.toml migrate --create-missing --yes"
)
MIGRATE_OPT_OUT = N_("Directory for the report files (default: ./b24sync-migration-<date>).")
MIGRATE_OPT_LINK = N_("Link the confident pairs (stored link, stamp, INN+KPP, unique INN, unique e-mail): "
                      "UF_CRM_1C_ID on the Bitrix24 record and the link in the state. Creates nothing.")
MIGRATE_OPT_CREATE = N_("Create the records missing on either side (those a partner will be found by next time).")
MIGRATE_OPT_YES = N_("Write without asking for confirmation.")
MIGRATE_REPORT_SAVED = N_("Report: {html} (CSV files beside it).")
MIGRATE_OUT_UNWRITABLE = N_("Cannot write the report to {path}: {reason}.")
MIGRATE_CONFIRM = N_("Write these {count} operation(s)?")
MIGRATE_DECLINED = N_("Not confirmed: nothing was written.")
MIGRATE_NOTHING_PLANNED = N_("Nothing to write: every confident pair is linked and nothing is left to create.")
MIGRATE_NEXT_STEP = N_("Nothing was written. Next: review the report, then 'b24sync migrate --link' links the "
                       "{count} confident pair(s).")
MIGRATE_TITLE = N_("Initial migration: Bitrix24 and 1C")
MIGRATE_SUBTITLE = N_("Portal {portal}; both systems read {when}.")
MIGRATE_READ_NOTE = N_("Both systems were read in full and matched. Nothing was written to either of them to make "
                       "this report.")
MIGRATE_FIGURES = N_("{b24} Bitrix24 records and {onec} 1C records: {pairs} matched pairs, {conflicts} ambiguous "
                     "groups, {duplicates} duplicate groups, {invalid} invalid INNs.")
MIGRATE_MADE_BY = N_("Made by b24sync {version}.")
MIGRATE_HTML_LANG = N_("en")  # the report's <html lang>: translators put their language code here
MIGRATE_CONTENTS = N_("Contents")
MIGRATE_SECTION_SUMMARY = N_("Summary")
MIGRATE_SECTION_MATCHED = N_("Matched pairs")
MIGRATE_SECTION_CONFLICTS = N_("Ambiguous groups")
MIGRATE_SECTION_UNMATCHED_B24 = N_("Only in Bitrix24")
MIGRATE_SECTION_UNMATCHED_ONEC = N_("Only in 1C")
MIGRATE_SECTION_DUPLICATES = N_("Duplicates")
MIGRATE_SECTION_INVALID_INN = N_("Invalid INNs")
MIGRATE_ABOUT_MATCHED = N_("Records found on both sides. 'migrate --link' links them; from then on the regular "
                           "runs keep them in sync.")
MIGRATE_ABOUT_CONFLICTS = N_("Records that cannot be paired without a person's decision. They are neither linked nor "
                             "created until the data is corrected in one of the systems.")
MIGRATE_ABOUT_UNMATCHED = N_("Records without a partner on the other side. 'migrate --create-missing' creates those "
                             "marked «yes»; the others lack the key a partner would be found by next time.")
MIGRATE_ABOUT_DUPLICATES = N_("Records that share an INN (with the same or a missing KPP), an e-mail or a phone, "
                              "within one system or across both (beyond one matched pair). Organisations and people "
                              "are compared separately; records marked for deletion in 1C are left out.")
MIGRATE_ABOUT_INVALID_INN = N_("INNs that fail the checksum or have the wrong length for the kind of counterparty. "
                               "Such records are neither matched nor created until the INN is corrected.")
MIGRATE_EMPTY = N_("None.")
MIGRATE_TRUNCATED = N_("The first {shown} of {total} are shown; the full list is in {file}.")
MIGRATE_NOT_FOUND = N_("(record not found)")
MIGRATE_YES = N_("yes")
MIGRATE_NO = N_("no")
MIGRATE_CHART_OUTCOMES = N_("Records per outcome")
MIGRATE_CHART_METHODS = N_("Matched pairs per method")
MIGRATE_CHART_KINDS = N_("Records per kind")
MIGRATE_CHART_DUPLICATES = N_("Duplicate groups per shared value")
MIGRATE_COL_SECTION = N_("Section")
MIGRATE_COL_ITEM = N_("Item")
MIGRATE_COL_COUNT = N_("Count")
MIGRATE_COL_OUTCOME = N_("Outcome")
MIGRATE_COL_METHOD = N_("Matched by")
MIGRATE_COL_SIDE = N_("System")
MIGRATE_COL_RECORD = N_("Record")
MIGRATE_COL_NAME = N_("Name")
MIGRATE_COL_KIND = N_("Kind")
MIGRATE_COL_INN = N_("INN")
MIGRATE_COL_KPP = N_("KPP")
MIGRATE_COL_EMAILS = N_("E-mails")
MIGRATE_COL_PHONES = N_("Phones")
MIGRATE_COL_URL = N_("Link")
MIGRATE_COL_GROUP = N_("Group")
MIGRATE_COL_CONFLICT = N_("Conflict")
MIGRATE_COL_REASON = N_("Reason")
MIGRATE_COL_DESCRIPTION = N_("Description")
MIGRATE_COL_CREATE = N_("Created by --create-missing")
MIGRATE_COL_SCOPE = N_("Where")
MIGRATE_COL_BASIS = N_("Shared")
MIGRATE_COL_VALUE = N_("Value")
MIGRATE_COL_PROBLEM = N_("Problem")
MIGRATE_SIDES = {"bitrix24": N_("Bitrix24"), "onec": N_("1C"), "both": N_("both systems")}
MIGRATE_OUTCOMES = {
    "matched": N_("matched"),
    "conflict": N_("ambiguous, held back"),
    "invalid_inn": N_("invalid INN"),
    "to_create": N_("no partner, can be created"),
    "not_creatable": N_("no partner, cannot be created"),
    "deletion_marked": N_("marked for deletion"),
}
MIGRATE_METHODS = {
    "stored_link": N_("stored link"),
    "record_link": N_("1C reference on the record"),
    "origin": N_("created by b24sync"),
    "deterministic_ref": N_("reference given by b24sync"),
    "inn_kpp": N_("INN + KPP"),
    "inn": N_("INN, unique on both sides"),
    "email": N_("e-mail, unique on both sides"),
}
MIGRATE_KINDS = {"legal": N_("legal entity"), "sole_proprietor": N_("sole proprietor"), "individual": N_("person"),
                 "unknown": N_("unknown")}
MIGRATE_BASES = {"inn": N_("INN"), "email": N_("e-mail"), "phone": N_("phone")}
MIGRATE_CONFLICT_KINDS = {
    "duplicate_inn": N_("duplicate INN"),
    "duplicate_email": N_("shared e-mail"),
    "ambiguous_match": N_("several candidates"),
    "broken_link": N_("broken link"),
    "duplicate_link": N_("conflicting links"),
    "invalid_inn": N_("invalid INN"),
}
MIGRATE_INN_PROBLEMS = {
    "bad_inn_checksum": N_("wrong check digit"),
    "inn_wrong_length": N_("wrong length for the kind"),
    "not_digits": N_("not only digits"),
    "inn_all_zeros": N_("all zeros"),
}
MIGRATE_NOT_CREATED = {
    "not_created_no_inn": N_("no INN"),
    "not_created_invalid_inn": N_("invalid INN"),
    "not_created_no_email": N_("no e-mail"),
    "not_created_unknown_kind": N_("unknown legal form"),
    "not_created_no_name": N_("no name"),
}
