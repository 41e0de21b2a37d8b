/* wzctl.h - the parts of the wzctl CLI that do no I/O on the network:
 * argument parsing, YAML files into requests, names of enum values, and the
 * readable and JSON renderings of replies and deliveries. main.c does the
 * talking; these are unit-tested in tests/unit/test_wzctl.c. */
#ifndef WZCTL_H_INCLUDED
#define WZCTL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wz_config.h"
#include "wz_proto.h"

/* Exit codes, as documented in `wzctl --help`. */
#define WZCTL_EXIT_OK 0
#define WZCTL_EXIT_REFUSED 1 /* the server answered with a non-OK code */
#define WZCTL_EXIT_USAGE 2   /* usage, local validation or configuration */
#define WZCTL_EXIT_TIMEOUT 3 /* no reply in time, or unreachable */

#define WZCTL_DEFAULT_CONFIG "config/woonzorg.yaml"
#define WZCTL_DEFAULT_TIMEOUT_MS 5000
#define WZCTL_DEFAULT_AUDIT_LAST 20
#define WZCTL_MAX_POS 32

typedef enum {
    WZCTL_CMD_NONE = 0,
    WZCTL_CMD_KEYGEN,
    WZCTL_CMD_PUBLISH,
    WZCTL_CMD_WITHDRAW,
    WZCTL_CMD_REGISTER,
    WZCTL_CMD_WITHDRAW_CANDIDATE,
    WZCTL_CMD_GRANT_URGENCY,
    WZCTL_CMD_ANSWER,
    WZCTL_CMD_SIGNED,
    WZCTL_CMD_STATUS,
    WZCTL_CMD_LISTEN,
    WZCTL_CMD_AUDIT,
    WZCTL_CMD_CONFIRM,
    WZCTL_CMD_EXPLAIN,
    WZCTL_CMD_NOMINATE,
    WZCTL_CMD_REDIS_ACL,
    WZCTL_CMD_REPORT,
    WZCTL_CMD_DEAD_LETTERS,
} wzctl_cmd_t;

/* Everything the command line said. Strings point into argv. */
typedef struct {
    const char *config; /* -c/--config, else $WZ_CONFIG, else WZCTL_DEFAULT_CONFIG */
    const char *party;  /* --as, else $WZ_PARTY; may be NULL */
    bool json;          /* --json */
    int timeout_ms;     /* --timeout MS before the command */
    bool help;          /* -h/--help anywhere */
    wzctl_cmd_t cmd;
    const char *cmd_name;
    const char *pos[WZCTL_MAX_POS];
    size_t npos;
    /* command options */
    const char *dir;    /* keygen --dir */
    bool force;         /* keygen --force */
    WzDate date;        /* grant-urgency --date (all zero: not given) */
    const char *reason; /* answer --reason */
    int contract;       /* signed --contract, a ContractType value */
    long count;         /* listen --count (0: no limit) */
    long silence_s;     /* listen --timeout SECONDS (0: none) */
    bool no_ack;        /* listen --no-ack */
    long last;          /* audit tail -n */
    bool extend;        /* grant-urgency --extend */
    bool replay;        /* explain --replay */
    bool last_given;    /* -n was given */
    const char *region; /* audit verify/export --region */
    const char *file;   /* audit verify --file */
    const char *out;    /* audit export -o */
    int period;         /* report --period, a wz_period_t (default month) */
    int by;             /* report --by, a wz_dim_t; WZ_DIM_COUNT (4): all */
    bool csv;           /* report --csv */
} wzctl_args_t;

/* Parses argv (argv[0] is the program). Global options go before the command
 * (-c, --as and --json are also taken after it); command options after it.
 * Returns 0, or -1 with a one-line reason in err. */
int wzctl_args_parse(int argc, char **argv, wzctl_args_t *a, char *err, size_t errlen);
/* Writes the whole --help text to out. */
void wzctl_usage(FILE *out);

/* Enum values <-> the names wzctl and its YAML files use; -1 when unknown. */
int wzctl_contract_parse(const char *name);    /* "three-party" -> CONTRACT_TYPE_THREE_PARTY */
const char *wzctl_contract_name(int contract); /* never NULL */
int wzctl_access_parse(const char *name);      /* "lift" -> ACCESS_LIFT */
void wzctl_access_format(uint32_t bits, char *out,
                         size_t outlen); /* "ground_floor, lift" or "none" */
int wzctl_age_band_parse(const char *name);
const char *wzctl_age_band_name(int band);
int wzctl_income_parse(const char *name);
const char *wzctl_income_name(int income);
int wzctl_status_kind_parse(const char *name); /* vacancy | candidate | proposal */
/* An enum value's short name, e.g. CODE_FORBIDDEN -> "FORBIDDEN". */
const char *wzctl_enum_name(const ProtobufCEnumDescriptor *d, int value, char *buf, size_t len);

/* A vacancy or candidate file into a message the caller frees with
 * WZ_FREE_UNPACKED. The doc stays with the caller (for line numbers of later
 * errors). Unknown keys, wrong types and missing required keys are refused
 * with "file:line: reason". 0 or -1. */
int wzctl_vacancy_from_doc(const wz_doc_t *doc, WzVacancy **out, char *err, size_t errlen);
int wzctl_candidate_from_doc(const wz_doc_t *doc, WzCandidate **out, char *err, size_t errlen);
/* The line in doc of the YAML key a request field path came from (e.g.
 * "publish_vacancy.rent_cents" -> the line of `rent:`); 0 if none. */
int wzctl_field_line(const wz_doc_t *doc, const char *field);

/* JSON: one object per line, hand-written with full string escaping. */
typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
    int depth;
    bool need_comma[32];
} wzctl_json_t;

void wzctl_json_init(wzctl_json_t *j);
void wzctl_json_free(wzctl_json_t *j);
/* key is NULL for the top level and inside arrays. */
void wzctl_json_begin(wzctl_json_t *j, const char *key, bool array);
void wzctl_json_end(wzctl_json_t *j, bool array);
void wzctl_json_str(wzctl_json_t *j, const char *key, const char *value); /* NULL -> null */
void wzctl_json_int(wzctl_json_t *j, const char *key, long long value);
void wzctl_json_uint(wzctl_json_t *j, const char *key, unsigned long long value);
void wzctl_json_bool(wzctl_json_t *j, const char *key, bool value);
/* Any protobuf message, field by field (oneofs: only the set member; enums
 * by short name; Date as "YYYY-MM-DD" or null; bytes as hex). */
void wzctl_json_message(wzctl_json_t *j, const char *key, const ProtobufCMessage *m);
/* The finished text (no newline), or NULL after an allocation failure. */
const char *wzctl_json_text(const wzctl_json_t *j);

/* Readable renderings. */
/* "OK  vacancy PW-2025-0142 published" and friends for a successful reply:
 * the server's message when it sent one, else a line made from the command. */
void wzctl_print_ok(FILE *out, wzctl_cmd_t cmd, const wzctl_args_t *a, const WzReply *r);
/* "error: FORBIDDEN (publish_vacancy.municipality): ..." (where: NULL or "file:line"). */
void wzctl_print_error(FILE *out, WzCode code, const char *field, const char *message,
                       const char *where);
/* A key: value block for a status reply's vacancy, candidate or proposal. */
void wzctl_print_status(FILE *out, const WzReply *r);
/* One line (plus an explanation line where there is one) per delivery. */
void wzctl_print_delivery(FILE *out, const WzDelivery *d);
/* A proposal's explanation, readably: scheme and mode, rank, the rules with
 * what each removed, the ranking rule and the summary. */
void wzctl_print_explanation(FILE *out, const WzProposal *p);
/* Prints what intake's replay of a decision says (explain --replay): the
 * verdict and why, the policy versions, the stored and replayed counts. */
void wzctl_print_verdict(FILE *out, const WzReplayVerdict *v);
/* One line per audit entry. */
void wzctl_print_audit(FILE *out, const WzAuditPage *page);

#endif
