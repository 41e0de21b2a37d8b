/* wzctl_parse.c - wzctl's command line, its YAML files and its names for
 * enum values. Pure functions: no sockets, no output but the usage text. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "wz_codec.h"
#include "wz_util.h"
#include "wz_validate.h"
#include "wzctl.h"
#include "wz_report.h"

static int s_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

void wzctl_usage(FILE *out)
{
    fputs("usage: wzctl [-c CONFIG] [--as PARTY] [--json] [--timeout MS] COMMAND ...\n"
          "\n"
          "Acts as one party of the woonzorg suite: sends its requests to intake (or\n"
          "audit) and reads its mailbox from notification, over CURVE with the key\n"
          "pair <keys_dir>/<PARTY>.key. Requests are checked locally against the\n"
          "policy before they are sent; the server checks them again.\n"
          "\n"
          "Options (before the command; -c, --as and --json may also follow it):\n"
          "  -c, --config CONFIG  settings file (default: $WZ_CONFIG, else config/woonzorg.yaml)\n"
          "  --as PARTY           the party to act as, e.g. pre-wonen (default: $WZ_PARTY)\n"
          "  --json               print one JSON object per reply or delivery\n"
          "  --timeout MS         how long to wait for a reply (default 5000); the\n"
          "                       request is resent every second with the same request id\n"
          "  -h, --help           this text\n"
          "\n"
          "Commands:\n"
          "  keygen NAME... [--dir DIR] [--force]\n"
          "      create CURVE key pairs DIR/NAME.key (mode 0600) and DIR/NAME.pub.\n"
          "      DIR defaults to keys_dir of the config (--dir is required if the\n"
          "      config cannot be read). Existing keys are kept (\"kept\") unless\n"
          "      --force replaces them (\"created\").\n"
          "  publish FILE.yaml                      corporation: publish a vacancy\n"
          "  withdraw VACANCY                       corporation: withdraw a vacancy\n"
          "  signed VACANCY [--contract TYPE]       corporation: the lease is signed; TYPE is\n"
          "      regular, three-party (default), omklap, second-chance or temporary-mo\n"
          "  register FILE.yaml                     care provider: register a candidate (a\n"
          "                                         known id updates it)\n"
          "  withdraw-candidate CANDIDATE           care provider: withdraw a candidate\n"
          "  answer PROPOSAL accept|decline [--reason REASON]\n"
          "                                         care provider: answer a proposal; a decline\n"
          "      names one of the policy's decline_reasons, e.g. \"client_refuses\" or\n"
          "      \"dwelling_unsuitable: school too far\" (the id decides the consequence)\n"
          "  confirm PROPOSAL STEP ok|no [--reason REASON]\n"
          "      the party of the proposal's current route step confirms it or turns it\n"
          "      down (e.g. the corporation after the viewing); a municipality gives its\n"
          "      verdict on a refusal with STEP \"decline\"\n"
          "  nominate VACANCY CANDIDATE              care provider (nominate schemes): nominate\n"
          "      a candidate for a vacancy the suite asked you about; matching checks it\n"
          "  explain PROPOSAL [--replay]             any party that sees the proposal: why this\n"
          "      candidate (rank, eligible, what each rule removed); with --replay a\n"
          "      municipality has intake recompute the decision from its snapshot and\n"
          "      gets the verdict (same, different, cannot replay) with the counts\n"
          "  grant-urgency CANDIDATE [--date YYYY-MM-DD] [--extend]\n"
          "                                         municipality: grant urgency (default: today);\n"
          "      --extend extends it once by the scheme's extension\n"
          "  status vacancy|candidate|proposal ID   any party: show the current state\n"
          "  listen [--count N] [--timeout SECONDS] [--no-ack]\n"
          "      print the party's deliveries as they arrive and acknowledge each one\n"
          "      (not with --no-ack). Stops after N deliveries, after SECONDS without\n"
          "      one, or on Ctrl-C; without options it runs until Ctrl-C. A new listen\n"
          "      resumes after the last acknowledged delivery.\n"
          "  audit tail [-n N]                      municipality: the last N audit entries\n"
          "                                         (default 20, at most 1000)\n"
          "  audit verify [--region R] [--file F]   operator: walk the hash chain of every\n"
          "      region (or R) in Redis, or in an export file F, and hold it against the\n"
          "      signed checkpoints; names the first entry altered, removed or reordered\n"
          "      and exits 1. Needs redis access (config) and keys_dir/audit-sign.pub.\n"
          "  audit export [--region R] [-o FILE]    operator: the chains and checkpoints\n"
          "      as JSON lines (stdout by default), verifiable offline with verify --file\n"
          "  report [--period month|quarter|year] [--by region|municipality|corporation|\n"
          "         care_provider|all] [--csv] [--region R]\n"
          "      the figures of docs/reports.md per period, computed from the audit trail:\n"
          "      a municipality (--as) gets its own region through the audit service; the\n"
          "      operator (no --as) reads every region (or R) from Redis. --csv: one figure\n"
          "      per line; --json: one object\n"
          "  redis-acl FILE                         operator: write the ACL file for\n"
          "      redis-server --aclfile: one user per service with only its commands and\n"
          "      keys, a read-only wz-operator; passwords in keys_dir/redis-<name>.pass\n"
          "  dead-letters list                      operator (Redis access, no --as): events\n"
          "      a consumer set aside after failing repeatedly, per region and consumer\n"
          "  dead-letters replay REGION CONSUMER PRODUCER:SEQ\n"
          "      operator: have the consumer apply that dead letter again on its next\n"
          "      catch-up; it leaves the list once the effect is committed\n"
          "\n"
          "Vacancy file (publish):\n"
          "  id: PW-2025-0142\n"
          "  municipality: haarlem\n"
          "  neighbourhood: BU03920101          # CBS buurt code in that municipality\n"
          "  complex: vijfhoek-3\n"
          "  address: Kruisstraat 12\n"
          "  rooms: 2\n"
          "  floor_area_m2: 48\n"
          "  rent: 612.50                       # euros a month\n"
          "  access: [ground_floor, lift]       # also no_steps, wheelchair\n"
          "  available_from: 2025-12-01\n"
          "  scheme: zkij-uitstroom             # optional: the region's default scheme\n"
          "  stairwell: \"12\"                    # optional, for the spread per stairwell\n"
          "\n"
          "Candidate file (register):\n"
          "  id: kam-0012                       # a pseudonym, never a name\n"
          "  municipality: haarlem              # the municipality granting urgency\n"
          "  group: beschermd_wonen             # a target group of the policy\n"
          "  household: {adults: 1, children: 0}\n"
          "  age_band: adult                    # under_23 | adult | pension\n"
          "  income: below_limit                # below_limit | above_limit\n"
          "  access_needs: []\n"
          "  acceptable_municipalities: [haarlem, heemstede]   # empty: the whole region\n"
          "  excluded_neighbourhoods: []\n"
          "  consent: true                      # required to register; false withdraws it\n"
          "  care_location: BU03920101          # optional: where the care provider supports\n"
          "  max_distance_km: 5                 # optional: at most this far from care_location\n"
          "  parked_until: 2026-02-01           # optional: paused until then, with\n"
          "  park_reason: \"short clinic stay\"  #   a reason (no medical details)\n"
          "Unknown keys are refused with file and line.\n"
          "\n"
          "Output: readable lines on stdout; errors on stderr as\n"
          "  error: CODE (field): message\n"
          "With --json every reply and delivery is one JSON object on its own line\n"
          "(enum values by name, e.g. \"code\":\"FORBIDDEN\"; dates as \"YYYY-MM-DD\").\n"
          "\n"
          "Exit status:\n"
          "  0  OK\n"
          "  1  the server refused the request (any code other than OK)\n"
          "  2  usage error, local validation error, or a config/policy/key file problem\n"
          "  3  no reply in time or the service is unreachable (listen: fewer than\n"
          "     --count deliveries before the --timeout of silence)\n",
          out);
}

/* --- names ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    int value;
} s_name_t;

static const s_name_t s_contracts[] = {
    {"regular", WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_REGULAR},
    {"three-party", WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_THREE_PARTY},
    {"omklap", WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_OMKLAP},
    {"second-chance", WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_SECOND_CHANCE},
    {"temporary-mo", WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_TEMPORARY_MO},
};
static const s_name_t s_access[] = {
    {"ground_floor", WOONZORG__V1__ACCESS__ACCESS_GROUND_FLOOR},
    {"lift", WOONZORG__V1__ACCESS__ACCESS_LIFT},
    {"no_steps", WOONZORG__V1__ACCESS__ACCESS_NO_STEPS},
    {"wheelchair", WOONZORG__V1__ACCESS__ACCESS_WHEELCHAIR},
};
static const s_name_t s_age_bands[] = {
    {"under_23", WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23},
    {"adult", WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT},
    {"pension", WOONZORG__V1__AGE_BAND__AGE_BAND_PENSION},
};
static const s_name_t s_incomes[] = {
    {"below_limit", WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT},
    {"above_limit", WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_ABOVE_LIMIT},
};
static const s_name_t s_kinds[] = {
    {"vacancy", WOONZORG__V1__STATUS_QUERY__KIND__KIND_VACANCY},
    {"candidate", WOONZORG__V1__STATUS_QUERY__KIND__KIND_CANDIDATE},
    {"proposal", WOONZORG__V1__STATUS_QUERY__KIND__KIND_PROPOSAL},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int s_lookup(const s_name_t *t, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].value;
    return -1;
}

static const char *s_reverse(const s_name_t *t, size_t n, int value)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == value)
            return t[i].name;
    return "unspecified";
}

/* "a, b or c" for messages. */
static void s_choices(const s_name_t *t, size_t n, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", i == 0 ? "" : (i + 1 == n ? " or " : ", "),
                 t[i].name);
    }
}

int wzctl_contract_parse(const char *name)
{
    return s_lookup(s_contracts, COUNT(s_contracts), name);
}

const char *wzctl_contract_name(int contract)
{
    return s_reverse(s_contracts, COUNT(s_contracts), contract);
}

int wzctl_access_parse(const char *name)
{
    return s_lookup(s_access, COUNT(s_access), name);
}

void wzctl_access_format(uint32_t bits, char *out, size_t outlen)
{
    out[0] = '\0';
    for (size_t i = 0; i < COUNT(s_access); i++) {
        if (!(bits & (uint32_t)s_access[i].value))
            continue;
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", s_access[i].name);
        bits &= ~(uint32_t)s_access[i].value;
    }
    if (bits) {
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "%s0x%x", used ? ", " : "", (unsigned)bits);
    }
    if (!out[0])
        snprintf(out, outlen, "none");
}

int wzctl_age_band_parse(const char *name)
{
    return s_lookup(s_age_bands, COUNT(s_age_bands), name);
}

const char *wzctl_age_band_name(int band)
{
    return s_reverse(s_age_bands, COUNT(s_age_bands), band);
}

int wzctl_income_parse(const char *name)
{
    return s_lookup(s_incomes, COUNT(s_incomes), name);
}

const char *wzctl_income_name(int income)
{
    return s_reverse(s_incomes, COUNT(s_incomes), income);
}

int wzctl_status_kind_parse(const char *name)
{
    return s_lookup(s_kinds, COUNT(s_kinds), name);
}

const char *wzctl_enum_name(const ProtobufCEnumDescriptor *d, int value, char *buf, size_t len)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    if (!v) {
        snprintf(buf, len, "%d", value);
        return buf;
    }
    /* The type's name in UPPER_SNAKE is the prefix every value repeats. */
    char prefix[64];
    size_t n = 0;
    for (const char *p = d->short_name; *p && n + 2 < sizeof prefix; p++) {
        if (isupper((unsigned char)*p) && p != d->short_name)
            prefix[n++] = '_';
        prefix[n++] = (char)toupper((unsigned char)*p);
    }
    prefix[n++] = '_';
    prefix[n] = '\0';
    const char *name = v->name;
    if (strncmp(name, prefix, n) == 0 && name[n])
        name += n;
    snprintf(buf, len, "%s", name);
    return buf;
}

/* --- the command line --------------------------------------------------------------- */

typedef struct {
    const char *name;
    wzctl_cmd_t cmd;
    size_t min_pos, max_pos;
    const char *options; /* the command's own options, space separated */
} s_command_t;

static const s_command_t s_commands[] = {
    {"keygen", WZCTL_CMD_KEYGEN, 1, WZCTL_MAX_POS, "--dir --force"},
    {"publish", WZCTL_CMD_PUBLISH, 1, 1, ""},
    {"withdraw", WZCTL_CMD_WITHDRAW, 1, 1, ""},
    {"register", WZCTL_CMD_REGISTER, 1, 1, ""},
    {"withdraw-candidate", WZCTL_CMD_WITHDRAW_CANDIDATE, 1, 1, ""},
    {"grant-urgency", WZCTL_CMD_GRANT_URGENCY, 1, 1, "--date --extend"},
    {"answer", WZCTL_CMD_ANSWER, 2, 2, "--reason"},
    {"confirm", WZCTL_CMD_CONFIRM, 3, 3, "--reason"},
    {"explain", WZCTL_CMD_EXPLAIN, 1, 1, "--replay"},
    {"nominate", WZCTL_CMD_NOMINATE, 2, 2, ""},
    {"signed", WZCTL_CMD_SIGNED, 1, 1, "--contract"},
    {"status", WZCTL_CMD_STATUS, 2, 2, ""},
    {"listen", WZCTL_CMD_LISTEN, 0, 0, "--count --timeout --no-ack"},
    {"audit", WZCTL_CMD_AUDIT, 1, 1, "-n --region --file -o"},
    {"redis-acl", WZCTL_CMD_REDIS_ACL, 1, 1, ""},
    {"report", WZCTL_CMD_REPORT, 0, 0, "--period --by --csv --region"},
    {"dead-letters", WZCTL_CMD_DEAD_LETTERS, 1, 4, ""},
};

static bool s_has_option(const s_command_t *c, const char *opt)
{
    size_t len = strlen(opt);
    for (const char *p = c->options; (p = strstr(p, opt)) != NULL; p += len)
        if ((p == c->options || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return true;
    return false;
}

/* A whole decimal number within min..max. */
static int s_number(const char *opt, const char *text, long min, long max, long *out, char *err,
                    size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || !*text || *end || errno == ERANGE || v < min || v > max ||
        !isdigit((unsigned char)*text))
        return s_fail(err, errlen, "%s wants a whole number from %ld to %ld, got '%s'", opt, min,
                      max, text ? text : "");
    *out = v;
    return 0;
}

/* The value of an option: "--opt=value" or the next argument. */
static const char *s_opt_value(int argc, char **argv, int *i, const char *arg, const char *eq)
{
    if (eq)
        return eq + 1;
    (void)arg;
    if (*i + 1 < argc) {
        (*i)++;
        return argv[*i];
    }
    return NULL;
}

/* Handles one command option; 0, or -1 with err. */
static int s_command_option(wzctl_args_t *a, const char *opt, const char *value, char *err,
                            size_t errlen)
{
    long n;
    if (!strcmp(opt, "--force") || !strcmp(opt, "--no-ack") || !strcmp(opt, "--extend") ||
        !strcmp(opt, "--replay") || !strcmp(opt, "--csv")) {
        if (value)
            return s_fail(err, errlen, "%s takes no value", opt);
        if (!strcmp(opt, "--force"))
            a->force = true;
        else if (!strcmp(opt, "--extend"))
            a->extend = true;
        else if (!strcmp(opt, "--replay"))
            a->replay = true;
        else if (!strcmp(opt, "--csv"))
            a->csv = true;
        else
            a->no_ack = true;
        return 0;
    }
    if (!value)
        return s_fail(err, errlen, "%s needs a value", opt);
    if (!strcmp(opt, "--dir")) {
        if (!*value)
            return s_fail(err, errlen, "--dir needs a directory");
        a->dir = value;
    } else if (!strcmp(opt, "--date")) {
        WzDate d = WOONZORG__V1__DATE__INIT;
        if (wz_date_parse(value, &d) != 0)
            return s_fail(err, errlen, "--date wants a real date as YYYY-MM-DD, got '%s'", value);
        a->date = d;
    } else if (!strcmp(opt, "--reason")) {
        a->reason = value;
    } else if (!strcmp(opt, "--contract")) {
        int c = wzctl_contract_parse(value);
        if (c < 0) {
            char choices[128];
            s_choices(s_contracts, COUNT(s_contracts), choices, sizeof choices);
            return s_fail(err, errlen, "--contract must be %s, got '%s'", choices, value);
        }
        a->contract = c;
    } else if (!strcmp(opt, "--count")) {
        if (s_number(opt, value, 1, 1000000, &n, err, errlen))
            return -1;
        a->count = n;
    } else if (!strcmp(opt, "--timeout")) {
        if (s_number("listen --timeout (seconds)", value, 1, 86400 * 365, &n, err, errlen))
            return -1;
        a->silence_s = n;
    } else if (!strcmp(opt, "-n")) {
        if (s_number(opt, value, 1, 1000, &n, err, errlen))
            return -1;
        a->last = n;
        a->last_given = true;
    } else if (!strcmp(opt, "--region")) {
        if (!wz_id_valid(value, 63))
            return s_fail(err, errlen, "--region wants a region id, got '%s'", value);
        a->region = value;
    } else if (!strcmp(opt, "--period")) {
        int p = value ? wz_period_parse(value) : -1;
        if (p < 0)
            return s_fail(err, errlen, "--period: say month, quarter or year, not '%s'",
                          value ? value : "");
        a->period = p;
    } else if (!strcmp(opt, "--by")) {
        int d = value ? wz_dim_parse(value) : -1;
        if (d < 0 && value && !strcmp(value, "all"))
            d = WZ_DIM_COUNT;
        if (d < 0)
            return s_fail(err, errlen,
                          "--by: say region, municipality, corporation, care_provider or all, "
                          "not '%s'",
                          value ? value : "");
        a->by = d;
    } else if (!strcmp(opt, "--file")) {
        if (!*value)
            return s_fail(err, errlen, "--file needs a file name");
        a->file = value;
    } else if (!strcmp(opt, "-o")) {
        if (!*value)
            return s_fail(err, errlen, "-o needs a file name");
        a->out = value;
    }
    return 0;
}

int wzctl_args_parse(int argc, char **argv, wzctl_args_t *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->config = getenv("WZ_CONFIG");
    if (!a->config || !*a->config)
        a->config = WZCTL_DEFAULT_CONFIG;
    a->party = getenv("WZ_PARTY");
    if (a->party && !*a->party)
        a->party = NULL;
    a->timeout_ms = WZCTL_DEFAULT_TIMEOUT_MS;
    a->contract = WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_THREE_PARTY;
    a->last = WZCTL_DEFAULT_AUDIT_LAST;
    a->period = WZ_PERIOD_MONTH;
    a->by = WZ_DIM_COUNT;
    const s_command_t *cmd = NULL;
    bool options_done = false;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && !strcmp(arg, "--")) {
            options_done = true;
            continue;
        }
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            if (!cmd) {
                for (size_t k = 0; k < COUNT(s_commands); k++)
                    if (!strcmp(arg, s_commands[k].name))
                        cmd = &s_commands[k];
                if (!cmd)
                    return s_fail(err, errlen, "unknown command '%s' (see wzctl --help)", arg);
                a->cmd = cmd->cmd;
                a->cmd_name = cmd->name;
                continue;
            }
            if (a->npos >= WZCTL_MAX_POS)
                return s_fail(err, errlen, "too many arguments");
            a->pos[a->npos++] = arg;
            continue;
        }
        /* an option: split "--name=value" */
        char opt[32];
        const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        size_t optlen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (optlen >= sizeof opt)
            return s_fail(err, errlen, "unknown option '%s'", arg);
        memcpy(opt, arg, optlen);
        opt[optlen] = '\0';

        if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
            a->help = true;
            continue;
        }
        if (cmd && s_has_option(cmd, opt)) {
            bool flag = !strcmp(opt, "--force") || !strcmp(opt, "--no-ack") ||
                        !strcmp(opt, "--extend") || !strcmp(opt, "--replay") ||
                        !strcmp(opt, "--csv");
            const char *value = flag ? (eq ? eq + 1 : NULL) : s_opt_value(argc, argv, &i, arg, eq);
            if (s_command_option(a, opt, value, err, errlen) != 0)
                return -1;
            continue;
        }
        if (!strcmp(opt, "--json")) {
            if (eq)
                return s_fail(err, errlen, "--json takes no value");
            a->json = true;
            continue;
        }
        bool is_config = !strcmp(opt, "-c") || !strcmp(opt, "--config");
        bool is_as = !strcmp(opt, "--as");
        bool is_timeout = !strcmp(opt, "--timeout") && !cmd;
        if (is_config || is_as || is_timeout) {
            const char *value = s_opt_value(argc, argv, &i, arg, eq);
            if (!value || !*value)
                return s_fail(err, errlen, "%s needs a value", opt);
            if (is_config) {
                a->config = value;
            } else if (is_as) {
                a->party = value;
            } else {
                long ms;
                if (s_number("--timeout (milliseconds)", value, 1, 3600000, &ms, err, errlen))
                    return -1;
                a->timeout_ms = (int)ms;
            }
            continue;
        }
        if (cmd)
            return s_fail(err, errlen, "%s does not take option '%s' (see wzctl --help)", cmd->name,
                          opt);
        return s_fail(err, errlen, "unknown option '%s' (see wzctl --help)", opt);
    }
    if (a->help)
        return 0;
    if (!cmd)
        return s_fail(err, errlen, "no command given (see wzctl --help)");
    if (a->npos < cmd->min_pos || a->npos > cmd->max_pos) {
        static const char *usage[] = {
            [WZCTL_CMD_KEYGEN] = "keygen NAME... [--dir DIR] [--force]",
            [WZCTL_CMD_PUBLISH] = "publish FILE.yaml",
            [WZCTL_CMD_WITHDRAW] = "withdraw VACANCY",
            [WZCTL_CMD_REGISTER] = "register FILE.yaml",
            [WZCTL_CMD_WITHDRAW_CANDIDATE] = "withdraw-candidate CANDIDATE",
            [WZCTL_CMD_GRANT_URGENCY] = "grant-urgency CANDIDATE [--date YYYY-MM-DD] [--extend]",
            [WZCTL_CMD_ANSWER] = "answer PROPOSAL accept|decline [--reason REASON]",
            [WZCTL_CMD_CONFIRM] = "confirm PROPOSAL STEP ok|no [--reason REASON]",
            [WZCTL_CMD_EXPLAIN] = "explain PROPOSAL [--replay]",
            [WZCTL_CMD_NOMINATE] = "nominate VACANCY CANDIDATE",
            [WZCTL_CMD_SIGNED] = "signed VACANCY [--contract TYPE]",
            [WZCTL_CMD_STATUS] = "status vacancy|candidate|proposal ID",
            [WZCTL_CMD_LISTEN] = "listen [--count N] [--timeout SECONDS] [--no-ack]",
            [WZCTL_CMD_AUDIT] = "audit tail [-n N] | verify [--region R] [--file F] | export "
                                "[--region R] [-o FILE]",
            [WZCTL_CMD_REDIS_ACL] = "redis-acl FILE",
            [WZCTL_CMD_REPORT] = "report [--period month|quarter|year] [--by DIMENSION] [--csv] "
                                 "[--region R]",
            [WZCTL_CMD_DEAD_LETTERS] =
                "dead-letters list | dead-letters replay REGION CONSUMER PRODUCER:SEQ",
        };
        return s_fail(err, errlen, "usage: wzctl %s", usage[cmd->cmd]);
    }
    if (cmd->cmd == WZCTL_CMD_ANSWER && strcmp(a->pos[1], "accept") != 0 &&
        strcmp(a->pos[1], "decline") != 0)
        return s_fail(err, errlen, "answer: say accept or decline, not '%s'", a->pos[1]);
    if (cmd->cmd == WZCTL_CMD_CONFIRM && strcmp(a->pos[2], "ok") != 0 &&
        strcmp(a->pos[2], "no") != 0)
        return s_fail(err, errlen, "confirm: say ok or no, not '%s'", a->pos[2]);
    if (cmd->cmd == WZCTL_CMD_STATUS && wzctl_status_kind_parse(a->pos[0]) < 0)
        return s_fail(err, errlen, "status: say vacancy, candidate or proposal, not '%s'",
                      a->pos[0]);
    if (cmd->cmd == WZCTL_CMD_DEAD_LETTERS &&
        !((strcmp(a->pos[0], "list") == 0 && a->npos == 1) ||
          (strcmp(a->pos[0], "replay") == 0 && a->npos == 4 && strrchr(a->pos[3], ':'))))
        return s_fail(err, errlen,
                      "usage: wzctl dead-letters list | dead-letters replay REGION CONSUMER "
                      "PRODUCER:SEQ");
    if (cmd->cmd == WZCTL_CMD_AUDIT) {
        const char *sub = a->pos[0];
        if (strcmp(sub, "tail") && strcmp(sub, "verify") && strcmp(sub, "export"))
            return s_fail(err, errlen, "audit: say tail, verify or export, not '%s'", sub);
        if (a->last_given && strcmp(sub, "tail"))
            return s_fail(err, errlen, "audit %s does not take -n", sub);
        if ((a->region || a->file) && !strcmp(sub, "tail"))
            return s_fail(err, errlen, "audit tail takes only -n");
        if (a->file && strcmp(sub, "verify"))
            return s_fail(err, errlen, "only audit verify takes --file");
        if (a->out && strcmp(sub, "export"))
            return s_fail(err, errlen, "only audit export takes -o");
    }
    return 0;
}

/* --- YAML files ----------------------------------------------------------------------- */

typedef struct {
    const wz_doc_t *doc;
    const wz_node_t *root;
    char *err;
    size_t errlen;
} s_yaml_t;

static int s_yfail(const s_yaml_t *y, const wz_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_yfail(const s_yaml_t *y, const wz_node_t *at, const char *fmt, ...)
{
    int n = snprintf(y->err, y->errlen, "%s:%d: ", wz_doc_name(y->doc), wz_node_line(at));
    if (n >= 0 && (size_t)n < y->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(y->err + n, y->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Refuses keys of map that are not in known (space separated). */
static int s_known_keys(const s_yaml_t *y, const wz_node_t *map, const char *known,
                        const char *what)
{
    for (size_t i = 0; i < wz_node_count(map); i++) {
        const char *key = wz_node_key(map, i);
        size_t len = strlen(key);
        bool ok = false;
        for (const char *p = known; !ok && (p = strstr(p, key)) != NULL; p += len)
            ok = (p == known || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0');
        if (!ok) {
            int n = snprintf(y->err, y->errlen, "%s:%d: unknown key '%s' in %s (known: %s)",
                             wz_doc_name(y->doc), wz_node_key_line(map, i), key, what, known);
            (void)n;
            return -1;
        }
    }
    return 0;
}

/* The scalar text under key, or NULL (with err when required). */
static const char *s_text(const s_yaml_t *y, const wz_node_t *map, const char *key, bool required,
                          int *failed)
{
    const wz_node_t *node = wz_node_get(map, key);
    if (!node) {
        if (required) {
            s_yfail(y, map, "missing key '%s'", key);
            *failed = 1;
        }
        return NULL;
    }
    const char *text = wz_node_text(node);
    if (!text) {
        s_yfail(y, node, "'%s' must be a single value, not a %s", key,
                wz_node_kind(node) == WZ_NODE_MAP ? "map" : "list");
        *failed = 1;
        return NULL;
    }
    if (required && !*text) {
        s_yfail(y, node, "'%s' is empty", key);
        *failed = 1;
        return NULL;
    }
    return text;
}

static int s_uint(const s_yaml_t *y, const wz_node_t *map, const char *key, bool required,
                  long long max, uint32_t *out)
{
    const wz_node_t *node = wz_node_get(map, key);
    if (!node) {
        if (required)
            return s_yfail(y, map, "missing key '%s'", key);
        return 0;
    }
    long long v;
    if (wz_node_int(y->doc, node, 0, max, &v, y->err, y->errlen) != 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* A list of names under key into a bit set via parse. */
static int s_access_list(const s_yaml_t *y, const wz_node_t *map, const char *key, uint32_t *out)
{
    const wz_node_t *list = wz_node_get(map, key);
    *out = 0;
    if (!list || (wz_node_text(list) && !*wz_node_text(list)))
        return 0; /* absent or `key:` */
    if (wz_node_kind(list) != WZ_NODE_SEQ)
        return s_yfail(y, list, "'%s' must be a list like [ground_floor, lift]", key);
    for (size_t i = 0; i < wz_node_count(list); i++) {
        const wz_node_t *item = wz_node_item(list, i);
        int bit = wzctl_access_parse(wz_node_text(item));
        if (bit < 0) {
            char choices[128];
            s_choices(s_access, COUNT(s_access), choices, sizeof choices);
            return s_yfail(y, item, "unknown %s '%s' (known: %s)", key,
                           wz_node_text(item) ? wz_node_text(item) : "(not a name)", choices);
        }
        *out |= (uint32_t)bit;
    }
    return 0;
}

/* A list of strings under key; *items is malloc'd (strings borrowed from doc). */
static int s_string_list(const s_yaml_t *y, const wz_node_t *map, const char *key, char ***items,
                         size_t *n)
{
    const wz_node_t *list = wz_node_get(map, key);
    *items = NULL;
    *n = 0;
    if (!list || (wz_node_text(list) && !*wz_node_text(list)))
        return 0;
    if (wz_node_kind(list) != WZ_NODE_SEQ)
        return s_yfail(y, list, "'%s' must be a list like [a, b]", key);
    size_t count = wz_node_count(list);
    if (count > WZ_MAX_LIST)
        return s_yfail(y, list, "'%s' has %zu entries; at most %d", key, count, WZ_MAX_LIST);
    if (count == 0)
        return 0;
    *items = calloc(count, sizeof **items);
    if (!*items)
        return s_yfail(y, list, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const wz_node_t *item = wz_node_item(list, i);
        const char *text = wz_node_text(item);
        if (!text || !*text) {
            free(*items);
            *items = NULL;
            return s_yfail(y, item, "'%s' entries must be plain names", key);
        }
        (*items)[i] = (char *)text;
    }
    *n = count;
    return 0;
}

static int s_root(s_yaml_t *y, const wz_doc_t *doc, char *err, size_t errlen, const char *what)
{
    y->doc = doc;
    y->root = wz_doc_root(doc);
    y->err = err;
    y->errlen = errlen;
    if (!y->root || wz_node_kind(y->root) != WZ_NODE_MAP)
        return s_yfail(y, y->root, "a %s file is a map of keys (see wzctl --help)", what);
    return 0;
}

#define VACANCY_KEYS                                                                               \
    "id municipality neighbourhood complex address rooms floor_area_m2 rent access "               \
    "available_from scheme stairwell"

int wzctl_vacancy_from_doc(const wz_doc_t *doc, WzVacancy **out, char *err, size_t errlen)
{
    s_yaml_t y;
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    WzDate date = WOONZORG__V1__DATE__INIT;
    int failed = 0;
    *out = NULL;
    if (s_root(&y, doc, err, errlen, "vacancy") ||
        s_known_keys(&y, y.root, VACANCY_KEYS, "a vacancy"))
        return -1;
    const char *id = s_text(&y, y.root, "id", true, &failed);
    const char *mun = failed ? NULL : s_text(&y, y.root, "municipality", true, &failed);
    const char *nb = failed ? NULL : s_text(&y, y.root, "neighbourhood", true, &failed);
    const char *cx = failed ? NULL : s_text(&y, y.root, "complex", true, &failed);
    const char *addr = failed ? NULL : s_text(&y, y.root, "address", true, &failed);
    if (failed)
        return -1;
    const char *scheme = s_text(&y, y.root, "scheme", false, &failed);
    const char *stairwell = failed ? NULL : s_text(&y, y.root, "stairwell", false, &failed);
    if (failed)
        return -1;
    v.id = (char *)id;
    v.municipality = (char *)mun;
    v.neighbourhood = (char *)nb;
    v.complex = (char *)cx;
    v.address = (char *)addr;
    if (scheme)
        v.scheme = (char *)scheme;
    if (stairwell)
        v.stairwell = (char *)stairwell;
    if (s_uint(&y, y.root, "rooms", true, 1000, &v.rooms) ||
        s_uint(&y, y.root, "floor_area_m2", true, 100000, &v.floor_area_m2))
        return -1;
    const wz_node_t *rent = wz_node_get(y.root, "rent");
    if (!rent)
        return s_yfail(&y, y.root, "missing key 'rent' (euros a month, e.g. 612.50)");
    if (wz_node_money(doc, rent, &v.rent_cents, err, errlen) != 0)
        return -1;
    if (s_access_list(&y, y.root, "access", &v.access) != 0)
        return -1;
    const wz_node_t *from = wz_node_get(y.root, "available_from");
    if (!from)
        return s_yfail(&y, y.root, "missing key 'available_from' (YYYY-MM-DD)");
    int yy, mm, dd;
    if (wz_node_date(doc, from, &yy, &mm, &dd, err, errlen) != 0)
        return -1;
    date.year = yy;
    date.month = mm;
    date.day = dd;
    v.available_from = &date;
    *out = (WzVacancy *)wz_codec_clone(&v.base);
    if (!*out)
        return s_fail(err, errlen, "%s: out of memory", wz_doc_name(doc));
    return 0;
}

#define CANDIDATE_KEYS                                                                             \
    "id municipality group household age_band income access_needs "                                \
    "acceptable_municipalities excluded_neighbourhoods consent care_location max_distance_km "     \
    "parked_until park_reason"

int wzctl_candidate_from_doc(const wz_doc_t *doc, WzCandidate **out, char *err, size_t errlen)
{
    s_yaml_t y;
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
    int failed = 0, rc = -1;
    char **accept = NULL, **exclude = NULL;
    *out = NULL;
    if (s_root(&y, doc, err, errlen, "candidate") ||
        s_known_keys(&y, y.root, CANDIDATE_KEYS, "a candidate"))
        return -1;
    const char *id = s_text(&y, y.root, "id", true, &failed);
    const char *mun = failed ? NULL : s_text(&y, y.root, "municipality", true, &failed);
    const char *group = failed ? NULL : s_text(&y, y.root, "group", true, &failed);
    const char *age = failed ? NULL : s_text(&y, y.root, "age_band", true, &failed);
    const char *income = failed ? NULL : s_text(&y, y.root, "income", true, &failed);
    if (failed)
        return -1;
    c.id = (char *)id;
    c.municipality = (char *)mun;
    c.group = (char *)group;
    int band = wzctl_age_band_parse(age);
    if (band < 0)
        return s_yfail(&y, wz_node_get(y.root, "age_band"),
                       "age_band must be under_23, adult or pension, got '%s'", age);
    c.age_band = (Woonzorg__V1__AgeBand)band;
    int inc = wzctl_income_parse(income);
    if (inc < 0)
        return s_yfail(&y, wz_node_get(y.root, "income"),
                       "income must be below_limit or above_limit, got '%s'", income);
    c.income_class = (Woonzorg__V1__IncomeClass)inc;

    const wz_node_t *household = wz_node_get(y.root, "household");
    if (!household)
        return s_yfail(&y, y.root, "missing key 'household' ({adults: N, children: N})");
    if (wz_node_kind(household) != WZ_NODE_MAP)
        return s_yfail(&y, household, "household must be a map like {adults: 1, children: 0}");
    if (s_known_keys(&y, household, "adults children", "household") ||
        s_uint(&y, household, "adults", true, 1000, &hh.adults) ||
        s_uint(&y, household, "children", false, 1000, &hh.children))
        return -1;
    c.household = &hh;
    if (s_access_list(&y, y.root, "access_needs", &c.access_needs) != 0)
        return -1;
    const char *care = s_text(&y, y.root, "care_location", false, &failed);
    const char *park_reason = failed ? NULL : s_text(&y, y.root, "park_reason", false, &failed);
    if (failed || s_uint(&y, y.root, "max_distance_km", false, 100000, &c.max_distance_km))
        return -1;
    if (care)
        c.care_location = (char *)care;
    if (park_reason)
        c.park_reason = (char *)park_reason;
    WzDate parked = WOONZORG__V1__DATE__INIT;
    const wz_node_t *until = wz_node_get(y.root, "parked_until");
    if (until && wz_node_text(until) && *wz_node_text(until)) {
        int yy, mm, dd;
        if (wz_node_date(doc, until, &yy, &mm, &dd, err, errlen) != 0)
            return -1;
        parked.year = yy;
        parked.month = mm;
        parked.day = dd;
        c.parked_until = &parked;
    }
    const wz_node_t *consent = wz_node_get(y.root, "consent");
    if (consent) {
        bool yes = false;
        if (wz_node_bool(doc, consent, &yes, err, errlen) != 0)
            return -1;
        c.consent = yes;
    }
    if (s_string_list(&y, y.root, "acceptable_municipalities", &accept,
                      &c.n_acceptable_municipalities) != 0)
        goto out;
    if (s_string_list(&y, y.root, "excluded_neighbourhoods", &exclude,
                      &c.n_excluded_neighbourhoods) != 0)
        goto out;
    c.acceptable_municipalities = accept;
    c.excluded_neighbourhoods = exclude;
    *out = (WzCandidate *)wz_codec_clone(&c.base);
    if (!*out) {
        s_fail(err, errlen, "%s: out of memory", wz_doc_name(doc));
        goto out;
    }
    rc = 0;
out:
    free(accept);
    free(exclude);
    return rc;
}

int wzctl_field_line(const wz_doc_t *doc, const char *field)
{
    /* request field path -> YAML key */
    static const struct {
        const char *field, *key;
    } map[] = {
        {"publish_vacancy.rent_cents", "rent"},
        {"register_candidate.income_class", "income"},
    };
    if (!doc || !field)
        return 0;
    const char *dot = strchr(field, '.');
    if (!dot)
        return 0;
    const char *key = dot + 1;
    for (size_t i = 0; i < COUNT(map); i++)
        if (!strcmp(field, map[i].field))
            key = map[i].key;
    const wz_node_t *root = wz_doc_root(doc);
    const wz_node_t *node = root ? wz_node_get(root, key) : NULL;
    return node ? wz_node_line(node) : 0;
}
