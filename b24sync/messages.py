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
    "plan before anything is written."
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
    "READY=1 on stdout."
)
SANDBOX_OPT_PORT = N_("Port of the Bitrix24 emulator on 127.0.0.1 (0 = any free port).")
SANDBOX_OPT_ONEC_PORT = N_("Port of the 1C emulator (OData and the b24sync HTTP service) on 127.0.0.1 (0 = any).")
SANDBOX_OPT_SIZE = N_("How many counterparties to seed.")
SANDBOX_OPT_SEED = N_("Seed of the data generator (same seed, same data).")
SANDBOX_OPT_NO_LIMITS = N_("Turn off the emulated rate limits (leaky bucket and operating time).")
SANDBOX_OPT_EVENTS = N_("URL that receives the portal's outgoing events (ONCRM…), form-encoded.")
SANDBOX_OPT_WRITE_CONFIG = N_(
    "Also write a ready config file for this sandbox (secrets in an owner-only file beside it)."
)
SANDBOX_CONFIG_WRITTEN = N_("Config written to {path}; try: b24sync --config {path} doctor")
SANDBOX_STOPPED = N_("Sandbox stopped.")

DEMO_HELP = N_(
    "Run the whole job on a fresh sandbox: doctor --fix, the dry-run plan, apply, and a second run that finds "
    "nothing left to do."
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
    "Check the configuration, both systems' reachability and rights, and the Bitrix24 user fields b24sync "
    "needs; --fix creates the missing fields."
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
CHECK_CONFIG_DETAIL = N_("instance {instance}, state {state}")
CHECK_STATE = N_("State file")
CHECK_B24_SECRET = N_("Bitrix24 webhook")
CHECK_SECRET_FROM = N_("from {source}")
CHECK_B24_REACH = N_("Bitrix24 portal")
CHECK_B24_REACH_DETAIL = N_("{portal}: webhook user {user} (administrator: {admin})")
CHECK_B24_ADMIN = N_("the webhook user is not an administrator: user fields cannot be created")
CHECK_B24_FIELD = N_("Bitrix24 field {entity}.{field}")
CHECK_FIELD_PRESENT = N_("present")
CHECK_FIELD_MISSING = N_("missing: run 'b24sync doctor --fix' to create it")
CHECK_FIELD_CREATED = N_("created")
CHECK_ONEC_SECRET = N_("1C password")
CHECK_ONEC_NOT_CONFIGURED = N_("onec.odata_url is not set")
CHECK_ONEC_REACH = N_("1C base")
CHECK_ONEC_REACH_DETAIL = N_("{url}: user {user}, {count} counterparties")
CHECK_ONEC_SET = N_("1C entity set {name}")
CHECK_ONEC_SET_MISSING = N_("not published: add it to the OData composition (Настройка стандартного интерфейса OData)")
CHECK_ONEC_HS = N_("1C HTTP service b24sync")
CHECK_ONEC_HS_DETAIL = N_("{configuration}, contract {version}")
CHECK_ONEC_HS_ABSENT = N_("not available ({reason}); writes use OData")
DOCTOR_FAILED = N_("{count} check(s) failed.")
ONEC_HS_ERROR = N_("The 1C HTTP service refused {operation} ({code}, HTTP {status}): {message}{field}")
ONEC_HS_CONTRACT = N_("The 1C HTTP service implements contract {version}; this b24sync speaks {supported}.")

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
    "--full re-reads everything."
)
APPLY_HELP = N_(
    "Apply a plan saved with 'reconcile --plan-out FILE'; operations whose records changed are refused (exit 5)."
)
OPT_DRY_RUN = N_("Plan only: write nothing to either system.")
OPT_FULL = N_("Read both systems in full instead of the changes since the last run.")
OPT_ONLY = N_("Limit the run to these flows: companies, contacts, deals, leads, invoices, statuses "
              "(comma-separated).")
OPT_PLAN_OUT = N_("Save the plan as JSON to FILE (owner-only), for review and 'b24sync apply FILE'.")
OPT_FORMAT = N_("Output format of the plan on stdout: table, json or csv.")
OPT_MAX_CHANGES = N_("Refuse to write when the plan has more than N operations.")
BAD_FORMAT = N_("--format must be table, json or csv, not {value!r}.")
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

# --- status --------------------------------------------------------------------------------------
STATUS_HELP = N_("Show the state of this instance: recent runs, links, the journal, watermarks.")
STATUS_TITLE = N_("b24sync status — {instance} ({path})")
STATUS_RUNS = N_("Recent runs")
STATUS_COL_STARTED = N_("Started")
STATUS_COL_COMMAND = N_("Command")
STATUS_COL_STATUS = N_("Status")
STATUS_COL_SUMMARY = N_("Summary")
STATUS_FACTS = N_(
    "{links} linked pairs; journal: {journal}; Bitrix24 watermark: {watermark}; 1C versions known: {versions}"
)
STATUS_EVENTS = N_("Event queue: {counts}")
STATUS_DEAD = N_("Dead event {id}: {event} {entity}:{entity_id} after {attempts} attempt(s): {error}")
SERVE_HELP = N_("Receive Bitrix24 outgoing-webhook events and process them at once (durable queue + worker).")
OPT_SERVE_HOST = N_("Address to listen on (default: serve.host, 127.0.0.1).")
OPT_SERVE_PORT = N_("Port to listen on (default: serve.port; 0 picks a free one).")
OPT_NO_WORKER = N_("Only receive and queue; run 'b24sync worker' separately.")
SERVE_LISTENING = N_("Listening on {url} (health: /healthz). Stop with Ctrl+C or SIGTERM.")
SERVE_STOPPED = N_("Stopped; queue: {counts}.")
WORKER_HELP = N_("Process the event queue that 'b24sync serve --no-worker' fills.")
OPT_WORKER_ONCE = N_("Process what is queued, then exit.")
WORKER_DONE = N_("Worker stopped after processing {count} event(s).")
STATUS_NO_STATE = N_("No state yet at {path}: run 'b24sync reconcile --dry-run' first.")
